import type { Punctuator } from '../processor/api.ts'
import type { RuntimeNode } from './task-nodes.ts'

/** A scheduled punctuation of a task: the node that scheduled it, its next time and interval. */
export interface PunctuationSchedule {
  node: RuntimeNode
  time: number
  readonly interval: number
  readonly punctuator: Punctuator
  cancelled: boolean
}

/** Punctuations of one type, earliest first (Kafka Streams' PunctuationQueue). */
export class PunctuationQueue {
  #schedules: PunctuationSchedule[] = []

  add(s: PunctuationSchedule): void {
    this.#schedules.push(s)
    this.#schedules.sort((a, b) => a.time - b.time)
  }

  /** Runs every schedule due at `now`; a missed interval is skipped, not run twice. */
  maybePunctuate(now: number, run: (s: PunctuationSchedule, now: number) => void): boolean {
    let punctuated = false
    while (this.#schedules.length > 0 && this.#schedules[0].time <= now) {
      const s = this.#schedules.shift()!
      if (s.cancelled) continue
      run(s, now)
      if (!s.cancelled) {
        let next = s.time + s.interval
        if (now >= next) next = s.time + (Math.floor((now - s.time) / s.interval) + 1) * s.interval
        s.time = next
        this.add(s)
      }
      punctuated = true
    }
    return punctuated
  }

  canPunctuate(now: number): boolean {
    return this.#schedules.some((s) => !s.cancelled && s.time <= now)
  }

  clear(): void {
    this.#schedules = []
  }
}
