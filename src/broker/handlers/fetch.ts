import { LogError, type PartitionLog } from '../../log/index.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { FetchRequest } from '../../protocol/generated/fetch-request.ts'
import type {
  FetchableTopicResponseInput,
  FetchResponseInput,
  PartitionDataInput,
} from '../../protocol/generated/fetch-response.ts'
import { AppendWaiters } from '../append-waiters.ts'
import { MIN_REGION_BYTES, releaseRegion, standIn } from '../file-region.ts'
import type { HandlerSpec, RequestContext } from '../handler.ts'

const EMPTY = Buffer.alloc(0)
const READ_COMMITTED = 1

interface Target {
  topicName: string
  log: PartitionLog | undefined
  partition: number
  fetchOffset: number
  maxBytes: number
  currentLeaderEpoch: number
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
        const log = registry.partitionLog(topic.name, fp.partition)
        if (!log) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (fp.currentLeaderEpoch > 0) {
          // Our only leader epoch is 0: a client claiming a newer one knows something we do not.
          out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          continue
        }
        targets.push({
          topicName: topic.name,
          log,
          partition: fp.partition,
          fetchOffset: Number(fp.fetchOffset),
          maxBytes: fp.partitionMaxBytes,
          currentLeaderEpoch: fp.currentLeaderEpoch,
          out,
        })
      }
    }
    // KIP-74: the broker's fetch.max.bytes caps the response whatever the request asks for.
    const responseMaxBytes = Math.min(req.maxBytes, ctx.services.config.fetchMaxBytes)
    const readCommitted = req.isolationLevel === READ_COMMITTED
    const deadline = Date.now() + req.maxWaitMs
    try {
      for (;;) {
        const { bytes, errors } = await readAll(targets, responseMaxBytes, readCommitted)
        const remaining = deadline - Date.now()
        if (bytes >= req.minBytes || errors || remaining <= 0 || targets.length === 0 || ctx.signal.aborted) break
        await waitForData(ctx, targets, remaining)
      }
    } catch (err) {
      for (const t of targets) releaseRegion(t.out.records)
      throw err
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }
  },
}

/**
 * Records a response reads into memory; larger partitions, and any once this much is held, are left in the segment
 * files and streamed (see file-region.ts). Partitions under MIN_REGION_BYTES and tail-cache hits are always in
 * memory. A connection has one Fetch in flight at a time (server.ts), so this bounds it per connection.
 */
const IN_MEMORY_BYTES = 1024 * 1024

function waitForData(ctx: RequestContext, targets: Target[], timeoutMs: number): Promise<void> {
  const keys = targets.map((t) => AppendWaiters.key(t.topicName, t.partition))
  return ctx.services.appendWaiters.wait(keys, timeoutMs, ctx.signal)
}

async function readAll(
  targets: Target[],
  responseMaxBytes: number,
  readCommitted: boolean,
): Promise<{ bytes: number; errors: boolean }> {
  let bytes = 0
  let inMemory = 0
  let errors = false
  for (const t of targets) {
    const log = t.log!
    const out = t.out
    out.errorCode = ErrorCode.NONE
    releaseRegion(out.records) // a long poll reading again
    out.records = EMPTY
    const budget = Math.min(t.maxBytes, responseMaxBytes - bytes)
    const lso = log.lastStableOffset
    out.highWatermark = BigInt(log.highWatermark)
    out.lastStableOffset = BigInt(lso)
    out.logStartOffset = BigInt(log.logStartOffset)
    if (budget <= 0 && bytes > 0) continue
    try {
      const res = await log.readSlice(t.fetchOffset, Math.max(budget, 0), {
        // KIP-74: the first non-empty partition of a response returns at least one whole batch.
        minOneMessage: bytes === 0,
        maxOffset: readCommitted ? lso : undefined,
        // Larger records stay in the files and are streamed when the response is written.
        inMemoryMaxBytes: Math.max(IN_MEMORY_BYTES - inMemory, MIN_REGION_BYTES - 1),
      })
      if (Buffer.isBuffer(res.records)) {
        out.records = res.records
        inMemory += res.records.length
      } else out.records = standIn(res.records)
      out.highWatermark = BigInt(res.highWatermark)
      out.lastStableOffset = BigInt(res.lastStableOffset)
      out.logStartOffset = BigInt(res.logStartOffset)
      bytes += res.records.length
      if (readCommitted) {
        const upper = t.fetchOffset + 1 > res.lastStableOffset ? t.fetchOffset : res.lastStableOffset
        out.abortedTransactions = log
          .abortedTransactions(t.fetchOffset, upper)
          .map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }))
      }
    } catch (err) {
      if (!(err instanceof LogError)) throw err
      out.errorCode = err.errorCode
      errors = true
    }
  }
  return { bytes, errors }
}
