/**
 * The segments of one partition directory and what is kept about them in memory (Kafka's LocalLog): the active
 * segment, the log start offset and its checkpoint, which inactive segments have their index entries loaded, and
 * which have been written since the last sync. Every other part of the partition log works through this.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { LogError } from '../protocol/record-batch.ts'
import type { LogConfig } from './config.ts'
import type { LogSegment } from './segment.ts'

export type LogLineLevel = 'info' | 'warn' | 'error'
export type LogLine = (message: string, level?: LogLineLevel) => void

export const LOG_START_CHECKPOINT = 'log-start-offset.checkpoint'
/** Inactive segments whose index entries stay in memory; memory must not grow with retained data. */
const INDEX_CACHE_SIZE = 8

export function outOfRange(offset: number, start: number, end: number): LogError {
  return new LogError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside the log range [${start}, ${end}]`)
}

export function writeFileAtomic(file: string, data: string | Buffer, sync = true): void {
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

export class LocalLog {
  segments: LogSegment[] = []
  startOffset = 0
  /** Segments written since the last sync round. */
  readonly unflushed = new Set<LogSegment>()
  private readonly loadedIndexes: LogSegment[] = []

  constructor(
    readonly dir: string,
    public config: LogConfig,
    readonly now: () => number,
    readonly logLine: LogLine,
  ) {}

  get active(): LogSegment {
    return this.segments[this.segments.length - 1]!
  }

  get logEndOffset(): number {
    return this.active.nextOffset
  }

  /** Total bytes of all segment files. */
  get size(): number {
    let s = 0
    for (const seg of this.segments) s += seg.size
    return s
  }

  /** Index of the segment holding `offset` (the last one whose base offset is <= it). */
  segmentIndexFor(offset: number): number {
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

  /** Loads the index entries of an inactive segment, keeping at most INDEX_CACHE_SIZE segments' entries loaded. */
  async ensureIndexes(seg: LogSegment): Promise<void> {
    if (seg === this.active) return
    const i = this.loadedIndexes.indexOf(seg)
    if (i >= 0) this.loadedIndexes.splice(i, 1)
    this.loadedIndexes.push(seg)
    if (!seg.indexesLoaded) {
      const nextOffset = seg.nextOffset
      await seg.ensureIndexes(this.config.indexIntervalBytes)
      seg.closeIndexFds()
      seg.nextOffset = nextOffset
    }
    this.trimIndexes()
  }

  /** A segment just rolled keeps its loaded index entries, counted in the cache. */
  rememberIndexes(seg: LogSegment): void {
    this.loadedIndexes.push(seg)
    this.trimIndexes()
  }

  forgetIndexes(seg: LogSegment): void {
    const i = this.loadedIndexes.indexOf(seg)
    if (i >= 0) this.loadedIndexes.splice(i, 1)
  }

  private trimIndexes(): void {
    while (this.loadedIndexes.length > INDEX_CACHE_SIZE) this.loadedIndexes.shift()!.unloadIndexes()
  }

  /** Moves the log start offset forward and persists it; false when `offset` is not ahead of it. */
  advanceLogStart(offset: number): boolean {
    if (offset <= this.startOffset) return false
    this.startOffset = offset
    writeFileAtomic(path.join(this.dir, LOG_START_CHECKPOINT), String(this.startOffset))
    return true
  }

  /** Deletes the oldest inactive segments while `predicate` holds; returns how many went. */
  deleteOldestSegments(predicate: (seg: LogSegment) => boolean): number {
    let deleted = 0
    while (this.segments.length > 1 && predicate(this.segments[0]!)) {
      const seg = this.segments.shift()!
      this.forgetIndexes(seg)
      this.unflushed.delete(seg)
      seg.delete()
      deleted++
    }
    return deleted
  }

  closeSegments(): void {
    for (const seg of this.segments) seg.close()
  }
}
