import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SyncSerde } from '../../serde/serde.ts'
import { SerdeError } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { Headers } from '../processor/record.ts'
import type { ProducedRecord, RecordCollector } from '../processor/record-collector.ts'
import { EMIT_INTERVAL_CONFIG } from '../processor/stream-join-processors.ts'
import { type StreamsConfigInput, streamsConfig } from '../runtime/config.ts'
import { StreamTask } from '../runtime/stream-task.ts'
import type { KeyValueStore } from '../state/key-value-store.ts'
import { MeteredKeyValueStore, TimestampedStoreFacade } from '../state/layers.ts'
import { RecordCache } from '../state/record-cache.ts'
import type { StateStore } from '../state/state-store.ts'
import type { SessionStore, WindowStore } from '../state/window-store.ts'
import type { Topology } from '../topology/topology.ts'
import { TestInputTopic, TestOutputTopic } from './test-topics.ts'

/** Keeps what the topology produces, per topic, in order (the driver's RecordCollector). */
class InMemoryCollector implements RecordCollector {
  readonly records: ProducedRecord[] = []
  readonly #offsets = new Map<string, number>()
  send(record: ProducedRecord): void {
    const key = `${record.topic}:${record.partition ?? 0}`
    this.#offsets.set(key, (this.#offsets.get(key) ?? -1) + 1)
    this.records.push({ ...record, partition: record.partition ?? 0 })
  }
  partitionsFor(): number {
    return 1
  }
  async flush(): Promise<void> {}
  offsets(): ReadonlyMap<string, number> {
    return this.#offsets
  }
}

export interface TestDriverOptions {
  /** Wall-clock start in ms (default: now). */
  initialWallClockTimeMs?: number
}

/**
 * Runs a topology without a broker (Kafka Streams' TopologyTestDriver): records piped into input topics are
 * processed at once by the same StreamTask the runtime uses, one task holding every sub-topology with one
 * partition per topic; records written to repartition topics are fed back in. As Kafka's driver, it commits after
 * every input record, so caches are flushed each time (KTables emit every update). Wall-clock punctuations run
 * on `advanceWallClockTime`.
 */
export class TopologyTestDriver {
  readonly #topology: Topology
  readonly #task: StreamTask | undefined
  readonly #collector = new InMemoryCollector()
  readonly #offsets = new Map<string, number>()
  readonly #outputs = new Map<string, ProducedRecord[]>()
  readonly #inputTopics: Set<string>
  readonly #stateDir: string
  readonly #ownsStateDir: boolean
  readonly #globalStores = new Map<string, StateStore>()
  readonly #globalTasks: StreamTask[] = []
  #now: number
  #consumed = 0
  #closed = false
  readonly applicationId: string

