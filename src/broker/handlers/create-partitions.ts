import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type {
  CreatePartitionsRequest,
  CreatePartitionsTopic,
} from '../../protocol/generated/create-partitions-request.ts'
import type {
  CreatePartitionsResponseInput,
  CreatePartitionsTopicResultInput,
} from '../../protocol/generated/create-partitions-response.ts'
import { ErrorCode, errorInfo } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import type { ConfigProblem } from '../resource-configs.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, topicAuthorized } from '../security/authorize.ts'
import type { BrokerServices } from '../services.ts'
import { replicaAssignmentProblem, TopicError } from '../topic-registry.ts'

/** Partitions are never added to this many at once (Kafka caps one request's records similarly). */
const MAX_PARTITIONS = 100000

function growProblem(services: BrokerServices, t: CreatePartitionsTopic): ConfigProblem | null {
  const topic = services.topics.get(t.name)
  if (!topic) {
    return {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: errorInfo.get(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)!.message,
    }
  }
  if (topic.internal) {
    // The group coordinator maps groups onto the partitions of __consumer_offsets; more would orphan offsets.
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Partitions cannot be added to internal topic ${topic.name}.`,
    }
  }
  if (t.count === topic.partitions) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `Topic already has ${topic.partitions} partition(s).` }
  }
  if (t.count < topic.partitions) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      message: `The topic ${t.name} currently has ${topic.partitions} partition(s); ${t.count} would not be an increase.`,
    }
  }
  if (t.count > MAX_PARTITIONS) {
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      message: `The topic ${t.name} cannot have more than ${MAX_PARTITIONS} partitions.`,
    }
  }
  const additional = t.count - topic.partitions
  if (t.assignments !== null) {
    if (t.assignments.length !== additional) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `Attempted to add ${additional} additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`,
      }
    }
    for (const a of t.assignments) {
      const problem = replicaAssignmentProblem(a.brokerIds, services.config.nodeId)
      if (problem) return problem
    }
  }
  return null
}

export const createPartitionsHandler: HandlerSpec<CreatePartitionsRequest, CreatePartitionsResponseInput> = {
  apiKey: ApiKeys.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  authorize: authorizeCreatePartitions,
  async handle(req, ctx) {
    const { services } = ctx
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const results: CreatePartitionsTopicResultInput[] = []
    const answered = new Set<string>()
    for (const t of req.topics) {
      if (answered.has(t.name)) continue
      answered.add(t.name)
      if (counts.get(t.name)! > 1) {
        results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' })
        continue
      }
      const problem = growProblem(services, t)
      if (problem) {
        results.push({ name: t.name, errorCode: problem.errorCode, errorMessage: problem.message })
        continue
      }
      if (!req.validateOnly) {
        try {
          await services.topics.addPartitions(t.name, t.count)
        } catch (err) {
          // A concurrent request changed or deleted the topic since the check above.
          if (!(err instanceof TopicError)) throw err
          results.push({ name: t.name, errorCode: err.errorCode, errorMessage: err.message })
          continue
        }
      }
      results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null })
    }
    return { throttleTimeMs: 0, results }
  },
}

/** Kafka: ALTER on each topic. */
function authorizeCreatePartitions(
  req: CreatePartitionsRequest,
  ctx: RequestContext,
): Authorization<CreatePartitionsRequest, CreatePartitionsResponseInput> {
  const [allowed, refused] = partitionBy(req.topics, (t) => topicAuthorized(ctx, AclOperation.ALTER, t.name))
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({
      ...res,
      results: [
        ...(res.results ?? []),
        ...refused.map((t) => ({
          name: t.name,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: 'Authorization failed.',
        })),
      ],
    }),
  }
}
