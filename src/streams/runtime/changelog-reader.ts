/**
 * Restores stores from their changelog topics (Kafka Streams' StoreChangelogReader). Active tasks read each
 * changelog partition from their checkpoint to the end offset measured when restoration starts, then start
 * processing; standby tasks keep reading for ever, so their stores stay warm. Records are written straight into
 * the stores (below caching and logging). Progress (records/s, ETA) is logged and kept for the metrics.
 */
import {
  type FetchedPartition,
  type FetchedRecord,
  type Fetcher,
  type KafkaCluster,
  listOffsets,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import type { RestoreRecord } from '../state/state-store.ts'
import type { StreamTask } from './stream-task.ts'

export type ChangelogMode = 'active' | 'standby'

interface ChangelogState {
  readonly topic: string
  readonly partition: number
  readonly store: string
  readonly task: StreamTask
  mode: ChangelogMode
  /** Offset of the last record applied to the store (-1: none; from the checkpoint when there is one). */
  lastOffset: number
  /** Where an active task's restoration ends (exclusive); undefined until measured. */
  endOffset: number | undefined
  startOffset: number
  restored: number
  /** Whether the restore listener was told this changelog's restoration started (so it hears of its end). */
  announced: boolean
}

/**
 * Hears about the restoration of active tasks' stores (Kafka Streams' StateRestoreListener). Called on the
 * processing loop, synchronously: keep it short. Standby replicas reading their changelogs are not reported.
 */
export interface StateRestoreListener {
  /** A store partition starts restoring from `startingOffset` up to `endingOffset` (exclusive). */
  onRestoreStart?(
    partition: { topic: string; partition: number },
    storeName: string,
    startingOffset: number,
    endingOffset: number,
  ): void
  /** A batch of changelog records was written into the store; `batchEndOffset` is the last one's offset. */
  onBatchRestored?(
    partition: { topic: string; partition: number },
    storeName: string,
    batchEndOffset: number,
    numRestored: number,
  ): void
  /** The store partition is restored; the task starts processing once all of its stores are. */
  onRestoreEnd?(partition: { topic: string; partition: number }, storeName: string, totalRestored: number): void
}

export interface RestoreProgress {
  readonly taskId: string
  readonly store: string
  readonly topic: string
  readonly partition: number
  readonly restored: number
  readonly remaining: number
}

const key = (topic: string, partition: number) => `${topic}:${partition}`

/**
 * The fetched records as restore records: the same objects (a fetched record has every field a restore record
 * has), without those of a null key, which a changelog never holds but a store could not apply. No copy per
 * record: restoring a million keys then allocates nothing here but the rare filtered array, which keeps the V8
 * heap (and so the process's memory) from growing with the restore's garbage.
 */
function restoreRecordsOf(fetched: readonly FetchedRecord[]): readonly RestoreRecord[] {
  for (const r of fetched) if (r.key === null) return fetched.filter((f) => f.key !== null) as RestoreRecord[]
  return fetched as readonly RestoreRecord[]
}

export class ChangelogReader {
  readonly #fetcher: Fetcher
  readonly #cluster: KafkaCluster
  readonly #log: Logger | undefined
  readonly #changelogs = new Map<string, ChangelogState>()
  readonly #byTask = new Map<string, ChangelogState[]>()
  /** Records restored into active tasks (for the restore-rate metric). */
  restoredTotal = 0
  #windowStart = Date.now()
  #windowRecords = 0
  #lastReport = Date.now()
  /** Records per second over the last report window. */
  rate = 0

  readonly #listener: StateRestoreListener | undefined

  constructor(options: { fetcher: Fetcher; cluster: KafkaCluster; log?: Logger; listener?: StateRestoreListener }) {
    this.#fetcher = options.fetcher
    this.#cluster = options.cluster
    this.#log = options.log
    this.#listener = options.listener
  }

  #notify(what: string, call: (l: StateRestoreListener) => void) {
    if (!this.#listener) return
    try {
      call(this.#listener)
    } catch (error) {
      this.#log?.warn('state restore listener threw', { callback: what, error: (error as Error).message })
    }
  }

  /** Starts reading a task's changelogs: from after the checkpointed offset, or from the beginning. */
  register(task: StreamTask, mode: ChangelogMode, checkpoint: ReadonlyMap<string, number> | undefined): void {
    const list: ChangelogState[] = []
    for (const { store, topic, partition } of task.changelogPartitions()) {
      const k = key(topic, partition)
      const last = checkpoint?.get(k)
      const state: ChangelogState = {
        topic,
        partition,
        store,
        task,
        mode,
        lastOffset: last ?? -1,
        endOffset: undefined,
        startOffset: last === undefined ? 0 : last + 1,
        restored: 0,
        announced: false,
      }
      this.#changelogs.set(k, state)
      list.push(state)
      this.#fetcher.assign(topic, partition, state.startOffset)
    }
    this.#byTask.set(task.id, list)
  }

  unregister(taskId: string): void {
    for (const s of this.#byTask.get(taskId) ?? []) {
      this.#changelogs.delete(key(s.topic, s.partition))
      this.#fetcher.unassign(s.topic, s.partition)
    }
    this.#byTask.delete(taskId)
  }

  /** A standby becomes active: it only has to catch up from where it is (its delta), then it runs. */
  promote(taskId: string): void {
    for (const s of this.#byTask.get(taskId) ?? []) {
      s.mode = 'active'
      s.endOffset = undefined
      s.startOffset = s.lastOffset + 1
      s.restored = 0
      s.announced = false
    }
  }

  has(taskId: string): boolean {
    return this.#byTask.has(taskId)
  }

  /** Measures where restoration of active changelogs ends (the log end, or the last stable offset under EOS). */
  async measureEndOffsets(): Promise<void> {
    const pending = [...this.#changelogs.values()].filter((s) => s.mode === 'active' && s.endOffset === undefined)
    if (pending.length === 0) return
    const ends = await listOffsets(this.#cluster, pending, 'latest', this.#fetcher.isolationLevel)
    for (const s of pending) {
      s.endOffset = ends.get(key(s.topic, s.partition)) ?? 0
      const remaining = Math.max(0, s.endOffset - s.startOffset)
      if (remaining > 0) {
        this.#log?.info('restoring store', {
          task: s.task.id,
          store: s.store,
          changelog: `${s.topic}-${s.partition}`,
          from: s.startOffset,
          to: s.endOffset,
          records: remaining,
        })
        s.announced = true
        this.#notify('onRestoreStart', (l) =>
          l.onRestoreStart?.({ topic: s.topic, partition: s.partition }, s.store, s.startOffset, s.endOffset!),
        )
      }
      if (this.#fetcher.position(s.topic, s.partition)! >= s.endOffset) this.#fetcher.pause(s.topic, s.partition)
    }
  }

  /** Applies fetched changelog records to their stores. */
  apply(batches: readonly FetchedPartition[]): void {
    for (const b of batches) {
      const s = this.#changelogs.get(key(b.topic, b.partition))
      if (!s || b.records.length === 0) continue
      const records = restoreRecordsOf(b.records)
      if (records.length > 0) s.task.restore(s.store, records)
      s.lastOffset = b.records[b.records.length - 1].offset
      if (s.mode === 'active') {
        s.restored += b.records.length
        this.restoredTotal += b.records.length
        this.#windowRecords += b.records.length
        const end = s.lastOffset
        const n = b.records.length
        this.#notify('onBatchRestored', (l) =>
          l.onBatchRestored?.({ topic: s.topic, partition: s.partition }, s.store, end, n),
        )
      }
      // An active changelog read to its end stops fetching until the task runs (its own writes come after).
      if (s.mode === 'active' && s.endOffset !== undefined && b.nextOffset >= s.endOffset) {
        this.#fetcher.pause(s.topic, s.partition)
      }
    }
    this.#maybeReport()
  }

  /** Whether every changelog of an active task is read to its end offset. */
  restored(taskId: string): boolean {
    for (const s of this.#byTask.get(taskId) ?? []) {
      if (s.mode !== 'active') return false
      if (s.endOffset === undefined) return false
      const position = this.#fetcher.position(s.topic, s.partition) ?? 0
      if (position < s.endOffset) return false
    }
    return true
  }

  /** After restoration, an active task's changelogs stop being read (it writes them itself). */
  finish(taskId: string): { restored: number } {
    let restored = 0
    for (const s of this.#byTask.get(taskId) ?? []) {
      restored += s.restored
      if (s.announced) {
        this.#notify('onRestoreEnd', (l) =>
          l.onRestoreEnd?.({ topic: s.topic, partition: s.partition }, s.store, s.restored),
        )
      }
      this.#changelogs.delete(key(s.topic, s.partition))
      this.#fetcher.unassign(s.topic, s.partition)
    }
    this.#byTask.delete(taskId)
    return { restored }
  }

  /** The last offset applied per changelog partition of a task (what its checkpoint records). */
  lastOffsets(taskId: string): Map<string, number> {
    const out = new Map<string, number>()
    for (const s of this.#byTask.get(taskId) ?? [])
      if (s.lastOffset >= 0) out.set(key(s.topic, s.partition), s.lastOffset)
    return out
  }

  /** Whether any active task is restoring. */
  restoring(): boolean {
    for (const s of this.#changelogs.values()) if (s.mode === 'active') return true
    return false
  }

  /** Whether anything is being read (restoring actives or standbys). */
  reading(): boolean {
    return this.#changelogs.size > 0
  }

  progress(): RestoreProgress[] {
    const out: RestoreProgress[] = []
    for (const s of this.#changelogs.values()) {
      if (s.mode !== 'active') continue
      const position = this.#fetcher.position(s.topic, s.partition) ?? s.startOffset
      out.push({
        taskId: s.task.id,
        store: s.store,
        topic: s.topic,
        partition: s.partition,
        restored: s.restored,
        remaining: s.endOffset === undefined ? 0 : Math.max(0, s.endOffset - position),
      })
    }
    return out
  }

  /** Standby lag per changelog partition (records behind the log end the fetcher last saw). */
  standbyLag(): Array<{ taskId: string; topic: string; partition: number; lag: number }> {
    const out: Array<{ taskId: string; topic: string; partition: number; lag: number }> = []
    for (const s of this.#changelogs.values()) {
      if (s.mode !== 'standby') continue
      const end = this.#fetcher.endOffset(s.topic, s.partition)
      const position = this.#fetcher.position(s.topic, s.partition) ?? 0
      out.push({
        taskId: s.task.id,
        topic: s.topic,
        partition: s.partition,
        lag: end < 0 ? 0 : Math.max(0, end - position),
      })
    }
    return out
  }

  #maybeReport(force = false) {
    const now = Date.now()
    const elapsed = now - this.#windowStart
    if (elapsed >= 1000) {
      this.rate = Math.round((this.#windowRecords * 1000) / elapsed)
      this.#windowStart = now
      this.#windowRecords = 0
    }
    if (!force && now - this.#lastReport < 10000) return
    this.#lastReport = now
    const progress = this.progress()
    if (progress.length === 0) return
    const remaining = progress.reduce((a, p) => a + p.remaining, 0)
    const restored = progress.reduce((a, p) => a + p.restored, 0)
    this.#log?.info('restoring', {
      restored,
      remaining,
      recordsPerSecond: this.rate,
      etaSeconds: this.rate > 0 ? Math.ceil(remaining / this.rate) : null,
    })
  }
}
