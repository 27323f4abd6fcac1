/**
 * The interactive-queries side of KafkaStreams (Kafka Streams' metadata and `store()` API): where each store's
 * partitions live (this instance's assignment, hosts by `application.server`), the local store instances a query
 * reads, and waiting for a position. KafkaStreams delegates its public query methods here.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { InvalidStateStoreError, type StreamsError, type StreamsErrorCode, streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import {
  buildStreamsMetadata,
  type HostInfo,
  KEY_QUERY_METADATA_NOT_AVAILABLE,
  type KeyQueryMetadata,
  keyQueryMetadataFor,
  partitionForKey,
  type StoreSources,
  type StreamsMetadata,
} from '../query/metadata.ts'
import { Position, type PositionBound } from '../query/position.ts'
import type { LocalStoreInstance, StoreQueryParameters } from '../query/store-types.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { StreamsConfig } from './config.ts'
import type { KafkaStreamsState } from './kafka-streams.ts'
import type { StreamThread } from './stream-thread.ts'
import type { TaskPlan } from './task-plan.ts'

/** What the queries read of their KafkaStreams instance. */
export interface QueriesHost {
  readonly topology: Topology
  readonly config: StreamsConfig
  state(): KafkaStreamsState
  thread(): StreamThread | undefined
  applicationServer(): HostInfo | undefined
}

interface PositionWaiter {
  check(): boolean
  fail(error: Error): void
}

export class StreamsQueries {
  readonly #host: QueriesHost
  readonly #waiters = new Set<PositionWaiter>()
  readonly #sourcesCache = new WeakMap<TaskPlan, Map<string, StoreSources>>()

  constructor(host: QueriesHost) {
    this.#host = host
  }

  // ---- interactive queries: where state lives ---------------------------------------------------------------

  /** Kafka Streams' validateIsRunningOrRebalancing: metadata and queries need a started, live client. */
  #requireLive(what: string): void {
    if (this.#host.state() === 'CREATED') {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_NOT_STARTED',
        `${what}: KafkaStreams has not been started yet (call start() first)`,
      )
    }
    if (this.#host.state() !== 'RUNNING' && this.#host.state() !== 'REBALANCING') {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_NOT_AVAILABLE',
        `${what}: KafkaStreams is ${this.#host.state()}, not running: its stores are closed`,
      )
    }
  }

  #unknownStore(storeName: string): StreamsError {
    const known = this.#host.topology.storeNames()
    return streamsError(
      'TRB_STREAMS_UNKNOWN_STORE',
      `no state store named ${storeName} in the topology (its stores: ${known.length > 0 ? known.join(', ') : 'none'}); ` +
        'name a store with Materialized.as(name) to query it',
    )
  }

  /** Input topics and partition count of each task-owned store, from the current task plan. */
  #allStoreSources(): Map<string, StoreSources> {
    const plan = this.#host.thread()?.plan()
    if (!plan) return new Map()
    const cached = this.#sourcesCache.get(plan)
    if (cached) return cached
    const out = new Map<string, StoreSources>()
    for (const sub of this.#host.topology.subtopologies()) {
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
        if (this.#host.topology.store(store)?.global) continue
        out.set(store, { topics: [...partitionsOf.keys()].sort(), partitions: tasks.length, topicWithMostPartitions })
      }
    }
    this.#sourcesCache.set(plan, out)
    return out
  }

  #globalStoreNames(): string[] {
    return this.#host.topology.storeNames().filter((n) => this.#host.topology.store(n)?.global)
  }

  /**
   * Every instance of the application with an `application.server`, and what it holds, from the last assignment
   * (Kafka Streams' metadataForAllStreamsClients). Instances without `application.server` are not listed.
   */
  metadataForAllStreamsClients(): StreamsMetadata[] {
    this.#requireLive('metadataForAllStreamsClients')
    const info = this.#host.thread()?.assignment()
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
    const entry = this.#host.topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const all = this.metadataForAllStreamsClients()
    if (entry.global) return all
    return all.filter((m) => m.stateStoreNames.includes(storeName) || m.standbyStateStoreNames.includes(storeName))
  }

  /** The names of the topology's stores (all of them can be queried). */
  queryableStoreNames(): string[] {
    return this.#host.topology.storeNames()
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
    const entry = this.#host.topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const info = this.#host.thread()?.assignment()
    if (!info) return KEY_QUERY_METADATA_NOT_AVAILABLE
    const all = this.metadataForAllStreamsClients()
    if (entry.global) {
      const host = this.#host.applicationServer() ?? all[0]?.hostInfo
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
    if (!this.#host.topology.store(storeName)) throw this.#unknownStore(storeName)
    const sources = this.#allStoreSources().get(storeName)
    if (!this.#host.thread()?.assignment() || !sources) return KEY_QUERY_METADATA_NOT_AVAILABLE
    return keyQueryMetadataFor(this.metadataForAllStreamsClients(), storeName, sources, partition)
  }

  /**
   * The key serde of a store: the one its builder was given, else the local stores' (a DSL store's default),
   * else `default.key.serde`.
   */
  storeKeySerde(storeName: string): SyncSerde<unknown> | undefined {
    const entry = this.#host.topology.store(storeName)
    if (!entry) throw this.#unknownStore(storeName)
    const fromBuilder = (entry.builder as { keySerde?: SyncSerde<unknown> }).keySerde
    if (fromBuilder) return fromBuilder
    for (const local of this.#host.thread()?.localStores(storeName) ?? []) {
      const serde = (local.store as { keySerde?: SyncSerde<unknown> }).keySerde
      if (serde) return serde
    }
    return this.#host.config.defaultKeySerde
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
    const entry = this.#host.topology.store(name)
    if (!entry) throw this.#unknownStore(name)
    const type = params.queryableStoreType
    const thread = this.#host.thread()
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
    if (!params.staleStoresEnabled && this.#host.state() !== 'RUNNING') {
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
                (error.code === 'TRB_STREAMS_STORE_MIGRATED' && this.#host.state() === 'REBALANCING'))
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
    const entry = this.#host.topology.store(storeName)
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

  /** Settles the position waiters after progress or a state change. */
  checkWaiters(): void {
    if (this.#waiters.size === 0) return
    const terminal = this.#host.state() !== 'RUNNING' && this.#host.state() !== 'REBALANCING'
    for (const w of [...this.#waiters]) {
      if (terminal) {
        w.fail(
          new InvalidStateStoreError(
            'TRB_STREAMS_STORE_NOT_AVAILABLE',
            `KafkaStreams is ${this.#host.state()}: its stores are closed`,
          ),
        )
      } else {
        w.check()
      }
    }
  }
}
