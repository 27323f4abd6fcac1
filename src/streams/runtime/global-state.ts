/**
 * Global stores (GlobalKTable, addGlobalStore): every instance reads all partitions of their topics (Kafka
 * Streams' GlobalStreamThread). At start the store is loaded from its checkpoint to the end of the topic through
 * the global processor (so a timestamped DSL store gets its timestamps, and a custom processor sees every record),
 * before any task runs; then new records go the same way. A checkpoint of positions makes a restart read only what
 * is new.
 */
import { Fetcher, type KafkaCluster, listOffsets } from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import type { RecordCollector } from '../processor/record-collector.ts'
import type { RecordCache } from '../state/record-cache.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { StreamsConfig } from './config.ts'
import type { StateDirectory } from './state-directory.ts'
import { StreamTask } from './stream-task.ts'

const GLOBAL_TASK = 'global'

export class GlobalStateUpdater {
  readonly #topology: Topology
  readonly #config: StreamsConfig
  readonly #cluster: KafkaCluster
  readonly #stateDir: StateDirectory
  readonly #fetcher: Fetcher
  readonly #log: Logger | undefined
  readonly #tasks: StreamTask[] = []
  readonly #stores = new Map<string, StateStore>()
  readonly #collector: RecordCollector
  readonly #cache: RecordCache
  readonly #isolation: 'read_committed' | 'read_uncommitted'
  /** Offset of the last record loaded into the stores during bootstrap, per partition. */
  readonly #loaded = new Map<string, number>()

  constructor(options: {
    topology: Topology
    config: StreamsConfig
    cluster: KafkaCluster
    stateDirectory: StateDirectory
    collector: () => RecordCollector
    cache: RecordCache
    isolation: 'read_committed' | 'read_uncommitted'
    fetchMaxWaitMs: number
    log?: Logger
  }) {
    this.#topology = options.topology
    this.#config = options.config
    this.#cluster = options.cluster
    this.#stateDir = options.stateDirectory
    this.#log = options.log
    this.#cache = options.cache
    this.#isolation = options.isolation
    this.#fetcher = new Fetcher({
      cluster: options.cluster,
      isolationLevel: options.isolation,
      maxWaitMs: options.fetchMaxWaitMs,
      partitionMaxBytes: 8388608,
      log: options.log,
    })
    const current = options.collector
    this.#collector = {
      send: (r, o) => current().send(r, o),
      partitionsFor: (t) => current().partitionsFor(t),
      flush: () => current().flush(),
      offsets: () => current().offsets(),
    }
  }

  /** Global stores by name (for the stream tasks' processors). */
  stores(): ReadonlyMap<string, StateStore> {
    return this.#stores
  }

  /** Loads every global store to the end of its topic, before any task runs. */
  async bootstrap(): Promise<void> {
    const checkpoint = this.#stateDir.readCheckpoint(GLOBAL_TASK) ?? new Map<string, number>()
    const ends = new Map<string, number>()
    for (const g of this.#topology.globalStoreGroups()) {
      const topics = g.source.topics
      const counts = await this.#cluster.partitionCounts(topics)
      const partitions = topics.flatMap((topic) =>
        Array.from({ length: counts.get(topic) ?? 0 }, (_, partition) => ({ topic, partition })),
      )
      const task = new StreamTask({
        id: `${GLOBAL_TASK}-${g.id}`,
        topology: this.#topology,
        subtopologies: [g.id],
        partitions,
        config: this.#config,
        collector: this.#collector,
        cache: this.#cache,
        changelogPartition: 0,
      })
      this.#tasks.push(task)
      for (const name of task.storeNames()) this.#stores.set(name, task.getStore(name)!)
      const end = await listOffsets(this.#cluster, partitions, 'latest', this.#isolation)
      for (const tp of partitions) {
        const key = `${tp.topic}:${tp.partition}`
        const last = checkpoint.get(key)
        if (last !== undefined) this.#loaded.set(key, last)
        this.#fetcher.assign(tp.topic, tp.partition, last === undefined ? 0 : last + 1)
        ends.set(key, end.get(key) ?? 0)
      }
      await task.prepare()
      task.completeRestoration()
      for (const tp of partitions) task.updateLag(tp, 0)
    }
    let loaded = 0
    const started = Date.now()
    const done = () =>
      [...ends].every(([key, end]) => {
        const at = key.lastIndexOf(':')
        return (this.#fetcher.position(key.slice(0, at), Number(key.slice(at + 1))) ?? 0) >= end
      })
    while (!done()) {
      loaded += await this.#apply(100)
    }
    this.prepareCommit()
    if (this.#tasks.length > 0) {
      this.#log?.info('global stores loaded', {
        stores: [...this.#stores.keys()],
        records: loaded,
        ms: Date.now() - started,
      })
    }
  }

  /** Fetches and processes what is new on the global topics; returns the number of records. */
  async #apply(maxWaitMs: number): Promise<number> {
    let n = 0
    for (const b of await this.#fetcher.poll(maxWaitMs)) {
      for (const task of this.#tasks) {
        if (!task.partitionGroup.queue(b.topic, b.partition)) continue
        if (b.records.length > 0) task.addRecords({ topic: b.topic, partition: b.partition }, b.records)
        task.updateLag({ topic: b.topic, partition: b.partition }, 0)
      }
      n += b.records.length
    }
    for (const task of this.#tasks) {
      while (task.process()) {}
      const pending = task.pendingPreparation()
      if (pending) await pending
    }
    return n
  }

  /** Applies what is new on the global topics. */
  async poll(): Promise<void> {
    if (this.#tasks.length === 0) return
    await this.#apply(0)
  }

  prepareCommit(): void {
    for (const task of this.#tasks) task.prepareCommit()
  }

  /** Checkpoints positions (only useful when the global stores are persistent). */
  postCommit(): void {
    const persistent = [...this.#stores.values()].some((s) => s.persistent())
    if (!persistent) return
    const checkpoint = new Map<string, number>()
    for (const task of this.#tasks) {
      for (const q of task.partitionGroup.queues.values()) {
        const key = `${q.topic}:${q.partition}`
        const last = q.lastOffset >= 0 ? q.lastOffset : this.#loaded.get(key)
        if (last !== undefined) checkpoint.set(key, last)
      }
    }
    if (checkpoint.size > 0) this.#stateDir.writeCheckpoint(GLOBAL_TASK, checkpoint)
  }

  async close(clean: boolean): Promise<void> {
    if (clean) {
      this.prepareCommit()
      this.postCommit()
    }
    this.#fetcher.close()
    for (const task of this.#tasks) await task.close(clean).catch(() => {})
    await this.#cluster.close()
  }
}
