/**
 * Group commit. Appends only write to the page cache; a produce with acks=1/-1 then awaits `waitDurable`, and the
 * scheduler makes one round of fdatasync calls (one per dirty segment file, in parallel) for all waiters that arrived
 * since the previous round started. Under load that turns N acknowledgements into far fewer syncs.
 *
 * Modes:
 * - 'group': acknowledgements imply the data is on disk.
 * - 'interval': dirty files are synced every intervalMs; waiters resolve immediately, so an acknowledgement does NOT
 *   imply disk durability (a crash can lose up to intervalMs of acknowledged writes), as Kafka's default flush policy.
 * - 'none': never synced except at close; acknowledgements imply nothing about the disk.
 */
import fs from 'node:fs'
import { TributaryError } from '../errors.ts'

export type FlushPolicy = { mode: 'group' } | { mode: 'interval'; intervalMs: number } | { mode: 'none' }

/** Something with dirty files: a partition log. `flush` syncs what was dirty when it was called. */
export interface Flushable {
  flush(): Promise<void>
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())))
}

interface Waiter {
  resolve(): void
  reject(err: unknown): void
}

export class FlushScheduler {
  readonly policy: FlushPolicy
  /** Number of sync rounds run (a round syncs every dirty file once). Exposed for tests and metrics. */
  syncRounds = 0
  /** Number of fdatasync calls made by the logs in those rounds (they report through `countFileSyncs`). */
  fileSyncs = 0
  private readonly dirty = new Set<Flushable>()
  private waiting: Waiter[] = []
  private inFlight: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(policy: FlushPolicy) {
    this.policy = policy
    if (policy.mode === 'interval') {
      this.timer = setInterval(() => {
        if (!this.inFlight && this.dirty.size > 0) void this.runRound().catch(() => {})
      }, policy.intervalMs)
      this.timer.unref()
    }
  }

  countFileSyncs(n: number): void {
    this.fileSyncs += n
  }

  /** Called by a log after it wrote to the page cache. */
  markDirty(target: Flushable): void {
    this.dirty.add(target)
  }

  /** Resolves once everything marked dirty before this call is durable (per policy). */
  waitDurable(target: Flushable): Promise<void> {
    if (this.policy.mode !== 'group') return Promise.resolve()
    this.dirty.add(target)
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      if (!this.inFlight) this.startRound()
    })
  }

  private startRound(): void {
    // Defer to the end of the current I/O callbacks so appends from the same event-loop turn join this round.
    this.inFlight = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.runRound())
  }

  private async runRound(): Promise<void> {
    const waiters = this.waiting
    this.waiting = []
    const targets = [...this.dirty]
    this.dirty.clear()
    this.syncRounds++
    let failure: unknown = null
    try {
      const results = await Promise.allSettled(targets.map((t) => t.flush()))
      for (const r of results) if (r.status === 'rejected') failure ??= r.reason
    } finally {
      this.inFlight = null
    }
    if (failure) {
      const err = new TributaryError('TRB_LOG_FLUSH_FAILED', `fdatasync failed: ${(failure as Error).message}`, {
        cause: failure,
      })
      for (const w of waiters) w.reject(err)
    } else {
      for (const w of waiters) w.resolve()
    }
    if (this.waiting.length > 0 && !this.closed) this.startRound()
  }

  /** Syncs whatever is dirty now (all modes), e.g. at shutdown. */
  async flushAll(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => {})
    const targets = [...this.dirty]
    this.dirty.clear()
    if (targets.length > 0) {
      this.syncRounds++
      await Promise.all(targets.map((t) => t.flush()))
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    try {
      await this.flushAll()
    } finally {
      this.closed = true
      const waiters = this.waiting
      this.waiting = []
      for (const w of waiters) w.resolve()
    }
  }
}
