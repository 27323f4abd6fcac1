import { LogError } from '../../log/index.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DeleteRecordsRequest } from '../../protocol/generated/delete-records-request.ts'
import type {
  DeleteRecordsPartitionResultInput,
  DeleteRecordsResponseInput,
  DeleteRecordsTopicResultInput,
} from '../../protocol/generated/delete-records-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, topicAuthorized } from '../security/authorize.ts'
import { METADATA_TOPIC } from '../topic-registry.ts'

/** DeleteRecords offset meaning "up to the high watermark". */
const HIGH_WATERMARK = -1n

export const deleteRecordsHandler: HandlerSpec<DeleteRecordsRequest, DeleteRecordsResponseInput> = {
  apiKey: ApiKeys.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  authorize: authorizeDeleteRecords,
  async handle(req, ctx) {
    const { services } = ctx
    const topics: DeleteRecordsTopicResultInput[] = []
    for (const t of req.topics) {
      const topic = services.topics.get(t.name)
      const internal = t.name === METADATA_TOPIC || topic?.internal === true
      // Compacted-only topics keep the latest value per key; cutting their start would break that promise.
      const deletable = topic ? services.topics.effectiveConfig(t.name).cleanupPolicy.delete : false
      const partitions: DeleteRecordsPartitionResultInput[] = []
      for (const p of t.partitions) {
        const res: DeleteRecordsPartitionResultInput = {
          partitionIndex: p.partitionIndex,
          lowWatermark: -1n,
          errorCode: ErrorCode.NONE,
        }
        partitions.push(res)
        if (internal) {
          res.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION
          continue
        }
        const log = topic ? services.topics.partitionLog(t.name, p.partitionIndex) : undefined
        if (!log) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (!deletable) {
          res.errorCode = ErrorCode.POLICY_VIOLATION
          continue
        }
        const offset = p.offset === HIGH_WATERMARK ? BigInt(log.highWatermark) : p.offset
        if (offset < 0n || offset > BigInt(log.highWatermark)) {
          res.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE
          continue
        }
        try {
          res.lowWatermark = BigInt(await log.deleteRecordsBefore(Number(offset)))
        } catch (err) {
          if (!(err instanceof LogError)) throw err
          res.errorCode = err.errorCode
        }
      }
      topics.push({ name: t.name, partitions })
    }
    return { throttleTimeMs: 0, topics }
  },
}

/** Kafka: DELETE on each topic. */
function authorizeDeleteRecords(
  req: DeleteRecordsRequest,
  ctx: RequestContext,
): Authorization<DeleteRecordsRequest, DeleteRecordsResponseInput> {
  const [allowed, refused] = partitionBy(req.topics, (t) => topicAuthorized(ctx, AclOperation.DELETE, t.name))
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({
      ...res,
      topics: [
        ...(res.topics ?? []),
        ...refused.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            lowWatermark: -1n,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          })),
        })),
      ],
    }),
  }
}
