/**
 * The one owner of partition operations (Kafka's ReplicaManager). Appending: from clients (producer state and
 * transactional checks, written on the thread pool, durability wait), transaction markers, and broker-internal
 * records (__consumer_offsets, __transaction_state, __cluster_metadata). Reading: byte limits, isolation level,
 * aborted ranges, and waiting for data (long-poll fetches park in `waiters`). Offsets: lookups by time or position
 * with isolation (ListOffsets), epoch end offsets (OffsetForLeaderEpoch), and deleting records below an offset
 * (DeleteRecords). Every append wakes the fetches waiting on its partition, internal topics' included. Handlers
 * translate wire versions to these calls and the results to responses.
 */

import type { KeyedRecord } from '../common/keyed-log.ts'
import type { Logger } from '../common/logger.ts'
import { type AbortedTxn, LogError, type LogManager, type LogSlice, type PartitionLog } from '../log/index.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { Attributes, BatchOffsets, encodeRecordBatchSync, RECORD_BATCH_OVERHEAD } from '../protocol/record-batch.ts'
import { AppendWaiters } from './append-waiters.ts'
import { MIN_REGION_BYTES } from './file-region.ts'
import { PartitionKeyedLog } from './internal-topic.ts'

/** What checks a transactional produce (the transaction coordinator, KIP-890 part 1). */
export interface TransactionalProduceVerifier {
  verifyTransactionalProduce(
    id: { transactionalId: string; producerId: number; producerEpoch: number },
    topic: string,
    partition: number,
  ): number
}

export interface ClientAppend {
  topic: string
  /** Internal topics take no client appends. */
  internal: boolean
  partition: number
  /** One record batch (magic 2), already checked against the request's version. */
  records: Buffer
  /** 0, 1 or -1: with 0 nothing waits for the write. */
  acks: number
  transactionalId: string | null
}

export interface ClientAppendResult {
  errorCode: number
  errorMessage: string | null
  /** The error is about the batch itself (INVALID_RECORD): Kafka reports it per batch too. */
  recordError: boolean
  baseOffset: number
  logAppendTime: number
  logStartOffset: number
}

export interface FetchPartition {
  topic: string
  partition: number
  fetchOffset: number
  maxBytes: number
}

export interface FetchPartitionResult {
  errorCode: number
  highWatermark: number
  lastStableOffset: number
  logStartOffset: number
  /** In memory, or a run of batches left in the segment file (at least MIN_REGION_BYTES), to stream. */
  records: Buffer | LogSlice
  /** Set for read_committed fetches. */
  abortedTransactions: AbortedTxn[] | null
}

export interface FetchParams {
  minBytes: number
  maxWaitMs: number
  /** The whole response's byte limit (already capped by the broker's fetch.max.bytes). */
  maxBytes: number
  readCommitted: boolean
  /** Ends a long poll early (connection closed, broker stopping). */
  signal: AbortSignal
}

/** ListOffsets' sentinel timestamps (Kafka's ListOffsetsRequest constants); any other negative is invalid. */
export const ListOffsetsTimestamp = {
  LATEST: -1,
  EARLIEST: -2,
  MAX_TIMESTAMP: -3,
  EARLIEST_LOCAL: -4,
  LATEST_TIERED: -5,
} as const

export interface OffsetLookupResult {
  errorCode: number
  /** -1 when no record matches. */
  offset: number
  /** The matching record's timestamp; -1 for position lookups (latest, earliest). */
  timestamp: number
  /** The epoch of the offset: 0 when one was found, else -1. */
  leaderEpoch: number
}

/** DeleteRecords' offset meaning "up to the high watermark". */
export const DELETE_TO_HIGH_WATERMARK = -1

/** The only leader epoch: one broker leads every partition and never fails over. */
const LEADER_EPOCH = 0

const EMPTY = Buffer.alloc(0)

/**
 * Records a response reads into memory; larger partitions, and any once this much is held, are left in the segment
 * files and streamed (see file-region.ts). Partitions under MIN_REGION_BYTES and tail-cache hits are always in
 * memory. A connection has one Fetch in flight at a time (server.ts), so this bounds it per connection.
 */
const IN_MEMORY_BYTES = 1024 * 1024

export class ReplicaManager {
  /** Fetches parked until their partitions get data (Kafka's fetch purgatory). */
  readonly waiters = new AppendWaiters()
  private transactions: TransactionalProduceVerifier | undefined

  constructor(
    private readonly logs: LogManager,
    private readonly logger: Logger,
  ) {}

