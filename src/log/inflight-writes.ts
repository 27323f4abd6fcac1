/**
 * Appends whose bytes may still be in flight on the thread pool, and what readers may see meanwhile: the high
 * watermark is the end of the longest prefix of the log whose bytes are all written. A failed write stops the
 * partition taking appends; nothing at or after it is ever served.
 */
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { LogError } from '../protocol/record-batch.ts'
import type { LogSegment } from './segment.ts'

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

export class InflightWrites {
  /** Appends not yet readable, oldest first. While non-empty every append (sync or async) is queued here. */
  private queue: InflightWrite[] = []
  private visibleEnd = 0
  /** Set when a thread-pool write failed: the log takes no more appends until it is reopened (and recovered). */
  failure: LogError | null = null
  /** Where the failed append started: nothing at or after it is ever served. */
  private failedAt: { offset: number; seg: LogSegment; startPos: number } | null = null
  private settledWaiters: (() => void)[] = []

  /**
   * @param onWritten called when a write completes, with its segment (its bytes must join the next sync round)
   * @param onFailed called once per failed write, with the error message
   */
  constructor(
    private readonly onWritten: (seg: LogSegment) => void,
    private readonly onFailed: (message: string) => void,
  ) {}

  get empty(): boolean {
    return this.queue.length === 0
  }

  /** The readable end of a log whose end offset is `logEndOffset`. */
  highWatermark(logEndOffset: number): number {
    const hw = this.queue.length > 0 ? this.visibleEnd : logEndOffset
    return this.failedAt && this.failedAt.offset < hw ? this.failedAt.offset : hw
  }

  /**
   * Queues an append written on the thread pool; returns the completion callback for the write and the promise
   * readers of the append wait on.
   */
  beginAsync(
    logEndOffset: number,
    end: number,
    seg: LogSegment,
    startPos: number,
  ): { done: (err: Error | null) => void; visible: Promise<void> } {
    if (this.queue.length === 0) this.visibleEnd = logEndOffset
    const e: InflightWrite = { end, seg, startPos, done: false }
    const visible = new Promise<void>((resolve, reject) => {
      e.resolve = resolve
      e.reject = reject
    })
    e.visible = visible
    // Callers that need the outcome attach their own handlers; nobody listening is not an error.
    visible.catch(() => {})
    this.queue.push(e)
    return { done: (err) => this.writeDone(e, err), visible }
  }

  /** A synchronous append: it becomes readable in order, behind any appends still in flight. */
  addWritten(end: number, seg: LogSegment, startPos: number): void {
    if (this.queue.length > 0) this.queue.push({ end, seg, startPos, done: true })
  }

  /** Completion of a thread-pool write: moves the high watermark over every leading append now fully written. */
  private writeDone(e: InflightWrite, err: Error | null): void {
    if (err) {
      // Kafka takes a log directory offline on an I/O error; here the partition stops taking appends and serves
      // what was written before the failed append. Reopening the log (a restart) recovers its tail.
      this.failure ??= new LogError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot write to ${e.seg.logPath}: ${err.message}`, {
        cause: err,
      })
      this.onFailed(err.message)
      const i = this.queue.indexOf(e)
      this.failedAt ??= {
        offset: i > 0 ? this.queue[i - 1]!.end : this.visibleEnd,
        seg: e.seg,
        startPos: e.startPos,
      }
      const failed = this.queue.splice(i)
      for (const f of failed) f.reject?.(this.failure)
      this.settleIfIdle()
      return
    }
    e.done = true
    this.onWritten(e.seg)
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const head = this.queue.shift()!
      this.visibleEnd = head.end
      head.resolve?.()
    }
    this.settleIfIdle()
  }

  private settleIfIdle(): void {
    if (this.queue.length > 0 && !this.failure) return
    const waiters = this.settledWaiters
    this.settledWaiters = []
    for (const w of waiters) w()
  }

  /** Resolves once no append is in flight (failed ones count as settled). */
  settled(): Promise<void> {
    if (this.queue.length === 0 || this.failure) return Promise.resolve()
    return new Promise((resolve) => this.settledWaiters.push(resolve))
  }

  /** How many bytes of `seg` readers may see: all of it unless an append into it (or an older one) is in flight. */
  readableLimit(seg: LogSegment): number {
    const first = this.queue[0] ?? this.failedAt
    if (!first) return seg.size
    if (seg === first.seg) return first.startPos
    return seg.baseOffset < first.seg.baseOffset ? seg.size : 0
  }

  /** Resolves once offsets below `end` are readable (given the current high watermark `hw`). */
  whenVisible(end: number, hw: number): Promise<void> {
    if (hw >= end) return Promise.resolve()
    if (this.failure) return Promise.reject(this.failure)
    const e = this.queue.find((x) => x.end >= end)
    if (!e) return Promise.resolve()
    if (e.visible) return e.visible
    // A synchronous append queued behind async ones: wait for the last async one before it.
    const i = this.queue.indexOf(e)
    for (let j = i - 1; j >= 0; j--) if (this.queue[j]!.visible) return this.queue[j]!.visible!
    return Promise.resolve()
  }
}
