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
import { authorizeTopics, topicAuthorized } from '../security/authorize.ts'
import { METADATA_TOPIC } from '../topic-registry.ts'

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
      const partitions: DeleteRecordsPartitionResultInput[] = []
      for (const p of t.partitions) {
        const res =
          topic || internal
            ? await services.replicas.deleteRecords(t.name, p.partitionIndex, Number(p.offset), internal)
            : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 }
        partitions.push({
          partitionIndex: p.partitionIndex,
          lowWatermark: BigInt(res.lowWatermark),
          errorCode: res.errorCode,
        })
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
  return authorizeTopics(
    req,
    (t) => topicAuthorized(ctx, AclOperation.DELETE, t.name),
    (t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        lowWatermark: -1n,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }),
  )
}
