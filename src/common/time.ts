/**
 * Time as every module sees it: the group coordinator's session and rebalance timeouts, the transaction
 * coordinator's timeouts, retention sweeps, and later stream punctuation and workflow timers all go through these
 * two interfaces, so that tests drive them deterministically with ManualTime.
 */

export interface Clock {
  now(): number
}

export type TimerHandle = unknown

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemClock: Clock = { now: () => Date.now() }

/** Real timers, unref'd: a pending session timeout must never keep the process alive on its own. */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

interface ManualTimer {
  id: number
  due: number
  fn: () => void
}

/**
 * A clock and timer facility that only moves when told to: `advance(ms)` fires every timer that falls due, in due
 * order, with `now()` set to each timer's due time while it runs (timers scheduled by a callback also fire if due).
 */
export class ManualTime implements Clock, Timers {
  private current: number
  private nextId = 1
  private pending: ManualTimer[] = []

  constructor(start = 1_700_000_000_000) {
    this.current = start
  }

  now(): number {
    return this.current
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.current + Math.max(0, ms), fn }
    this.pending.push(timer)
    return timer.id
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((t) => t.id !== handle)
  }

  /** Number of scheduled timers (for tests that check nothing is left behind). */
  get pendingCount(): number {
    return this.pending.length
  }

  advance(ms: number): void {
    const target = this.current + ms
    for (;;) {
      let next: ManualTimer | undefined
      for (const t of this.pending) {
        if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))) {
          next = t
        }
      }
      if (next === undefined) break
      this.pending = this.pending.filter((t) => t !== next)
      this.current = Math.max(this.current, next.due)
      next.fn()
    }
    this.current = target
  }
}
