/**
 * The durable log of one partition: a directory of segments, append with validation and offset assignment,
 * reads served as raw batch bytes, recovery, retention, DeleteRecords and compaction.
 */
import fs from 'node:fs'
import path from 'node:path'
import { TributaryError } from '../errors.ts'
import { decompress, initCompression } from '../protocol/compression.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import {
  Attributes,
  type BatchHeader,
  BatchOffsets,
  decodeControlRecordType,
  decodeRecords,
  encodeControlBatch,
  type KafkaRecord,
  LOG_OVERHEAD,
  LogError,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  recompressBatchSync,
  updateBatchCrc,
  validateRecordBatch,
  writeInt64,
} from '../protocol/record-batch.ts'
import { compactSegment } from './compaction.ts'
import { type LogConfig, targetCodec } from './config.ts'
import { type Flushable, type FlushScheduler, fdatasync } from './flush-scheduler.ts'
import { type AbortedTxn, type ProducerEntry, type ProducerSnapshot, ProducerStateManager } from './producer-state.ts'
import {
  framingProblem,
  LogSegment,
  readFully,
  type ScannedBatch,
  type SegmentCheck,
  scanSegmentFile,
  segmentFileName,
} from './segment.ts'

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

/** An append whose bytes may still be in flight; readers see the log only up to the first one not yet written. */
interface InflightWrite {
  /** The log end offset after this append. */
  end: number
  seg: LogSegment
  /** File position where this append's bytes start. */
  startPos: number
  done: boolean
  resolve?: () => void
  reject?: (err: unknown) => void
  visible?: Promise<void>
}

export interface ReadResult {
  /** Whole batches starting at the batch containing the requested offset; may be empty. */
  records: Buffer
  highWatermark: number
  logStartOffset: number
  lastStableOffset: number
}

/** What opening a partition found and did (logged at start; summed up by the broker). */
export interface RecoveryReport {
  /** Segments existed and the clean-shutdown marker did not. */
  uncleanShutdown: boolean
  /** Segments checked batch by batch with CRC-32C (the active one, and after a crash the one rolled last). */
  segmentsChecked: number
  batchesChecked: number
  bytesChecked: number
  bytesTruncated: number
  /** One entry per truncated file: which, where and why. */
  truncations: string[]
  indexesRebuilt: number
  /** Offset of the producer-state snapshot used, or -1 when state was rebuilt from the log alone. */
  producerSnapshot: number
  /** Batch headers replayed after the snapshot to rebuild producer state. */
  batchesReplayed: number
  /** Transactions left open in this partition (their producers may still end them, or they time out). */
  openTransactions: number
  /** Rolled segments whose tail is truncated or damaged; left as they are. */
  damaged: SegmentDamage[]
}

export interface SegmentDamage {
  file: string
  /** Where the valid batches end. */
  position: number
  size: number
  reason: string
  /** The offsets [firstLostOffset, nextOffset) cannot be served. */
  firstLostOffset: number
  nextOffset: number
}

export type LogLineLevel = 'info' | 'warn' | 'error'
/** A run of whole batches in one segment file, located but not read (see PartitionLog.readSlice). */
export interface LogSlice {
  readonly length: number
  /** Reads `length` bytes at `position` within the slice into `buf` at `offset`. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<void>
  /** Lets the segment file go; until then it stays open (even if retention deletes it meanwhile). Idempotent. */
  release(): void
}

export interface SliceResult extends Omit<ReadResult, 'records'> {
  records: Buffer | LogSlice
}

class SegmentSlice implements LogSlice {
  private released = false
  constructor(
    private readonly seg: LogSegment,
    private readonly start: number,
    readonly length: number,
  ) {}

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    if (this.released) throw new LogError(ErrorCode.UNKNOWN_SERVER_ERROR, 'read of a released log slice')
    if (position < 0 || position + length > this.length) throw new RangeError('read outside the log slice')
    const n = await readFully(this.seg.fd, buf, offset, length, this.start + position)
    if (n !== length) {
      throw new LogError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `short read of ${this.seg.logPath} at ${this.start + position}: ${n} of ${length} bytes`,
      )
    }
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.seg.release()
  }
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

/** Bytes of tail-cache copies (see PartitionLog `tail`) that all partitions sharing it may hold together. */
export class TailCacheBudget {
  used = 0
  constructor(readonly maxBytes: number) {}
}

const DEFAULT_ASYNC_WRITE_MIN_BYTES = 64 * 1024
/** Bytes of the newest small batches each partition keeps in memory for tailing consumers (see `tail`). */
const TAIL_CACHE_BYTES = 64 * 1024

/** How many of the newest batch positions of the active segment are remembered (see PartitionLog.recent). */
const RECENT_POSITIONS = 256

const LOG_START_CHECKPOINT = 'log-start-offset.checkpoint'
/** Present only between a clean close and the next open: its absence means the newest segments need checking. */
const CLEAN_SHUTDOWN_MARKER = '.clean-shutdown'
const SNAPSHOT_SUFFIX = '.snapshot'
const SEGMENT_RE = /^(\d{20})\.log$/
const SNAPSHOT_RE = /^(\d{20})\.snapshot$/
const MAX_RELATIVE_OFFSET = 2147483647
const LOCATE_CHUNK = 64 * 1024
/** Inactive segments whose index entries stay in memory; memory must not grow with retained data. */
const INDEX_CACHE_SIZE = 8

