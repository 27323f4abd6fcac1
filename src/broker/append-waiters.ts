/**
 * Fetch long polling: a fetch that has not reached minBytes parks here until one of its partitions gets new data,
 * its maxWait expires, or its connection closes.
 */
export class AppendWaiters {
  private waiters = new Map<string, Set<() => void>>()

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`
  }

  /** Called after every append. */
  notify(topic: string, partition: number): void {
    const set = this.waiters.get(AppendWaiters.key(topic, partition))
    if (!set) return
    for (const wake of [...set]) wake()
  }

  /** Resolves on the first append to any of `keys`, after `timeoutMs`, or on abort — whichever comes first. */
  wait(keys: string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const wake = () => {
        if (timer) clearTimeout(timer)
        for (const k of keys) {
          const set = this.waiters.get(k)
          if (!set) continue
          set.delete(wake)
          if (set.size === 0) this.waiters.delete(k)
        }
        signal.removeEventListener('abort', wake)
        resolve()
      }
      if (signal.aborted || timeoutMs <= 0) {
        resolve()
        return
      }
      for (const k of keys) {
        let set = this.waiters.get(k)
        if (!set) {
          set = new Set()
          this.waiters.set(k, set)
        }
        set.add(wake)
      }
      signal.addEventListener('abort', wake, { once: true })
      timer = setTimeout(wake, timeoutMs)
    })
  }

  /** Wakes every parked fetch (broker shutdown). */
  wakeAll(): void {
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake()
  }
}
