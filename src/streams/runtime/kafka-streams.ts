/**
 * KafkaStreams: runs a Topology against a Kafka cluster (Tributary's broker or Apache Kafka), reaching it only
 * through src/client. `application.id` is the consumer group; instances started with the same id share the tasks
 * and move them (with their state) as instances come and go. See docs/streams/operations.md.
 */
import { createLogger, type Logger, type LogLevel } from '../../common/logger.ts'
import { type Metrics, serveMetrics } from '../../common/metrics.ts'
import { StreamsError, streamsError } from '../errors.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import { type StreamsConfig, type StreamsConfigInput, streamsConfig } from './config.ts'
import { type RuntimeSettings, runtimeSettings } from './runtime-settings.ts'
import { StateDirectory } from './state-directory.ts'
import { StreamThread } from './stream-thread.ts'
import { StreamsMetricNames, StreamsMetrics } from './streams-metrics.ts'
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

export interface StreamsClientMetadata {
  readonly host: string
  readonly port: number
  /** `topic:partition` of the input partitions its active tasks read. */
  readonly topicPartitions: readonly string[]
  readonly standbyTopicPartitions: readonly string[]
}

export interface ThreadMetadata {
  readonly activeTasks: ReadonlyArray<{ taskId: string; phase: 'restoring' | 'running'; topicPartitions: string[] }>
  readonly standbyTasks: readonly string[]
}

export class KafkaStreams {
  readonly #topology: Topology
  readonly #config: StreamsConfig
  readonly #settings: RuntimeSettings
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

  #newThread(): StreamThread {
    return new StreamThread({
      topology: this.#topology,
      config: this.#config,
      settings: this.#settings,
      stateDirectory: this.#stateDir,
      processId: this.#stateDir.processId(),
      log: this.#log,
      metrics: this.#metrics,
      events: {
        onPhase: (phase) => {
          if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'PENDING_ERROR') return
          this.#setState(phase === 'running' ? 'RUNNING' : 'REBALANCING')
        },
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

  /**
   * Which instance (by `application.server`) holds which input partitions, actively and as standby, from the last
   * assignment (Kafka Streams' metadataForAllStreamsClients; interactive queries route with it). Instances without
   * `application.server` are not listed.
   */
  metadataForAllStreamsClients(): StreamsClientMetadata[] {
    const info = this.#thread?.assignment()
    if (!info) return []
    const hosts = new Set([...Object.keys(info.partitionsByHost), ...Object.keys(info.standbyPartitionsByHost)])
    return [...hosts].sort().map((endpoint) => {
      const at = endpoint.lastIndexOf(':')
      return {
        host: endpoint.slice(0, at),
        port: Number(endpoint.slice(at + 1)),
        topicPartitions: [...(info.partitionsByHost[endpoint] ?? [])],
        standbyTopicPartitions: [...(info.standbyPartitionsByHost[endpoint] ?? [])],
      }
    })
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
