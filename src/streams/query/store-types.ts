/**
 * Querying local state stores by name and type (Kafka Streams' interactive queries: `KafkaStreams.store(
 * StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.keyValueStore()))`). A QueryableStoreType says
 * which store instances it can read and builds the read-only view the caller gets: one view over every local
 * instance of the store (one per task / partition), which asks the provider for the current instances at every
 * call, so a view kept across a rebalance reads the stores of the tasks the instance holds now.
 */
import { streamsError } from '../errors.ts'
import type { ValueAndTimestamp } from '../processor/record.ts'
import type { ReadOnlyKeyValueStore } from '../state/key-value-store.ts'
import type { StateStore } from '../state/state-store.ts'
import { CompositeReadOnlyKeyValueStore, type KeyValueView, keyValueView } from './composite-key-value-store.ts'
import type { Position } from './position.ts'
import { windowQueryableStoreTypes } from './window-store-types.ts'

/** One local instance of a store, as the provider hands it to a view. */
export interface LocalStoreInstance<S = unknown> {
  /** The task's partition (the store's partition), or -1 for a global store. */
  readonly partition: number
  readonly taskId: string
  /** Standby replica (only with stale stores enabled). */
  readonly standby: boolean
  /** Active task still restoring its stores (only with stale stores enabled). */
  readonly restoring: boolean
  /** The read-only view of the instance, as the store type built it. */
  readonly store: S
  /** Input offsets applied by the instance (empty when unknown: a standby, a restoring task, a global store). */
  readonly position: Position
}

/** Gives a view the current local instances of its store; throws an InvalidStateStoreError when there are none. */
export interface StateStoreProvider<S = unknown> {
  stores(): Array<LocalStoreInstance<S>>
}

/** A kind of store that can be queried, and how (Kafka Streams' QueryableStoreType). */
export interface QueryableStoreType<T, S = unknown> {
  /** For messages: 'keyValueStore', 'timestampedKeyValueStore', ... */
  readonly kind: string
  /** Whether a store instance (the outermost, typed store of a task) can be read as this type. */
  accepts(store: StateStore): boolean
  /** The read-only view of one accepted instance. */
  view(store: StateStore): S
  /** The view over all local instances of a store. */
  create(provider: StateStoreProvider<S>, storeName: string): T
}

function isKeyValueStore(store: StateStore): boolean {
  const s = store as Partial<ReadOnlyKeyValueStore<unknown, unknown>>
  return (
    typeof s.get === 'function' &&
    typeof s.range === 'function' &&
    typeof s.prefixScan === 'function' &&
    typeof s.approximateNumEntries === 'function'
  )
}

function isTimestamped(store: StateStore): boolean {
  return (store as { timestamped?: unknown }).timestamped === true
}

/** Store types by Kafka Streams' names. */
export const QueryableStoreTypes = {
  /**
   * Key-value stores, timestamped (DSL) ones included: their values are read without the timestamp, as Kafka
   * Streams' facade does.
   */
  keyValueStore<K, V>(): QueryableStoreType<ReadOnlyKeyValueStore<K, V>, KeyValueView<K, V>> {
    return {
      kind: 'keyValueStore',
      accepts: isKeyValueStore,
      view: (store) => keyValueView<K, V>(store, isTimestamped(store) ? 'strip' : 'plain'),
      create: (provider, name) => new CompositeReadOnlyKeyValueStore<K, V>(provider, name),
    }
  },
  /** Timestamped key-value stores (the DSL's): values are `{ value, timestamp }`. */
  timestampedKeyValueStore<K, V>(): QueryableStoreType<
    ReadOnlyKeyValueStore<K, ValueAndTimestamp<V>>,
    KeyValueView<K, ValueAndTimestamp<V>>
  > {
    return {
      kind: 'timestampedKeyValueStore',
      accepts: (store) => isKeyValueStore(store) && isTimestamped(store),
      view: (store) => keyValueView<K, ValueAndTimestamp<V>>(store, 'plain'),
      create: (provider, name) => new CompositeReadOnlyKeyValueStore<K, ValueAndTimestamp<V>>(provider, name),
    }
  },
  /** windowStore(), timestampedWindowStore(), sessionStore(): see window-store-types.ts. */
  ...windowQueryableStoreTypes,
}

/** What to query: a store name and type, optionally one partition, optionally standbys and restoring stores too. */
export class StoreQueryParameters<T, S = unknown> {
  readonly storeName: string
  readonly queryableStoreType: QueryableStoreType<T, S>
  readonly partition: number | undefined
  readonly staleStoresEnabled: boolean

  private constructor(
    storeName: string,
    type: QueryableStoreType<T, S>,
    partition: number | undefined,
    stale: boolean,
  ) {
    this.storeName = storeName
    this.queryableStoreType = type
    this.partition = partition
    this.staleStoresEnabled = stale
  }

  static fromNameAndType<T, S>(storeName: string, type: QueryableStoreType<T, S>): StoreQueryParameters<T, S> {
    if (typeof storeName !== 'string' || storeName === '') {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'StoreQueryParameters: a store name is required')
    }
    if (!type || typeof type.accepts !== 'function') {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        'StoreQueryParameters: a QueryableStoreType is required (QueryableStoreTypes.keyValueStore(), ...)',
      )
    }
    return new StoreQueryParameters(storeName, type, undefined, false)
  }

  /** Only the instance of this partition (e.g. the partition `queryMetadataForKey` gave). */
  withPartition(partition: number): StoreQueryParameters<T, S> {
    if (!Number.isInteger(partition) || partition < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `StoreQueryParameters: partition ${partition} is not valid`)
    }
    return new StoreQueryParameters(this.storeName, this.queryableStoreType, partition, this.staleStoresEnabled)
  }

  /** All partitions held locally (the default). */
  withAllPartitions(): StoreQueryParameters<T, S> {
    return new StoreQueryParameters(this.storeName, this.queryableStoreType, undefined, this.staleStoresEnabled)
  }

  /**
   * Also read standby replicas and stores still restoring, and read during a rebalance: answers may be behind the
   * active instance (each answer's position says how far).
   */
  enableStaleStores(): StoreQueryParameters<T, S> {
    return new StoreQueryParameters(this.storeName, this.queryableStoreType, this.partition, true)
  }
}
