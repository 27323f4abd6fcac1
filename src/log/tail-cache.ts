/**
 * What a partition keeps in memory about the newest batches of its active segment, so a consumer reading at the
 * end of the log is answered without an index scan or a file read: copies of the newest small batches
 * (TailCache) and the file positions of the newest batches (RecentPositions).
 */

/** Bytes of tail-cache copies that all partitions sharing it may hold together. */
export class TailCacheBudget {
  used = 0
  constructor(readonly maxBytes: number) {}
}

/** Bytes of the newest small batches each partition keeps in memory for tailing consumers. */
const TAIL_CACHE_BYTES = 64 * 1024
/** How many of the newest batch positions of the active segment are remembered. */
const RECENT_POSITIONS = 256

/**
 * Copies of the newest appended batches while they are small (written synchronously), contiguous in offsets, at
 * most TAIL_CACHE_BYTES. A consumer at the end of the log is answered from here in the same event-loop turn as the
 * append that woke it, instead of after a file read on the thread pool: that hop, queued behind the group commit's
 * fdatasync calls, was most of the end-to-end latency tail. It only ever holds batches of the active segment,
 * which compaction and retention never touch.
 */
export class TailCache {
  private entries: { base: number; last: number; bytes: Buffer }[] = []
  private bytes = 0

  constructor(private readonly budget: TailCacheBudget | null) {}

  clear(): void {
    if (this.budget) this.budget.used -= this.bytes
    this.entries = []
    this.bytes = 0
  }

  /** Keeps a copy of the batch at records[b.start, b.end) holding offsets [base, last]. */
  add(base: number, last: number, records: Buffer, b: { start: number; end: number }): void {
    const size = b.end - b.start
    const budget = this.budget
    const overBudget = () => budget !== null && budget.used + size > budget.maxBytes
    while (this.entries.length > 0 && (this.bytes + size > TAIL_CACHE_BYTES || overBudget())) {
      const evicted = this.entries.shift()!.bytes.length
      this.bytes -= evicted
      if (budget) budget.used -= evicted
    }
    if (size > TAIL_CACHE_BYTES || overBudget()) {
      // Not cached, so nothing older may stay either: the cache must end at the log end.
      this.clear()
      return
    }
    this.entries.push({ base, last, bytes: Buffer.from(records.subarray(b.start, b.end)) })
    this.bytes += size
    if (budget) budget.used += size
  }

  /** Whole batches for a read at `offset`, or null when the cache does not hold it. */
  read(offset: number, maxBytes: number, maxOffset: number, minOne: boolean): Buffer | null {
    const t = this.entries
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
}

/**
 * File positions of the newest batches of the active segment (no data), so a consumer reading at the tail is
 * answered with one file read instead of an index scan plus header and body reads: every thread-pool read a
 * tailing fetch saves is one less competitor for the group-commit fdatasync.
 */
export class RecentPositions {
  private entries: { base: number; last: number; pos: number }[] = []

  clear(): void {
    this.entries = []
  }

  add(base: number, last: number, pos: number): void {
    this.entries.push({ base, last, pos })
    if (this.entries.length > RECENT_POSITIONS * 2) this.entries = this.entries.slice(-RECENT_POSITIONS)
  }

  /** Position of the first remembered batch whose last offset is >= `offset`, if below `limit`; else -1. */
  find(offset: number, limit: number): number {
    const r = this.entries
    if (r.length > 0 && offset >= r[0]!.base && offset <= r[r.length - 1]!.last) {
      let i = r.length - 1
      while (i > 0 && r[i - 1]!.last >= offset) i--
      if (r[i]!.pos < limit) return r[i]!.pos
    }
    return -1
  }
}
