/**
 * Reads of whole batches from a partition's segments: locating the batch holding an offset (recent positions,
 * then the offset index, then batch headers), serving from the tail cache, stopping at the readable limit of
 * in-flight writes, and answering CORRUPT_MESSAGE for batches on disk that cannot be framed.
 */
import path from 'node:path'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { BatchOffsets, LOG_OVERHEAD, LogError, RECORD_BATCH_OVERHEAD } from '../protocol/record-batch.ts'
import type { InflightWrites } from './inflight-writes.ts'
import { type LocalLog, outOfRange } from './local-log.ts'
import { framingProblem, type LogSegment, readFully } from './segment.ts'
import type { RecentPositions, TailCache } from './tail-cache.ts'

export interface ReadResult {
  /** Whole batches starting at the batch containing the requested offset; may be empty. */
  records: Buffer
  highWatermark: number
  logStartOffset: number
  lastStableOffset: number
}

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

export interface ReadOptions {
  minOneMessage?: boolean
  maxOffset?: number
}

/** The offsets a reader reports with each answer. */
export interface LogOffsets {
  readonly highWatermark: number
  readonly lastStableOffset: number
}

const LOCATE_CHUNK = 64 * 1024

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

export class LogReader {
  /** When each damaged batch position was last logged (reads keep hitting it; one line a minute is enough). */
  private readonly corruptLogged = new Map<string, number>()

  constructor(
    private readonly local: LocalLog,
    private readonly offsets: LogOffsets,
    private readonly inflight: InflightWrites,
    private readonly recent: RecentPositions,
    private readonly tail: TailCache,
  ) {}

  /** How many bytes of `seg` readers may see. */
  readableLimit(seg: LogSegment): number {
    return this.inflight.readableLimit(seg)
  }

  /**
   * Returns whole batches starting at the batch that contains `offset`, up to `maxBytes` (soft: with minOneMessage,
   * the default, a first batch larger than maxBytes is returned whole). `maxOffset` (exclusive) stops at batches
   * starting at or after it, e.g. the last stable offset for read_committed.
   */
  async read(offset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    const local = this.local
    const hw = this.offsets.highWatermark
    const result = (records: Buffer): ReadResult => ({
      records,
      highWatermark: hw,
      logStartOffset: local.startOffset,
      lastStableOffset: this.offsets.lastStableOffset,
    })
    // Offsets up to the log end are valid positions (a consumer may have been told the end while the newest
    // appends are still being written); records are served up to the high watermark.
    const leo = local.logEndOffset
    if (offset < local.startOffset || offset > leo) throw outOfRange(offset, local.startOffset, leo)
    const maxOffset = Math.min(opts.maxOffset ?? hw, hw)
    if (offset >= maxOffset) return result(Buffer.alloc(0))
    const minOne = opts.minOneMessage !== false
    const cached = this.tail.read(offset, Math.max(maxBytes, 0), maxOffset, minOne)
    if (cached) return result(cached)
    for (let i = local.segmentIndexFor(offset); i < local.segments.length; i++) {
      const seg = local.segments[i]!
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
    opts: ReadOptions & { inMemoryMaxBytes: number },
  ): Promise<SliceResult> {
    const local = this.local
    const hw = this.offsets.highWatermark
    const leo = local.logEndOffset
    const maxOffset = Math.min(opts.maxOffset ?? hw, hw)
    const minOne = opts.minOneMessage !== false
    const viaRead = () => this.read(offset, maxBytes, opts)
    if (offset < local.startOffset || offset > leo || offset >= maxOffset) return viaRead()
    if (this.tail.read(offset, Math.max(maxBytes, 0), maxOffset, minOne)) return viaRead()
    for (let i = local.segmentIndexFor(offset); i < local.segments.length; i++) {
      const seg = local.segments[i]!
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
          logStartOffset: local.startOffset,
          lastStableOffset: this.offsets.lastStableOffset,
        }
      } finally {
        if (!handedOver) seg.release()
      }
    }
    return viaRead()
  }

  /**
   * Finds the file position of the first batch in `seg` whose last offset is >= `offset`,
   * or -1 if the segment has none.
   */
  async locate(seg: LogSegment, offset: number, limit: number): Promise<number> {
    if (seg === this.local.active) {
      const pos = this.recent.find(offset, limit)
      if (pos >= 0) return pos
    }
    await this.local.ensureIndexes(seg)
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
      this.local.logLine(
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
}
