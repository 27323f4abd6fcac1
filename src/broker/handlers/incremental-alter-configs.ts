import { TOPIC_CONFIG_DEFINITIONS } from '../../log/index.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type {
  AlterableConfig,
  IncrementalAlterConfigsRequest,
} from '../../protocol/generated/incremental-alter-configs-request.ts'
import type {
  AlterConfigsResourceResponseInput,
  IncrementalAlterConfigsResponseInput,
} from '../../protocol/generated/incremental-alter-configs-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import {
  brokerAlterProblem,
  type ConfigProblem,
  ConfigResourceType,
  effectiveTopicConfigValue,
  replaceTopicConfigs,
  topicResourceProblem,
  unsupportedResourceProblem,
  withConfigLock,
} from '../resource-configs.ts'
import { AclOperation } from '../security/acl.ts'
import { configResourceAuthorization } from '../security/authorize.ts'
import type { BrokerServices } from '../services.ts'

/** AlterConfigOp.OpType ids. */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const
const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT']

function requestProblem(configs: AlterableConfig[]): ConfigProblem | null {
  const names = new Set<string>()
  for (const c of configs) {
    if (names.has(c.name))
      return { errorCode: ErrorCode.INVALID_REQUEST, message: 'Error due to duplicate config keys' }
    names.add(c.name)
  }
  for (const c of configs) {
    if (c.configOperation < 0 || c.configOperation > 3) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `Unknown operations type ${c.configOperation}` }
    }
  }
  const nulls = configs.filter((c) => c.configOperation !== ConfigOperation.DELETE && c.value === null)
  if (nulls.length > 0) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Null value not supported for : ${nulls.map((c) => c.name).join(', ')}`,
    }
  }
  return null
}

function listParts(value: string | undefined): string[] {
  return (value ?? '').split(',').filter((p) => p.length > 0)
}

/** The topic's overrides after applying the operations, or the problem that stops them. */
function applyOperations(
  services: BrokerServices,
  current: Record<string, string>,
  ops: AlterableConfig[],
): { configs: Record<string, string> } | { problem: ConfigProblem } {
  const next: Record<string, string> = { ...current }
  for (const op of ops) {
    switch (op.configOperation) {
      case ConfigOperation.SET:
        next[op.name] = op.value!
        break
      case ConfigOperation.DELETE:
        delete next[op.name]
        break
      default: {
        if (TOPIC_CONFIG_DEFINITIONS.get(op.name)?.type !== 'list') {
          return {
            problem: {
              errorCode: ErrorCode.INVALID_CONFIG,
              message: `Can't ${OP_NAMES[op.configOperation]} to key ${op.name} because its type is not LIST.`,
            },
          }
        }
        // The base is what the topic uses now, so APPEND to an unset cleanup.policy keeps the broker default.
        const parts = listParts(effectiveTopicConfigValue(services, current, op.name))
        for (const v of op.value!.split(',')) {
          if (op.configOperation === ConfigOperation.APPEND) {
            if (!parts.includes(v)) parts.push(v)
          } else {
            const i = parts.indexOf(v)
            if (i >= 0) parts.splice(i, 1)
          }
        }
        next[op.name] = parts.join(',')
      }
    }
  }
  return { configs: next }
}

export const incrementalAlterConfigsHandler: HandlerSpec<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponseInput
> = {
  apiKey: ApiKeys.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  authorize: authorizeIncrementalAlterConfigs,
  async handle(req, ctx) {
    const { services } = ctx
    const key = (type: number, name: string) => `${type}:${name}`
    const counts = new Map<string, number>()
    for (const r of req.resources) {
      const k = key(r.resourceType, r.resourceName)
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    const responses: AlterConfigsResourceResponseInput[] = []
    for (const r of req.resources) {
      let problem: ConfigProblem | null
      if (counts.get(key(r.resourceType, r.resourceName))! > 1) {
        problem = { errorCode: ErrorCode.INVALID_REQUEST, message: 'Each resource must appear at most once.' }
      } else {
        problem = requestProblem(r.configs)
      }
      if (!problem) {
        if (r.resourceType === ConfigResourceType.TOPIC) {
          problem = topicResourceProblem(r.resourceName)
          if (!problem) {
            // Read-modify-write of the overrides must not interleave with another change to the same topic.
            problem = await withConfigLock(services, () => {
              const current = services.topics.get(r.resourceName)?.configs ?? {}
              const next = applyOperations(services, current, r.configs)
              if ('problem' in next) return next.problem
              return replaceTopicConfigs(services, r.resourceName, next.configs, req.validateOnly)
            })
          }
        } else if (r.resourceType === ConfigResourceType.BROKER) {
          problem = brokerAlterProblem(r.resourceName, services.config.nodeId, r.configs.length)
        } else {
          problem = unsupportedResourceProblem(r.resourceType)
        }
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
function authorizeIncrementalAlterConfigs(
  req: IncrementalAlterConfigsRequest,
  ctx: RequestContext,
): Authorization<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponseInput> {
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
