import type { AlterConfigsRequest } from '../../protocol/generated/alter-configs-request.ts'
import type {
  AlterConfigsResourceResponseInput,
  AlterConfigsResponseInput,
} from '../../protocol/generated/alter-configs-response.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import {
  brokerAlterProblem,
  type ConfigProblem,
  ConfigResourceType,
  replaceTopicConfigs,
  topicResourceProblem,
  unsupportedResourceProblem,
  withConfigLock,
} from '../resource-configs.ts'
import { AclOperation } from '../security/acl.ts'
import { configResourceAuthorization } from '../security/authorize.ts'

/** Legacy AlterConfigs: the given configs replace all of the resource's overrides. */
export const alterConfigsHandler: HandlerSpec<AlterConfigsRequest, AlterConfigsResponseInput> = {
  apiKey: ApiKeys.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  authorize: authorizeAlterConfigs,
  async handle(req, ctx) {
    const { services } = ctx
    const key = (type: number, name: string) => `${type}:${name}`
    const counts = new Map<string, number>()
    for (const r of req.resources)
      counts.set(key(r.resourceType, r.resourceName), (counts.get(key(r.resourceType, r.resourceName)) ?? 0) + 1)
    const responses: AlterConfigsResourceResponseInput[] = []
    const answered = new Set<string>()
    for (const r of req.resources) {
      const k = key(r.resourceType, r.resourceName)
      if (answered.has(k)) continue
      answered.add(k)
      let problem: ConfigProblem | null
      if (counts.get(k)! > 1) {
        problem = { errorCode: ErrorCode.INVALID_REQUEST, message: 'Duplicate resource.' }
      } else if (r.resourceType === ConfigResourceType.TOPIC) {
        problem = topicResourceProblem(r.resourceName)
        if (!problem) {
          const configs: Record<string, string | null> = {}
          for (const c of r.configs) configs[c.name] = c.value
          problem = await withConfigLock(services, () =>
            replaceTopicConfigs(services, r.resourceName, configs, req.validateOnly),
          )
        }
      } else if (r.resourceType === ConfigResourceType.BROKER) {
        problem = brokerAlterProblem(r.resourceName, services.config.nodeId, r.configs.length)
      } else {
        problem = unsupportedResourceProblem(r.resourceType)
      }
      responses.push({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        errorCode: problem?.errorCode ?? ErrorCode.NONE,
        errorMessage: problem?.message ?? null,
      })
    }
    return { throttleTimeMs: 0, responses }
  },
}

/** Kafka: ALTER_CONFIGS on each topic, or on the cluster for broker resources. */
function authorizeAlterConfigs(
  req: AlterConfigsRequest,
  ctx: RequestContext,
): Authorization<AlterConfigsRequest, AlterConfigsResponseInput> {
  const { allowed, refused } = configResourceAuthorization(ctx, AclOperation.ALTER_CONFIGS, req.resources)
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, resources: allowed },
    complete: (res) => ({
      ...res,
      responses: [
        ...(res.responses ?? []),
        ...refused.map(({ resource, errorCode }) => ({
          errorCode,
          errorMessage: null,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
        })),
      ],
    }),
  }
}
