import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ListOffsetsRequest } from '../../protocol/generated/list-offsets-request.ts'
import type {
  ListOffsetsPartitionResponseInput,
  ListOffsetsResponseInput,
} from '../../protocol/generated/list-offsets-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, topicAuthorized } from '../security/authorize.ts'

const LATEST = -1n
const EARLIEST = -2n
const MAX_TIMESTAMP = -3n
const EARLIEST_LOCAL = -4n
const LATEST_TIERED = -5n
const READ_COMMITTED = 1

export const listOffsetsHandler: HandlerSpec<ListOffsetsRequest, ListOffsetsResponseInput> = {
  apiKey: ApiKeys.ListOffsets,
  minVersion: 0,
  maxVersion: 9,
  authorize: authorizeListOffsets,
  async handle(req, ctx) {
    const { topics } = ctx.services
    const out = []
    for (const t of req.topics) {
      const topic = topics.get(t.name)
      const partitions: ListOffsetsPartitionResponseInput[] = []
      for (const p of t.partitions) {
        const res: ListOffsetsPartitionResponseInput = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
          timestamp: -1n,
          offset: -1n,
          leaderEpoch: -1,
          oldStyleOffsets: [],
        }
        partitions.push(res)
        const log = topic ? topics.partitionLog(topic.name, p.partitionIndex) : undefined
        if (!log) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (p.currentLeaderEpoch > 0) {
          res.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          continue
        }
        let found: { offset: number; timestamp: number } | null
        switch (p.timestamp) {
          case LATEST:
            found = {
              offset: req.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark,
              timestamp: -1,
            }
            break
          case EARLIEST:
          case EARLIEST_LOCAL:
            found = { offset: log.logStartOffset, timestamp: -1 }
            break
          case LATEST_TIERED:
            // Nothing is tiered: Kafka answers -1 here when tiered storage is off.
            found = { offset: -1, timestamp: -1 }
            break
          case MAX_TIMESTAMP:
            found = await log.maxTimestamp()
            break
          default:
            if (p.timestamp < 0n) {
              res.errorCode = ErrorCode.INVALID_REQUEST
              continue
            }
            found = await log.offsetForTimestamp(Number(p.timestamp))
            if (found && req.isolationLevel === READ_COMMITTED && found.offset >= log.lastStableOffset) found = null
        }
        if (found) {
          res.offset = BigInt(found.offset)
          res.timestamp = BigInt(found.timestamp)
          res.leaderEpoch = found.offset >= 0 ? 0 : -1
        }
        if (ctx.apiVersion === 0) {
          // v0 answers with a list of offsets: the one asked for (clients used maxNumOffsets 1).
          res.oldStyleOffsets = found && found.offset >= 0 ? [BigInt(found.offset)] : []
        }
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
  const [allowed, refused] = partitionBy(req.topics, (t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name))
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
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            oldStyleOffsets: [],
            timestamp: -1n,
            offset: -1n,
            leaderEpoch: -1,
          })),
        })),
      ],
    }),
  }
}
