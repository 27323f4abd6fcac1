/**
 * KafkaStreams: runs a Topology against a Kafka cluster (Tributary's broker or Apache Kafka), reaching it only
 * through src/client. `application.id` is the consumer group; instances started with the same id share the tasks
 * and move them (with their state) as instances come and go. See docs/streams/operations.md.
 */
import { createLogger, type Logger, type LogLevel } from '../../common/logger.ts'
import { type Metrics, serveMetrics } from '../../common/metrics.ts'
import type { SyncSerde } from '../../serde/serde.ts'
import { StreamsError, streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import {
  endpointOf,
  type HostInfo,
  type KeyQueryMetadata,
  parseApplicationServer,
  type StreamsMetadata,
} from '../query/metadata.ts'
import type { Position, PositionBound } from '../query/position.ts'
import type { LocalStoreInstance, StoreQueryParameters } from '../query/store-types.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { StateRestoreListener } from './changelog-reader.ts'
import { type StreamsConfig, type StreamsConfigInput, streamsConfig } from './config.ts'
import { type RuntimeSettings, runtimeSettings } from './runtime-settings.ts'
import { StateDirectory } from './state-directory.ts'
import { StreamThread } from './stream-thread.ts'
import { StreamsMetricNames, StreamsMetrics } from './streams-metrics.ts'
import { StreamsQueries } from './streams-queries.ts'
import { TaskPlanError } from './task-plan.ts'

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
  readonly #queries: StreamsQueries

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
    this.#queries = new StreamsQueries({
      topology: this.#topology,
      config: this.#config,
      state: () => this.#state,
      thread: () => this.#thread,
      applicationServer: () => this.#applicationServer,
    })
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
    this.#queries.checkWaiters()
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
        onProgress: () => this.#queries.checkWaiters(),
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

  // ---- interactive queries (streams-queries.ts) ---------------------------------------------------------------

  /** Every instance with an `application.server` and what it holds (Kafka Streams' metadataForAllStreamsClients). */
  metadataForAllStreamsClients(): StreamsMetadata[] {
    return this.#queries.metadataForAllStreamsClients()
  }

  /** Kafka Streams' older name of metadataForAllStreamsClients. */
  allMetadata(): StreamsMetadata[] {
    return this.#queries.allMetadata()
  }

  /** The instances holding a store, actively or as standby (every instance for a global store). */
  streamsMetadataForStore(storeName: string): StreamsMetadata[] {
    return this.#queries.streamsMetadataForStore(storeName)
  }

  /** The names of the topology's stores (all of them can be queried). */
  queryableStoreNames(): string[] {
    return this.#queries.queryableStoreNames()
  }

  /** How many partitions (tasks) a store has, or undefined before the first task plan (or for a global store). */
  storePartitionCount(storeName: string): number | undefined {
    return this.#queries.storePartitionCount(storeName)
  }

  /**
   * Which instance holds the partition of a store that `key` belongs to (Kafka Streams' queryMetadataForKey): the
   * active host, the standby hosts, and the partition; `KEY_QUERY_METADATA_NOT_AVAILABLE` while no assignment is
   * known. The key is hashed from `keySerde`'s bytes (by default the store's key serde), or placed by `partitioner`.
   */
  queryMetadataForKey<K>(
    storeName: string,
    key: K,
    keySerdeOrPartitioner?: SyncSerde<K> | StreamPartitioner<K, unknown>,
  ): KeyQueryMetadata {
    return this.#queries.queryMetadataForKey(storeName, key, keySerdeOrPartitioner)
  }

  /** The active and standby hosts of one partition of a store. */
  queryMetadataForPartition(storeName: string, partition: number): KeyQueryMetadata {
    return this.#queries.queryMetadataForPartition(storeName, partition)
  }

  /** The key serde of a store: its builder's, else the local stores', else `default.key.serde`. */
  storeKeySerde(storeName: string): SyncSerde<unknown> | undefined {
    return this.#queries.storeKeySerde(storeName)
  }

  /**
   * The local instances a query with these parameters reads, with their views and positions, in partition order;
   * throws InvalidStateStoreError as Kafka Streams does (not started, not yet available, migrated, ...).
   */
  queryableStores<T, S>(params: StoreQueryParameters<T, S>): Array<LocalStoreInstance<S>> {
    return this.#queries.queryableStores(params)
  }

  /**
   * A read-only view of a store over all its local instances (Kafka Streams' `store(StoreQueryParameters)`):
   * `streams.store(StoreQueryParameters.fromNameAndType('counts', QueryableStoreTypes.keyValueStore()))`.
   */
  store<T, S>(params: StoreQueryParameters<T, S>): T {
    return this.#queries.store(params)
  }

  /** The position (input offsets applied) of the local instances a query with these parameters reads, merged. */
  position<T, S>(params: StoreQueryParameters<T, S>): Position {
    return this.#queries.position(params)
  }

  /**
   * Waits until the local instances a query reads have reached `bound`, and resolves with their position; rejects
   * with TRB_STREAMS_POSITION_NOT_REACHED after `timeout` ms (default 10000).
   */
  waitForPosition<T, S>(
    params: StoreQueryParameters<T, S>,
    bound: PositionBound,
    options: { timeout?: number } = {},
  ): Promise<Position> {
    return this.#queries.waitForPosition(params, bound, options)
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