  constructor(topology: Topology, config: StreamsConfigInput = {}, options: TestDriverOptions = {}) {
    this.#topology = topology
    topology.validate()
    topology.seal()
    this.#now = options.initialWallClockTimeMs ?? Date.now()
    this.#ownsStateDir = config['state.dir'] === undefined
    this.#stateDir = config['state.dir'] ?? mkdtempSync(join(tmpdir(), 'tributary-ttd-'))
    const cfg = streamsConfig(
      // As Kafka's driver: no wall-clock throttle of stream-stream outer-join results (the mock clock stands still).
      { [EMIT_INTERVAL_CONFIG]: 0, ...config, 'state.dir': this.#stateDir },
      { 'application.id': 'topology-test-driver', 'bootstrap.servers': 'localhost:9092' },
    )
    this.applicationId = cfg.applicationId
    const cache = new RecordCache(cfg.cacheMaxBytes)
    const clock = () => this.#now
    // Global stores: one task per global store group, fed directly by pipeInput on the global topic.
    for (const g of topology.globalStoreGroups()) {
      const task = new StreamTask({
        id: `global-${g.id}`,
        topology,
        subtopologies: [g.id],
        partitions: g.source.topics.map((topic) => ({ topic, partition: 0 })),
        config: cfg,
        collector: this.#collector,
        cache,
        clock,
        changelogPartition: 0,
      })
      task.completeRestoration()
      this.#globalTasks.push(task)
      for (const name of task.storeNames()) this.#globalStores.set(name, task.getStore(name)!)
    }
    const subs = topology.subtopologies()
    const partitions = subs
      .flatMap((s) => s.sourceTopics)
      .map((t) => ({ topic: topology.resolveTopic(t, cfg.applicationId), partition: 0 }))
    this.#inputTopics = new Set([...partitions.map((p) => p.topic), ...topology.globalTopics()])
    if (subs.length > 0) {
      this.#task = new StreamTask({
        id: '0_0',
        topology,
        partitions,
        config: cfg,
        collector: this.#collector,
        cache,
        clock,
        changelogPartition: 0,
        globalStores: this.#globalStores,
      })
      for (const p of partitions) this.#task.updateLag(p, 0)
      this.#task.completeRestoration()
    }
  }

  /** The wall clock of the driver, in ms. */
  get wallClockTime(): number {
    return this.#now
  }

  createInputTopic<K, V>(
    topic: string,
    keySerde: SyncSerde<K>,
    valueSerde: SyncSerde<V>,
    options: { startTimestamp?: number; autoAdvanceMs?: number } = {},
  ): TestInputTopic<K, V> {
    this.#checkOpen()
    if (!this.#inputTopics.has(topic)) {
      throw streamsError(
        'TRB_STREAMS_UNKNOWN_TOPIC',
        `topic ${topic} is not read by the topology (it reads: ${[...this.#inputTopics].join(', ') || 'nothing'})`,
      )
    }
    return new TestInputTopic(
      this,
      topic,
      keySerde,
      valueSerde,
      options.startTimestamp ?? this.#now,
      options.autoAdvanceMs ?? 0,
    )
  }

  createOutputTopic<K, V>(topic: string, keySerde: SyncSerde<K>, valueSerde: SyncSerde<V>): TestOutputTopic<K, V> {
    this.#checkOpen()
    return new TestOutputTopic(this, topic, keySerde, valueSerde)
  }

  #checkOpen() {
    if (this.#closed) throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'the test driver is closed')
  }

  /** @internal Called by TestInputTopic: enqueue one serialized record and process everything processable. */
  pipeRaw(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    this.#checkOpen()
    this.#enqueue(topic, key, value, timestamp, headers)
    this.#completeAllProcessableWork()
    this.#failIfPending()
  }

  /** @internal The asynchronous variant: waits for serdes that need a schema registry lookup. */
  async pipeRawAsync(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Headers,
  ): Promise<void> {
    this.#checkOpen()
    this.#enqueue(topic, key, value, timestamp, headers)
    for (;;) {
      this.#completeAllProcessableWork()
      const pending = this.#task?.pendingPreparation()
      if (!pending) break
      await pending
      this.#commit()
    }
  }

  #failIfPending() {
    if (this.#task?.pendingPreparation()) {
      throw streamsError(
        'TRB_STREAMS_NEEDS_ASYNC',
        'a serde needs an asynchronous preparation (a schema registry lookup): use pipeInputAsync / pipeRecordListAsync',
      )
    }
  }

  #enqueue(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers) {
    const offset = this.#offsets.get(topic) ?? 0
    this.#offsets.set(topic, offset + 1)
    const record = { topic, partition: 0, offset, timestamp, key, value, headers }
    let known = false
    for (const g of this.#globalTasks) {
      if (g.partitionGroup.queue(topic, 0)) {
        known = true
        g.addRecords({ topic, partition: 0 }, [record])
        while (g.process(this.#now)) {}
        g.prepareCommit()
      }
    }
    if (this.#task?.partitionGroup.queue(topic, 0)) {
      known = true
      this.#task.addRecords({ topic, partition: 0 }, [record])
    }
    if (!known) throw streamsError('TRB_STREAMS_UNKNOWN_TOPIC', `topic ${topic} is not read by the topology`)
  }

  #completeAllProcessableWork() {
    this.#capture()
    const task = this.#task
    if (!task) return
    while (task.hasRecordsQueued() && task.isProcessable(this.#now)) {
      task.process(this.#now)
      task.maybePunctuateStreamTime()
      this.#commit()
    }
  }

  #commit() {
    const task = this.#task
    if (!task) return
    task.prepareCommit()
    task.postCommit()
    this.#capture()
  }

  // Moves produced records to the output lists; records for topics the topology reads are fed back in.
  #capture() {
    while (this.#collector.records.length > this.#consumed) {
      const batch = this.#collector.records.slice(this.#consumed)
      this.#consumed = this.#collector.records.length
      for (const r of batch) {
        let list = this.#outputs.get(r.topic)
        if (!list) {
          list = []
          this.#outputs.set(r.topic, list)
        }
        list.push(r)
        if (this.#inputTopics.has(r.topic)) this.#enqueue(r.topic, r.key, r.value, r.timestamp, r.headers)
      }
    }
  }

  /** @internal */
  outputRecords(topic: string): ProducedRecord[] {
    let list = this.#outputs.get(topic)
    if (!list) {
      list = []
      this.#outputs.set(topic, list)
    }
    return list
  }

  /** Advances the mock wall clock; wall-clock punctuations due run, then a commit. */
  advanceWallClockTime(ms: number): void {
    this.#checkOpen()
    if (!(ms >= 0)) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `advanceWallClockTime needs ms >= 0, got ${ms}`)
    this.#now += ms
    if (this.#task) {
      this.#task.maybePunctuateSystemTime(this.#now)
      this.#commit()
    }
    this.#completeAllProcessableWork()
  }

  #store(name: string): StateStore | undefined {
    this.#checkOpen()
    return this.#task?.getStore(name) ?? this.#globalStores.get(name)
  }

  /** All stores of the topology by name (including global ones). */
  getAllStateStores(): Map<string, StateStore> {
    const out = new Map<string, StateStore>()
    for (const name of this.#task?.storeNames() ?? []) out.set(name, this.#task!.getStore(name)!)
    for (const [name, store] of this.#globalStores) out.set(name, store)
    return out
  }

  getStateStore<S extends StateStore = StateStore>(name: string): S | undefined {
    return this.#store(name) as S | undefined
  }

  /**
   * A key-value store by name, with plain values (for a DSL store, which keeps timestamps, values are returned
   * without them, as Kafka's driver does). Undefined when there is no such store.
   */
  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> | undefined {
    const store = this.#store(name)
    if (!store) return undefined
    if (store instanceof MeteredKeyValueStore && store.timestamped) {
      return new TimestampedStoreFacade<K, V>(
        store as unknown as KeyValueStore<K, { value: V; timestamp: number }>,
        () => this.#now,
      )
    }
    return store as unknown as KeyValueStore<K, V>
  }

  /** A timestamped key-value store (values with the timestamp of their last update). */
  getTimestampedKeyValueStore<K, V>(name: string): KeyValueStore<K, { value: V; timestamp: number }> | undefined {
    const store = this.#store(name)
    if (!store) return undefined
    if (!(store instanceof MeteredKeyValueStore) || !store.timestamped) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${name} is not a timestamped key-value store`)
    }
    return store as unknown as KeyValueStore<K, { value: V; timestamp: number }>
  }

  /** A window store by name (timestamped for DSL stores: values are `{ value, timestamp }`). */
  getWindowStore<K, V>(name: string): WindowStore<K, V> | undefined {
    return this.#store(name) as WindowStore<K, V> | undefined
  }

  getSessionStore<K, V>(name: string): SessionStore<K, V> | undefined {
    return this.#store(name) as SessionStore<K, V> | undefined
  }

  /**
   * The task metrics Kafka's driver shows, by Kafka's names (group `stream-task-metrics`):
   * `dropped-records-total` counts records skipped (late for their windows, or by a continue-on-error handler).
   */
  metrics(): Map<string, number> {
    return new Map([['stream-task-metrics:dropped-records-total', this.#task?.droppedRecords ?? 0]])
  }

  /** Records the topology produced to `topic` and nobody read yet (all topics when omitted): for debugging. */
  producedTopicNames(): string[] {
    return [...this.#outputs.keys()]
  }

  /** Closes processors and stores (flushing them) and removes the driver's temporary state directory. */
  close(): void {
    if (this.#closed) return
    const closing: Promise<void>[] = []
    if (this.#task) {
      this.#commit()
      closing.push(this.#task.close(true))
    }
    for (const g of this.#globalTasks) closing.push(g.close(true))
    this.#closed = true
    const dir = this.#stateDir
    const owns = this.#ownsStateDir
    // LMDB closes asynchronously; the directory is removed once it has.
    void Promise.allSettled(closing).then(() => {
      if (owns) rmSync(dir, { recursive: true, force: true })
    })
  }

  /** Same as close(), waiting until persistent stores are closed and the state directory is removed. */
  async closeAsync(): Promise<void> {
    if (this.#closed) return
    const closing: Promise<void>[] = []
    if (this.#task) {
      this.#commit()
      closing.push(this.#task.close(true))
    }
    for (const g of this.#globalTasks) closing.push(g.close(true))
    this.#closed = true
    await Promise.all(closing)
    if (this.#ownsStateDir) rmSync(this.#stateDir, { recursive: true, force: true })
  }
}

export function isSerdeNotReady(error: unknown): boolean {
  return error instanceof SerdeError && error.code === 'TRB_SERDE_NOT_READY'
}
