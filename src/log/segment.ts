/**
 * A log segment: `<baseOffset>.log` holding RecordBatch v2 bytes, a sparse offset index `.index`
 * (relative offset int32, position int32) and a time index `.timeindex` (timestamp int64, relative offset int32).
 * Index entries are kept in memory (loaded lazily for inactive segments) and appended to their files.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  type BatchHeader,
  BatchOffsets,
  CURRENT_MAGIC,
  isBatchCrcValid,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  readInt64,
  writeInt64,
} from '../protocol/record-batch.ts'

export const OFFSET_INDEX_ENTRY = 8
export const TIME_INDEX_ENTRY = 12

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`
}

export function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))
  })
}

/** Reads exactly `length` bytes unless the file ends first; returns the bytes read. */
export async function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number) {
  let done = 0
  while (done < length) {
    const n = await readAt(fd, buf, offset + done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/**
 * Why the batch header at `rel` in `buf` cannot be framed, or null when it can: magic 2, a length at least a v2
 * header and no longer than the `remaining` bytes of the segment from there, offsets that do not go backwards.
 * Every length read from disk passes this before it is used, so a damaged length field is reported instead of
 * served, skipped over or used to size a buffer.
 */
export function framingProblem(buf: Buffer, rel: number, remaining: number): string | null {
  const magic = buf[rel + BatchOffsets.magic]
  if (magic !== CURRENT_MAGIC) return `bad magic byte ${magic}`
  const batchLength = buf.readInt32BE(rel + BatchOffsets.batchLength)
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return `batch length ${batchLength} is shorter than a header`
  if (LOG_OVERHEAD + batchLength > remaining) {
    return `batch length ${batchLength} runs past the end of the segment (${remaining} bytes left)`
  }
  if (buf.readInt32BE(rel + BatchOffsets.lastOffsetDelta) < 0) return 'negative lastOffsetDelta'
  return null
}

export interface ScannedBatch {
  header: BatchHeader
  /** Buffer holding the whole batch at [start, end). */
  buf: Buffer
  start: number
  end: number
  /** File position of the batch. */
  position: number
}

const SCAN_CHUNK = 1024 * 1024

/**
 * Walks the batches of a segment file from `from` to `to`, checking header sanity (and CRC when asked).
 * Stops at the first batch that is torn or invalid and reports where the valid prefix ends.
 */
export async function scanSegmentFile(
  fd: number,
  from: number,
  to: number,
  opts: { verifyCrc: boolean; maxBatchBytes?: number },
  onBatch: (b: ScannedBatch) => unknown,
): Promise<{ validEnd: number; error: string | null }> {
  let pos = from
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(to - from, RECORD_BATCH_OVERHEAD)))
  let bufPos = -1
  let bufLen = 0
  while (pos < to) {
    if (to - pos < RECORD_BATCH_OVERHEAD) return { validEnd: pos, error: `truncated batch header at ${pos}` }
    let rel = pos - bufPos
    if (bufPos < 0 || rel + RECORD_BATCH_OVERHEAD > bufLen) {
      bufLen = await readFully(fd, buf, 0, Math.min(buf.length, to - pos), pos)
      bufPos = pos
      rel = 0
      if (bufLen < RECORD_BATCH_OVERHEAD) return { validEnd: pos, error: `truncated batch header at ${pos}` }
    }
    const batchLength = buf.readInt32BE(rel + BatchOffsets.batchLength)
    const magic = buf[rel + BatchOffsets.magic]
    const size = LOG_OVERHEAD + batchLength
    if (magic !== CURRENT_MAGIC) return { validEnd: pos, error: `bad magic ${magic} at ${pos}` }
    if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || (opts.maxBatchBytes && size > opts.maxBatchBytes)) {
      return { validEnd: pos, error: `bad batch length ${batchLength} at ${pos}` }
    }
    if (pos + size > to) return { validEnd: pos, error: `torn batch at ${pos} (${size} bytes, ${to - pos} left)` }
    if (rel + size > bufLen) {
      if (size > buf.length) buf = Buffer.allocUnsafe(size)
      bufLen = await readFully(fd, buf, 0, Math.min(buf.length, to - pos), pos)
      bufPos = pos
      rel = 0
      if (bufLen < size) return { validEnd: pos, error: `torn batch at ${pos}` }
    }
    if (opts.verifyCrc && !isBatchCrcValid(buf, rel, rel + size)) {
      return { validEnd: pos, error: `CRC mismatch in batch at ${pos}` }
    }
    const header = readBatchHeader(buf, rel)
    if (header.lastOffsetDelta < 0 || header.recordCount < 0) {
      return { validEnd: pos, error: `bad offsets in batch header at ${pos}` }
    }
    const r = await onBatch({ header, buf, start: rel, end: rel + size, position: pos })
    if (r === false) return { validEnd: pos, error: 'stopped' }
    pos += size
  }
  return { validEnd: pos, error: null }
}

