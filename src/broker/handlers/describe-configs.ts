import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type {
  DescribeConfigsRequest,
  DescribeConfigsResource,
} from '../../protocol/generated/describe-configs-request.ts'
import type {
  DescribeConfigsResourceResultInput,
  DescribeConfigsResponseInput,
  DescribeConfigsResultInput,
} from '../../protocol/generated/describe-configs-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import {
  brokerConfigEntries,
  brokerResourceProblem,
  type ConfigEntry,
  type ConfigProblem,
  ConfigResourceType,
  ConfigSource,
  configResourceTypeName,
  topicConfigEntries,
  topicResourceProblem,
} from '../resource-configs.ts'
import { AclOperation } from '../security/acl.ts'
import { configResourceAuthorization } from '../security/authorize.ts'
import type { BrokerServices } from '../services.ts'

/** DescribeConfigs: each resource's configs (resource-configs.ts says where each value comes from). */
function toResult(
  entries: ConfigEntry[],
  keys: string[] | null,
  req: DescribeConfigsRequest,
  version: number,
): DescribeConfigsResourceResultInput[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null
  return entries
    .filter((e) => !wanted || wanted.has(e.name))
    .map((e) => ({
      name: e.name,
      value: e.value,
      readOnly: e.readOnly,
      isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
      configSource: e.source,
      isSensitive: false,
      synonyms: version >= 1 && req.includeSynonyms ? e.synonyms : [],
      configType: e.configType,
      documentation: version >= 3 && req.includeDocumentation ? e.documentation : null,
    }))
}

function describeResource(
  services: BrokerServices,
  resource: DescribeConfigsResource,
  req: DescribeConfigsRequest,
  version: number,
): DescribeConfigsResultInput {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
  const fail = (p: ConfigProblem): DescribeConfigsResultInput => ({
    ...base,
    errorCode: p.errorCode,
    errorMessage: p.message,
    configs: [],
  })
  switch (resource.resourceType) {
    case ConfigResourceType.TOPIC: {
      const problem = topicResourceProblem(resource.resourceName)
      if (problem) return fail(problem)
      const topic = services.topics.get(resource.resourceName)
      if (!topic) {
        return fail({
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `The topic '${resource.resourceName}' does not exist.`,
        })
      }
      const configs = toResult(topicConfigEntries(services, topic.configs), resource.configurationKeys, req, version)
      return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs }
    }
    case ConfigResourceType.BROKER: {
      const problem = brokerResourceProblem(resource.resourceName, services.config.nodeId)
      if (problem) return fail(problem)
      // "" asks for the cluster-wide dynamic defaults; there are none, broker settings being static.
      const entries = resource.resourceName === '' ? [] : brokerConfigEntries(services)
      const configs = toResult(entries, resource.configurationKeys, req, version)
      return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs }
    }
    default:
      return fail({
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `Unsupported resource type: ${configResourceTypeName(resource.resourceType)}`,
      })
  }
}

export const describeConfigsHandler: HandlerSpec<DescribeConfigsRequest, DescribeConfigsResponseInput> = {
  apiKey: ApiKeys.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  authorize: authorizeDescribeConfigs,
  handle(req, ctx) {
    const results = req.resources.map((r) => describeResource(ctx.services, r, req, ctx.apiVersion))
    return { throttleTimeMs: 0, results }
  },
}

/** Kafka: DESCRIBE_CONFIGS on each topic, or on the cluster for broker resources. */
function authorizeDescribeConfigs(
  req: DescribeConfigsRequest,
  ctx: RequestContext,
): Authorization<DescribeConfigsRequest, DescribeConfigsResponseInput> {
  const { allowed, refused } = configResourceAuthorization(ctx, AclOperation.DESCRIBE_CONFIGS, req.resources)
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, resources: allowed },
    complete: (res) => ({
      ...res,
      results: [
        ...(res.results ?? []),
        ...refused.map(({ resource, errorCode }) => ({
          errorCode,
          errorMessage: null,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          configs: [],
        })),
      ],
    }),
  }
}
