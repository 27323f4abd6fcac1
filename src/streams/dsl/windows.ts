/**
 * Windows, by Kafka Streams' names and rules: TimeWindows (tumbling and hopping), SlidingWindows, SessionWindows
 * and JoinWindows, the windows they make (TimeWindow, SessionWindow) and the `Windowed<K>` key of a windowed table.
 */
import { streamsError } from '../errors.ts'

function checkMs(what: string, ms: number, min = 0): number {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${what} must be an integer number of milliseconds >= ${min}, got ${ms}`,
    )
  }
  return ms
}

/** A window: start (inclusive) and end; what "end" includes depends on the window kind, as in Kafka Streams. */
export abstract class Window {
  readonly startMs: number
  readonly endMs: number
  constructor(startMs: number, endMs: number) {
    if (endMs < startMs) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `window end ${endMs} is before its start ${startMs}`)
    }
    this.startMs = startMs
    this.endMs = endMs
  }
  start(): number {
    return this.startMs
  }
  end(): number {
    return this.endMs
  }
  abstract overlap(other: Window): boolean
  equals(other: unknown): boolean {
    return (
      other instanceof Window &&
      other.constructor === this.constructor &&
      other.startMs === this.startMs &&
      other.endMs === this.endMs
    )
  }
  toString(): string {
    return `Window{startMs=${this.startMs}, endMs=${this.endMs}}`
  }
}

/** A time window [start, end): the end is exclusive (tumbling and hopping windows). */
export class TimeWindow extends Window {
  constructor(startMs: number, endMs: number) {
    super(startMs, endMs)
    if (endMs === startMs) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'a time window must not be empty')
  }
  overlap(other: Window): boolean {
    return this.startMs < other.endMs && other.startMs < this.endMs
  }
}

/** A session or sliding window [start, end]: both bounds inclusive. */
export class SessionWindow extends Window {
  overlap(other: Window): boolean {
    return !(other.endMs < this.startMs || this.endMs < other.startMs)
  }
}

/** Sliding windows' windows are inclusive at both ends too (Kafka uses TimeWindow objects with inclusive bounds). */
export class SlidingWindow extends SessionWindow {}

/** The key of a windowed table: the record key and its window (Kafka Streams' Windowed<K>). */
export class Windowed<K> {
  readonly key: K
  readonly window: Window
  constructor(key: K, window: Window) {
    this.key = key
    this.window = window
  }
  equals(other: unknown): boolean {
    return (
      other instanceof Windowed &&
      JSON.stringify(other.key) === JSON.stringify(this.key) &&
      this.window.equals(other.window)
    )
  }
  toString(): string {
    return `[${String(this.key)}@${this.window.startMs}/${this.window.endMs}]`
  }
}

/** Fixed-size windows, tumbling (advance = size) or hopping (advance < size); bounds [start, start + size). */
export class TimeWindows {
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
  }

  /** Tumbling windows of `sizeMs`; records are late as soon as stream time passes the window end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0)
  }

  /** Tumbling windows of `sizeMs` that accept out-of-order records until window end + `graceMs`. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    checkMs('window size', sizeMs, 1)
    checkMs('grace period', graceMs)
    return new TimeWindows(sizeMs, sizeMs, graceMs)
  }

  /** Hopping windows: a new window every `advanceMs` (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    if (!Number.isSafeInteger(advanceMs) || advanceMs <= 0 || advanceMs > this.sizeMs) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `window advance must be > 0 and <= the window size (${this.sizeMs} ms), got ${advanceMs}`,
      )
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs)
  }

  /** The windows a timestamp falls in, keyed by start (Kafka's TimeWindows.windowsFor). */
  windowsFor(timestamp: number): Map<number, TimeWindow> {
    const windows = new Map<number, TimeWindow>()
    let start = Math.floor(Math.max(0, timestamp - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs
    while (start <= timestamp) {
      windows.set(start, new TimeWindow(start, start + this.sizeMs))
      start += this.advanceMs
    }
    return windows
  }

  size(): number {
    return this.sizeMs
  }

  gracePeriodMs(): number {
    return this.graceMs
  }
}

/**
 * Sliding windows (Kafka Streams' SlidingWindows): windows of `timeDifferenceMs` whose bounds are both inclusive,
 * made only where records are, so that every distinct set of records within the time difference is one window.
 */
export class SlidingWindows {
  readonly timeDifferenceMs: number
  readonly graceMs: number
  private constructor(timeDifferenceMs: number, graceMs: number) {
    this.timeDifferenceMs = timeDifferenceMs
    this.graceMs = graceMs
  }
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0)
  }
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    checkMs('time difference', timeDifferenceMs)
    checkMs('grace period', graceMs)
    return new SlidingWindows(timeDifferenceMs, graceMs)
  }
  timeDifferenceMsValue(): number {
    return this.timeDifferenceMs
  }
  gracePeriodMs(): number {
    return this.graceMs
  }
}

/** Session windows: a key's records closer than the inactivity gap form one session; sessions merge. */
export class SessionWindows {
  readonly gapMs: number
  readonly graceMs: number
  private constructor(gapMs: number, graceMs: number) {
    this.gapMs = gapMs
    this.graceMs = graceMs
  }
  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(inactivityGapMs, 0)
  }
  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    checkMs('inactivity gap', inactivityGapMs, 1)
    checkMs('grace period', graceMs)
    return new SessionWindows(inactivityGapMs, graceMs)
  }
  inactivityGap(): number {
    return this.gapMs
  }
  gracePeriodMs(): number {
    return this.graceMs
  }
}

/**
 * The time bounds of a stream-stream join (Kafka Streams' JoinWindows): a left record at time t joins right records
 * in [t - before, t + after].
 */
export class JoinWindows {
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number
  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    if (beforeMs + afterMs < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'join window interval (before + after) must not be negative')
    }
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0)
  }
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    checkMs('time difference', timeDifferenceMs)
    checkMs('grace period', graceMs)
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs)
  }
  /** Right records up to `timeDifferenceMs` before the left one join (may be negative: shifts the window). */
  before(timeDifferenceMs: number): JoinWindows {
    return new JoinWindows(timeDifferenceMs, this.afterMs, this.graceMs)
  }
  /** Right records up to `timeDifferenceMs` after the left one join (may be negative: shifts the window). */
  after(timeDifferenceMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, timeDifferenceMs, this.graceMs)
  }
  size(): number {
    return this.beforeMs + this.afterMs
  }
  gracePeriodMs(): number {
    return this.graceMs
  }
}