/** What a walk over a segment's batches found. */
export interface SegmentCheck {
  /** File position where the walk stopped: the file size when every batch was whole and valid. */
  validEnd: number
  /** Why the walk stopped before the end, or null. */
  error: string | null
  /** Last offset of the last valid batch walked (the walk's start offset - 1 when none). */
  lastOffset: number
  batches: number
}

export class LogSegment {
  readonly dir: string
  readonly baseOffset: number
  readonly logPath: string
  readonly indexPath: string
  readonly timeIndexPath: string
  fd: number
  size: number
  /** Offset after the last batch (baseOffset when empty). */
  nextOffset: number
  maxTimestamp = -1
  offsetOfMaxTimestamp = -1
  /** Clock time used for segment.ms; the first batch's timestamp when reopened. */
  rollBaseTime = -1
  lastModifiedMs: number
  bytesSinceLastIndexEntry = 0
  // Sparse offset index: parallel arrays of relative offsets and positions, ascending.
  private idxOffsets: number[] | null = null
  private idxPositions: number[] | null = null
  // Time index: parallel arrays, timestamps strictly ascending.
  private tsTimestamps: number[] | null = null
  private tsOffsets: number[] | null = null
  private indexFd = -1
  private timeIndexFd = -1
  private refs = 0
  private closeWhenIdle = false
  closed = false

  constructor(dir: string, baseOffset: number, fd: number, size: number, lastModifiedMs: number) {
    this.dir = dir
    this.baseOffset = baseOffset
    this.logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    this.indexPath = path.join(dir, segmentFileName(baseOffset, '.index'))
    this.timeIndexPath = path.join(dir, segmentFileName(baseOffset, '.timeindex'))
    this.fd = fd
    this.size = size
    this.nextOffset = baseOffset
    this.lastModifiedMs = lastModifiedMs
  }

  static create(dir: string, baseOffset: number, now: number): LogSegment {
    const logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    const fd = fs.openSync(logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644)
    const seg = new LogSegment(dir, baseOffset, fd, 0, now)
    try {
      seg.resetIndexes()
      seg.writeIndexFiles()
    } catch (err) {
      seg.close() // e.g. out of file descriptors for the index files: do not keep the log file open
      throw err
    }
    return seg
  }

  static openExisting(dir: string, baseOffset: number): LogSegment {
    const logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    const fd = fs.openSync(logPath, fs.constants.O_RDWR)
    const st = fs.fstatSync(fd)
    return new LogSegment(dir, baseOffset, fd, st.size, st.mtimeMs)
  }

  /** Keeps the file open while an async read uses it, even if the segment is deleted or replaced meanwhile. */
  acquire(): void {
    this.refs++
  }

  release(): void {
    this.refs--
    if (this.refs === 0 && this.closeWhenIdle) this.closeFds()
  }

  // ---- indexes ------------------------------------------------------------------------------------------------

  resetIndexes(): void {
    this.idxOffsets = []
    this.idxPositions = []
    this.tsTimestamps = []
    this.tsOffsets = []
    this.bytesSinceLastIndexEntry = 0
  }

  get indexesLoaded(): boolean {
    return this.idxOffsets !== null
  }

