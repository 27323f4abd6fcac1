import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { FetchRequest } from '../../protocol/generated/fetch-request.ts'
import type {
  FetchableTopicResponseInput,
  FetchResponseInput,
  PartitionDataInput,
} from '../../protocol/generated/fetch-response.ts'
import { standIn } from '../file-region.ts'
import type { HandlerSpec } from '../handler.ts'
import type { FetchPartition } from '../replica-manager.ts'

const EMPTY = Buffer.alloc(0)
const READ_COMMITTED = 1

interface Target {
  partition: FetchPartition
  out: PartitionDataInput
}

/**
 * Fetch serves whole record batches straight from the segment files. Incremental fetch sessions (KIP-227) are
 * declined by answering session id 0, which the protocol allows: clients then keep sending full fetch requests.
 */
export const fetchHandler: HandlerSpec<FetchRequest, FetchResponseInput> = {
  apiKey: 1,
  minVersion: 4,
  maxVersion: 17,
  async handle(req, ctx) {
    if (req.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] }
    }
    const { topics: registry } = ctx.services
    const byId = ctx.apiVersion >= 13
    const responses: FetchableTopicResponseInput[] = []
    const targets: Target[] = []
    for (const ft of req.topics) {
      const topic = byId ? registry.getById(ft.topicId) : registry.get(ft.topic)
      const partitions: PartitionDataInput[] = []
      responses.push({ topic: ft.topic, topicId: ft.topicId, partitions })
      for (const fp of ft.partitions) {
        const out: PartitionDataInput = {
          partitionIndex: fp.partition,
          errorCode: ErrorCode.NONE,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: EMPTY,
        }
        partitions.push(out)
        if (!topic) {
          out.errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (!registry.partitionLog(topic.name, fp.partition)) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (fp.currentLeaderEpoch > 0) {
          // Our only leader epoch is 0: a client claiming a newer one knows something we do not.
          out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          continue
        }
        targets.push({
          partition: {
            topic: topic.name,
            partition: fp.partition,
            fetchOffset: Number(fp.fetchOffset),
            maxBytes: fp.partitionMaxBytes,
          },
          out,
        })
      }
    }
    const results = await ctx.services.replicas.fetchRecords(
      targets.map((t) => t.partition),
      {
        minBytes: req.minBytes,
        maxWaitMs: req.maxWaitMs,
        // KIP-74: the broker's fetch.max.bytes caps the response whatever the request asks for.
        maxBytes: Math.min(req.maxBytes, ctx.services.config.fetchMaxBytes),
        readCommitted: req.isolationLevel === READ_COMMITTED,
        signal: ctx.signal,
      },
    )
    targets.forEach(({ out }, i) => {
      const r = results[i]!
      out.errorCode = r.errorCode
      out.highWatermark = BigInt(r.highWatermark)
      out.lastStableOffset = BigInt(r.lastStableOffset)
      out.logStartOffset = BigInt(r.logStartOffset)
      // Records left in the segment files go into the response as stand-ins, streamed when it is written.
      out.records = Buffer.isBuffer(r.records) ? r.records : standIn(r.records)
      out.abortedTransactions =
        r.abortedTransactions?.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) })) ??
        null
    })
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }
  },
}
