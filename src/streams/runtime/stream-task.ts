import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { streamsError } from '../errors.ts'
import {
  type Cancellable,
  type Processor,
  type PunctuationType,
  type Punctuator,
  type StreamPartitioner,
  supplierGet,
  type TopicNameExtractor,
} from '../processor/api.ts'
import { deadLetterRecord, type ErrorHandlerContext } from '../processor/exception-handlers.ts'
import { Headers, Record } from '../processor/record.ts'
import type { RecordCollector } from '../processor/record-collector.ts'
import { Position } from '../query/position.ts'
import { changelogTopicFor, MeteredKeyValueStore } from '../state/layers.ts'
import type { RecordCache } from '../state/record-cache.ts'
import type { RecordContext, RestoreCallback, RestoreRecord, StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { StreamsConfig } from './config.ts'
import { InputDecoder } from './input-decoder.ts'
import { type ConsumerRecordLike, PartitionGroup, RecordQueue } from './partition-group.ts'
import { PunctuationQueue, type PunctuationSchedule } from './punctuation-queue.ts'
import { type InputRecordContext, TaskContext } from './task-context.ts'
import {
  asError,
  isFinal,
  isNotReady,
  NO_RECORD_CONTEXT,
  ProcessorRuntimeNode,
  type RuntimeNode,
  SinkRuntimeNode,
  SourceRuntimeNode,
  withDefaults,
} from './task-nodes.ts'
import { TaskOutput } from './task-output.ts'

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

interface RegisteredStore {
  readonly store: StateStore
  readonly restore: RestoreCallback
  readonly changelogTopic: string | undefined
  readonly persistent: boolean
}

type TaskState = 'created' | 'restoring' | 'running' | 'closed'

export interface StreamTaskOptions {
  /** `<subtopology>_<partition>`; the driver uses `0_0` for its one task. */
  readonly id: string
  readonly topology: Topology
  /** Sub-topologies this task runs; all non-global ones when omitted (the driver's single task). */
  readonly subtopologies?: readonly number[]
  /** Input partitions (real topic names, internal topics with the application id prefix). */
  readonly partitions: readonly TopicPartition[]
  readonly config: StreamsConfig
  readonly collector: RecordCollector
  readonly cache?: RecordCache
  /** Wall clock in ms (the driver's mock clock in tests). */
  readonly clock?: () => number
  /** The partition stores write their changelog to; defaults to the partition of the task id. */
  readonly changelogPartition?: number
  /** Global stores (already initialized by the global task), readable by every processor. */
  readonly globalStores?: ReadonlyMap<string, StateStore>
  readonly log?: (message: string) => void
}

/** What `prepareCommit()` hands the runtime: the input offsets to commit (next offset to read per partition). */
export type CommitOffsets = Map<string, TopicPartition & { offset: number }>

/**
 * One task: the sub-topology instance for one partition of its inputs (or, in the test driver, for all of them).
 * It buffers input records per partition, processes the one with the lowest timestamp, keeps stream time, runs
 * punctuations, owns its stores and sends all output through the RecordCollector. The runtime and the test driver
 * both drive this class; docs/streams/internals.md describes the protocol.
 */
export class StreamTask {
  readonly id: string
  readonly partition: number
  readonly topology: Topology
  readonly config: StreamsConfig
  readonly context: TaskContext
  readonly partitionGroup = new PartitionGroup()
  readonly #collector: RecordCollector
  /** The record cache shared with the instance's other tasks; undefined when caching is off. */
  readonly cache: RecordCache | undefined
  readonly #clock: () => number
  readonly #nodes = new Map<string, RuntimeNode>()
  readonly #sources = new Map<string, SourceRuntimeNode>()
  readonly #stores = new Map<string, RegisteredStore>()
  readonly #storeOrder: string[] = []
  readonly #globalStores: ReadonlyMap<string, StateStore>
  readonly #streamTimePunctuations = new PunctuationQueue()
  readonly #wallClockPunctuations = new PunctuationQueue()
  readonly #output: TaskOutput
  readonly #lags = new Map<string, number>()
  readonly #decoder: InputDecoder
  /** The write scopes of the task's stores (one LMDB transaction each), entered by `inWriteScope`. */
  readonly writeScopes: Array<(work: () => void) => void> = []
  readonly #log: (message: string) => void
  #idleSince: number | undefined
  #state: TaskState = 'created'
  commitNeeded = false
  commitRequested = false
  /** Records skipped (bad timestamp, undecodable, failed processing with CONTINUE, dropped by a DSL processor). */
  droppedRecords = 0
  /** Records dropped by DSL processors, by reason (Kafka Streams' dropped-records sensor); the runtime reports them. */
  readonly droppedByReason = new Map<string, number>()
  processedRecords = 0
  /** Input offsets known to be applied before this task read anything (the committed ones, from the runtime). */
  readonly #seededPosition = Position.empty()

  constructor(options: StreamTaskOptions) {
    this.id = options.id
    this.topology = options.topology
    this.config = options.config
    this.#collector = options.collector
    this.#output = new TaskOutput(this, options.collector)
    this.#decoder = new InputDecoder(this, this.#output, (m) => this.#log(m))
    this.cache = options.config.cacheMaxBytes > 0 ? options.cache : undefined
    this.#clock = options.clock ?? Date.now
    this.#globalStores = options.globalStores ?? new Map()
    this.#log = options.log ?? (() => {})
    this.partition = options.changelogPartition ?? Number(options.id.split('_')[1] ?? 0)
    this.context = new TaskContext(this)
    this.#build(options)
  }

  get state(): TaskState {
    return this.#state
  }

  get stateDir(): string {
    return join(this.config.stateDir, this.config.applicationId, this.id)
  }

  // ---- construction ---------------------------------------------------------------------------------------------

  #build(options: StreamTaskOptions) {
    const topology = this.topology
    const wanted = options.subtopologies ? new Set(options.subtopologies) : undefined
    const subs = topology.allGroups().filter((s) => (wanted ? wanted.has(s.id) : !s.global))
    const names = new Set(subs.flatMap((s) => s.nodes))
    const cfg = this.config
    for (const def of topology.nodes()) {
      if (!names.has(def.name)) continue
      let node: RuntimeNode
      if (def.kind === 'source') {
        node = new SourceRuntimeNode(def.name, this)
        this.#sources.set(def.name, node as SourceRuntimeNode)
      } else if (def.kind === 'processor') {
        const stores = new Set(topology.storesOf(def.name))
        node = new ProcessorRuntimeNode(
          def.name,
          supplierGet(def.supplier) as Processor<unknown, unknown, unknown, unknown>,
          stores,
          this,
        )
      } else {
        const keySerde = withDefaults(def.keySerde, cfg) ?? cfg.defaultKeySerde
        const valueSerde = withDefaults(def.valueSerde, cfg) ?? cfg.defaultValueSerde
        const where = def.topic ? `topic ${def.topic}` : 'a topic chosen per record'
        if (!keySerde || !valueSerde) {
          throw streamsError(
            'TRB_STREAMS_MISSING_SERDE',
            `sink ${def.name} (${where}) has no ${keySerde ? 'value' : 'key'} serde: give one with Produced.with(...) ` +
              'or set default.key.serde / default.value.serde',
          )
        }
        node = new SinkRuntimeNode(
          def.name,
          this,
          def.topic,
          def.topicExtractor as TopicNameExtractor<unknown, unknown> | undefined,
          keySerde,
          valueSerde,
          def.partitioner as StreamPartitioner<unknown, unknown> | undefined,
        )
      }
      this.#nodes.set(def.name, node)
    }
    for (const node of this.#nodes.values()) {
      for (const child of topology.children(node.name)) {
        const c = this.#nodes.get(child)
        if (c) {
          node.children.push(c)
          node.childByName.set(child, c)
        }
      }
    }
    // Input partitions → the source reading them, with its deserializers and extractor.
    for (const tp of options.partitions) {
      const source = this.#sourceFor(
        tp.topic,
        subs.flatMap((s) => s.nodes),
      )
      if (!source) {
        throw streamsError(
          'TRB_STREAMS_UNKNOWN_TOPIC',
          `task ${this.id}: no source of this task reads topic ${tp.topic}`,
        )
      }
      const def = topology.node(source)!
      if (def.kind !== 'source') continue
      const keySerde = withDefaults(def.keySerde, cfg) ?? cfg.defaultKeySerde
      const valueSerde = withDefaults(def.valueSerde, cfg) ?? cfg.defaultValueSerde
      if (!keySerde || !valueSerde) {
        throw streamsError(
          'TRB_STREAMS_MISSING_SERDE',
          `source ${def.name} (topic ${tp.topic}) has no ${keySerde ? 'value' : 'key'} serde: give one with ` +
            'Consumed.with(...) or set default.key.serde / default.value.serde',
        )
      }
      const queue = new RecordQueue(
        tp.topic,
        tp.partition,
        { name: source, keySerde, valueSerde, extractor: def.timestampExtractor ?? cfg.timestampExtractor },
        {
          deserialize: (q, raw) => this.#decoder.decode(q, raw),
          dropped: (raw, reason) => {
            this.droppedRecords++
            this.#log(`task ${this.id}: skipping record ${raw.topic}-${raw.partition}@${raw.offset}: ${reason}`)
          },
        },
      )
      this.partitionGroup.add(queue)
    }
    // Stores: each one built per task, in the order the topology added them.
    const storeNames = new Set(subs.flatMap((s) => s.stores))
    for (const name of topology.storeNames()) {
      if (!storeNames.has(name)) continue
      const entry = topology.store(name)!
      const store = entry.builder.build({ dslStore: cfg.dslStore, cachingDisabled: cfg.cacheMaxBytes === 0 })
      this.context.initializingStore = { name, changelog: entry.builder.loggingEnabled }
      if (entry.builder.persistent) mkdirSync(this.stateDir, { recursive: true })
      store.init(this.context, store)
      this.context.initializingStore = undefined
      if (!this.#stores.has(name)) {
        throw streamsError('TRB_STREAMS_INVALID_TOPOLOGY', `state store ${name} did not register itself during init`)
      }
    }
    this.#state = this.#storesNeedRestore() ? 'restoring' : 'created'
  }

  #sourceFor(topic: string, nodes: readonly string[]): string | undefined {
    for (const name of nodes) {
      const def = this.topology.node(name)
      if (def?.kind !== 'source') continue
      if (def.topics.some((t) => this.resolveTopic(t) === topic)) return name
      if (def.pattern?.test(topic)) return name
    }
    return undefined
  }

  #storesNeedRestore(): boolean {
    for (const s of this.#stores.values()) if (s.changelogTopic) return true
    return false
  }

  /** Called by the stores (through the context) while they initialize. */
  registerStore(store: StateStore, restore: RestoreCallback, logged: boolean): void {
    if (this.#stores.has(store.name)) {
      throw streamsError('TRB_STREAMS_STORE_EXISTS', `task ${this.id}: store ${store.name} registered twice`)
    }
    this.#stores.set(store.name, {
      store,
      restore,
      changelogTopic: logged ? changelogTopicFor(this.config.applicationId, store.name) : undefined,
      persistent: store.persistent(),
    })
    this.#storeOrder.push(store.name)
  }

  resolveTopic(topic: string): string {
    return this.topology.resolveTopic(topic, this.config.applicationId)
  }

  // ---- restoration (the runtime's part) -------------------------------------------------------------------------

  /** The changelog partitions this task's stores restore from (and write to). */
  changelogPartitions(): Array<{ store: string; topic: string; partition: number }> {
    const out: Array<{ store: string; topic: string; partition: number }> = []
    for (const [name, s] of this.#stores) {
      if (s.changelogTopic) out.push({ store: name, topic: s.changelogTopic, partition: this.partition })
    }
    return out
  }

  /** Writes changelog records straight into a store (below its cache and changelog layers). */
  restore(storeName: string, records: readonly RestoreRecord[]): void {
    const s = this.#stores.get(storeName)
    if (!s) throw streamsError('TRB_STREAMS_UNKNOWN_STORE', `task ${this.id} has no store ${storeName}`)
    s.restore(records)
  }

  /** Prepares every serde the task knows in advance (sink topics, store changelogs). Await before processing. */
  async prepare(): Promise<void> {
    const jobs: Promise<void>[] = []
    for (const node of this.#nodes.values()) {
      if (node instanceof SinkRuntimeNode && node.topic !== undefined) {
        const topic = this.resolveTopic(node.topic)
        jobs.push(
          node.keySerde.prepareSerialize(topic, { isKey: true }),
          node.valueSerde.prepareSerialize(topic, { isKey: false }),
        )
      }
    }
    for (const s of this.#stores.values()) {
      const outer = s.store
      if (outer instanceof MeteredKeyValueStore) jobs.push(outer.prepare())
    }
    await Promise.all(jobs)
  }

  /** Restoration is done: processors are initialized (they may schedule punctuations) and the task runs. */
  completeRestoration(): void {
    if (this.#state === 'running') return
    if (this.#state === 'closed') throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `task ${this.id} is closed`)
    for (const node of this.#nodes.values()) {
      this.context.withNode(node, NO_RECORD_CONTEXT, () => node.init(this))
    }
    this.#state = 'running'
  }

  // ---- input ----------------------------------------------------------------------------------------------------

  addRecords(partition: TopicPartition, records: Iterable<ConsumerRecordLike>): void {
    const queue = this.partitionGroup.queue(partition.topic, partition.partition)
    if (!queue) {
      throw streamsError(
        'TRB_STREAMS_UNKNOWN_TOPIC',
        `task ${this.id} does not own ${partition.topic}-${partition.partition}`,
      )
    }
    queue.add(records)
  }

  /** The consumer's lag on a partition: 0 means an empty buffer is not worth waiting for. */
  updateLag(partition: TopicPartition, lag: number): void {
    this.#lags.set(PartitionGroup.key(partition.topic, partition.partition), lag)
  }

  numBuffered(): number {
    return this.partitionGroup.numBuffered()
  }

  hasRecordsQueued(): boolean {
    return this.partitionGroup.numBuffered() > 0
  }

  /**
   * Whether the next record can be chosen deterministically: every partition has a record buffered, or the empty
   * ones are known to have nothing more (lag 0), or max.task.idle.ms has passed (or is negative).
   */
  isProcessable(now = this.#clock()): boolean {
    if (this.#state !== 'running' || this.#output.blocked) return false
    const group = this.partitionGroup
    if (!group.anyBuffered()) return false
    if (group.allBuffered()) {
      this.#idleSince = undefined
      return true
    }
    const idle = this.config.maxTaskIdleMs
    if (idle < 0) return true
    let waitingForData = false
    for (const [key, q] of group.queues) {
      if (q.hasHead()) continue
      if (q.blocked) return false
      const lag = this.#lags.get(key)
      if (lag === undefined || lag > 0) waitingForData = true
    }
    if (!waitingForData) return true
    if (this.#idleSince === undefined) this.#idleSince = now
    if (now - this.#idleSince >= idle) return true
    return false
  }

  /**
   * The offsets of the input records this task has applied, per input partition (what interactive queries report
   * as the position of its stores): the last record processed or skipped, or what the runtime seeded from the
   * committed offsets the task started from. A record is applied once `process()` returns: its writes are visible
   * to reads through the stores (held in the record cache or not).
   */
  position(): Position {
    const p = this.#seededPosition.copy()
    for (const q of this.partitionGroup.queues.values()) {
      const seeded = p.offset(q.topic, q.partition)
      if (q.lastOffset >= 0 && (seeded === undefined || q.lastOffset > seeded)) {
        p.withComponent(q.topic, q.partition, q.lastOffset)
      }
    }
    return p
  }

  /** Records that everything before `offset` + 1 of an input partition is applied (the committed offset − 1). */
  seedPosition(topic: string, partition: number, offset: number): void {
    if (offset < 0) return
    this.#seededPosition.merge(Position.empty().withComponent(topic, partition, offset))
  }

  /** Processes one record (the lowest-timestamp head); returns false when none could be processed. */
  /** Runs `work` inside every store's write scope (one LMDB transaction per store for a batch of records). */
  inWriteScope(work: () => void): void {
    let run = work
    for (const scope of this.writeScopes) {
      const inner = run
      run = () => scope(inner)
    }
    run()
  }

  process(now = this.#clock()): boolean {
    if (this.#state !== 'running') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `task ${this.id} is ${this.#state}, not running`)
    }
    if (!this.isProcessable(now)) return false
    const queue = this.partitionGroup.nextQueue()
    if (!queue) return false
    const stamped = queue.poll()!
    this.partitionGroup.streamTime = Math.max(this.partitionGroup.streamTime, stamped.timestamp)
    const raw = stamped.raw
    const ctx: InputRecordContext = {
      timestamp: stamped.timestamp,
      topic: raw.topic,
      partition: raw.partition,
      offset: raw.offset,
      headers: stamped.headers,
      rawKey: raw.key,
      rawValue: raw.value,
    }
    const source = this.#sources.get(queue.source.name)!
    const record = new Record(stamped.key, stamped.value, stamped.timestamp, stamped.headers)
    this.context.processAt(source, ctx, record)
    this.processedRecords++
    this.commitNeeded = true
    if (queue.blocked === false && !queue.hasHead() && !queue.isEmpty()) queue.updateHead()
    return true
  }

  // ---- time -----------------------------------------------------------------------------------------------------

  streamTime(): number {
    return this.partitionGroup.streamTime
  }

  schedule(node: RuntimeNode, interval: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!(interval >= 1)) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `punctuation interval must be at least 1 ms, got ${interval}`)
    }
    const schedule: PunctuationSchedule = {
      node,
      // Stream time punctuations align to 0 and fire as soon as stream time is known; wall-clock ones after a interval.
      time: type === 'stream-time' ? 0 : this.#clock() + interval,
      interval,
      punctuator,
      cancelled: false,
    }
    if (type === 'stream-time') this.#streamTimePunctuations.add(schedule)
    else if (type === 'wall-clock-time') this.#wallClockPunctuations.add(schedule)
    else throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `unknown punctuation type ${type}`)
    return {
      cancel: () => {
        schedule.cancelled = true
      },
    }
  }

  #punctuate = (s: PunctuationSchedule, now: number) => {
    const ctx: RecordContext = { timestamp: now, topic: null, partition: -1, offset: -1, headers: new Headers() }
    this.context.withNode(s.node, ctx, () => {
      try {
        s.punctuator(now)
      } catch (error) {
        if (isFinal(error)) throw error
        this.handleProcessingError(s.node.name, undefined, asError(error))
      }
    })
  }

  maybePunctuateStreamTime(): boolean {
    const t = this.partitionGroup.streamTime
    if (t < 0 || this.#state !== 'running') return false
    const done = this.#streamTimePunctuations.maybePunctuate(t, this.#punctuate)
    if (done) this.commitNeeded = true
    return done
  }

  maybePunctuateSystemTime(now = this.#clock()): boolean {
    if (this.#state !== 'running') return false
    const done = this.#wallClockPunctuations.maybePunctuate(now, this.#punctuate)
    if (done) this.commitNeeded = true
    return done
  }

  currentSystemTimeMs(): number {
    return this.#clock()
  }

  // ---- stores -----------------------------------------------------------------------------------------------------

  getStore(name: string): StateStore | undefined {
    return this.#stores.get(name)?.store ?? this.#globalStores.get(name)
  }

  storeNames(): string[] {
    return [...this.#stores.keys()]
  }

  // ---- output ---------------------------------------------------------------------------------------------------

  /** Changelog writes of the stores (through the context). */
  logChange(storeName: string, key: Buffer, value: Buffer | null, timestamp: number, headers: Headers): void {
    const s = this.#stores.get(storeName)
    const topic = s?.changelogTopic ?? changelogTopicFor(this.config.applicationId, storeName)
    this.#output.emit({ topic, partition: this.partition, key, value, timestamp, headers }, null)
  }

  // ---- errors -----------------------------------------------------------------------------------------------------

  errorContext(node: string | null): ErrorHandlerContext {
    const rc = this.context.currentRecordContext() as InputRecordContext
    return {
      topic: rc.topic,
      partition: rc.partition,
      offset: rc.offset,
      timestamp: rc.timestamp,
      headers: rc.headers,
      processorNodeId: node,
      taskId: this.id,
      sourceRawKey: rc.rawKey ?? null,
      sourceRawValue: rc.rawValue ?? null,
    }
  }

  /** A DSL processor skipped the record being processed (see InternalProcessorContext.recordDropped). */
  recordDropped(node: string | undefined, reason: string): void {
    this.droppedRecords++
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + 1)
    const m = this.context.recordMetadata()
    this.#log(
      `task ${this.id}: ${node ?? 'a processor'} skipped a record (${reason})` +
        (m ? ` at ${m.topic}-${m.partition}@${m.offset}` : ''),
    )
  }

  /**
   * Counts a record dropped as late in dropped-records (labelled "late record") and, when
   * `late.records.dead.letter.topic` is set, sends the input record's bytes there with `reason` in the dead-letter
   * headers.
   */
  lateRecordDropped(node: string | undefined, reason: string): void {
    this.recordDropped(node, 'late record')
    const topic = this.config.originals['late.records.dead.letter.topic']
    if (typeof topic === 'string' && topic !== '') {
      const context = this.errorContext(node ?? null)
      const error = streamsError('TRB_STREAMS_LATE_RECORD', reason)
      this.#output.emit(
        deadLetterRecord(topic, context.sourceRawKey, context.sourceRawValue, context, error),
        node ?? null,
      )
    }
  }

  handleProcessingError(node: string, record: Record<unknown, unknown> | undefined, error: Error): void {
    const response = this.config.processingExceptionHandler.handle(
      this.errorContext(node),
      { key: record?.key, value: record?.value },
      error,
    )
    this.#output.applyResponse(response, node, () =>
      streamsError(
        'TRB_STREAMS_PROCESSING_FAILED',
        `processor ${node} failed in task ${this.id}: ${error.message}`,
        error,
      ),
    )
  }

  // ---- output and asynchronous preparation -----------------------------------------------------------------------

  /** Serializes and sends a record from a sink; serdes that need preparation defer it, keeping send order. */
  send(sink: SinkRuntimeNode, topic: string, record: Record<unknown, unknown>): void {
    this.#output.send(sink, topic, record)
  }

  /** A serde preparation the task waits for before going on; undefined when nothing is pending. */
  pendingPreparation(): Promise<void> | undefined {
    return this.#output.pendingPreparation()
  }

  deferPreparation(p: Promise<void>): void {
    this.#output.deferPreparation(p)
  }

  // ---- commit -----------------------------------------------------------------------------------------------------

  /**
   * Flushes caches and stores (KTable updates held in the cache are forwarded and written to changelogs now) and
   * returns the input offsets to commit. The runtime then flushes the collector (and, under exactly_once_v2,
   * commits offsets in the producer's transaction) and calls postCommit().
   */
  prepareCommit(): CommitOffsets {
    if (this.#state === 'running' || this.#state === 'restoring') {
      for (const name of this.#storeOrder) {
        const { store } = this.#stores.get(name)!
        this.context.withNode(undefined, NO_RECORD_CONTEXT, () => store.flush())
      }
    }
    const offsets: CommitOffsets = new Map()
    for (const [key, q] of this.partitionGroup.queues) {
      if (q.lastOffset >= 0) offsets.set(key, { topic: q.topic, partition: q.partition, offset: q.lastOffset + 1 })
    }
    return offsets
  }

  /** After the runtime committed: the changelog offsets to checkpoint (store → offset), for a clean restart. */
  postCommit(): Map<string, number> {
    this.commitNeeded = false
    this.commitRequested = false
    const checkpoint = new Map<string, number>()
    const written = this.#collector.offsets()
    for (const [name, s] of this.#stores) {
      if (!s.changelogTopic || !s.persistent) continue
      const offset = written.get(`${s.changelogTopic}:${this.partition}`)
      if (offset !== undefined) checkpoint.set(name, offset)
    }
    return checkpoint
  }

  /** Closes processors and stores. `clean`: flush first (as a commit would); otherwise drop cached writes. */
  async close(clean = true): Promise<void> {
    if (this.#state === 'closed') return
    if (clean && this.#state === 'running') this.prepareCommit()
    const errors: unknown[] = []
    if (this.#state === 'running') {
      for (const node of this.#nodes.values()) {
        try {
          this.context.withNode(node, NO_RECORD_CONTEXT, () => node.close())
        } catch (e) {
          errors.push(e)
        }
      }
    }
    this.#streamTimePunctuations.clear()
    this.#wallClockPunctuations.clear()
    for (const name of this.#storeOrder) {
      try {
        await this.#stores.get(name)!.store.close()
      } catch (e) {
        errors.push(e)
      }
    }
    this.#state = 'closed'
    for (const q of this.partitionGroup.queues.values()) q.clear()
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, `task ${this.id}: errors while closing`)
  }
}