  /**
   * Loads index files written earlier. Returns false if either is missing or inconsistent, in which case the caller
   * rebuilds them by scanning the segment.
   */
  loadIndexFiles(): boolean {
    try {
      return this.parseIndexes(fs.readFileSync(this.indexPath), fs.readFileSync(this.timeIndexPath))
    } catch {
      return false
    }
  }

  /** Async variant for lookups on the read path, so a large index does not block the event loop. */
  async loadIndexFilesAsync(): Promise<boolean> {
    try {
      const [idx, tix] = await Promise.all([
        fs.promises.readFile(this.indexPath),
        fs.promises.readFile(this.timeIndexPath),
      ])
      return this.parseIndexes(idx, tix)
    } catch {
      return false
    }
  }

  private parseIndexes(idx: Buffer, tix: Buffer): boolean {
    try {
      if (idx.length % OFFSET_INDEX_ENTRY !== 0 || tix.length % TIME_INDEX_ENTRY !== 0) return false
      const offs: number[] = []
      const poss: number[] = []
      for (let p = 0; p < idx.length; p += OFFSET_INDEX_ENTRY) {
        const o = idx.readInt32BE(p)
        const q = idx.readInt32BE(p + 4)
        if (o < 0 || q < 0 || q >= this.size) return false
        if (offs.length > 0 && (o <= offs[offs.length - 1]! || q <= poss[poss.length - 1]!)) return false
        offs.push(o)
        poss.push(q)
      }
      const tss: number[] = []
      const tos: number[] = []
      for (let p = 0; p < tix.length; p += TIME_INDEX_ENTRY) {
        const t = readInt64(tix, p)
        const o = tix.readInt32BE(p + 8)
        if (o < 0 || (tss.length > 0 && (t <= tss[tss.length - 1]! || o < tos[tos.length - 1]!))) return false
        tss.push(t)
        tos.push(o)
      }
      // The last offset entry must point at a batch starting with that offset (catches indexes of a replaced file).
      if (offs.length > 0) {
        const h = Buffer.alloc(8)
        if (fs.readSync(this.fd, h, 0, 8, poss[poss.length - 1]!) !== 8) return false
        if (readInt64(h, 0) !== this.baseOffset + offs[offs.length - 1]!) return false
      }
      this.idxOffsets = offs
      this.idxPositions = poss
      this.tsTimestamps = tss
      this.tsOffsets = tos
      if (tss.length > 0) {
        this.maxTimestamp = tss[tss.length - 1]!
        this.offsetOfMaxTimestamp = this.baseOffset + tos[tos.length - 1]!
      }
      return true
    } catch {
      return false
    }
  }

  /**
   * Rebuilds indexes (and nextOffset / max timestamp) from the batches in the file. Batches that cannot be framed
   * end the walk; the file is left as it is (reads past that point answer CORRUPT_MESSAGE) and the result says
   * where and why, for the caller to report.
   */
  async rebuildIndexes(intervalBytes: number): Promise<SegmentCheck> {
    this.resetIndexes()
    this.maxTimestamp = -1
    this.offsetOfMaxTimestamp = -1
    this.nextOffset = this.baseOffset
    let batches = 0
    const { validEnd, error } = await scanSegmentFile(this.fd, 0, this.size, { verifyCrc: false }, (b) => {
      if (b.header.baseOffset < this.nextOffset) return false
      this.indexBatch(b.header, b.position, b.end - b.start, intervalBytes)
      this.nextOffset = b.header.baseOffset + b.header.lastOffsetDelta + 1
      batches++
    })
    this.finishTimeIndex()
    this.writeIndexFiles()
    return {
      validEnd,
      error: error === 'stopped' ? `batch offsets go backwards at ${validEnd}` : error,
      lastOffset: this.nextOffset - 1,
      batches,
    }
  }

  /** File position of the last offset index entry (0 without one): where a check of the segment's tail starts. */
  lastIndexedPosition(): { position: number; offset: number } {
    const offs = this.idxOffsets
    if (!offs || offs.length === 0) return { position: 0, offset: this.baseOffset }
    return { position: this.idxPositions![offs.length - 1]!, offset: this.baseOffset + offs[offs.length - 1]! }
  }

