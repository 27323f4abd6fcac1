/**
 * The durable log of one partition (Kafka's UnifiedLog): appends with producer checks and offset assignment, and
 * the composition of its parts — the segments (LocalLog), opening and recovery (LogLoader), validation of incoming
 * batches (log-validator), writes in flight (InflightWrites), the tail cache (TailCache), reads (LogReader),
 * timestamp lookup (OffsetLookup) and the retention / compaction driver (LogRetention).
 */

import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../errors.ts'
import { initCompression } from '../protocol/compression.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { encodeControlBatch, LogError } from '../protocol/record-batch.ts'
import type { LogConfig } from './config.ts'
import { type Flushable, type FlushScheduler, fdatasync } from './flush-scheduler.ts'
import { InflightWrites } from './inflight-writes.ts'
import { LocalLog, type LogLineLevel } from './local-log.ts'
import {
  CLEAN_SHUTDOWN_MARKER,
  emptyRecoveryReport,
  LogLoader,
  type RecoveryReport,
  writeProducerSnapshot,
} from './log-loader.ts'
import { LogReader, type ReadOptions, type ReadResult, type SliceResult } from './log-reader.ts'
import { LogRetention } from './log-retention.ts'
import { assignOffsets, controlInfo, type PendingBatch, recompress, validateBatches } from './log-validator.ts'
import { OffsetLookup } from './offset-lookup.ts'
import { type AbortedTxn, type ProducerEntry, ProducerStateManager } from './producer-state.ts'
import { LogSegment } from './segment.ts'
import { RecentPositions, TailCache, type TailCacheBudget } from './tail-cache.ts'

export type { LogLineLevel } from './local-log.ts'
export type { RecoveryReport, SegmentDamage } from './log-loader.ts'
export type { LogSlice, ReadResult, SliceResult } from './log-reader.ts'
export { TailCacheBudget } from './tail-cache.ts'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** The append time when the topic uses LogAppendTime, else -1. */
  logAppendTime: number
  logStartOffset: number
  duplicate: boolean
  recordCount: number
  /**
   * For an append written on the thread pool (`writeAsync`): resolves once the records are readable (the high
   * watermark has passed them), rejects if the write failed. Absent for appends written synchronously.
   */
  visible?: Promise<void>
}

export interface PartitionLogOptions {
  dir: string
  config: LogConfig
  flusher: FlushScheduler
  now?: () => number
  /** Receives one line per lifecycle event worth knowing (recovery truncation, rebuilt indexes, damage found). */
  log?: (message: string, level?: LogLineLevel) => void
  /**
   * Appends allowed to write on the thread pool (`writeAsync`) do so only from this size on (default 64 KiB):
   * a small write costs less than the hop to another thread and back, which would only delay its readers.
   */
  asyncWriteMinBytes?: number
  /** Shared by the partitions of one broker: caps the memory all their tail caches hold together. */
  tailCacheBudget?: TailCacheBudget
}

const DEFAULT_ASYNC_WRITE_MIN_BYTES = 64 * 1024
const MAX_RELATIVE_OFFSET = 2147483647

export class PartitionLog implements Flushable {
  readonly dir: string
  /** What opening the log found and did. */
  readonly recovery: RecoveryReport = emptyRecoveryReport()
  readonly producerState = new ProducerStateManager()
  private readonly local: LocalLog
  private readonly flusher: FlushScheduler
  private readonly asyncWriteMinBytes: number
  private readonly inflight: InflightWrites
  private readonly tail: TailCache
  private readonly recent = new RecentPositions()
  private readonly reader: LogReader
  private readonly lookup: OffsetLookup
  private readonly retention: LogRetention
  private durableEnd = 0
  private isClosed = false

