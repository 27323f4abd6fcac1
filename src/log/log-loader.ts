/**
 * Opening a partition directory (Kafka's LogLoader): finds the segments and the log start offset, checks and
 * truncates what an unclean shutdown may have left torn, rebuilds missing indexes, reports damaged segments, and
 * rebuilds producer state from the newest snapshot plus the batch headers after it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { BatchOffsets, RECORD_BATCH_OVERHEAD, readBatchHeader } from '../protocol/record-batch.ts'
import { LOG_START_CHECKPOINT, type LocalLog, writeFileAtomic } from './local-log.ts'
import { controlInfo } from './log-validator.ts'
import type { ProducerEntry, ProducerSnapshot, ProducerStateManager } from './producer-state.ts'
import {
  LogSegment,
  readFully,
  type ScannedBatch,
  type SegmentCheck,
  scanSegmentFile,
  segmentFileName,
} from './segment.ts'

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

export function emptyRecoveryReport(): RecoveryReport {
  return {
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
}

/** Present only between a clean close and the next open: its absence means the newest segments need checking. */
export const CLEAN_SHUTDOWN_MARKER = '.clean-shutdown'
const SNAPSHOT_SUFFIX = '.snapshot'
const SEGMENT_RE = /^(\d{20})\.log$/
const SNAPSHOT_RE = /^(\d{20})\.snapshot$/

function snapshotFiles(dir: string): { offset: number; file: string }[] {
  const out: { offset: number; file: string }[] = []
  for (const name of fs.readdirSync(dir)) {
    const m = SNAPSHOT_RE.exec(name)
    if (m) out.push({ offset: Number(m[1]), file: path.join(dir, name) })
  }
  return out.sort((a, b) => a.offset - b.offset)
}

/** Writes the producer-state snapshot at `offset` (the log end) and keeps the newest two. */
export function writeProducerSnapshot(dir: string, producerState: ProducerStateManager, offset: number): void {
  const file = path.join(dir, segmentFileName(offset, SNAPSHOT_SUFFIX))
  // Not synced: a snapshot only speeds up startup, and a damaged one is ignored in favour of replaying headers.
  writeFileAtomic(file, JSON.stringify(producerState.toSnapshot(offset)), false)
  // Keep the newest two: the older one survives a crash in the middle of writing the next.
  const snaps = snapshotFiles(dir)
  for (const s of snaps.slice(0, -2)) fs.rmSync(s.file, { force: true })
}

export class LogLoader {
  constructor(
    private readonly local: LocalLog,
    private readonly report: RecoveryReport,
    private readonly producerState: ProducerStateManager,
  ) {}

  /** Fills `local` (segments, start offset) and the producer state from the directory. */
  async load(): Promise<void> {
    const local = this.local
    const dir = local.dir
    fs.mkdirSync(dir, { recursive: true })
    const names = fs.readdirSync(dir)
    const bases: number[] = []
    for (const name of names) {
      // Leftovers of an interrupted compaction or atomic write: the originals are still in place.
      if (name.endsWith('.cleaned') || name.endsWith('.tmp')) {
        fs.rmSync(path.join(dir, name), { force: true, recursive: true })
        continue
      }
      const m = SEGMENT_RE.exec(name)
      if (m) bases.push(Number(m[1]))
    }
    bases.sort((a, b) => a - b)
    let checkpoint = 0
    try {
      const raw = fs.readFileSync(path.join(dir, LOG_START_CHECKPOINT), 'utf8').trim()
      if (/^\d+$/.test(raw)) checkpoint = Number(raw)
    } catch {}

    const segments = local.segments
    for (const base of bases) {
      try {
        segments.push(LogSegment.openExisting(dir, base))
      } catch (err) {
        local.logLine(`ignoring unreadable segment ${base} in ${dir}: ${(err as Error).message}`)
      }
    }
    if (segments.length === 0) segments.push(LogSegment.create(dir, checkpoint, local.now()))
    const markerPath = path.join(dir, CLEAN_SHUTDOWN_MARKER)
    const cleanShutdown = fs.existsSync(markerPath)
    fs.rmSync(markerPath, { force: true })
    const report = this.report
    report.uncleanShutdown = !cleanShutdown && bases.length > 0
    // Rolled segments were synced before anything after them was acknowledged: their end is the next segment's base
    // offset. After a crash the one rolled last may still have an unsynced tail, so it is recovered like the active
    // segment (checked in full, truncated at the first invalid batch). The others get a check of their tail (the
    // batches after their last index entry, CRC included), which finds a truncated or damaged end at little cost.
    for (let i = 0; i < segments.length - 1; i++) {
      const seg = segments[i]!
      const next = segments[i + 1]!.baseOffset
      seg.nextOffset = next
      let check: SegmentCheck | null = null
      if (!cleanShutdown && i === segments.length - 2) {
        const res = await this.recoverSegment(seg)
        if (res.truncated > 0) fs.rmSync(seg.indexPath, { force: true })
      }
      if (!seg.loadIndexFiles()) {
        local.logLine(`rebuilding indexes of segment ${seg.baseOffset} in ${dir}`)
        report.indexesRebuilt++
        check = await seg.rebuildIndexes(local.config.indexIntervalBytes)
        seg.nextOffset = next
      } else {
        check = await seg.checkTail()
      }
      if (check.validEnd < seg.size) this.reportDamage(seg, check, next)
      seg.closeIndexFds()
      // Only the max timestamp stays in memory; the entries reload on demand (bounded by the index cache).
      seg.unloadIndexes()
    }
    await this.recoverActiveSegment()
    local.startOffset = Math.max(checkpoint, segments[0]!.baseOffset)
    if (local.startOffset > local.logEndOffset) local.startOffset = local.logEndOffset
    await this.rebuildProducerState()
    report.openTransactions = 0
    for (const e of this.producerState.producers.values()) if (e.currentTxnFirstOffset >= 0) report.openTransactions++
    if (report.uncleanShutdown || report.bytesTruncated > 0 || report.damaged.length > 0) {
      const parts = [
        `checked ${report.segmentsChecked} segment(s), ${report.bytesChecked} bytes in ${report.batchesChecked} batches`,
        report.bytesTruncated > 0
          ? `truncated ${report.bytesTruncated} bytes (${report.truncations.join('; ')})`
          : 'nothing truncated',
        `log end offset ${local.logEndOffset}`,
        `producer state from ${report.producerSnapshot >= 0 ? `the snapshot at offset ${report.producerSnapshot}` : 'the log'} + ${report.batchesReplayed} batch header(s)`,
        `${report.openTransactions} open transaction(s)`,
      ]
      if (report.damaged.length > 0) parts.push(`${report.damaged.length} damaged segment(s) left as they are`)
      const why = report.uncleanShutdown ? 'after an unclean shutdown' : 'at start'
      local.logLine(`recovered ${dir} ${why}: ${parts.join(', ')}`, report.bytesTruncated > 0 ? 'warn' : 'info')
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
    const report = this.report
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
      const cut = await describeAt(seg, validEnd)
      report.bytesTruncated += truncated
      report.truncations.push(`${path.basename(seg.logPath)} at ${validEnd}: ${reason}`)
      this.local.logLine(
        `recovery: truncating ${seg.logPath} from ${seg.size} to ${validEnd} bytes (${reason}); the last whole batch ends at offset ${last}${cut}`,
        'warn',
      )
      seg.truncateTo(validEnd)
      fs.fdatasyncSync(seg.fd)
    }
    return { validEnd, truncated }
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
    this.report.damaged.push(damage)
    this.local.logLine(
      `damaged segment ${seg.logPath}: ${damage.reason} (position ${damage.position} of ${damage.size} bytes); offsets ${damage.firstLostOffset} to ${next - 1} cannot be served and fetches there answer CORRUPT_MESSAGE. The file is left as it is: 'tributary log verify --data-dir <dir>' reports every damaged batch`,
      'error',
    )
  }

