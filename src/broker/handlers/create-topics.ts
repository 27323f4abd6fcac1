import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { CreatableTopic, CreateTopicsRequest } from '../../protocol/generated/create-topics-request.ts'
import type {
  CreatableTopicResultInput,
  CreateTopicsResponseInput,
} from '../../protocol/generated/create-topics-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import { ZERO_UUID } from '../../protocol/primitives.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { type ConfigProblem, topicConfigEntries, topicOverridesProblem } from '../resource-configs.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized, partitionBy, topicAuthorized } from '../security/authorize.ts'
import type { BrokerServices } from '../services.ts'
import { METADATA_TOPIC, replicaAssignmentProblem, TopicError, topicNameProblem } from '../topic-registry.ts'

/** This broker is the only node: every replica list is [nodeId]. */
const REPLICATION_FACTOR = 1

interface TopicPlan {
  partitions: number
  configs: Record<string, string>
}

function planTopic(services: BrokerServices, t: CreatableTopic): TopicPlan | ConfigProblem {
  const nodeId = services.config.nodeId
  if (t.name === METADATA_TOPIC) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Creation of internal topic ${METADATA_TOPIC} is prohibited.`,
    }
  }
  const nameProblem = topicNameProblem(t.name)
  if (nameProblem) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: nameProblem }
  if (services.topics.get(t.name)) {
    return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${t.name}' already exists.` }
  }
  const configs: Record<string, string | null> = {}
  for (const c of t.configs) configs[c.name] = c.value
  const configProblem = topicOverridesProblem(configs)
  if (configProblem) return configProblem

  let partitions: number
  if (t.assignments.length > 0) {
    if (t.replicationFactor !== -1) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: 'A manual partition assignment was specified, but replication factor was not set to -1.',
      }
    }
    if (t.numPartitions !== -1) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: 'A manual partition assignment was specified, but numPartitions was not set to -1.',
      }
    }
    const seen = new Set<number>()
    for (const a of t.assignments) {
      if (seen.has(a.partitionIndex)) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: `Found multiple manual partition assignments for partition ${a.partitionIndex}`,
        }
      }
      seen.add(a.partitionIndex)
      const problem = replicaAssignmentProblem(a.brokerIds, nodeId)
      if (problem) return problem
    }
    for (let i = 0; i < seen.size; i++) {
      if (!seen.has(i)) {
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: 'partitions should be a consecutive 0-based integer sequence',
        }
      }
    }
    partitions = seen.size
  } else if (t.replicationFactor < -1 || t.replicationFactor === 0) {
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: 'Replication factor must be larger than 0, or -1 to use the default value.',
    }
  } else if (t.numPartitions < -1 || t.numPartitions === 0) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      message: 'Number of partitions was set to an invalid non-positive value.',
    }
  } else if (t.replicationFactor > REPLICATION_FACTOR) {
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message:
        `Unable to replicate the partition ${t.replicationFactor} time(s): The target replication factor of ` +
        `${t.replicationFactor} cannot be reached because only 1 broker(s) are registered.`,
    }
  } else {
    partitions = t.numPartitions === -1 ? services.config.numPartitions : t.numPartitions
  }
  const cleanConfigs = configs as Record<string, string>
  try {
    // The registry's own checks (name collisions such as "a.b" vs "a_b", partition limits, the combined config).
    services.topics.validateCreate(t.name, partitions, cleanConfigs)
  } catch (err) {
    if (err instanceof TopicError) return { errorCode: err.errorCode, message: err.message }
    throw err
  }
  return { partitions, configs: cleanConfigs }
}

function failure(name: string, p: ConfigProblem): CreatableTopicResultInput {
  return { name, topicId: ZERO_UUID, errorCode: p.errorCode, errorMessage: p.message, configs: null }
}

export const createTopicsHandler: HandlerSpec<CreateTopicsRequest, CreateTopicsResponseInput> = {
  apiKey: ApiKeys.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  authorize: authorizeCreateTopics,
  async handle(req, ctx) {
    const { services } = ctx
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const results: CreatableTopicResultInput[] = []
    const answered = new Set<string>()
    for (const t of req.topics) {
      if (answered.has(t.name)) continue
      answered.add(t.name)
      if (counts.get(t.name)! > 1) {
        results.push(failure(t.name, { errorCode: ErrorCode.INVALID_REQUEST, message: 'Duplicate topic name.' }))
        continue
      }
      const plan = planTopic(services, t)
      if ('errorCode' in plan) {
        results.push(failure(t.name, plan))
        continue
      }
      let topicId = ZERO_UUID
      if (!req.validateOnly) {
        try {
          topicId = (await services.topics.create(t.name, { partitions: plan.partitions, configs: plan.configs })).id
        } catch (err) {
          // Another request may have created the same topic since planTopic looked, or the creation failed and was
          // rolled back (out of file descriptors, disk full): this topic fails, the others of the request go on.
          const e =
            err instanceof TopicError
              ? err
              : new TopicError(ErrorCode.UNKNOWN_SERVER_ERROR, `Could not create topic '${t.name}': ${err}`)
          if (e.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
            services.logger.child('metadata').warn('topic creation failed', { topic: t.name, reason: e.message })
          }
          results.push(failure(t.name, { errorCode: e.errorCode, message: e.message }))
          continue
        }
      }
      results.push({
        name: t.name,
        topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: plan.partitions,
        replicationFactor: REPLICATION_FACTOR,
        configs: topicConfigEntries(services, plan.configs).map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          configSource: e.source,
          isSensitive: false,
        })),
      })
    }
    return { throttleTimeMs: 0, topics: results }
  },
}

/** Kafka: CREATE on the cluster, or else on each topic. */
function authorizeCreateTopics(
  req: CreateTopicsRequest,
  ctx: RequestContext,
): Authorization<CreateTopicsRequest, CreateTopicsResponseInput> {
  const clusterCreate = clusterAuthorized(ctx, AclOperation.CREATE)
  const [allowed, refused] = partitionBy(
    req.topics,
    (t) => clusterCreate || topicAuthorized(ctx, AclOperation.CREATE, t.name),
  )
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({
      ...res,
      topics: [
        ...(res.topics ?? []),
        ...refused.map((t) => ({
          name: t.name,
          topicId: ZERO_UUID,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: 'Authorization failed.',
          topicConfigErrorCode: 0,
          numPartitions: -1,
          replicationFactor: -1,
          configs: [],
        })),
      ],
    }),
  }
}