  /** Transactional produces are refused until a transaction coordinator is attached. */
  attachTransactions(verifier: TransactionalProduceVerifier | undefined): void {
    this.transactions = verifier
  }

  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic, partition)
  }

  /** Whether this broker holds (leads) the partition. */
  hasPartition(topic: string, partition: number): boolean {
    return this.logs.get(topic, partition) !== undefined
  }

  /** Wakes every parked fetch (broker shutdown). */
  wakeAll(): void {
    this.waiters.wakeAll()
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Appends

  /**
   * Appends a client's batch synchronously (so appends keep request order); the returned `durable` promise, absent
   * for acks=0 and for failures, resolves once the records are written and synced under the flush policy, and
   * turns the result into KAFKA_STORAGE_ERROR if that fails.
   */
  appendRecords(req: ClientAppend): { result: ClientAppendResult; durable?: Promise<void> } {
    const result: ClientAppendResult = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      recordError: false,
      baseOffset: -1,
      logAppendTime: -1,
      logStartOffset: -1,
    }
    const fail = (code: number, message: string | null = null) => {
      result.errorCode = code
      result.errorMessage = message
      result.recordError = code === ErrorCode.INVALID_RECORD
      return { result }
    }
    const refused = this.clientAppendError(req.topic, req.internal, req.partition)
    if (refused) return fail(refused.errorCode, refused.errorMessage)
    const log = this.logs.get(req.topic, req.partition)!
    const txnError = this.verifyTransactional(req)
    if (txnError) {
      result.errorCode = txnError
      result.errorMessage = 'transactional batch for a partition not in the ongoing transaction or a fenced producer'
      return { result }
    }
    try {
      // With acks=0 nothing waits for the write, and the request buffer may be reused once the handler returns:
      // write synchronously. Otherwise the thread pool writes while the next request is handled, and the response
      // waits for the records to be written (and synced, under the group flush policy).
      const appended = log.append(req.records, { isFromClient: true, writeAsync: req.acks !== 0 })
      result.baseOffset = appended.baseOffset
      result.logAppendTime = appended.logAppendTime
      result.logStartOffset = appended.logStartOffset
      const { topic, partition } = req
      if (appended.visible) {
        appended.visible.then(
          () => this.waiters.notify(topic, partition),
          () => {},
        )
      } else if (!appended.duplicate) this.waiters.notify(topic, partition)
      if (req.acks === 0) return { result }
      const durable = log.waitDurable(appended.lastOffset).catch((err: Error) => {
        // The append is in the page cache but not known to be on disk: the client must not count it as
        // acknowledged.
        this.logger.error('flush failed', { topic, partition, err })
        result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR
        result.errorMessage = `flush failed: ${err.message}`
      })
      return { result, durable }
    } catch (err) {
      if (!(err instanceof LogError)) throw err
      return fail(err.errorCode, err.message)
    }
  }

  /** Why a client may not append to this partition at all (before its records are looked at), or null. */
  clientAppendError(
    topic: string,
    internal: boolean,
    partition: number,
  ): { errorCode: number; errorMessage: string | null } | null {
    if (internal)
      return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: `Cannot append to internal topic ${topic}` }
    if (!this.logs.get(topic, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null }
    return null
  }

  /**
   * KIP-890 part 1: a transactional batch is accepted only from the current producer of its transactional id and
   * only for a partition added to the ongoing transaction, so a zombie or a late batch after EndTxn cannot slip into
   * a partition whose log has not yet seen the bumped epoch. Reads the first batch header only (a produce request
   * holds one batch per partition); a malformed buffer is left to the log's validation.
   */
  private verifyTransactional(req: ClientAppend): number {
    const records = req.records
    if (records.length < RECORD_BATCH_OVERHEAD) return ErrorCode.NONE
    const transactional = (records.readInt16BE(BatchOffsets.attributes) & Attributes.TRANSACTIONAL) !== 0
    if (!transactional) return ErrorCode.NONE
    const txns = this.transactions
    if (!txns) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    if (req.transactionalId === null) return ErrorCode.INVALID_TXN_STATE
    return txns.verifyTransactionalProduce(
      {
        transactionalId: req.transactionalId,
        producerId: Number(records.readBigInt64BE(BatchOffsets.producerId)),
        producerEpoch: records.readInt16BE(BatchOffsets.producerEpoch),
      },
      req.topic,
      req.partition,
    )
  }

  /** Writes a transaction marker and resolves once it is durable; a partition that no longer exists is skipped. */
  async appendTxnMarker(
    topic: string,
    partition: number,
    producerId: number,
    epoch: number,
    commit: boolean,
  ): Promise<void> {
    const log = this.logs.get(topic, partition)
    if (!log) return
    const appended = log.appendControl(producerId, epoch, commit, 0)
    this.waiters.notify(topic, partition)
    await log.waitDurable(appended.lastOffset)
  }

  /** Appends broker-internal key/value records as one batch and resolves once they are durable. */
  async appendInternal(
    topic: string,
    partition: number,
    records: readonly KeyedRecord[],
    timestamp = Date.now(),
  ): Promise<number> {
    const log = this.logs.get(topic, partition)
    if (!log) throw new LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topic}-${partition}`)
    if (records.length === 0) return log.logEndOffset - 1
    const batch = encodeRecordBatchSync({
      records: records.map((r) => ({ key: r.key, value: r.value, timestamp })),
    })
    const res = log.append(batch)
    this.waiters.notify(topic, partition)
    await log.waitDurable(res.lastOffset)
    return res.lastOffset
  }

  /** An internal topic's partition as a KeyedLog whose appends go through appendInternal. */
  internalKeyedLog(topic: string, partition: number): PartitionKeyedLog {
    const log = this.logs.get(topic, partition)
    if (!log) throw new LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topic}-${partition}`)
    return new PartitionKeyedLog(log, (records) => this.appendInternal(topic, partition, records))
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Offsets: lookups by time or position (ListOffsets), epoch end offsets (OffsetForLeaderEpoch), and moving the log
  // start (DeleteRecords)

  /**
   * The offset ListOffsets answers for `timestamp`: one of the ListOffsetsTimestamp sentinels (latest, earliest, max
   * timestamp, ...) or a time in ms, giving the first record at or after it. `readCommitted` stops at the last
   * stable offset. A single leader that never fails over has epoch 0: a `currentLeaderEpoch` beyond it is unknown.
   */
  async fetchOffsetForTimestamp(
    topic: string,
    partition: number,
    timestamp: number,
    opts: { readCommitted: boolean; currentLeaderEpoch: number },
  ): Promise<OffsetLookupResult> {
    const result: OffsetLookupResult = { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1, leaderEpoch: -1 }
    const log = this.logs.get(topic, partition)
    if (!log) return { ...result, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
    if (opts.currentLeaderEpoch > LEADER_EPOCH) return { ...result, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH }
    let found: { offset: number; timestamp: number } | null
    switch (timestamp) {
      case ListOffsetsTimestamp.LATEST:
        found = { offset: opts.readCommitted ? log.lastStableOffset : log.highWatermark, timestamp: -1 }
        break
      case ListOffsetsTimestamp.EARLIEST:
      case ListOffsetsTimestamp.EARLIEST_LOCAL:
        found = { offset: log.logStartOffset, timestamp: -1 }
        break
      case ListOffsetsTimestamp.LATEST_TIERED:
        // Nothing is tiered: Kafka answers -1 here when tiered storage is off.
        found = { offset: -1, timestamp: -1 }
        break
      case ListOffsetsTimestamp.MAX_TIMESTAMP:
        found = await log.maxTimestamp()
        break
      default:
        if (timestamp < 0) return { ...result, errorCode: ErrorCode.INVALID_REQUEST }
        found = await log.offsetForTimestamp(timestamp)
        if (found && opts.readCommitted && found.offset >= log.lastStableOffset) found = null
    }
    if (!found) return result
    return {
      ...result,
      offset: found.offset,
      timestamp: found.timestamp,
      leaderEpoch: found.offset >= 0 ? LEADER_EPOCH : -1,
    }
  }

  /**
   * The end offset of `leaderEpoch` (Kafka's lastOffsetForLeaderEpoch). The one epoch, 0, covers the whole log, so
   * its end is the log end; a later epoch is unknown (-1, -1), and a `currentLeaderEpoch` beyond 0 is refused.
   */
  lastOffsetForLeaderEpoch(
    topic: string,
    partition: number,
    leaderEpoch: number,
    currentLeaderEpoch: number,
  ): { errorCode: number; leaderEpoch: number; endOffset: number } {
    const log = this.logs.get(topic, partition)
    if (!log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 }
    if (currentLeaderEpoch > LEADER_EPOCH)
      return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 }
    if (leaderEpoch > LEADER_EPOCH) return { errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 }
    return { errorCode: ErrorCode.NONE, leaderEpoch: LEADER_EPOCH, endOffset: log.logEndOffset }
  }

  /**
   * DeleteRecords: moves the partition's log start to `offset` (DELETE_TO_HIGH_WATERMARK: the high watermark) and
   * resolves once the new start is persisted and the segments below it are gone, with the new low watermark.
   * Internal topics and partitions whose cleanup.policy lacks `delete` (compacted topics keep the latest value per
   * key) are refused, and so is an offset beyond the high watermark (records not yet durable cannot be deleted).
   */
  async deleteRecords(
    topic: string,
    partition: number,
    offset: number,
    internal: boolean,
  ): Promise<{ errorCode: number; lowWatermark: number }> {
    if (internal) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, lowWatermark: -1 }
    const log = this.logs.get(topic, partition)
    if (!log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 }
    if (!log.config.cleanupPolicy.delete) return { errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1 }
    const hw = log.highWatermark
    const target = offset === DELETE_TO_HIGH_WATERMARK ? hw : offset
    if (target < 0 || target > hw) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 }
    try {
      return { errorCode: ErrorCode.NONE, lowWatermark: await log.deleteRecordsBefore(target) }
    } catch (err) {
      if (!(err instanceof LogError)) throw err
      return { errorCode: err.errorCode, lowWatermark: -1 }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reads

  /**
   * Reads every partition (errors per partition), and while fewer than minBytes came back, waits for an append to
   * one of them, up to maxWait. Slices handed back are the caller's to release.
   */
  async fetchRecords(partitions: FetchPartition[], params: FetchParams): Promise<FetchPartitionResult[]> {
    const results: FetchPartitionResult[] = partitions.map(() => ({
      errorCode: ErrorCode.NONE,
      highWatermark: -1,
      lastStableOffset: -1,
      logStartOffset: -1,
      records: EMPTY,
      abortedTransactions: null,
    }))
    const readable: { p: FetchPartition; log: PartitionLog; out: FetchPartitionResult }[] = []
    partitions.forEach((p, i) => {
      const log = this.logs.get(p.topic, p.partition)
      if (log) readable.push({ p, log, out: results[i]! })
      else results[i]!.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    })
    const deadline = Date.now() + params.maxWaitMs
    try {
      for (;;) {
        const { bytes, errors } = await this.readAll(readable, params)
        const remaining = deadline - Date.now()
        if (bytes >= params.minBytes || errors || remaining <= 0 || readable.length === 0 || params.signal.aborted)
          break
        const keys = readable.map((r) => AppendWaiters.key(r.p.topic, r.p.partition))
        await this.waiters.wait(keys, remaining, params.signal)
      }
    } catch (err) {
      for (const r of results) releaseSlice(r)
      throw err
    }
    return results
  }

  private async readAll(
    targets: { p: FetchPartition; log: PartitionLog; out: FetchPartitionResult }[],
    params: FetchParams,
  ): Promise<{ bytes: number; errors: boolean }> {
    let bytes = 0
    let inMemory = 0
    let errors = false
    for (const { p, log, out } of targets) {
      out.errorCode = ErrorCode.NONE
      releaseSlice(out) // a long poll reading again
      const budget = Math.min(p.maxBytes, params.maxBytes - bytes)
      const lso = log.lastStableOffset
      out.highWatermark = log.highWatermark
      out.lastStableOffset = lso
      out.logStartOffset = log.logStartOffset
      if (budget <= 0 && bytes > 0) continue
      try {
        const res = await log.readSlice(p.fetchOffset, Math.max(budget, 0), {
          // KIP-74: the first non-empty partition of a response returns at least one whole batch.
          minOneMessage: bytes === 0,
          maxOffset: params.readCommitted ? lso : undefined,
          // Larger records stay in the files and are streamed when the response is written.
          inMemoryMaxBytes: Math.max(IN_MEMORY_BYTES - inMemory, MIN_REGION_BYTES - 1),
        })
        out.records = res.records
        if (Buffer.isBuffer(res.records)) inMemory += res.records.length
        out.highWatermark = res.highWatermark
        out.lastStableOffset = res.lastStableOffset
        out.logStartOffset = res.logStartOffset
        bytes += res.records.length
        if (params.readCommitted) {
          const upper = p.fetchOffset + 1 > res.lastStableOffset ? p.fetchOffset : res.lastStableOffset
          out.abortedTransactions = log.abortedTransactions(p.fetchOffset, upper)
        }
      } catch (err) {
        if (!(err instanceof LogError)) throw err
        out.errorCode = err.errorCode
        errors = true
      }
    }
    return { bytes, errors }
  }
}

function releaseSlice(r: FetchPartitionResult): void {
  if (!Buffer.isBuffer(r.records)) r.records.release()
  r.records = EMPTY
}
