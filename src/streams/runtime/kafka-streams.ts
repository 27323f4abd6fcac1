/**
 * KafkaStreams: runs a Topology against a Kafka cluster (Tributary's broker or Apache Kafka), reaching it only
 * through src/client. `application.id` is the consumer group; instances started with the same id share the tasks
 * and move them (with their state) as instances come and go. See docs/streams/operations.md.
 */
import { createLogger, type Logger, type LogLevel } from '../../common/logger.ts'
import { type Metrics, serveMetrics } from '../../common/metrics.ts'
import type { SyncSerde } from '../../serde/serde.ts'
import { InvalidStateStoreError, StreamsError, type StreamsErrorCode, streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import {
  buildStreamsMetadata,
  endpointOf,
  type HostInfo,
  KEY_QUERY_METADATA_NOT_AVAILABLE,
  type KeyQueryMetadata,
  keyQueryMetadataFor,
  parseApplicationServer,
  partitionForKey,
  type StoreSources,
  type StreamsMetadata,
} from '../query/metadata.ts'
import { Position, type PositionBound } from '../query/position.ts'
import type { LocalStoreInstance, StoreQueryParameters } from '../query/store-types.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { StateRestoreListener } from './changelog-reader.ts'
import { type StreamsConfig, type StreamsConfigInput, streamsConfig } from './config.ts'
import { type RuntimeSettings, runtimeSettings } from './runtime-settings.ts'
import { StateDirectory } from './state-directory.ts'
import { StreamThread } from './stream-thread.ts'
import { StreamsMetricNames, StreamsMetrics } from './streams-metrics.ts'
import { type TaskPlan, TaskPlanError } from './task-plan.ts'

/** Kafka Streams' client states. */
export type KafkaStreamsState =
  | 'CREATED'
  | 'REBALANCING'
  | 'RUNNING'
  | 'PENDING_SHUTDOWN'
  | 'NOT_RUNNING'
  | 'PENDING_ERROR'
  | 'ERROR'

const TRANSITIONS: Record<KafkaStreamsState, readonly KafkaStreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  REBALANCING: ['RUNNING', 'REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  PENDING_ERROR: ['ERROR'],
  ERROR: [],
}

const STATE_VALUE: Record<KafkaStreamsState, number> = {
  CREATED: 0,
  REBALANCING: 1,
  RUNNING: 2,
  PENDING_SHUTDOWN: 3,
  NOT_RUNNING: 4,
  PENDING_ERROR: 5,
  ERROR: 6,
}

export type StateListener = (newState: KafkaStreamsState, oldState: KafkaStreamsState) => void

/** What to do after an error escaped the processing loop (Kafka Streams' StreamThreadExceptionResponse). */
export type StreamThreadExceptionResponse = 'REPLACE_THREAD' | 'SHUTDOWN_CLIENT' | 'SHUTDOWN_APPLICATION'
export type StreamsUncaughtExceptionHandler = (error: Error) => StreamThreadExceptionResponse

export interface KafkaStreamsOptions {
  /** Where lifecycle events are logged (default: stderr at `log.level`, info). */
  readonly logger?: Logger
  /** A metrics registry to add the streams metrics to (default: a new one; see `metrics()`). */
  readonly metrics?: Metrics
}

/** @deprecated the name of earlier versions: StreamsMetadata. */
export type StreamsClientMetadata = StreamsMetadata

/** What a running query server (`interactive.queries.port`) is: KafkaStreams starts it before joining the group. */
export interface QueryServerHandle {
  readonly port: number
  close(): Promise<void>
}

interface PositionWaiter {
  check(): boolean
  fail(error: Error): void
}

export interface ThreadMetadata {
  readonly activeTasks: ReadonlyArray<{ taskId: string; phase: 'restoring' | 'running'; topicPartitions: string[] }>
  readonly standbyTasks: readonly string[]
}

export class KafkaStreams {
  readonly #topology: Topology
  readonly #config: StreamsConfig
  #settings: RuntimeSettings
  readonly #log: Logger
  readonly #metrics: StreamsMetrics
  readonly #stateDir: StateDirectory
  #state: KafkaStreamsState = 'CREATED'
  #listener: StateListener | undefined
  #handler: StreamsUncaughtExceptionHandler | undefined
  #thread: StreamThread | undefined
  #closing: Promise<void> | undefined
  #metricsServer: { port: number; close(): Promise<void> } | undefined
  #lastError: Error | undefined
  #restoredBefore = 0
  #restoreListener: StateRestoreListener | undefined
  #queryServer: QueryServerHandle | undefined
  #applicationServer: HostInfo | undefined
  readonly #waiters = new Set<PositionWaiter>()
  readonly #sourcesCache = new WeakMap<TaskPlan, Map<string, StoreSources>>()

  constructor(topology: Topology, config: StreamsConfigInput, options: KafkaStreamsOptions = {}) {
    this.#topology = topology
    this.#config = streamsConfig(config)
    this.#settings = runtimeSettings(this.#config)
    const level = (config['log.level'] as LogLevel | 'silent' | undefined) ?? 'info'
    this.#log = options.logger ?? createLogger(level, `streams ${this.#config.applicationId}`)
    this.#metrics = new StreamsMetrics(this.#config.applicationId, this.#settings.clientId, options.metrics)
    this.#metrics.registry.collect((m) =>
      m.set(
        StreamsMetricNames.STATE,
        'Client state (0 CREATED, 1 REBALANCING, 2 RUNNING, 3 PENDING_SHUTDOWN, 4 NOT_RUNNING, 5 PENDING_ERROR, 6 ERROR)',
        this.#metrics.labels(),
        STATE_VALUE[this.#state],
      ),
    )
    this.#stateDir = new StateDirectory(this.#config.stateDir, this.#config.applicationId)
    if (this.#settings.applicationServer) {
      this.#applicationServer = parseApplicationServer(this.#settings.applicationServer)
    }
  }

  get state(): KafkaStreamsState {
    return this.#state
  }

  /** The error that put the client in ERROR, if any. */
  get lastError(): Error | undefined {
    return this.#lastError
  }

  setStateListener(listener: StateListener): void {
    if (this.#state !== 'CREATED') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'the state listener must be set before start()')
    }
    this.#listener = listener
  }

  /** Hears about the restoration of this instance's stores (Kafka Streams' setGlobalStateRestoreListener). */
  setGlobalStateRestoreListener(listener: StateRestoreListener): void {
    if (this.#state !== 'CREATED') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'the state restore listener must be set before start()')
    }
    this.#restoreListener = listener
  }

  setUncaughtExceptionHandler(handler: StreamsUncaughtExceptionHandler): void {
    if (this.#state !== 'CREATED') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'the uncaught exception handler must be set before start()')
    }
    this.#handler = handler
  }

  /** The metrics registry (Prometheus text with `metrics().render()`). */
  metrics(): Metrics {
    return this.#metrics.registry
  }

  /** The port `/metrics` is served on, when `tributary.metrics.port` is set. */
  get metricsPort(): number | undefined {
    return this.#metricsServer?.port
  }

  #setState(next: KafkaStreamsState) {
    const prev = this.#state
    if (prev === next && next !== 'REBALANCING') return
    if (prev === next) return
    if (!TRANSITIONS[prev].includes(next)) return
    this.#state = next
    this.#log.info('state change', { from: prev, to: next })
    try {
      this.#listener?.(next, prev)
    } catch (error) {
      this.#log.warn('state listener threw', { error: (error as Error).message })
    }
    this.#checkWaiters()
  }

  /**
   * Starts processing. Resolves once the instance has checked its topology against the cluster (source topics
   * exist, co-partitioned topics agree), taken its state directory and loaded global stores; tasks are then
   * assigned and restored in the background (state REBALANCING, then RUNNING). Rejects with a coded error when the
   * topology cannot run.
   */
  async start(): Promise<void> {
    if (this.#state !== 'CREATED') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `start() can only be called once (the client is ${this.#state})`)
    }
    this.#topology.validate()
    this.#topology.seal()
    this.#setState('REBALANCING')
    let thread: StreamThread | undefined
    try {
      this.#stateDir.lock()
      await this.#startQueryServer()
      thread = this.#newThread()
      try {
        await thread.planTasks()
      } catch (error) {
        if (error instanceof TaskPlanError) {
          throw streamsError(
            error.reason === 'missing-source-topics'
              ? 'TRB_STREAMS_MISSING_SOURCE_TOPIC'
              : error.reason === 'copartitioning'
                ? 'TRB_STREAMS_COPARTITIONING'
                : 'TRB_STREAMS_INTERNAL_TOPIC_MISMATCH',
            error.message,
          )
        }
        throw error
      }
      await thread.init()
      const port = this.#config.originals['tributary.metrics.port']
      if (port !== undefined && port !== null && port !== '') {
        const host = String(this.#config.originals['tributary.metrics.host'] ?? '127.0.0.1')
        this.#metricsServer = await serveMetrics(this.#metrics.registry, host, Number(port), this.#log)
        this.#log.info('metrics served', { url: `http://${host}:${this.#metricsServer.port}/metrics` })
      }
    } catch (error) {
      await thread?.shutdown(false).catch(() => {})
      await this.#queryServer?.close().catch(() => {})
      this.#stateDir.unlock()
      this.#lastError = error as Error
      this.#setState('PENDING_ERROR')
      this.#setState('ERROR')
      throw error
    }
    this.#thread = thread
    this.#log.info('started', {
      processingGuarantee: this.#config.processingGuarantee,
      standbyReplicas: this.#settings.numStandbyReplicas,
      stateDir: this.#stateDir.root,
    })
    thread.start((error) => void this.#onThreadError(error))
  }

  /**
   * With `interactive.queries.port`, serves interactive queries over HTTP (docs/streams/interactive-queries.md);
   * started before joining the group so the endpoint advertised as `application.server` answers from the start.
   */
  async #startQueryServer(): Promise<void> {
    if (!this.#config.interactiveQueries) return
    const { host, port } = this.#config.interactiveQueries
    const { serveInteractiveQueries } = await import('../query/http-server.ts')
    this.#queryServer = await serveInteractiveQueries(this, { host, port, logger: this.#log })
    if (!this.#applicationServer) {
      this.#applicationServer = { host, port: this.#queryServer.port }
      this.#settings = { ...this.#settings, applicationServer: endpointOf(this.#applicationServer) }
    }
    this.#log.info('interactive queries served', {
      url: `http://${host}:${this.#queryServer.port}`,
      applicationServer: endpointOf(this.#applicationServer),
    })
  }

  /** The port the query server listens on, when `interactive.queries.port` is set. */
  get queriesPort(): number | undefined {
    return this.#queryServer?.port
  }

  /** This instance's `application.server` (configured, or the query server's address), if any. */
  get applicationServer(): HostInfo | undefined {
    return this.#applicationServer
  }

  #newThread(): StreamThread {
    return new StreamThread({
      topology: this.#topology,
      config: this.#config,
      settings: this.#settings,
      restoreListener: this.#restoreListener,
      stateDirectory: this.#stateDir,
      processId: this.#stateDir.processId(),
      log: this.#log,
      metrics: this.#metrics,
      events: {
        onPhase: (phase) => {
          if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'PENDING_ERROR') return
          this.#setState(phase === 'running' ? 'RUNNING' : 'REBALANCING')
        },
        onProgress: () => this.#checkWaiters(),
        onAssignmentError: (error, shutdownApplication) => {
          if (shutdownApplication) {
            this.#log.error('the application is shutting down at the request of one of its members')
            void this.#fail(error)
          } else {
            void this.#onThreadError(error)
          }
        },
      },
    })
  }

  async #onThreadError(raw: unknown): Promise<void> {
    const error = raw instanceof Error ? raw : new Error(String(raw))
    if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'NOT_RUNNING' || this.#state === 'ERROR') return
    this.#log.error('processing stopped by an error', {
      error: error.message,
      code: (error as StreamsError).code,
    })
    let response: StreamThreadExceptionResponse = 'SHUTDOWN_CLIENT'
    if (this.#handler) {
      try {
        response = this.#handler(error)
      } catch (handlerError) {
        this.#log.error('uncaught exception handler threw', { error: (handlerError as Error).message })
      }
    }
    const thread = this.#thread
    if (response === 'REPLACE_THREAD' && thread) {
      this.#restoredBefore += thread.restoredTotal
      await thread.shutdown(false)
      const replacement = this.#newThread()
      this.#thread = replacement
      this.#setState('REBALANCING')
      try {
        await replacement.init()
        replacement.start((e) => void this.#onThreadError(e))
      } catch (e) {
        await this.#fail(e as Error)
      }
      return
    }
    if (response === 'SHUTDOWN_APPLICATION' && thread) {
      thread.resumeForApplicationShutdown((e) => void this.#fail(e as Error))
      return
    }
    await this.#fail(error)
  }

  async #fail(error: Error): Promise<void> {
    if (this.#state === 'PENDING_ERROR' || this.#state === 'ERROR' || this.#state === 'NOT_RUNNING') return
    this.#lastError = error
    this.#setState('PENDING_ERROR')
    await this.#thread?.shutdown(false).catch(() => {})
    await this.#metricsServer?.close()
    await this.#queryServer?.close().catch(() => {})
    this.#stateDir.unlock()
    this.#setState('ERROR')
  }

  /**
   * Stops processing: a last commit, tasks closed with checkpoints (a restart replays nothing), the group left so
   * the other instances take the tasks over at once. Resolves true when that finished within `timeout` ms (default:
   * no limit); false when it did not (the shutdown goes on in the background).
   */
  async close(options: { timeout?: number } = {}): Promise<boolean> {
    if (this.#state === 'CREATED') {
      this.#setState('PENDING_SHUTDOWN')
      this.#setState('NOT_RUNNING')
      return true
    }
    if (this.#state === 'ERROR' || this.#state === 'NOT_RUNNING') return true
    if (!this.#closing) {
      if (this.#state !== 'PENDING_ERROR') this.#setState('PENDING_SHUTDOWN')
      this.#closing = (async () => {
        try {
          await this.#thread?.shutdown(true)
        } finally {
          await this.#metricsServer?.close()
          await this.#queryServer?.close().catch(() => {})
          this.#stateDir.unlock()
          if (this.#state === 'PENDING_SHUTDOWN') this.#setState('NOT_RUNNING')
        }
      })()
    }
    if (options.timeout === undefined) {
      await this.#closing
      return true
    }
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeout)
    })
    const result = await Promise.race([this.#closing.then(() => true as const), timedOut])
    clearTimeout(timer)
    if (!result)
      this.#log.warn('close() timed out; the shutdown goes on in the background', { timeout: options.timeout })
    return result
  }

  /** Deletes this application's local state (stores, checkpoints). Only while not running. */
  cleanUp(): void {
    if (this.#state !== 'CREATED' && this.#state !== 'NOT_RUNNING' && this.#state !== 'ERROR') {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'cleanUp() can only run before start() or after close()')
    }
    this.#stateDir.cleanUp()
  }

  /** Active and standby tasks of this instance (Kafka Streams' metadataForLocalThreads). */
  metadataForLocalThreads(): ThreadMetadata[] {
    const thread = this.#thread
    if (!thread) return []
    return [
      {
        activeTasks: thread.activeTasks().map((t) => ({
          taskId: t.id,
          phase: t.phase,
          topicPartitions: t.partitions.map((p) => `${p.topic}-${p.partition}`),
        })),
        standbyTasks: thread.standbyTasks(),
      },
    ]
  }

  // ---- interactive queries: where state lives ---------------------------------------------------------------

  /** Kafka Streams' validateIsRunningOrRebalancing: metadata and queries need a started, live client. */
  #requireLive(what: string): void {
    if (this.#state === 'CREATED') {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_NOT_STARTED',
        `${what}: KafkaStreams has not been started yet (call start() first)`,
      )
    }
    if (this.#state !== 'RUNNING' && this.#state !== 'REBALANCING') {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_NOT_AVAILABLE',
        `${what}: KafkaStreams is ${this.#state}, not running: its stores are closed`,
      )
    }
  }

  #unknownStore(storeName: string): StreamsError {
    const known = this.#topology.storeNames()
    return streamsError(
      'TRB_STREAMS_UNKNOWN_STORE',
      `no state store named ${storeName} in the topology (its stores: ${known.length > 0 ? known.join(', ') : 'none'}); ` +
        'name a store with Materialized.as(name) to query it',
    )
  }

  /** Input topics and partition count of each task-owned store, from the current task plan. */
  #allStoreSources(): Map<string, StoreSources> {
    const plan = this.#thread?.plan()
    if (!plan) return new Map()
    const cached = this.#sourcesCache.get(plan)
    if (cached) return cached
    const out = new Map<string, StoreSources>()
    for (const sub of this.#topology.subtopologies()) {
      const tasks = [...plan.tasks.values()].filter((t) => t.subtopology === sub.id)
      const partitionsOf = new Map<string, number>()
      for (const t of tasks) for (const i of t.inputs) partitionsOf.set(i.topic, (partitionsOf.get(i.topic) ?? 0) + 1)
      let topicWithMostPartitions = ''
      let most = -1
      for (const [topic, n] of [...partitionsOf].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (n > most) {
          most = n
          topicWithMostPartitions = topic
        }
      }
      for (const store of sub.stores) {
        if (this.#topology.store(store)?.global) continue
        out.set(store, { topics: [...partitionsOf.keys()].sort(), partitions: tasks.length, topicWithMostPartitions })
      }
    }
    this.#sourcesCache.set(plan, out)
    return out
  }

  #globalStoreNames(): string[] {
    return this.#topology.storeNames().filter((n) => this.#topology.store(n)?.global)
  }

  /**
   * Every instance of the application with an `application.server`, and what it holds, from the last assignment
   * (Kafka Streams' metadataForAllStreamsClients). Instances without `application.server` are not listed.
   */
  metadataForAllStreamsClients(): StreamsMetadata[] {
    this.#requireLive('metadataForAllStreamsClients')
    const info = this.#thread?.assignment()
    if (!info) return []
    return buildStreamsMetadata(
      info.partitionsByHost,
      info.standbyPartitionsByHost,
      this.#allStoreSources(),
      this.#globalStoreNames(),
    )
  }

  /** Kafka Streams' older name of metadataForAllStreamsClients. */
  allMetadata(): StreamsMetadata[] {
    return this.metadataForAllStreamsClients()
  }

  /** The instances holding a store, actively or as standby (every instance for a global store). */
  streamsMetadataForStore(storeName: string): StreamsMetadata[] {
    this.#requireLive('streamsMetadataForStore')
    const entry = this.#topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const all = this.metadataForAllStreamsClients()
    if (entry.global) return all
    return all.filter((m) => m.stateStoreNames.includes(storeName) || m.standbyStateStoreNames.includes(storeName))
  }

  /** The names of the topology's stores (all of them can be queried). */
  queryableStoreNames(): string[] {
    return this.#topology.storeNames()
  }

  /** How many partitions (tasks) a store has, or undefined before the first task plan (or for a global store). */
  storePartitionCount(storeName: string): number | undefined {
    return this.#allStoreSources().get(storeName)?.partitions
  }

  /**
   * Which instance holds the partition of a store that `key` belongs to (Kafka Streams' queryMetadataForKey):
   * the active host, the standby hosts, and the partition. The key is hashed as the producer's default
   * partitioner does (murmur2 of its bytes from `keySerde`, by default the store's key serde), or placed by a
   * custom `partitioner` (one the topology used to write the store's input). While no assignment is known, the
   * answer is `KEY_QUERY_METADATA_NOT_AVAILABLE` (active host `unavailable:-1`).
   */
  queryMetadataForKey<K>(
    storeName: string,
    key: K,
    keySerdeOrPartitioner?: SyncSerde<K> | StreamPartitioner<K, unknown>,
  ): KeyQueryMetadata {
    this.#requireLive('queryMetadataForKey')
    if (key === null || key === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `queryMetadataForKey(${storeName}): the key cannot be null`)
    }
    const entry = this.#topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const info = this.#thread?.assignment()
    if (!info) return KEY_QUERY_METADATA_NOT_AVAILABLE
    const all = this.metadataForAllStreamsClients()
    if (entry.global) {
      const host = this.#applicationServer ?? all[0]?.hostInfo
      return host ? { activeHost: host, standbyHosts: [], partition: -1 } : KEY_QUERY_METADATA_NOT_AVAILABLE
    }
    const sources = this.#allStoreSources().get(storeName)
    if (!sources || sources.partitions === 0) return KEY_QUERY_METADATA_NOT_AVAILABLE
    let partition: number
    if (typeof keySerdeOrPartitioner === 'function') {
      partition = partitionForKey(storeName, key, sources, keySerdeOrPartitioner, true)
    } else {
      const serde = (keySerdeOrPartitioner ?? this.storeKeySerde(storeName)) as SyncSerde<K> | undefined
      if (!serde) {
        throw streamsError(
          'TRB_STREAMS_MISSING_SERDE',
          `queryMetadataForKey(${storeName}): the store has no key serde: pass one`,
        )
      }
      const keyBytes = (k: K) => serde.serializeSync(sources.topicWithMostPartitions, k, { isKey: true })
      partition = partitionForKey(storeName, key, sources, keyBytes, false)
    }
    return keyQueryMetadataFor(all, storeName, sources, partition)
  }

  /** The active and standby hosts of one partition of a store (queryMetadataForKey once the partition is known). */
  queryMetadataForPartition(storeName: string, partition: number): KeyQueryMetadata {
    this.#requireLive('queryMetadataForPartition')
    if (!this.#topology.store(storeName)) throw this.#unknownStore(storeName)
    const sources = this.#allStoreSources().get(storeName)
    if (!this.#thread?.assignment() || !sources) return KEY_QUERY_METADATA_NOT_AVAILABLE
    return keyQueryMetadataFor(this.metadataForAllStreamsClients(), storeName, sources, partition)
  }

  /**
   * The key serde of a store: the one its builder was given, else the local stores' (a DSL store's default),
   * else `default.key.serde`.
   */
  storeKeySerde(storeName: string): SyncSerde<unknown> | undefined {
    const entry = this.#topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const fromBuilder = (entry.builder as { keySerde?: SyncSerde<unknown> }).keySerde
    if (fromBuilder) return fromBuilder
    for (const local of this.#thread?.localStores(storeName) ?? []) {
      const serde = (local.store as { keySerde?: SyncSerde<unknown> }).keySerde
      if (serde) return serde
    }
    return this.#config.defaultKeySerde
  }

  // ---- interactive queries: local stores ---------------------------------------------------------------------

  /**
   * The local instances a query with these parameters reads, each with the view its store type builds and its
   * position, in partition order. Throws InvalidStateStoreError as Kafka Streams does: not started, not available
   * (shutting down), not yet available (rebalancing or restoring: retry, or enable stale stores), migrated (not
   * here any more), an invalid partition; TRB_STREAMS_UNKNOWN_STORE, TRB_STREAMS_STORE_TYPE_MISMATCH.
   */
  queryableStores<T, S>(params: StoreQueryParameters<T, S>): Array<LocalStoreInstance<S>> {
    const name = params.storeName
    this.#requireLive(`cannot query state store ${name}`)
    const entry = this.#topology.store(name)
    if (!entry) throw this.#unknownStore(name)
    const type = params.queryableStoreType
    const thread = this.#thread
    const accept = (store: StateStore) => {
      if (!type.accepts(store)) {
        throw new InvalidStateStoreError(
          'TRB_STREAMS_STORE_TYPE_MISMATCH',
          `state store ${name} cannot be queried as a ${type.kind} (it is a ${store.constructor.name})`,
        )
      }
      return type.view(store)
    }
    if (entry.global) {
      const store = thread?.globalStore(name)
      if (!store?.isOpen()) {
        throw new InvalidStateStoreError('TRB_STREAMS_STORE_NOT_YET_AVAILABLE', `global store ${name} is not open yet`)
      }
      return [
        {
          partition: -1,
          taskId: 'global',
          standby: false,
          restoring: false,
          store: accept(store),
          position: Position.empty(),
        },
      ]
    }
    if (!params.staleStoresEnabled && this.#state !== 'RUNNING') {
      const restoring =
        thread
          ?.activeTasks()
          .filter((t) => t.phase === 'restoring')
          .map((t) => t.id) ?? []
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
        `state store ${name} is not yet available: the application is rebalancing` +
          (restoring.length > 0 ? ` (restoring tasks ${restoring.join(', ')})` : '') +
          ', not RUNNING; retry when it runs, or enable stale stores to read restoring and standby stores meanwhile',
      )
    }
    let locals = thread?.localStores(name) ?? []
    if (!params.staleStoresEnabled) locals = locals.filter((l) => l.kind === 'active' && l.phase === 'running')
    if (params.partition !== undefined) {
      const count = this.storePartitionCount(name)
      if (count !== undefined && params.partition >= count) {
        throw new InvalidStateStoreError(
          'TRB_STREAMS_INVALID_STORE_PARTITION',
          `state store ${name} has partitions 0..${count - 1}: partition ${params.partition} does not exist`,
        )
      }
      locals = locals.filter((l) => l.partition === params.partition)
      if (locals.length === 0) {
        throw new InvalidStateStoreError(
          'TRB_STREAMS_STORE_MIGRATED',
          `partition ${params.partition} of state store ${name} is not on this instance` +
            (params.staleStoresEnabled ? '' : ' as an active task') +
            ': it may have migrated to another instance (find it with queryMetadataForKey)',
        )
      }
    }
    if (locals.length === 0) {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_MIGRATED',
        `the state store, ${name}, may have migrated to another instance: this instance holds none of its partitions`,
      )
    }
    return locals.map((l) => {
      if (!l.store.isOpen()) {
        throw new InvalidStateStoreError(
          'TRB_STREAMS_STORE_MIGRATED',
          `state store ${name} of task ${l.taskId} is closed: it may have migrated to another instance`,
        )
      }
      return {
        partition: l.partition,
        taskId: l.taskId,
        standby: l.kind === 'standby',
        restoring: l.phase === 'restoring',
        store: accept(l.store),
        position: l.position,
      }
    })
  }

  /**
   * A read-only view of a store over all its local instances (Kafka Streams' `store(StoreQueryParameters)`):
   * `streams.store(StoreQueryParameters.fromNameAndType('counts', QueryableStoreTypes.keyValueStore()))`. Every
   * call on the view reads the instances held at that moment and throws InvalidStateStoreError when it cannot.
   */
  store<T, S>(params: StoreQueryParameters<T, S>): T {
    this.queryableStores(params)
    return params.queryableStoreType.create({ stores: () => this.queryableStores(params) }, params.storeName)
  }

  /** The position (input offsets applied) of the local instances a query with these parameters reads, merged. */
  position<T, S>(params: StoreQueryParameters<T, S>): Position {
    const out = Position.empty()
    for (const s of this.queryableStores(params)) out.merge(s.position)
    return out
  }

  /**
   * Waits until the local instances a query with these parameters reads have reached `bound` — each partition
   * the components of the bound with its own partition number, as Kafka Streams checks a PositionBound — and
   * resolves with their position. Waits through a rebalance or a restoration (not-yet-available); rejects with
   * TRB_STREAMS_POSITION_NOT_REACHED after `timeout` ms (default 10000), with TRB_STREAMS_INVALID_ARGUMENT when
   * the bound names a topic the store does not read, and with the store's error when it cannot be queried here.
   */
  waitForPosition<T, S>(
    params: StoreQueryParameters<T, S>,
    bound: PositionBound,
    options: { timeout?: number } = {},
  ): Promise<Position> {
    const timeout = options.timeout ?? 10000
    const wanted = bound.position
    try {
      this.#checkBoundTopics(params.storeName, wanted)
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<Position>((resolve, reject) => {
      let blocked: InvalidStateStoreError | undefined
      let last = Position.empty()
      let timer: NodeJS.Timeout | undefined
      const finish = () => {
        this.#waiters.delete(waiter)
        clearTimeout(timer)
      }
      const waiter: PositionWaiter = {
        check: () => {
          let locals: Array<LocalStoreInstance<S>>
          try {
            locals = this.queryableStores(params)
          } catch (error) {
            const transient =
              error instanceof InvalidStateStoreError &&
              (error.code === 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE' ||
                (error.code === 'TRB_STREAMS_STORE_MIGRATED' && this.#state === 'REBALANCING'))
            if (transient) {
              blocked = error
              return false
            }
            finish()
            reject(error)
            return true
          }
          blocked = undefined
          last = Position.empty()
          for (const l of locals) last.merge(l.position)
          if (!locals.every((l) => l.position.dominates(wanted, l.partition < 0 ? undefined : l.partition))) {
            return false
          }
          finish()
          resolve(last)
          return true
        },
        fail: (error) => {
          finish()
          reject(error)
        },
      }
      if (waiter.check()) return
      this.#waiters.add(waiter)
      timer = setTimeout(() => {
        finish()
        if (blocked) {
          reject(
            new InvalidStateStoreError(
              blocked.code as StreamsErrorCode,
              `${blocked.message} (waited ${timeout} ms for position ${wanted})`,
            ),
          )
          return
        }
        const partitions = params.partition === undefined ? undefined : params.partition
        reject(
          streamsError(
            'TRB_STREAMS_POSITION_NOT_REACHED',
            `state store ${params.storeName} did not reach position ${wanted} within ${timeout} ms: it is at ` +
              `${last.toString() || '(nothing applied yet)'}, missing ${last.missing(wanted, partitions)}`,
          ),
        )
      }, timeout)
    })
  }

  /** A bound can only name topics the store's sub-topology reads: any other would never be reached. */
  #checkBoundTopics(storeName: string, bound: Position): void {
    const entry = this.#topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    if (bound.isEmpty()) return
    if (entry.global) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `global store ${storeName} has no position: it cannot be queried with a position bound`,
      )
    }
    const sources = this.#allStoreSources().get(storeName)
    if (!sources) return
    const foreign = bound.topics().filter((t) => !sources.topics.includes(t))
    if (foreign.length > 0) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `the position bound names ${foreign.join(', ')}, which state store ${storeName} does not read: its ` +
          `position is in offsets of ${sources.topics.join(', ')} (a store after a repartition applies the ` +
          'repartition topic, not the original input)',
      )
    }
  }

  #checkWaiters(): void {
    if (this.#waiters.size === 0) return
    const terminal = this.#state !== 'RUNNING' && this.#state !== 'REBALANCING'
    for (const w of [...this.#waiters]) {
      if (terminal) {
        w.fail(
          new InvalidStateStoreError(
            'TRB_STREAMS_STORE_NOT_AVAILABLE',
            `KafkaStreams is ${this.#state}: its stores are closed`,
          ),
        )
      } else {
        w.check()
      }
    }
  }

  /** Changelog records restored into active tasks since start (a full restore, a delta, or 0 after a clean stop). */
  get restoredRecords(): number {
    return this.#restoredBefore + (this.#thread?.restoredTotal ?? 0)
  }

  /**
   * The local instances of a store on running active tasks, by task id (for tests and simple local queries; the
   * interactive-queries API with routing between instances builds on this).
   */
  localStores<S extends StateStore = StateStore>(storeName: string): Map<string, S> {
    const out = new Map<string, S>()
    for (const { taskId, store } of this.#thread?.activeStores(storeName) ?? []) out.set(taskId, store as S)
    return out
  }
}

export { StreamsError }
