import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ListOffsetsRequest } from '../../protocol/generated/list-offsets-request.ts'
import type {
  ListOffsetsPartitionResponseInput,
  ListOffsetsResponseInput,
} from '../../protocol/generated/list-offsets-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { authorizeTopics, topicAuthorized } from '../security/authorize.ts'

const READ_COMMITTED = 1

export const listOffsetsHandler: HandlerSpec<ListOffsetsRequest, ListOffsetsResponseInput> = {
  apiKey: ApiKeys.ListOffsets,
  minVersion: 0,
  maxVersion: 9,
  authorize: authorizeListOffsets,
  async handle(req, ctx) {
    const { topics, replicas } = ctx.services
    const readCommitted = req.isolationLevel === READ_COMMITTED
    const out = []
    for (const t of req.topics) {
      const topic = topics.get(t.name)
      const partitions: ListOffsetsPartitionResponseInput[] = []
      for (const p of t.partitions) {
        const found = topic
          ? await replicas.fetchOffsetForTimestamp(topic.name, p.partitionIndex, Number(p.timestamp), {
              readCommitted,
              currentLeaderEpoch: p.currentLeaderEpoch,
            })
          : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: -1, timestamp: -1, leaderEpoch: -1 }
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: found.errorCode,
          timestamp: BigInt(found.timestamp),
          offset: BigInt(found.offset),
          leaderEpoch: found.leaderEpoch,
          // v0 answers with a list of offsets: the one asked for (clients used maxNumOffsets 1).
          oldStyleOffsets: ctx.apiVersion === 0 && found.offset >= 0 ? [BigInt(found.offset)] : [],
        })
      }
      out.push({ name: t.name, partitions })
    }
    return { throttleTimeMs: 0, topics: out }
  },
}

/** Kafka: DESCRIBE on each topic. */
function authorizeListOffsets(
  req: ListOffsetsRequest,
  ctx: RequestContext,
): Authorization<ListOffsetsRequest, ListOffsetsResponseInput> {
  return authorizeTopics(
    req,
    (t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name),
    (t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        oldStyleOffsets: [],
        timestamp: -1n,
        offset: -1n,
        leaderEpoch: -1,
      })),
    }),
  )
}
