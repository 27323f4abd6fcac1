import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetForLeaderEpochRequest } from '../../protocol/generated/offset-for-leader-epoch-request.ts'
import type {
  EpochEndOffsetInput,
  OffsetForLeaderEpochResponseInput,
} from '../../protocol/generated/offset-for-leader-epoch-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { authorizeTopics, clusterAuthorized, topicAuthorized } from '../security/authorize.ts'

/**
 * Clients (librdkafka, Java) use the end offset of their epoch to validate their position after leader changes and
 * resets; ReplicaManager.lastOffsetForLeaderEpoch answers it.
 */
export const offsetForLeaderEpochHandler: HandlerSpec<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponseInput> =
  {
    apiKey: ApiKeys.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    authorize: authorizeOffsetForLeaderEpoch,
    handle(req, ctx) {
      const { topics, replicas } = ctx.services
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p): EpochEndOffsetInput => {
            const topic = topics.get(t.topic)
            const res = topic
              ? replicas.lastOffsetForLeaderEpoch(topic.name, p.partition, p.leaderEpoch, p.currentLeaderEpoch)
              : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 }
            return {
              errorCode: res.errorCode,
              partition: p.partition,
              leaderEpoch: res.leaderEpoch,
              endOffset: BigInt(res.endOffset),
            }
          }),
        })),
      }
    },
  }

/** Kafka: a follower needs CLUSTER_ACTION; a consumer DESCRIBE on each topic. */
function authorizeOffsetForLeaderEpoch(
  req: OffsetForLeaderEpochRequest,
  ctx: RequestContext,
): Authorization<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponseInput> {
  const follower = req.replicaId >= 0
  return authorizeTopics(
    req,
    (t) =>
      follower
        ? clusterAuthorized(ctx, AclOperation.CLUSTER_ACTION)
        : topicAuthorized(ctx, AclOperation.DESCRIBE, t.topic),
    (t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => ({
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        partition: p.partition,
        leaderEpoch: -1,
        endOffset: -1n,
      })),
    }),
  )
}