  private constructor(opts: PartitionLogOptions) {
    this.dir = opts.dir
    this.local = new LocalLog(opts.dir, opts.config, opts.now ?? Date.now, opts.log ?? (() => {}))
    this.flusher = opts.flusher
    this.asyncWriteMinBytes = opts.asyncWriteMinBytes ?? DEFAULT_ASYNC_WRITE_MIN_BYTES
    this.tail = new TailCache(opts.tailCacheBudget ?? null)
    this.inflight = new InflightWrites(
      (seg) => {
        // Written bytes must be part of the next sync round, even if a round started while they were in flight.
        this.local.unflushed.add(seg)
        this.flusher.markDirty(this)
      },
      (message) => {
        this.local.logLine(`write failed, partition ${this.dir} takes no more appends: ${message}`)
        this.tail.clear()
      },
    )
    this.reader = new LogReader(this.local, this, this.inflight, this.recent, this.tail)
    this.lookup = new OffsetLookup(this.local, this.reader)
    const log = this
    this.retention = new LogRetention(this.local, this.producerState, {
      get lastStableOffset() {
        return log.lastStableOffset
      },
      get closed() {
        return log.isClosed
      },
      ensureOpen: () => this.ensureOpen(),
      roll: () => this.roll(),
      writesSettled: () => this.inflight.settled(),
    })
  }

  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    // Appends recompress synchronously when a topic asks for a codec (compression.type), zstd included.
    await initCompression()
    const log = new PartitionLog(opts)
    try {
      await new LogLoader(log.local, log.recovery, log.producerState).load()
    } catch (err) {
      // A load that failed part-way (e.g. out of file descriptors) must not keep the files it opened.
      log.local.closeSegments()
      throw err
    }
    log.durableEnd = log.logEndOffset
    return log
  }

  get config(): LogConfig {
    return this.local.config
  }

  updateConfig(c: LogConfig): void {
    this.local.config = c
  }

  get logStartOffset(): number {
    return this.local.startOffset
  }

  get logEndOffset(): number {
    return this.local.logEndOffset
  }

  /** One node, so every appended record is committed once its bytes are written: the end of the readable log. */
  get highWatermark(): number {
    return this.inflight.highWatermark(this.logEndOffset)
  }

  get lastStableOffset(): number {
    const hw = this.highWatermark
    const first = this.producerState.firstUnstableOffset()
    return first >= 0 && first < hw ? first : hw
  }

  /** Total bytes of all segment files. */
  get size(): number {
    return this.local.size
  }

  get segmentCount(): number {
    return this.local.segments.length
  }

  /** Base offsets of the segments, oldest first (for tests and tooling). */
  segmentBaseOffsets(): number[] {
    return this.local.segments.map((s) => s.baseOffset)
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Append

  /**
   * Validates every batch in `records`, checks producer sequences, assigns offsets and writes to the page cache.
   * The buffer is modified in place (base offsets, leader epoch, LogAppendTime fields). Throws LogError.
   */
  append(records: Buffer, opts: { isFromClient?: boolean; writeAsync?: boolean } = {}): AppendResult {
    this.ensureOpen()
    if (this.inflight.failure) throw this.inflight.failure
    const fromClient = opts.isFromClient !== false
    const cfg = this.local.config
    const batches = validateBatches(records, cfg, fromClient)

    // Producer checks against state staged across the batches of this request, so a rejection appends nothing.
    const staged = new Map<number, ProducerEntry>()
    const toWrite: PendingBatch[] = []
    let firstDuplicate: AppendResult | null = null
    for (const b of batches) {
      const h = b.header
      if (h.producerId >= 0 && fromClient) {
        const check = this.producerState.check(h, staged)
        if (check.kind === 'duplicate') {
          firstDuplicate ??= {
            baseOffset: check.batch.firstOffset,
            lastOffset: check.batch.lastOffset,
            logAppendTime: cfg.messageTimestampType === 'LogAppendTime' ? check.batch.timestamp : -1,
            logStartOffset: this.local.startOffset,
            duplicate: true,
            recordCount: h.recordCount,
          }
          continue
        }
      }
      // Stage with provisional offsets so later batches of the same producer see the sequence advance.
      if (h.producerId >= 0) this.producerState.apply({ ...h, baseOffset: 0 }, staged, -1, -1)
      toWrite.push(b)
    }
    if (toWrite.length === 0) return firstDuplicate!
    records = recompress(records, toWrite, cfg)

    const appendTime = this.local.now()
    const logAppendTime = cfg.messageTimestampType === 'LogAppendTime'
    const assigned = assignOffsets(records, toWrite, this.logEndOffset, appendTime, logAppendTime)
    const next = assigned.next
    this.maybeRoll(assigned.bytes, next - 1, appendTime, assigned.maxTimestamp)
    const seg = this.local.active
    // Contiguous batches (the usual single batch) go to the file in one write.
    const first = toWrite[0]!
    const last = toWrite[toWrite.length - 1]!
    const contiguous = toWrite.every((b, i) => i === 0 || b.start === toWrite[i - 1]!.end)
    let position = seg.size
    const async = opts.writeAsync === true && contiguous && last.end - first.start >= this.asyncWriteMinBytes
    let visible: Promise<void> | undefined
    try {
      if (async) {
        // The copy into the page cache is the biggest cost of a large produce; the thread pool does it while this
        // thread takes the next request. Readers see these offsets once the bytes are written (see InflightWrites).
        const w = this.inflight.beginAsync(this.logEndOffset, next, seg, position)
        visible = w.visible
        seg.writeAsync(records, first.start, last.end, w.done)
      } else if (contiguous) seg.write(records, first.start, last.end)
      else for (const b of toWrite) seg.write(records, b.start, b.end)
      if (!async) this.inflight.addWritten(next, seg, position)
    } catch (err) {
      // Drop a partial write so the next append starts on a batch boundary.
      this.recent.clear()
      this.tail.clear()
      try {
        seg.truncateTo(position)
      } catch {}
      throw new LogError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot write to ${seg.logPath}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    if (async) this.tail.clear()
    for (const b of toWrite) {
      const lastOffset = b.header.baseOffset + b.header.lastOffsetDelta
      if (!async) this.tail.add(b.header.baseOffset, lastOffset, records, b)
      seg.indexBatch(b.header, position, b.end - b.start, cfg.indexIntervalBytes)
      this.recent.add(b.header.baseOffset, lastOffset, position)
      position += b.end - b.start
    }
    seg.nextOffset = next
    seg.lastModifiedMs = appendTime
    if (seg.rollBaseTime < 0) seg.rollBaseTime = appendTime
    this.local.unflushed.add(seg)
    this.flusher.markDirty(this)

    // Commit producer state with real offsets.
    const realStaged = new Map<number, ProducerEntry>()
    const aborted: AbortedTxn[] = []
    for (const b of toWrite) {
      if (b.header.producerId < 0) continue
      let controlType = -1
      let coordinatorEpoch = -1
      if (b.header.isControl) ({ controlType, coordinatorEpoch } = controlInfo(b.header, records, b.start, b.end))
      const a = this.producerState.apply(b.header, realStaged, controlType, coordinatorEpoch)
      if (a) aborted.push(a)
    }
    this.producerState.commit(realStaged, aborted)

    return {
      baseOffset: first.header.baseOffset,
      lastOffset: next - 1,
      logAppendTime: logAppendTime ? appendTime : -1,
      logStartOffset: this.local.startOffset,
      duplicate: false,
      recordCount: assigned.recordCount,
      ...(visible ? { visible } : {}),
    }
  }

  /** Writes a transaction marker (COMMIT or ABORT) for `producerId`, ending its ongoing transaction. */
  appendControl(producerId: number, epoch: number, commit: boolean, coordinatorEpoch: number): AppendResult {
    const batch = encodeControlBatch({
      producerId,
      producerEpoch: epoch,
      commit,
      coordinatorEpoch,
      timestamp: this.local.now(),
    })
    const current = this.producerState.get(producerId)
    if (current && epoch < current.epoch) {
      throw new LogError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `transaction marker epoch ${epoch} is older than producer ${producerId}'s epoch ${current.epoch}`,
      )
    }
    return this.append(batch, { isFromClient: false })
  }

  /** Aborted transactions overlapping [fetchOffset, upperBoundOffset) for read_committed fetches. */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.producerState.abortedTransactions(fetchOffset, upperBoundOffset)
  }

  private maybeRoll(incomingBytes: number, lastOffset: number, now: number, incomingMaxTimestamp: number): void {
    const seg = this.local.active
    if (seg.size === 0) return
    const cfg = this.local.config
    const full = seg.size + incomingBytes > cfg.segmentBytes
    // As Kafka: segment age is measured in record time (the incoming batch against the segment's first batch),
    // so producers writing historical timestamps do not get one segment per batch. Without record timestamps,
    // wall-clock time since the segment started.
    const waited =
      incomingMaxTimestamp >= 0 && seg.rollBaseTime >= 0
        ? incomingMaxTimestamp - seg.rollBaseTime
        : now - seg.rollBaseTime
    const aged = seg.rollBaseTime >= 0 && waited >= cfg.segmentMs
    const relOverflow = lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET
    if (full || aged || relOverflow) this.roll()
  }

  /** Starts a new active segment at the log end offset. */
  roll(): void {
    const local = this.local
    const old = local.active
    if (old.size === 0) return
    this.recent.clear()
    // The tail cache only ever holds batches of the active segment, which compaction and retention never touch.
    this.tail.clear()
    old.finishTimeIndex()
    const seg = LogSegment.create(this.dir, this.logEndOffset, local.now())
    seg.nextOffset = seg.baseOffset
    seg.rollBaseTime = -1
    local.segments.push(seg)
    old.closeIndexFds()
    local.rememberIndexes(old)
    // The old segment's data must reach the disk before its producer snapshot claims it.
    local.unflushed.add(old)
    this.flusher.markDirty(this)
    try {
      writeProducerSnapshot(this.dir, this.producerState, this.logEndOffset)
    } catch (err) {
      local.logLine(`could not write producer snapshot in ${this.dir}: ${(err as Error).message}`)
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Durability

  /** Called by the FlushScheduler: fdatasyncs every segment written since the previous flush. */
  async flush(): Promise<void> {
    // Only what is written can be synced: appends still in flight stay above the durable mark.
    const upTo = this.highWatermark
    const unflushed = this.local.unflushed
    const segs = [...unflushed]
    unflushed.clear()
    for (const s of segs) s.acquire()
    try {
      const open = segs.filter((s) => !s.closed)
      this.flusher.countFileSyncs(open.length)
      await Promise.all(open.map((s) => fdatasync(s.fd)))
    } catch (err) {
      // Keep them dirty: a later round must not report durability for data whose sync failed.
      for (const s of segs) if (!s.closed) unflushed.add(s)
      throw err
    } finally {
      for (const s of segs) s.release()
    }
    if (upTo > this.durableEnd) this.durableEnd = upTo
  }

  /**
   * Resolves once everything up to `offset` is durable under the flush policy. Accepts either the last appended
   * offset or the log end offset after it.
   */
  async waitDurable(offset: number): Promise<void> {
    const target = Math.min(offset + 1, this.logEndOffset)
    await this.inflight.whenVisible(target, this.highWatermark)
    while (this.durableEnd < target && this.flusher.policy.mode === 'group' && !this.isClosed) {
      await this.flusher.waitDurable(this)
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Read and lookup (see LogReader and OffsetLookup)

  /**
   * Returns whole batches starting at the batch that contains `offset`, up to `maxBytes` (soft: with minOneMessage,
   * the default, a first batch larger than maxBytes is returned whole). `maxOffset` (exclusive) stops at batches
   * starting at or after it, e.g. the last stable offset for read_committed.
   */
  read(offset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    this.ensureOpen()
    return this.reader.read(offset, maxBytes, opts)
  }

  /** Like `read`, but a large result comes back as a LogSlice to be read while it is sent. */
  readSlice(offset: number, maxBytes: number, opts: ReadOptions & { inMemoryMaxBytes: number }): Promise<SliceResult> {
    this.ensureOpen()
    return this.reader.readSlice(offset, maxBytes, opts)
  }

  /** First offset whose timestamp is >= ts (ListOffsets semantics), or null. */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.lookup.offsetForTimestamp(ts)
  }

  /** Largest timestamp in the log and the offset of the record carrying it (ListOffsets MAX_TIMESTAMP). */
  maxTimestamp(): Promise<{ offset: number; timestamp: number } | null> {
    return this.lookup.maxTimestamp()
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Retention, DeleteRecords, compaction (see LogRetention)

  /** DeleteRecords: moves the log start offset forward (persisted) and deletes segments entirely below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.retention.deleteRecordsBefore(offset)
  }

  /** Time and size retention over whole inactive segments; also rolls an active segment older than segment.ms. */
  enforceRetention(): Promise<{ deletedSegments: number }> {
    return this.retention.enforceRetention()
  }

  /** Keeps the latest record per key in inactive segments (see LogRetention.compact). */
  compact(): Promise<{ removedRecords: number }> {
    return this.retention.compact()
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifecycle

  private ensureOpen(): void {
    if (this.isClosed) throw new TributaryError('TRB_LOG_CLOSED', `partition log ${this.dir} is closed`)
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    await this.retention.idle()
    await this.inflight.settled()
    await this.flush()
    try {
      this.local.active.finishTimeIndex()
      writeProducerSnapshot(this.dir, this.producerState, this.logEndOffset)
    } catch (err) {
      this.local.logLine(`could not write producer snapshot in ${this.dir}: ${(err as Error).message}`)
    }
    this.isClosed = true
    this.tail.clear()
    this.local.closeSegments()
    try {
      fs.writeFileSync(path.join(this.dir, CLEAN_SHUTDOWN_MARKER), '')
    } catch {}
  }

  async destroy(): Promise<void> {
    if (!this.isClosed) {
      await this.retention.idle()
      this.isClosed = true
      this.tail.clear()
      this.local.closeSegments()
    }
    this.local.unflushed.clear()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}