  /** Scans the active segment verifying CRC-32C, truncates a torn or corrupt tail and rebuilds its indexes. */
  private async recoverActiveSegment(): Promise<void> {
    const seg = this.local.active
    const indexIntervalBytes = this.local.config.indexIntervalBytes
    seg.resetIndexes()
    seg.maxTimestamp = -1
    seg.offsetOfMaxTimestamp = -1
    seg.nextOffset = seg.baseOffset
    await this.recoverSegment(seg, (b) => {
      seg.indexBatch(b.header, b.position, b.end - b.start, indexIntervalBytes)
      seg.nextOffset = b.header.baseOffset + b.header.lastOffsetDelta + 1
    })
    // An empty segment starts its age with its first batch (record time), as Kafka does.
    if (seg.rollBaseTime < 0 && seg.size > 0) seg.rollBaseTime = seg.lastModifiedMs
    seg.writeIndexFiles()
  }

  /** Loads the newest usable producer snapshot, then replays batch headers after it. */
  private async rebuildProducerState(): Promise<void> {
    const local = this.local
    const producerState = this.producerState
    let from = local.segments[0]!.baseOffset
    const snaps = snapshotFiles(local.dir)
    for (let i = snaps.length - 1; i >= 0; i--) {
      const s = snaps[i]!
      if (s.offset > local.logEndOffset) {
        fs.rmSync(s.file, { force: true }) // written before a truncated tail
        continue
      }
      try {
        const snap = JSON.parse(fs.readFileSync(s.file, 'utf8')) as ProducerSnapshot
        if (snap.version !== 1 || snap.offset !== s.offset) throw new Error('unexpected snapshot content')
        producerState.loadSnapshot(snap)
        from = s.offset
        this.report.producerSnapshot = s.offset
        break
      } catch (err) {
        local.logLine(`ignoring producer snapshot ${s.file}: ${(err as Error).message}`)
      }
    }
    for (const seg of local.segments) {
      if (seg.nextOffset <= from || seg.size === 0) continue
      await scanSegmentFile(seg.fd, 0, seg.size, { verifyCrc: false }, (b) => {
        const h = b.header
        if (h.baseOffset < from || h.producerId < 0) return
        this.report.batchesReplayed++
        let controlType = -1
        let coordinatorEpoch = -1
        if (h.isControl && h.compression === 0 && h.recordCount > 0) {
          try {
            ;({ controlType, coordinatorEpoch } = controlInfo(h, b.buf, b.start, b.end))
          } catch {}
        }
        const staged = new Map<number, ProducerEntry>()
        const aborted = producerState.apply(h, staged, controlType, coordinatorEpoch)
        producerState.commit(staged, aborted ? [aborted] : [])
      })
    }
    producerState.onLogStartOffset(local.startOffset)
  }
}

/** What the bytes at `position` claim to be, for a log line about cutting or skipping them. */
async function describeAt(seg: LogSegment, position: number): Promise<string> {
  const head = Buffer.alloc(RECORD_BATCH_OVERHEAD)
  const n = await readFully(seg.fd, head, 0, head.length, position)
  if (n < RECORD_BATCH_OVERHEAD || head[BatchOffsets.magic] !== 2) return ''
  const base = readBatchHeader(head, 0)
  return `; the cut batch claims offsets ${base.baseOffset}-${base.baseOffset + Math.max(base.lastOffsetDelta, 0)}`
}