function outOfRange(offset: number, start: number, end: number): LogError {
  return new LogError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside the log range [${start}, ${end}]`)
}

function writeFileAtomic(file: string, data: string | Buffer, sync = true): void {
  const tmp = `${file}.tmp`
  const fd = fs.openSync(tmp, 'w', 0o644)
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    if (sync) fs.fdatasyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

interface PendingBatch {
  start: number
  end: number
  header: BatchHeader
}

export class PartitionLog implements Flushable {
  /**
   * File positions of the newest batches of the active segment (no data), so a consumer reading at the tail is
   * answered with one file read instead of an index scan plus header and body reads: every thread-pool read a
   * tailing fetch saves is one less competitor for the group-commit fdatasync.
   */
  private recent: { base: number; last: number; pos: number }[] = []
  readonly dir: string
  private cfg: LogConfig
  private readonly flusher: FlushScheduler
  private readonly now: () => number
  private readonly logLine: (message: string, level?: LogLineLevel) => void
  /** What opening the log found and did. */
  readonly recovery: RecoveryReport = {
    uncleanShutdown: false,
    segmentsChecked: 0,
    batchesChecked: 0,
    bytesChecked: 0,
    bytesTruncated: 0,
    truncations: [],
    indexesRebuilt: 0,
    producerSnapshot: -1,
    batchesReplayed: 0,
    openTransactions: 0,
    damaged: [],
  }
  /** When each damaged batch position was last logged (reads keep hitting it; one line a minute is enough). */
  private readonly corruptLogged = new Map<string, number>()
  private readonly asyncWriteMinBytes: number
  private readonly tailBudget: TailCacheBudget | null
  private segments: LogSegment[] = []
  private startOffset = 0
  private durableEnd = 0
  /**
   * Appends not yet readable, oldest first. While it is non-empty every append (sync or async) is queued here, and
   * `visibleEnd` is the high watermark: the end of the longest prefix of the log whose bytes are all written.
   */
  private inflight: InflightWrite[] = []
  private visibleEnd = 0
  /**
   * Copies of the newest appended batches while they are small (written synchronously), contiguous in offsets,
   * at most TAIL_CACHE_BYTES. A consumer at the end of the log is answered from here in the same event-loop turn
   * as the append that woke it, instead of after a file read on the thread pool: that hop, queued behind the
   * group commit's fdatasync calls, was most of the end-to-end latency tail.
   */
  private tail: { base: number; last: number; bytes: Buffer }[] = []
  private tailBytes = 0
  /** Set when a thread-pool write failed: the log takes no more appends until it is reopened (and recovered). */
  private writeFailure: LogError | null = null
  /** Where the failed append started: nothing at or after it is ever served. */
  private failedAt: { offset: number; seg: LogSegment; startPos: number } | null = null
  private settledWaiters: (() => void)[] = []
  private readonly unflushed = new Set<LogSegment>()
  readonly producerState = new ProducerStateManager()
  private maintenance: Promise<unknown> = Promise.resolve()
  private readonly loadedIndexes: LogSegment[] = []
  private closed = false

  private constructor(opts: PartitionLogOptions) {
    this.dir = opts.dir
    this.cfg = opts.config
    this.flusher = opts.flusher
    this.now = opts.now ?? Date.now
    this.logLine = opts.log ?? (() => {})
    this.asyncWriteMinBytes = opts.asyncWriteMinBytes ?? DEFAULT_ASYNC_WRITE_MIN_BYTES
    this.tailBudget = opts.tailCacheBudget ?? null
  }

  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    // Appends recompress synchronously when a topic asks for a codec (compression.type), zstd included.
    await initCompression()
    const log = new PartitionLog(opts)
    try {
      await log.load()
    } catch (err) {
      // A load that failed part-way (e.g. out of file descriptors) must not keep the files it opened.
      for (const seg of log.segments) seg.close()
      throw err
    }
    return log
  }

  get config(): LogConfig {
    return this.cfg
  }

  updateConfig(c: LogConfig): void {
    this.cfg = c
  }

  get logStartOffset(): number {
    return this.startOffset
  }

  get logEndOffset(): number {
    return this.active.nextOffset
  }

  /** One node, so every appended record is committed once its bytes are written: the end of the readable log. */
  get highWatermark(): number {
    const hw = this.inflight.length > 0 ? this.visibleEnd : this.logEndOffset
    return this.failedAt && this.failedAt.offset < hw ? this.failedAt.offset : hw
  }

  get lastStableOffset(): number {
    const hw = this.highWatermark
    const first = this.producerState.firstUnstableOffset()
    return first >= 0 && first < hw ? first : hw
  }

  /** Total bytes of all segment files. */
  get size(): number {
    let s = 0
    for (const seg of this.segments) s += seg.size
    return s
  }

  get segmentCount(): number {
    return this.segments.length
  }

  /** Base offsets of the segments, oldest first (for tests and tooling). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset)
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Loading and recovery

  private async load(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true })
    const names = fs.readdirSync(this.dir)
    const bases: number[] = []
    for (const name of names) {
      // Leftovers of an interrupted compaction or atomic write: the originals are still in place.
      if (name.endsWith('.cleaned') || name.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, name), { force: true, recursive: true })
        continue
      }
      const m = SEGMENT_RE.exec(name)
      if (m) bases.push(Number(m[1]))
    }
    bases.sort((a, b) => a - b)
    let checkpoint = 0
    try {
      const raw = fs.readFileSync(path.join(this.dir, LOG_START_CHECKPOINT), 'utf8').trim()
      if (/^\d+$/.test(raw)) checkpoint = Number(raw)
    } catch {}

    for (const base of bases) {
      try {
        this.segments.push(LogSegment.openExisting(this.dir, base))
      } catch (err) {
        this.logLine(`ignoring unreadable segment ${base} in ${this.dir}: ${(err as Error).message}`)
      }
    }
    if (this.segments.length === 0) {
      this.segments.push(LogSegment.create(this.dir, checkpoint, this.now()))
    }
    const markerPath = path.join(this.dir, CLEAN_SHUTDOWN_MARKER)
    const cleanShutdown = fs.existsSync(markerPath)
    fs.rmSync(markerPath, { force: true })
    const report = this.recovery
    report.uncleanShutdown = !cleanShutdown && bases.length > 0
    // Rolled segments were synced before anything after them was acknowledged: their end is the next segment's base
    // offset. After a crash the one rolled last may still have an unsynced tail, so it is recovered like the active
    // segment (checked in full, truncated at the first invalid batch). The others get a check of their tail (the
    // batches after their last index entry, CRC included), which finds a truncated or damaged end at little cost.
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i]!
      const next = this.segments[i + 1]!.baseOffset
      seg.nextOffset = next
      let check: SegmentCheck | null = null
      if (!cleanShutdown && i === this.segments.length - 2) {
        const res = await this.recoverSegment(seg)
        if (res.truncated > 0) fs.rmSync(seg.indexPath, { force: true })
      }
      if (!seg.loadIndexFiles()) {
        this.logLine(`rebuilding indexes of segment ${seg.baseOffset} in ${this.dir}`)
        report.indexesRebuilt++
        check = await seg.rebuildIndexes(this.cfg.indexIntervalBytes)
        seg.nextOffset = next
      } else {
        check = await seg.checkTail()
      }
      if (check.validEnd < seg.size) this.reportDamage(seg, check, next)
      seg.closeIndexFds()
      // Only the max timestamp stays in memory; the entries reload on demand (bounded by indexCacheSize).
      seg.unloadIndexes()
    }
    await this.recoverActiveSegment()
    this.startOffset = Math.max(checkpoint, this.segments[0]!.baseOffset)
    if (this.startOffset > this.logEndOffset) this.startOffset = this.logEndOffset
    this.durableEnd = this.logEndOffset
    await this.rebuildProducerState()
    report.openTransactions = 0
    for (const e of this.producerState.producers.values()) if (e.currentTxnFirstOffset >= 0) report.openTransactions++
    if (report.uncleanShutdown || report.bytesTruncated > 0 || report.damaged.length > 0) {
      const parts = [
        `checked ${report.segmentsChecked} segment(s), ${report.bytesChecked} bytes in ${report.batchesChecked} batches`,
        report.bytesTruncated > 0
          ? `truncated ${report.bytesTruncated} bytes (${report.truncations.join('; ')})`
          : 'nothing truncated',
        `log end offset ${this.logEndOffset}`,
        `producer state from ${report.producerSnapshot >= 0 ? `the snapshot at offset ${report.producerSnapshot}` : 'the log'} + ${report.batchesReplayed} batch header(s)`,
        `${report.openTransactions} open transaction(s)`,
      ]
      if (report.damaged.length > 0) parts.push(`${report.damaged.length} damaged segment(s) left as they are`)
      const why = report.uncleanShutdown ? 'after an unclean shutdown' : 'at start'
      this.logLine(`recovered ${this.dir} ${why}: ${parts.join(', ')}`, report.bytesTruncated > 0 ? 'warn' : 'info')
    }
  }

  /**
   * Checks every batch of `seg` (headers and CRC-32C) and truncates the file at the first torn or invalid one: what
   * follows it was never acknowledged (it was not synced) or cannot be framed any more. Counts into the report.
   */
  private async recoverSegment(
    seg: LogSegment,
    onBatch?: (b: ScannedBatch) => unknown,
  ): Promise<{ validEnd: number; truncated: number }> {
    const report = this.recovery
    let last = seg.baseOffset - 1
    let batches = 0
    const { validEnd, error } = await scanSegmentFile(seg.fd, 0, seg.size, { verifyCrc: true }, (b) => {
      if (b.header.baseOffset <= last) return false
      last = b.header.baseOffset + b.header.lastOffsetDelta
      batches++
      return onBatch?.(b)
    })
    report.segmentsChecked++
    report.batchesChecked += batches
    report.bytesChecked += validEnd
    const truncated = seg.size - validEnd
    if (truncated > 0) {
      const reason = error === 'stopped' ? 'batch offsets go backwards' : error
      const cut = await this.describeAt(seg, validEnd)
      report.bytesTruncated += truncated
      report.truncations.push(`${path.basename(seg.logPath)} at ${validEnd}: ${reason}`)
      this.logLine(
        `recovery: truncating ${seg.logPath} from ${seg.size} to ${validEnd} bytes (${reason}); the last whole batch ends at offset ${last}${cut}`,
        'warn',
      )
      seg.truncateTo(validEnd)
      fs.fdatasyncSync(seg.fd)
    }
    return { validEnd, truncated }
  }

  /** What the bytes at `position` claim to be, for a log line about cutting or skipping them. */
  private async describeAt(seg: LogSegment, position: number): Promise<string> {
    const head = Buffer.alloc(RECORD_BATCH_OVERHEAD)
    const n = await readFully(seg.fd, head, 0, head.length, position)
    if (n < RECORD_BATCH_OVERHEAD || head[BatchOffsets.magic] !== 2) return ''
    const base = readBatchHeader(head, 0)
    return `; the cut batch claims offsets ${base.baseOffset}-${base.baseOffset + Math.max(base.lastOffsetDelta, 0)}`
  }

  /** A rolled segment whose tail does not frame or check: logged, and left as it is (reads there report it). */
  private reportDamage(seg: LogSegment, check: SegmentCheck, next: number): void {
    const damage = {
      file: seg.logPath,
      position: check.validEnd,
      size: seg.size,
      reason: check.error ?? 'unknown',
      firstLostOffset: check.lastOffset + 1,
      nextOffset: next,
    }
    this.recovery.damaged.push(damage)
    this.logLine(
      `damaged segment ${seg.logPath}: ${damage.reason} (position ${damage.position} of ${damage.size} bytes); offsets ${damage.firstLostOffset} to ${next - 1} cannot be served and fetches there answer CORRUPT_MESSAGE. The file is left as it is: 'tributary log verify --data-dir <dir>' reports every damaged batch`,
      'error',
    )
  }

  /** Scans the active segment verifying CRC-32C, truncates a torn or corrupt tail and rebuilds its indexes. */
  private async recoverActiveSegment(): Promise<void> {
    const seg = this.active
    seg.resetIndexes()
    seg.maxTimestamp = -1
    seg.offsetOfMaxTimestamp = -1
    seg.nextOffset = seg.baseOffset
    await this.recoverSegment(seg, (b) => {
      seg.indexBatch(b.header, b.position, b.end - b.start, this.cfg.indexIntervalBytes)
      seg.nextOffset = b.header.baseOffset + b.header.lastOffsetDelta + 1
    })
    // An empty segment starts its age with its first batch (record time), as Kafka does.
    if (seg.rollBaseTime < 0 && seg.size > 0) seg.rollBaseTime = seg.lastModifiedMs
    seg.writeIndexFiles()
  }

  private snapshotFiles(): { offset: number; file: string }[] {
    const out: { offset: number; file: string }[] = []
    for (const name of fs.readdirSync(this.dir)) {
      const m = SNAPSHOT_RE.exec(name)
      if (m) out.push({ offset: Number(m[1]), file: path.join(this.dir, name) })
    }
    return out.sort((a, b) => a.offset - b.offset)
  }

  /** Loads the newest usable producer snapshot, then replays batch headers after it. */
  private async rebuildProducerState(): Promise<void> {
    let from = this.segments[0]!.baseOffset
    const snaps = this.snapshotFiles()
    for (let i = snaps.length - 1; i >= 0; i--) {
      const s = snaps[i]!
      if (s.offset > this.logEndOffset) {
        fs.rmSync(s.file, { force: true }) // written before a truncated tail
        continue
      }
      try {
        const snap = JSON.parse(fs.readFileSync(s.file, 'utf8')) as ProducerSnapshot
        if (snap.version !== 1 || snap.offset !== s.offset) throw new Error('unexpected snapshot content')
        this.producerState.loadSnapshot(snap)
        from = s.offset
        this.recovery.producerSnapshot = s.offset
        break
      } catch (err) {
        this.logLine(`ignoring producer snapshot ${s.file}: ${(err as Error).message}`)
      }
    }
    for (const seg of this.segments) {
      if (seg.nextOffset <= from || seg.size === 0) continue
      await scanSegmentFile(seg.fd, 0, seg.size, { verifyCrc: false }, (b) => {
        const h = b.header
        if (h.baseOffset < from || h.producerId < 0) return
        this.recovery.batchesReplayed++
        let controlType = -1
        let coordinatorEpoch = -1
        if (h.isControl && h.compression === 0 && h.recordCount > 0) {
          try {
            const rec = decodeRecords(h, b.buf, b.start + BatchOffsets.records, b.end)[0]
            controlType = decodeControlRecordType(rec?.key ?? null)
            if (rec?.value && rec.value.length >= 6) coordinatorEpoch = rec.value.readInt32BE(2)
          } catch {}
        }
        const staged = new Map<number, ProducerEntry>()
        const aborted = this.producerState.apply(h, staged, controlType, coordinatorEpoch)
        this.producerState.commit(staged, aborted ? [aborted] : [])
      })
    }
    this.producerState.onLogStartOffset(this.startOffset)
  }

  private writeProducerSnapshot(): void {
    const offset = this.logEndOffset
    const file = path.join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX))
    // Not synced: a snapshot only speeds up startup, and a damaged one is ignored in favour of replaying headers.
    writeFileAtomic(file, JSON.stringify(this.producerState.toSnapshot(offset)), false)
    // Keep the newest two: the older one survives a crash in the middle of writing the next.
    const snaps = this.snapshotFiles()
    for (const s of snaps.slice(0, -2)) fs.rmSync(s.file, { force: true })
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Append

  /**
   * Validates every batch in `records`, checks producer sequences, assigns offsets and writes to the page cache.
   * The buffer is modified in place (base offsets, leader epoch, LogAppendTime fields). Throws LogError.
   */
  append(records: Buffer, opts: { isFromClient?: boolean; writeAsync?: boolean } = {}): AppendResult {
    this.ensureOpen()
    if (this.writeFailure) throw this.writeFailure
    const fromClient = opts.isFromClient !== false
    const cfg = this.cfg
    const batches: PendingBatch[] = []
    let pos = 0
    while (pos < records.length) {
      if (records.length - pos > LOG_OVERHEAD) {
        const size = LOG_OVERHEAD + records.readInt32BE(pos + BatchOffsets.batchLength)
        if (size > cfg.maxMessageBytes && size <= records.length - pos) {
          throw new LogError(
            ErrorCode.MESSAGE_TOO_LARGE,
            `record batch of ${size} bytes exceeds max.message.bytes ${cfg.maxMessageBytes}`,
          )
        }
      }
      const { header, end } = validateRecordBatch(records, pos, records.length, {
        requireKeys: cfg.cleanupPolicy.compact && fromClient,
        fromProducer: fromClient,
      })
      if (fromClient && header.isControl) {
        throw new LogError(ErrorCode.INVALID_RECORD, 'clients may not write control batches')
      }
      if (header.recordCount === 0 && fromClient) {
        throw new LogError(ErrorCode.INVALID_RECORD, 'record batch has no records')
      }
      if (header.lastOffsetDelta !== header.recordCount - 1 && fromClient) {
        throw new LogError(
          ErrorCode.INVALID_RECORD,
          `lastOffsetDelta ${header.lastOffsetDelta} does not match ${header.recordCount} records`,
        )
      }
      batches.push({ start: pos, end, header })
      pos = end
    }
    if (batches.length === 0) throw new LogError(ErrorCode.CORRUPT_MESSAGE, 'produce request holds no record batch')

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
            logStartOffset: this.startOffset,
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
    records = this.recompress(records, toWrite)

    // Assign offsets and rewrite header fields.
    const appendTime = this.now()
    const logAppendTime = cfg.messageTimestampType === 'LogAppendTime'
    let next = this.logEndOffset
    let total = 0
    let recordCount = 0
    for (const b of toWrite) {
      const h = b.header
      writeInt64(records, b.start + BatchOffsets.baseOffset, next)
      records.writeInt32BE(0, b.start + BatchOffsets.partitionLeaderEpoch)
      if (logAppendTime) {
        records.writeInt16BE(h.attributes | Attributes.TIMESTAMP_TYPE, b.start + BatchOffsets.attributes)
        writeInt64(records, b.start + BatchOffsets.maxTimestamp, appendTime)
        updateBatchCrc(records, b.start, b.end)
      }
      b.header = readBatchHeader(records, b.start)
      next += h.lastOffsetDelta + 1
      total += b.end - b.start
      recordCount += h.recordCount
    }

    let incomingMaxTimestamp = -1
    for (const b of toWrite)
      if (b.header.maxTimestamp > incomingMaxTimestamp) incomingMaxTimestamp = b.header.maxTimestamp
    this.maybeRoll(total, next - 1, appendTime, incomingMaxTimestamp)
    const seg = this.active
    // Contiguous batches (the usual single batch) go to the file in one write.
    const first = toWrite[0]!
    const last = toWrite[toWrite.length - 1]!
    const contiguous = toWrite.every((b, i) => i === 0 || b.start === toWrite[i - 1]!.end)
    let position = seg.size
    const async = opts.writeAsync === true && contiguous && last.end - first.start >= this.asyncWriteMinBytes
    let entry: InflightWrite | undefined
    try {
      if (async) {
        // The copy into the page cache is the biggest cost of a large produce; the thread pool does it while this
        // thread takes the next request. Readers see these offsets once the bytes are written (see `inflight`).
        if (this.inflight.length === 0) this.visibleEnd = this.logEndOffset
        const e: InflightWrite = { end: next, seg, startPos: position, done: false }
        e.visible = new Promise<void>((resolve, reject) => {
          e.resolve = resolve
          e.reject = reject
        })
        // Callers that need the outcome attach their own handlers; nobody listening is not an error.
        e.visible.catch(() => {})
        this.inflight.push(e)
        seg.writeAsync(records, first.start, last.end, (err) => this.writeDone(e, err))
        entry = e
      } else if (contiguous) seg.write(records, first.start, last.end)
      else for (const b of toWrite) seg.write(records, b.start, b.end)
      if (!async && this.inflight.length > 0) this.inflight.push({ end: next, seg, startPos: position, done: true })
    } catch (err) {
      // Drop a partial write so the next append starts on a batch boundary.
      this.recent = []
      this.clearTail()
      try {
        seg.truncateTo(position)
      } catch {}
      throw new LogError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot write to ${seg.logPath}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    if (async) this.clearTail()
    for (const b of toWrite) {
      if (!async) this.cacheTail(b.header.baseOffset, b.header.baseOffset + b.header.lastOffsetDelta, records, b)
      seg.indexBatch(b.header, position, b.end - b.start, cfg.indexIntervalBytes)
      this.recent.push({
        base: b.header.baseOffset,
        last: b.header.baseOffset + b.header.lastOffsetDelta,
        pos: position,
      })
      position += b.end - b.start
    }
    if (this.recent.length > RECENT_POSITIONS * 2) this.recent = this.recent.slice(-RECENT_POSITIONS)
    seg.nextOffset = next
    seg.lastModifiedMs = appendTime
    if (seg.rollBaseTime < 0) seg.rollBaseTime = appendTime
    this.unflushed.add(seg)
    this.flusher.markDirty(this)

    // Commit producer state with real offsets.
    const realStaged = new Map<number, ProducerEntry>()
    const aborted: AbortedTxn[] = []
    for (const b of toWrite) {
      if (b.header.producerId < 0) continue
      let controlType = -1
      let coordinatorEpoch = -1
      if (b.header.isControl) {
        const rec = decodeRecords(b.header, records, b.start + BatchOffsets.records, b.end)[0]
        controlType = decodeControlRecordType(rec?.key ?? null)
        if (rec?.value && rec.value.length >= 6) coordinatorEpoch = rec.value.readInt32BE(2)
      }
      const a = this.producerState.apply(b.header, realStaged, controlType, coordinatorEpoch)
      if (a) aborted.push(a)
    }
    this.producerState.commit(realStaged, aborted)

    return {
      baseOffset: first.header.baseOffset,
      lastOffset: next - 1,
      logAppendTime: logAppendTime ? appendTime : -1,
      logStartOffset: this.startOffset,
      duplicate: false,
      recordCount,
      ...(entry ? { visible: entry.visible } : {}),
    }
  }

  /**
   * A topic whose compression.type names a codec stores every batch with that codec, as Kafka does: a batch produced
   * with another one is rebuilt (see recompressBatchSync) and `toWrite` is pointed at the rebuilt bytes. Control
   * batches are never compressed. Returns the buffer the batches are now in.
   */
  private recompress(records: Buffer, toWrite: PendingBatch[]): Buffer {
    const target = targetCodec(this.cfg.compressionType)
    if (target === null || toWrite.every((b) => b.header.isControl || b.header.compression === target)) return records
    const parts: Buffer[] = []
    let pos = 0
    for (const b of toWrite) {
      let bytes = records.subarray(b.start, b.end)
      if (!b.header.isControl && b.header.compression !== target) {
        try {
          bytes = recompressBatchSync(records, b.start, b.end, target)
        } catch (err) {
          if (err instanceof LogError) throw err
          throw new LogError(
            ErrorCode.UNKNOWN_SERVER_ERROR,
            `cannot recompress a batch to ${this.cfg.compressionType}: ${(err as Error).message}`,
            { cause: err },
          )
        }
        // As Kafka: the size limit applies to what is stored.
        if (bytes.length > this.cfg.maxMessageBytes) {
          throw new LogError(
            ErrorCode.MESSAGE_TOO_LARGE,
            `record batch of ${bytes.length} bytes after recompression to ${this.cfg.compressionType} exceeds max.message.bytes ${this.cfg.maxMessageBytes}`,
          )
        }
      }
      parts.push(bytes)
      b.start = pos
      pos += bytes.length
      b.end = pos
    }
    const out = Buffer.concat(parts, pos)
    for (const b of toWrite) b.header = readBatchHeader(out, b.start)
    return out
  }

  private clearTail(): void {
    if (this.tailBudget) this.tailBudget.used -= this.tailBytes
    this.tail = []
    this.tailBytes = 0
  }

  private cacheTail(base: number, last: number, records: Buffer, b: { start: number; end: number }): void {
    const size = b.end - b.start
    const budget = this.tailBudget
    const overBudget = () => budget !== null && budget.used + size > budget.maxBytes
    while (this.tail.length > 0 && (this.tailBytes + size > TAIL_CACHE_BYTES || overBudget())) {
      const evicted = this.tail.shift()!.bytes.length
      this.tailBytes -= evicted
      if (budget) budget.used -= evicted
    }
    if (size > TAIL_CACHE_BYTES || overBudget()) {
      // Not cached, so nothing older may stay either: the cache must end at the log end.
      this.clearTail()
      return
    }
    this.tail.push({ base, last, bytes: Buffer.from(records.subarray(b.start, b.end)) })
    this.tailBytes += size
    if (budget) budget.used += size
  }

  /** Whole batches from the tail cache for a read at `offset`, or null when the cache does not hold it. */
  private readTail(offset: number, maxBytes: number, maxOffset: number, minOne: boolean): Buffer | null {
    const t = this.tail
    if (t.length === 0 || offset < t[0]!.base || offset > t[t.length - 1]!.last) return null
    let i = t.length - 1
    while (i > 0 && t[i - 1]!.last >= offset) i--
    const parts: Buffer[] = []
    let size = 0
    for (; i < t.length; i++) {
      const e = t[i]!
      if (e.base >= maxOffset) break
      if (size + e.bytes.length > maxBytes && (parts.length > 0 || !minOne)) break
      parts.push(e.bytes)
      size += e.bytes.length
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)
  }

  /** Completion of a thread-pool write: moves the high watermark over every leading append now fully written. */
  private writeDone(e: InflightWrite, err: Error | null): void {
    if (err) {
      // Kafka takes a log directory offline on an I/O error; here the partition stops taking appends and serves
      // what was written before the failed append. Reopening the log (a restart) recovers its tail.
      this.writeFailure ??= new LogError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `cannot write to ${e.seg.logPath}: ${err.message}`,
        { cause: err },
      )
      this.logLine(`write failed, partition ${this.dir} takes no more appends: ${err.message}`)
      this.clearTail()
      const i = this.inflight.indexOf(e)
      this.failedAt ??= {
        offset: i > 0 ? this.inflight[i - 1]!.end : this.visibleEnd,
        seg: e.seg,
        startPos: e.startPos,
      }
      const failed = this.inflight.splice(i)
      for (const f of failed) f.reject?.(this.writeFailure)
      this.settleIfIdle()
      return
    }
    e.done = true
    // Written bytes must be part of the next sync round, even if a round started while they were in flight.
    this.unflushed.add(e.seg)
    this.flusher.markDirty(this)
    while (this.inflight.length > 0 && this.inflight[0]!.done) {
      const head = this.inflight.shift()!
      this.visibleEnd = head.end
      head.resolve?.()
    }
    this.settleIfIdle()
  }

  private settleIfIdle(): void {
    if (this.inflight.length > 0 && !this.writeFailure) return
    const waiters = this.settledWaiters
    this.settledWaiters = []
    for (const w of waiters) w()
  }

  /** Resolves once no append is in flight (failed ones count as settled). */
  private writesSettled(): Promise<void> {
    if (this.inflight.length === 0 || this.writeFailure) return Promise.resolve()
    return new Promise((resolve) => this.settledWaiters.push(resolve))
  }

  /** How many bytes of `seg` readers may see: all of it unless an append into it (or an older one) is in flight. */
  private readableLimit(seg: LogSegment): number {
    const first = this.inflight[0] ?? this.failedAt
    if (!first) return seg.size
    if (seg === first.seg) return first.startPos
    return seg.baseOffset < first.seg.baseOffset ? seg.size : 0
  }

  /** Resolves once offsets below `end` are readable; rejects if a write they depend on failed. */
  private whenVisible(end: number): Promise<void> {
    if (this.highWatermark >= end) return Promise.resolve()
    if (this.writeFailure) return Promise.reject(this.writeFailure)
    const e = this.inflight.find((x) => x.end >= end)
    if (!e) return Promise.resolve()
    if (e.visible) return e.visible
    // A synchronous append queued behind async ones: wait for the last async one before it.
    const i = this.inflight.indexOf(e)
    for (let j = i - 1; j >= 0; j--) if (this.inflight[j]!.visible) return this.inflight[j]!.visible!
    return Promise.resolve()
  }

  /** Writes a transaction marker (COMMIT or ABORT) for `producerId`, ending its ongoing transaction. */
  appendControl(producerId: number, epoch: number, commit: boolean, coordinatorEpoch: number): AppendResult {
    const batch = encodeControlBatch({
      producerId,
      producerEpoch: epoch,
      commit,
      coordinatorEpoch,
      timestamp: this.now(),
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
    const seg = this.active
    if (seg.size === 0) return
    const full = seg.size + incomingBytes > this.cfg.segmentBytes
    // As Kafka: segment age is measured in record time (the incoming batch against the segment's first batch),
    // so producers writing historical timestamps do not get one segment per batch. Without record timestamps,
    // wall-clock time since the segment started.
    const waited =
      incomingMaxTimestamp >= 0 && seg.rollBaseTime >= 0
        ? incomingMaxTimestamp - seg.rollBaseTime
        : now - seg.rollBaseTime
    const aged = seg.rollBaseTime >= 0 && waited >= this.cfg.segmentMs
    const relOverflow = lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET
    if (full || aged || relOverflow) this.roll()
  }

  /** Starts a new active segment at the log end offset. */
  roll(): void {
    const old = this.active
    if (old.size === 0) return
    this.recent = []
    // The tail cache only ever holds batches of the active segment, which compaction and retention never touch.
    this.clearTail()
    old.finishTimeIndex()
    const seg = LogSegment.create(this.dir, this.logEndOffset, this.now())
    seg.nextOffset = seg.baseOffset
    seg.rollBaseTime = -1
    this.segments.push(seg)
    old.closeIndexFds()
    this.loadedIndexes.push(old)
    while (this.loadedIndexes.length > INDEX_CACHE_SIZE) this.loadedIndexes.shift()!.unloadIndexes()
    // The old segment's data must reach the disk before its producer snapshot claims it.
    this.unflushed.add(old)
    this.flusher.markDirty(this)
    try {
      this.writeProducerSnapshot()
    } catch (err) {
      this.logLine(`could not write producer snapshot in ${this.dir}: ${(err as Error).message}`)
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Durability

  /** Called by the FlushScheduler: fdatasyncs every segment written since the previous flush. */
  async flush(): Promise<void> {
    // Only what is written can be synced: appends still in flight stay above the durable mark.
    const upTo = this.highWatermark
    const segs = [...this.unflushed]
    this.unflushed.clear()
    for (const s of segs) s.acquire()
    try {
      const open = segs.filter((s) => !s.closed)
      this.flusher.countFileSyncs(open.length)
      await Promise.all(open.map((s) => fdatasync(s.fd)))
    } catch (err) {
      // Keep them dirty: a later round must not report durability for data whose sync failed.
      for (const s of segs) if (!s.closed) this.unflushed.add(s)
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
    await this.whenVisible(target)
    while (this.durableEnd < target && this.flusher.policy.mode === 'group' && !this.closed) {
      await this.flusher.waitDurable(this)
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Read

  private segmentIndexFor(offset: number): number {
    let lo = 0
    let hi = this.segments.length - 1
    let found = 0
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found
  }

  private async ensureIndexes(seg: LogSegment): Promise<void> {
    if (seg === this.active) return
    const i = this.loadedIndexes.indexOf(seg)
    if (i >= 0) this.loadedIndexes.splice(i, 1)
    this.loadedIndexes.push(seg)
    if (!seg.indexesLoaded) {
      const nextOffset = seg.nextOffset
      await seg.ensureIndexes(this.cfg.indexIntervalBytes)
      seg.closeIndexFds()
      seg.nextOffset = nextOffset
    }
    while (this.loadedIndexes.length > INDEX_CACHE_SIZE) this.loadedIndexes.shift()!.unloadIndexes()
  }

  private forgetIndexes(seg: LogSegment): void {
    const i = this.loadedIndexes.indexOf(seg)
    if (i >= 0) this.loadedIndexes.splice(i, 1)
  }

  /**
   * Finds the file position of the first batch in `seg` whose last offset is >= `offset`,
   * or -1 if the segment has none.
   */
  private async locate(seg: LogSegment, offset: number, limit: number): Promise<number> {
    if (seg === this.active) {
      const r = this.recent
      if (r.length > 0 && offset >= r[0]!.base && offset <= r[r.length - 1]!.last) {
        let i = r.length - 1
        while (i > 0 && r[i - 1]!.last >= offset) i--
        if (r[i]!.pos < limit) return r[i]!.pos
      }
    }
    await this.ensureIndexes(seg)
    let pos = seg.lookupPosition(offset)
    const buf = Buffer.allocUnsafe(LOCATE_CHUNK)
    let prevLast = -1
    while (pos + RECORD_BATCH_OVERHEAD <= limit) {
      const n = await readFully(seg.fd, buf, 0, Math.min(LOCATE_CHUNK, limit - pos), pos)
      let rel = 0
      while (rel + RECORD_BATCH_OVERHEAD <= n) {
        const problem = framingProblem(buf, rel, limit - pos - rel)
        if (problem) throw this.corruptAt(seg, pos + rel, problem, offset)
        const size = LOG_OVERHEAD + buf.readInt32BE(rel + BatchOffsets.batchLength)
        const base = buf.readInt32BE(rel) * 4294967296 + buf.readUInt32BE(rel + 4)
        if (base <= prevLast || base < seg.baseOffset) {
          throw this.corruptAt(seg, pos + rel, `base offset ${base} out of order`, offset)
        }
        const last = base + buf.readInt32BE(rel + BatchOffsets.lastOffsetDelta)
        if (last >= offset) return pos + rel
        prevLast = last
        rel += size
      }
      if (rel === 0) break
      pos += rel
    }
    // Readers only see whole batches: bytes left over that cannot hold a batch header are a torn or cut batch.
    if (pos < limit) throw this.corruptAt(seg, pos, `torn batch (${limit - pos} bytes left)`, offset)
    return -1
  }

  /**
   * A batch on disk that cannot be framed: Kafka answers CORRUPT_MESSAGE, and so does this log, naming the file and
   * position in the broker's log (once a minute per position, as consumers keep retrying).
   */
  private corruptAt(seg: LogSegment, position: number, problem: string, offset: number): LogError {
    const key = `${seg.logPath}:${position}`
    const now = Date.now()
    const last = this.corruptLogged.get(key)
    if (last === undefined || now - last >= 60000) {
      if (this.corruptLogged.size >= 1000) this.corruptLogged.clear()
      this.corruptLogged.set(key, now)
      this.logLine(
        `corrupt batch in ${seg.logPath} at position ${position}: ${problem}; a fetch at offset ${offset} is answered CORRUPT_MESSAGE`,
        'error',
      )
    }
    return new LogError(
      ErrorCode.CORRUPT_MESSAGE,
      `the batch at position ${position} of ${path.basename(seg.logPath)} (reading offset ${offset}) cannot be framed: ${problem}`,
    )
  }

  /**
   * Before sizing a buffer by a batch length read from disk: the batch must end at the end of the readable segment
   * or where another batch starts (magic 2, a base offset after this batch's last). A damaged length field fails
   * this, so no read allocates from it.
   */
  private async checkBatchEnd(
    seg: LogSegment,
    start: number,
    size: number,
    last: number,
    limit: number,
    offset: number,
  ) {
    const end = start + size
    if (end === limit) return
    const head = Buffer.alloc(BatchOffsets.magic + 1)
    const n = await readFully(seg.fd, head, 0, head.length, end)
    const base = n === head.length ? head.readInt32BE(0) * 4294967296 + head.readUInt32BE(4) : -1
    if (n < head.length || head[BatchOffsets.magic] !== 2 || base <= last) {
      throw this.corruptAt(seg, start, `batch length ${size - LOG_OVERHEAD} does not end on a batch boundary`, offset)
    }
  }

  /**
   * Returns whole batches starting at the batch that contains `offset`, up to `maxBytes` (soft: with minOneMessage,
   * the default, a first batch larger than maxBytes is returned whole). `maxOffset` (exclusive) stops at batches
   * starting at or after it, e.g. the last stable offset for read_committed.
   */
  async read(
    offset: number,
    maxBytes: number,
    opts: { minOneMessage?: boolean; maxOffset?: number } = {},
  ): Promise<ReadResult> {
    this.ensureOpen()
    const hw = this.highWatermark
    const result = (records: Buffer): ReadResult => ({
      records,
      highWatermark: hw,
      logStartOffset: this.startOffset,
      lastStableOffset: this.lastStableOffset,
    })
    // Offsets up to the log end are valid positions (a consumer may have been told the end while the newest
    // appends are still being written); records are served up to the high watermark.
    const leo = this.logEndOffset
    if (offset < this.startOffset || offset > leo) throw outOfRange(offset, this.startOffset, leo)
    const maxOffset = Math.min(opts.maxOffset ?? hw, hw)
    if (offset >= maxOffset) return result(Buffer.alloc(0))
    const minOne = opts.minOneMessage !== false
    const cached = this.readTail(offset, Math.max(maxBytes, 0), maxOffset, minOne)
    if (cached) return result(cached)
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i]!
      seg.acquire()
      try {
        const limit = this.readableLimit(seg)
        const start = await this.locate(seg, offset, limit)
        if (start < 0) continue
        // One read usually covers the first batch's header and everything wanted; a first batch larger than the
        // byte limit needs a second read for the rest of it.
        const wanted = Math.min(Math.max(maxBytes, 0), limit - start)
        let buf = Buffer.allocUnsafe(Math.max(wanted, RECORD_BATCH_OVERHEAD))
        let n = await readFully(seg.fd, buf, 0, Math.min(buf.length, limit - start), start)
        if (n < RECORD_BATCH_OVERHEAD) throw this.corruptAt(seg, start, `torn batch (${n} bytes left)`, offset)
        const problem = framingProblem(buf, 0, limit - start)
        if (problem) throw this.corruptAt(seg, start, problem, offset)
        const firstSize = LOG_OVERHEAD + buf.readInt32BE(BatchOffsets.batchLength)
        const firstBase = buf.readInt32BE(0) * 4294967296 + buf.readUInt32BE(4)
        if (firstBase >= maxOffset) return result(Buffer.alloc(0))
        if (firstSize > wanted) {
          if (!minOne) return result(Buffer.alloc(0))
          if (firstSize > n) {
            const firstLast = firstBase + buf.readInt32BE(BatchOffsets.lastOffsetDelta)
            await this.checkBatchEnd(seg, start, firstSize, firstLast, limit, offset)
            buf = Buffer.allocUnsafe(firstSize)
            n = await readFully(seg.fd, buf, 0, firstSize, start)
            if (n < firstSize) throw this.corruptAt(seg, start, `torn batch (${n} of ${firstSize} bytes)`, offset)
          }
          n = Math.min(n, firstSize)
        }
        // Keep whole batches below maxOffset only. A batch that does not frame ends the answer here; the fetch
        // that starts at it is answered CORRUPT_MESSAGE.
        let end = 0
        let prevLast = -1
        while (end + RECORD_BATCH_OVERHEAD <= n) {
          if (framingProblem(buf, end, limit - start - end)) break
          const size = LOG_OVERHEAD + buf.readInt32BE(end + BatchOffsets.batchLength)
          const base = buf.readInt32BE(end) * 4294967296 + buf.readUInt32BE(end + 4)
          if (end + size > n || base >= maxOffset || base <= prevLast) break
          const last = base + buf.readInt32BE(end + BatchOffsets.lastOffsetDelta)
          // Where the next batch header is at hand, it must start where this batch's length says it ends.
          const next = end + size
          if (start + next < limit && next + BatchOffsets.magic < n) {
            const nextBase = buf.readInt32BE(next) * 4294967296 + buf.readUInt32BE(next + 4)
            if (buf[next + BatchOffsets.magic] !== 2 || nextBase <= last) {
              if (end === 0) {
                throw this.corruptAt(
                  seg,
                  start,
                  `batch length ${size - LOG_OVERHEAD} does not end on a batch boundary`,
                  offset,
                )
              }
              break
            }
          }
          prevLast = last
          end += size
        }
        // The first batch frames but the file holds less of it than the segment claims: cut under us.
        if (end === 0) throw this.corruptAt(seg, start, `torn batch (${n} of ${firstSize} bytes)`, offset)
        return result(buf.subarray(0, end))
      } finally {
        seg.release()
      }
    }
    return result(Buffer.alloc(0))
  }

  /**
   * Like `read`, but a result larger than `inMemoryMaxBytes` is not read: it comes back as a LogSlice, the byte
   * range of whole batches in one segment file, to be read piece by piece while it is sent (so an answer waiting
   * for a slow client holds no memory). The range is found by walking batch headers with a small buffer. Results
   * from the tail cache, small ones, and anything unusual (a first batch that cannot be framed) come from `read`.
   */
  async readSlice(
    offset: number,
    maxBytes: number,
    opts: { minOneMessage?: boolean; maxOffset?: number; inMemoryMaxBytes: number },
  ): Promise<SliceResult> {
    this.ensureOpen()
    const hw = this.highWatermark
    const leo = this.logEndOffset
    const maxOffset = Math.min(opts.maxOffset ?? hw, hw)
    const minOne = opts.minOneMessage !== false
    const viaRead = () => this.read(offset, maxBytes, opts)
    if (offset < this.startOffset || offset > leo || offset >= maxOffset) return viaRead()
    if (this.readTail(offset, Math.max(maxBytes, 0), maxOffset, minOne)) return viaRead()
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i]!
      seg.acquire()
      let handedOver = false
      try {
        const limit = this.readableLimit(seg)
        const start = await this.locate(seg, offset, limit)
        if (start < 0) continue
        const end = await this.wholeBatchesEnd(seg, start, limit, Math.max(maxBytes, 0), maxOffset, minOne)
        if (end === null || end - start <= opts.inMemoryMaxBytes) return viaRead()
        handedOver = true
        return {
          records: new SegmentSlice(seg, start, end - start),
          highWatermark: hw,
          logStartOffset: this.startOffset,
          lastStableOffset: this.lastStableOffset,
        }
      } finally {
        if (!handedOver) seg.release()
      }
    }
    return viaRead()
  }

  /**
   * End position of the whole batches from `start` that `read` would return, found by reading headers only;
   * null when the first batch cannot be framed (then `read` answers).
   */
  private async wholeBatchesEnd(
    seg: LogSegment,
    start: number,
    limit: number,
    maxBytes: number,
    maxOffset: number,
    minOne: boolean,
  ): Promise<number | null> {
    const buf = Buffer.allocUnsafe(Math.min(LOCATE_CHUNK, Math.max(limit - start, RECORD_BATCH_OVERHEAD)))
    let end = start
    while (end + RECORD_BATCH_OVERHEAD <= limit) {
      const n = await readFully(seg.fd, buf, 0, Math.min(buf.length, limit - end), end)
      let rel = 0
      while (rel + RECORD_BATCH_OVERHEAD <= n) {
        const first = end + rel === start
        const size = LOG_OVERHEAD + buf.readInt32BE(rel + BatchOffsets.batchLength)
        const base = buf.readInt32BE(rel) * 4294967296 + buf.readUInt32BE(rel + 4)
        if (size < RECORD_BATCH_OVERHEAD || end + rel + size > limit) return first ? null : end + rel
        if (base >= maxOffset) return end + rel
        if (end + rel + size - start > maxBytes && !(first && minOne)) return end + rel
        rel += size
      }
      if (rel === 0) break
      end += rel
    }
    return end
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Timestamps

  /** First offset whose timestamp is >= ts (ListOffsets semantics), or null. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const seg of [...this.segments]) {
      if (seg.size === 0 || seg.maxTimestamp < ts) continue
      if (seg.nextOffset <= this.startOffset) continue
      seg.acquire()
      try {
        await this.ensureIndexes(seg)
        const fromOffset = Math.max(seg.lookupTimestamp(ts), this.startOffset)
        const from = seg.lookupPosition(fromOffset)
        let found: { offset: number; timestamp: number } | null = null
        let candidate: { buf: Buffer; header: BatchHeader } | null = null
        await scanSegmentFile(seg.fd, from, this.readableLimit(seg), { verifyCrc: false }, (b) => {
          const h = b.header
          if (h.baseOffset + h.lastOffsetDelta < fromOffset || h.isControl) return
          if (h.maxTimestamp >= ts) {
            candidate = { buf: Buffer.from(b.buf.subarray(b.start, b.end)), header: h }
            return false
          }
        })
        if (candidate) {
          const { buf, header } = candidate as { buf: Buffer; header: BatchHeader }
          const records = await this.decodeBatch(buf, header)
          for (const r of records) {
            if (r.offset >= this.startOffset && r.timestamp >= ts) {
              found = { offset: r.offset, timestamp: r.timestamp }
              break
            }
          }
          if (!found) found = { offset: Math.max(header.baseOffset, this.startOffset), timestamp: header.maxTimestamp }
          return found
        }
      } finally {
        seg.release()
      }
    }
    return null
  }

  private async decodeBatch(buf: Buffer, header: BatchHeader): Promise<KafkaRecord[]> {
    const body =
      header.compression === 0
        ? buf.subarray(BatchOffsets.records)
        : await decompress(header.compression, buf.subarray(BatchOffsets.records))
    return decodeRecords(header, body)
  }

  /** Largest timestamp in the log and the offset of the record carrying it (ListOffsets MAX_TIMESTAMP). */
  async maxTimestamp(): Promise<{ offset: number; timestamp: number } | null> {
    let best: { offset: number; timestamp: number } | null = null
    for (const seg of this.segments) {
      if (seg.size === 0 || seg.maxTimestamp < 0 || seg.nextOffset <= this.startOffset) continue
      if (!best || seg.maxTimestamp > best.timestamp) {
        best = { offset: seg.offsetOfMaxTimestamp, timestamp: seg.maxTimestamp }
      }
    }
    if (!best) return null
    // The segment tracks the batch's last offset; find the exact record carrying the timestamp.
    const seg = this.segments[this.segmentIndexFor(best.offset)]!
    seg.acquire()
    try {
      const pos = await this.locate(seg, best.offset, this.readableLimit(seg))
      if (pos < 0) return best
      const head = Buffer.alloc(RECORD_BATCH_OVERHEAD)
      const limit = this.readableLimit(seg)
      await readFully(seg.fd, head, 0, RECORD_BATCH_OVERHEAD, pos)
      if (framingProblem(head, 0, limit - pos)) return best
      const size = LOG_OVERHEAD + head.readInt32BE(BatchOffsets.batchLength)
      const buf = Buffer.allocUnsafe(size)
      await readFully(seg.fd, buf, 0, size, pos)
      const header = readBatchHeader(buf, 0)
      if (header.timestampType === 1)
        return { offset: header.baseOffset + header.lastOffsetDelta, timestamp: header.maxTimestamp }
      const records = await this.decodeBatch(buf, header)
      for (const r of records)
        if (r.timestamp === header.maxTimestamp) return { offset: r.offset, timestamp: r.timestamp }
      return best
    } catch {
      return best
    } finally {
      seg.release()
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Retention, DeleteRecords, compaction

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Maintenance reads and rewrites whole segments: let appends in flight land first.
    const settledFn = () => this.writesSettled().then(fn)
    const run = this.maintenance.then(settledFn, settledFn)
    this.maintenance = run.catch(() => {})
    return run
  }

  private persistLogStart(): void {
    writeFileAtomic(path.join(this.dir, LOG_START_CHECKPOINT), String(this.startOffset))
  }

  private setLogStart(offset: number): void {
    if (offset <= this.startOffset) return
    this.startOffset = offset
    this.persistLogStart()
    this.producerState.onLogStartOffset(offset)
  }

  /** Deletes the oldest inactive segments while `predicate` holds. */
  private deleteOldestSegments(predicate: (seg: LogSegment) => boolean): number {
    let deleted = 0
    while (this.segments.length > 1 && predicate(this.segments[0]!)) {
      const seg = this.segments.shift()!
      this.forgetIndexes(seg)
      this.unflushed.delete(seg)
      seg.delete()
      deleted++
    }
    if (deleted > 0) this.setLogStart(this.segments[0]!.baseOffset)
    return deleted
  }

  /** DeleteRecords: moves the log start offset forward (persisted) and deletes segments entirely below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.exclusive(async () => {
      this.ensureOpen()
      if (offset > this.logEndOffset || offset < 0) throw outOfRange(offset, this.startOffset, this.logEndOffset)
      if (offset <= this.startOffset) return this.startOffset
      this.setLogStart(offset)
      this.deleteOldestSegments((seg) => seg.nextOffset <= offset)
      return this.startOffset
    })
  }

  /** Time and size retention over whole inactive segments; also rolls an active segment older than segment.ms. */
  enforceRetention(): Promise<{ deletedSegments: number }> {
    return this.exclusive(async () => {
      this.ensureOpen()
      const now = this.now()
      const act = this.active
      if (act.size > 0 && act.rollBaseTime >= 0 && now - act.rollBaseTime >= this.cfg.segmentMs) this.roll()
      if (!this.cfg.cleanupPolicy.delete) return { deletedSegments: 0 }
      let deletedSegments = 0
      if (this.cfg.retentionMs >= 0) {
        const horizon = now - this.cfg.retentionMs
        deletedSegments += this.deleteOldestSegments((seg) => {
          const ts = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs
          return ts < horizon
        })
      }
      if (this.cfg.retentionBytes >= 0) {
        let excess = this.size - this.cfg.retentionBytes
        deletedSegments += this.deleteOldestSegments((seg) => {
          if (excess - seg.size < 0) return false
          excess -= seg.size
          return true
        })
      }
      return { deletedSegments }
    })
  }

  /**
   * Keeps the latest record per key in inactive segments older than min.compaction.lag.ms. Tombstones older than
   * delete.retention.ms are removed; records of aborted transactions are dropped; offsets never change; a
   * producer's last batch survives (empty if need be) so its sequence state can be rebuilt from the log.
   */
  compact(): Promise<{ removedRecords: number }> {
    return this.exclusive(async () => {
      this.ensureOpen()
      if (!this.cfg.cleanupPolicy.compact) return { removedRecords: 0 }
      const now = this.now()
      const lagHorizon = now - this.cfg.minCompactionLagMs
      const cleanable: LogSegment[] = []
      // Like Kafka's cleaner, stop at the first unstable offset: an open transaction's records may still abort.
      const firstUnstable = this.lastStableOffset
      for (const seg of this.segments.slice(0, -1)) {
        if (seg.maxTimestamp > lagHorizon || seg.nextOffset > firstUnstable) break
        cleanable.push(seg)
      }
      if (cleanable.length === 0) return { removedRecords: 0 }

      // Pass 1: latest offset per key over the cleanable range. A damaged segment is never rewritten (that would
      // drop what follows the damage), and nothing after it is cleaned: its keys are not known.
      const latest = new Map<string, number>()
      for (let i = 0; i < cleanable.length; i++) {
        const seg = cleanable[i]!
        const { error } = await scanSegmentFile(seg.fd, 0, seg.size, { verifyCrc: false }, async (b) => {
          const h = b.header
          if (h.isControl || h.recordCount === 0) return
          if (h.isTransactional && this.producerState.isAborted(h.producerId, h.baseOffset)) return
          const records = await this.decodeBatch(b.buf.subarray(b.start, b.end), h)
          for (const r of records) if (r.key) latest.set(r.key.toString('latin1'), r.offset)
        })
        if (error) {
          this.logLine(`compaction stops before damaged segment ${seg.logPath}: ${error}`, 'error')
          cleanable.length = i
          break
        }
      }
      if (cleanable.length === 0) return { removedRecords: 0 }
      // A producer's newest batch must keep its header so idempotence survives a rebuild from the log.
      const producerLastOffsets = new Map<number, number>()
      for (const e of this.producerState.producers.values()) producerLastOffsets.set(e.producerId, e.lastOffset)

      let removedRecords = 0
      for (const seg of cleanable) {
        const res = await compactSegment(seg, {
          shouldKeep: (r, h) => {
            if (h.isTransactional && this.producerState.isAborted(h.producerId, h.baseOffset)) return false
            if (!r.key) return false
            if (latest.get(r.key.toString('latin1')) !== r.offset) return false
            if (r.value === null && r.timestamp <= now - this.cfg.deleteRetentionMs) return false
            return true
          },
          keepEmptyBatch: (h) => {
            if (h.producerId < 0) return false
            const last = producerLastOffsets.get(h.producerId)
            return last !== undefined && last >= h.baseOffset && last <= h.baseOffset + h.lastOffsetDelta
          },
          decode: (buf, h) => this.decodeBatch(buf, h),
          indexIntervalBytes: this.cfg.indexIntervalBytes,
        })
        if (!res) continue
        removedRecords += res.removedRecords
        const idx = this.segments.indexOf(seg)
        if (idx < 0 || this.closed) {
          res.segment.close()
          continue
        }
        res.segment.nextOffset = seg.nextOffset
        this.segments[idx] = res.segment
        res.segment.unloadIndexes()
        this.forgetIndexes(seg)
        this.unflushed.delete(seg)
        seg.close()
      }
      return { removedRecords }
    })
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifecycle

  private ensureOpen(): void {
    if (this.closed) throw new TributaryError('TRB_LOG_CLOSED', `partition log ${this.dir} is closed`)
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.maintenance
    await this.writesSettled()
    await this.flush()
    try {
      this.active.finishTimeIndex()
      this.writeProducerSnapshot()
    } catch (err) {
      this.logLine(`could not write producer snapshot in ${this.dir}: ${(err as Error).message}`)
    }
    this.closed = true
    this.clearTail()
    for (const seg of this.segments) seg.close()
    try {
      fs.writeFileSync(path.join(this.dir, CLEAN_SHUTDOWN_MARKER), '')
    } catch {}
  }

  async destroy(): Promise<void> {
    if (!this.closed) {
      await this.maintenance
      this.closed = true
      this.clearTail()
      for (const seg of this.segments) seg.close()
    }
    this.unflushed.clear()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}