  /**
   * Checks the batches from the last index entry to the end of the file, CRC included: a truncated or damaged
   * tail is found at the cost of reading about one index interval. Needs the indexes loaded.
   */
  async checkTail(): Promise<SegmentCheck> {
    const from = this.lastIndexedPosition()
    let next = from.offset
    let batches = 0
    const { validEnd, error } = await scanSegmentFile(this.fd, from.position, this.size, { verifyCrc: true }, (b) => {
      if (b.header.baseOffset < next) return false
      next = b.header.baseOffset + b.header.lastOffsetDelta + 1
      batches++
    })
    return {
      validEnd,
      error: error === 'stopped' ? `batch offsets go backwards at ${validEnd}` : error,
      lastOffset: next - 1,
      batches,
    }
  }

  /** Updates in-memory indexes for a batch written at `position`; returns entries to append to the files. */
  indexBatch(h: BatchHeader, position: number, size: number, intervalBytes: number): void {
    const offs = this.idxOffsets!
    const rel = h.baseOffset - this.baseOffset
    if (this.bytesSinceLastIndexEntry >= intervalBytes && position > 0) {
      if (offs.length === 0 || rel > offs[offs.length - 1]!) {
        offs.push(rel)
        this.idxPositions!.push(position)
        this.appendIndexEntry(rel, position)
      }
      this.bytesSinceLastIndexEntry = 0
      this.maybeAppendTimeIndex()
    }
    this.bytesSinceLastIndexEntry += size
    if (h.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = h.maxTimestamp
      this.offsetOfMaxTimestamp = h.baseOffset + h.lastOffsetDelta
    }
    if (this.rollBaseTime < 0 && h.maxTimestamp >= 0) this.rollBaseTime = h.maxTimestamp
  }

  /** Records the current max timestamp in the time index if it grew (on index intervals and at roll). */
  maybeAppendTimeIndex(): void {
    const tss = this.tsTimestamps!
    if (this.maxTimestamp < 0) return
    if (tss.length > 0 && this.maxTimestamp <= tss[tss.length - 1]!) return
    const rel = this.offsetOfMaxTimestamp - this.baseOffset
    tss.push(this.maxTimestamp)
    this.tsOffsets!.push(rel)
    if (this.timeIndexFd >= 0) {
      const e = Buffer.allocUnsafe(TIME_INDEX_ENTRY)
      writeInt64(e, 0, this.maxTimestamp)
      e.writeInt32BE(rel, 8)
      fs.writeSync(this.timeIndexFd, e, 0, TIME_INDEX_ENTRY, (tss.length - 1) * TIME_INDEX_ENTRY)
    }
  }

  finishTimeIndex(): void {
    if (this.tsTimestamps) this.maybeAppendTimeIndex()
  }

  private appendIndexEntry(rel: number, position: number): void {
    if (this.indexFd < 0) return
    const e = Buffer.allocUnsafe(OFFSET_INDEX_ENTRY)
    e.writeInt32BE(rel, 0)
    e.writeInt32BE(position, 4)
    fs.writeSync(this.indexFd, e, 0, OFFSET_INDEX_ENTRY, (this.idxOffsets!.length - 1) * OFFSET_INDEX_ENTRY)
  }

  /** Rewrites both index files from memory and keeps them open for appends. */
  writeIndexFiles(): void {
    const offs = this.idxOffsets!
    const idx = Buffer.allocUnsafe(offs.length * OFFSET_INDEX_ENTRY)
    for (let i = 0; i < offs.length; i++) {
      idx.writeInt32BE(offs[i]!, i * OFFSET_INDEX_ENTRY)
      idx.writeInt32BE(this.idxPositions![i]!, i * OFFSET_INDEX_ENTRY + 4)
    }
    const tss = this.tsTimestamps!
    const tix = Buffer.allocUnsafe(tss.length * TIME_INDEX_ENTRY)
    for (let i = 0; i < tss.length; i++) {
      writeInt64(tix, i * TIME_INDEX_ENTRY, tss[i]!)
      tix.writeInt32BE(this.tsOffsets![i]!, i * TIME_INDEX_ENTRY + 8)
    }
    this.closeIndexFds()
    const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC
    this.indexFd = fs.openSync(this.indexPath, flags, 0o644)
    this.timeIndexFd = fs.openSync(this.timeIndexPath, flags, 0o644)
    if (idx.length > 0) fs.writeSync(this.indexFd, idx, 0, idx.length, 0)
    if (tix.length > 0) fs.writeSync(this.timeIndexFd, tix, 0, tix.length, 0)
  }

