/**
 * The retention and compaction driver of one partition: DeleteRecords, time and size retention over whole
 * inactive segments, and compaction of inactive segments (see compaction.ts for rewriting one segment). All of
 * it runs one job at a time, after appends in flight have landed.
 */
import { compactSegment } from './compaction.ts'
import { type LocalLog, outOfRange } from './local-log.ts'
import { decodeBatch } from './offset-lookup.ts'
import type { ProducerStateManager } from './producer-state.ts'
import { type LogSegment, scanSegmentFile } from './segment.ts'

/** What the driver needs from the partition log it maintains. */
export interface MaintainedLog {
  readonly lastStableOffset: number
  readonly closed: boolean
  ensureOpen(): void
  roll(): void
  /** Resolves once no append is in flight. */
  writesSettled(): Promise<void>
}

export class LogRetention {
  private maintenance: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly local: LocalLog,
    private readonly producerState: ProducerStateManager,
    private readonly log: MaintainedLog,
  ) {}

  /** Resolves once the job running now (if any) is over. */
  idle(): Promise<unknown> {
    return this.maintenance
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Maintenance reads and rewrites whole segments: let appends in flight land first.
    const settledFn = () => this.log.writesSettled().then(fn)
    const run = this.maintenance.then(settledFn, settledFn)
    this.maintenance = run.catch(() => {})
    return run
  }

  private setLogStart(offset: number): void {
    if (this.local.advanceLogStart(offset)) this.producerState.onLogStartOffset(offset)
  }

  private deleteOldestSegments(predicate: (seg: LogSegment) => boolean): number {
    const deleted = this.local.deleteOldestSegments(predicate)
    if (deleted > 0) this.setLogStart(this.local.segments[0]!.baseOffset)
    return deleted
  }

  /** DeleteRecords: moves the log start offset forward (persisted) and deletes segments entirely below it. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.exclusive(async () => {
      this.log.ensureOpen()
      const local = this.local
      if (offset > local.logEndOffset || offset < 0) throw outOfRange(offset, local.startOffset, local.logEndOffset)
      if (offset <= local.startOffset) return local.startOffset
      this.setLogStart(offset)
      this.deleteOldestSegments((seg) => seg.nextOffset <= offset)
      return local.startOffset
    })
  }

  /** Time and size retention over whole inactive segments; also rolls an active segment older than segment.ms. */
  enforceRetention(): Promise<{ deletedSegments: number }> {
    return this.exclusive(async () => {
      this.log.ensureOpen()
      const local = this.local
      const cfg = local.config
      const now = local.now()
      const act = local.active
      if (act.size > 0 && act.rollBaseTime >= 0 && now - act.rollBaseTime >= cfg.segmentMs) this.log.roll()
      if (!cfg.cleanupPolicy.delete) return { deletedSegments: 0 }
      let deletedSegments = 0
      if (cfg.retentionMs >= 0) {
        const horizon = now - cfg.retentionMs
        deletedSegments += this.deleteOldestSegments((seg) => {
          const ts = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs
          return ts < horizon
        })
      }
      if (cfg.retentionBytes >= 0) {
        let excess = local.size - cfg.retentionBytes
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
      this.log.ensureOpen()
      const local = this.local
      const cfg = local.config
      const producerState = this.producerState
      if (!cfg.cleanupPolicy.compact) return { removedRecords: 0 }
      const now = local.now()
      const lagHorizon = now - cfg.minCompactionLagMs
      const cleanable: LogSegment[] = []
      // Like Kafka's cleaner, stop at the first unstable offset: an open transaction's records may still abort.
      const firstUnstable = this.log.lastStableOffset
      for (const seg of local.segments.slice(0, -1)) {
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
          if (h.isTransactional && producerState.isAborted(h.producerId, h.baseOffset)) return
          const records = await decodeBatch(b.buf.subarray(b.start, b.end), h)
          for (const r of records) if (r.key) latest.set(r.key.toString('latin1'), r.offset)
        })
        if (error) {
          local.logLine(`compaction stops before damaged segment ${seg.logPath}: ${error}`, 'error')
          cleanable.length = i
          break
        }
      }
      if (cleanable.length === 0) return { removedRecords: 0 }
      // A producer's newest batch must keep its header so idempotence survives a rebuild from the log.
      const producerLastOffsets = new Map<number, number>()
      for (const e of producerState.producers.values()) producerLastOffsets.set(e.producerId, e.lastOffset)

      let removedRecords = 0
      for (const seg of cleanable) {
        const res = await compactSegment(seg, {
          shouldKeep: (r, h) => {
            if (h.isTransactional && producerState.isAborted(h.producerId, h.baseOffset)) return false
            if (!r.key) return false
            if (latest.get(r.key.toString('latin1')) !== r.offset) return false
            if (r.value === null && r.timestamp <= now - cfg.deleteRetentionMs) return false
            return true
          },
          keepEmptyBatch: (h) => {
            if (h.producerId < 0) return false
            const last = producerLastOffsets.get(h.producerId)
            return last !== undefined && last >= h.baseOffset && last <= h.baseOffset + h.lastOffsetDelta
          },
          decode: (buf, h) => decodeBatch(buf, h),
          indexIntervalBytes: cfg.indexIntervalBytes,
        })
        if (!res) continue
        removedRecords += res.removedRecords
        const idx = local.segments.indexOf(seg)
        if (idx < 0 || this.log.closed) {
          res.segment.close()
          continue
        }
        res.segment.nextOffset = seg.nextOffset
        local.segments[idx] = res.segment
        res.segment.unloadIndexes()
        local.forgetIndexes(seg)
        local.unflushed.delete(seg)
        seg.close()
      }
      return { removedRecords }
    })
  }
}
