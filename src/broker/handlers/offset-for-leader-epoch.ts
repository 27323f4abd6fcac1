import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetForLeaderEpochRequest } from '../../protocol/generated/offset-for-leader-epoch-request.ts'
import type {
  EpochEndOffsetInput,
  OffsetForLeaderEpochResponseInput,
} from '../../protocol/generated/offset-for-leader-epoch-response.ts'
import type { HandlerSpec } from '../handler.ts'

/**
 * A single never-failing-over leader has one epoch, 0, which covers the whole log: its end offset is the log end.
 * Clients (librdkafka, Java) use this to validate their position after leader changes and resets.
 */
export const offsetForLeaderEpochHandler: HandlerSpec<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponseInput> =
  {
    apiKey: 23,
    minVersion: 0,
    maxVersion: 4,
    handle(req, ctx) {
      const { topics } = ctx.services
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p): EpochEndOffsetInput => {
            const topic = topics.get(t.topic)
            const log = topic ? topics.partitionLog(topic.name, p.partition) : undefined
            if (!log)
              return {
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                partition: p.partition,
                leaderEpoch: -1,
                endOffset: -1n,
              }
            if (p.currentLeaderEpoch > 0) {
              return {
                errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
                partition: p.partition,
                leaderEpoch: -1,
                endOffset: -1n,
              }
            }
            if (p.leaderEpoch > 0) {
              return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1n }
            }
            return {
              errorCode: ErrorCode.NONE,
              partition: p.partition,
              leaderEpoch: 0,
              endOffset: BigInt(log.logEndOffset),
            }
          }),
        })),
      }
    },
  }