  /** Inactive segments do not append to their indexes: release the index file descriptors. */
  closeIndexFds(): void {
    if (this.indexFd >= 0) fs.closeSync(this.indexFd)
    if (this.timeIndexFd >= 0) fs.closeSync(this.timeIndexFd)
    this.indexFd = -1
    this.timeIndexFd = -1
  }

  async ensureIndexes(intervalBytes: number): Promise<void> {
    if (this.indexesLoaded) return
    if (!(await this.loadIndexFilesAsync())) await this.rebuildIndexes(intervalBytes)
  }

  /** File position from which to scan for `offset`: the last index entry at or below it. */
  lookupPosition(offset: number): number {
    const offs = this.idxOffsets
    if (!offs || offs.length === 0) return 0
    const rel = offset - this.baseOffset
    let lo = 0
    let hi = offs.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (offs[mid]! <= rel) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found < 0 ? 0 : this.idxPositions![found]!
  }

  /** Offset from which to scan for the first batch with maxTimestamp >= ts (everything before it is older). */
  lookupTimestamp(ts: number): number {
    const tss = this.tsTimestamps
    if (!tss || tss.length === 0) return this.baseOffset
    let lo = 0
    let hi = tss.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (tss[mid]! < ts) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    // Entry = (max timestamp so far, its offset): offsets up to and including it are all older than ts.
    return found < 0 ? this.baseOffset : this.baseOffset + this.tsOffsets![found]! + 1
  }

  // ---- data ---------------------------------------------------------------------------------------------------

  write(buf: Buffer, start: number, end: number): void {
    let written = 0
    while (written < end - start) {
      written += fs.writeSync(this.fd, buf, start + written, end - start - written, this.size + written)
    }
    this.size += written
  }

  /**
   * Reserves the next `end - start` bytes of the file and writes them on the libuv thread pool. The write is
   * positional, so later writes (sync or async) may be issued before it completes; the caller keeps `buf`
   * unchanged and must not let readers past this position until `done` is called.
   */
  writeAsync(buf: Buffer, start: number, end: number, done: (err: Error | null) => void): void {
    const position = this.size
    this.size += end - start
    this.acquire()
    const finish = (err: Error | null) => {
      this.release()
      done(err)
    }
    const step = (from: number) => {
      try {
        fs.write(this.fd, buf, from, end - from, position + (from - start), (err, n) => {
          if (!err && from + n < end) {
            if (n > 0) return step(from + n)
            err = new Error(`short write to ${this.logPath}`)
          }
          finish(err)
        })
      } catch (err) {
        // A closed descriptor throws synchronously; report it like any failed write.
        queueMicrotask(() => finish(err as Error))
      }
    }
    step(start)
  }

  truncateTo(position: number): void {
    fs.ftruncateSync(this.fd, position)
    this.size = position
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  private closeFds(): void {
    if (this.closed) return
    this.closed = true
    this.closeIndexFds()
    try {
      fs.closeSync(this.fd)
    } catch {}
  }

  /** Closes now, or after the last in-flight read. */
  close(): void {
    this.closeIndexFds()
    if (this.refs > 0) this.closeWhenIdle = true
    else this.closeFds()
  }

  /** Deletes the files; open readers keep reading the unlinked inode until they release. */
  delete(): void {
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) fs.rmSync(p, { force: true })
    this.close()
  }

  /** Drops in-memory indexes of an inactive segment (they reload from disk on demand). */
  unloadIndexes(): void {
    this.idxOffsets = null
    this.idxPositions = null
    this.tsTimestamps = null
    this.tsOffsets = null
  }
}
