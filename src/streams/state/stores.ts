import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { ValueAndTimestamp } from '../processor/record.ts'
import { InMemoryKeyValueStore } from './in-memory-store.ts'
import type { BytesKeyValueStore, KeyValueStore, TimestampedKeyValueStore } from './key-value-store.ts'
import { CachingKeyValueStore, ChangeLoggingKeyValueBytesStore, MeteredKeyValueStore } from './layers.ts'
import { LmdbKeyValueStore, type LmdbStoreOptions } from './lmdb-store.ts'
import type { StateStore } from './state-store.ts'
import {
  type VersionedBytesStoreSupplier,
  type VersionedKeyValueStoreBuilder,
  VersionedStores,
} from './versioned-store.ts'
import {
  type SessionBytesStoreSupplier,
  type SessionStoreBuilder,
  type WindowBytesStoreSupplier,
  type WindowStoreBuilder,
  WindowStores,
} from './window-store.ts'

/** Makes the innermost bytes store (Kafka Streams' KeyValueBytesStoreSupplier). */
export interface KeyValueBytesStoreSupplier {
  readonly name: string
  readonly persistent: boolean
  get(options?: BuildOptions): BytesKeyValueStore
}

/** What the task tells a builder: the store type configured for DSL stores without a supplier. */
export interface BuildOptions {
  readonly dslStore?: 'lmdb' | 'in_memory'
  /** statestore.cache.max.bytes is 0: no caching layer at all, as Kafka Streams (KAFKA-6998). */
  readonly cachingDisabled?: boolean
}

/** Builds a store with its layers; the topology holds builders, each task builds its own store instances. */
export interface StoreBuilder<S extends StateStore = StateStore> {
  readonly name: string
  readonly loggingEnabled: boolean
  readonly cachingEnabled: boolean
  readonly logConfig: Readonly<Record<string, string>>
  readonly persistent: boolean
  withCachingEnabled(): this
  withCachingDisabled(): this
  withLoggingEnabled(config?: Record<string, string>): this
  withLoggingDisabled(): this
  build(options?: BuildOptions): S
}

const STORE_NAME = /^[a-zA-Z0-9._-]+$/

export function validateStoreName(name: string): void {
  if (!name || name.length > 249 || !STORE_NAME.test(name)) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store name '${name}' is invalid: use 1..249 characters of [a-zA-Z0-9._-] (it becomes part of a topic name)`,
    )
  }
}

export class KeyValueStoreBuilder<K, V> implements StoreBuilder<KeyValueStore<K, V>> {
  readonly supplier: KeyValueBytesStoreSupplier
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<unknown> | undefined
  readonly timestamped: boolean
  loggingEnabled = true
  cachingEnabled = false
  logConfig: Record<string, string> = {}

  constructor(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<unknown> | undefined,
    timestamped: boolean,
  ) {
    validateStoreName(supplier.name)
    this.supplier = supplier
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.timestamped = timestamped
  }

  get name(): string {
    return this.supplier.name
  }

  get persistent(): boolean {
    return this.supplier.persistent
  }

  withCachingEnabled(): this {
    this.cachingEnabled = true
    return this
  }
  withCachingDisabled(): this {
    this.cachingEnabled = false
    return this
  }
  withLoggingEnabled(config: Record<string, string> = {}): this {
    this.loggingEnabled = true
    this.logConfig = { ...config }
    return this
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false
    this.logConfig = {}
    return this
  }

  build(options?: BuildOptions): KeyValueStore<K, V> {
    let store: BytesKeyValueStore = this.supplier.get(options)
    if (this.loggingEnabled) store = new ChangeLoggingKeyValueBytesStore(store, this.timestamped)
    if (this.cachingEnabled && !options?.cachingDisabled) store = new CachingKeyValueStore(store)
    return new MeteredKeyValueStore<K, V>(store, this.keySerde, this.valueSerde, this.timestamped)
  }
}

/** Factories for stores, as Kafka Streams' `Stores`. The persistent store is LMDB. */
export const Stores = {
  inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    validateStoreName(name)
    return { name, persistent: false, get: () => new InMemoryKeyValueStore(name) }
  },
  /** The persistent key-value store: LMDB under the task's state directory. */
  persistentKeyValueStore(name: string, options?: LmdbStoreOptions): KeyValueBytesStoreSupplier {
    validateStoreName(name)
    return { name, persistent: true, get: () => new LmdbKeyValueStore(name, options) }
  },
  lmdbKeyValueStore(name: string, options?: LmdbStoreOptions): KeyValueBytesStoreSupplier {
    return Stores.persistentKeyValueStore(name, options)
  },
  /** Same as persistentKeyValueStore: in Kafka Streams this variant stores timestamps; here the builder decides. */
  persistentTimestampedKeyValueStore(name: string, options?: LmdbStoreOptions): KeyValueBytesStoreSupplier {
    return Stores.persistentKeyValueStore(name, options)
  },
  /** The DSL's store when none is given: LMDB or in-memory as `default.dsl.store` says when the task builds it. */
  dslKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    validateStoreName(name)
    return {
      name,
      get persistent() {
        return true
      },
      get: (options) =>
        options?.dslStore === 'in_memory' ? new InMemoryKeyValueStore(name) : new LmdbKeyValueStore(name),
    }
  },
  keyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilder<K, V>(supplier, keySerde, valueSerde as SyncSerde<unknown> | undefined, false)
  },
  timestampedKeyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): StoreBuilder<TimestampedKeyValueStore<K, V>> & KeyValueStoreBuilder<K, ValueAndTimestamp<V>> {
    return new KeyValueStoreBuilder<K, ValueAndTimestamp<V>>(
      supplier,
      keySerde,
      valueSerde as SyncSerde<unknown> | undefined,
      true,
    )
  },
  // Window and session stores (state/window-store.ts); called through, so the two modules may load in any order.
  inMemoryWindowStore(name: string, retentionPeriodMs: number, windowSizeMs: number, retainDuplicates = false) {
    return WindowStores.inMemoryWindowStore(name, retentionPeriodMs, windowSizeMs, retainDuplicates)
  },
  persistentWindowStore(name: string, retentionPeriodMs: number, windowSizeMs: number, retainDuplicates = false) {
    return WindowStores.persistentWindowStore(name, retentionPeriodMs, windowSizeMs, retainDuplicates)
  },
  persistentTimestampedWindowStore(name: string, retentionPeriodMs: number, windowSizeMs: number, retain = false) {
    return WindowStores.persistentTimestampedWindowStore(name, retentionPeriodMs, windowSizeMs, retain)
  },
  inMemorySessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return WindowStores.inMemorySessionStore(name, retentionPeriodMs)
  },
  persistentSessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return WindowStores.persistentSessionStore(name, retentionPeriodMs)
  },
  windowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): WindowStoreBuilder<K, V> {
    return WindowStores.windowStoreBuilder(supplier, keySerde, valueSerde)
  },
  timestampedWindowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): WindowStoreBuilder<K, ValueAndTimestamp<V>> {
    return WindowStores.timestampedWindowStoreBuilder(supplier, keySerde, valueSerde)
  },
  sessionStoreBuilder<K, V>(
    supplier: SessionBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): SessionStoreBuilder<K, V> {
    return WindowStores.sessionStoreBuilder(supplier, keySerde, valueSerde)
  },
  // Versioned key-value stores (state/versioned-store.ts).
  persistentVersionedKeyValueStore(
    name: string,
    historyRetentionMs: number,
    segmentIntervalMs?: number,
  ): VersionedBytesStoreSupplier {
    return VersionedStores.persistentVersionedKeyValueStore(name, historyRetentionMs, segmentIntervalMs)
  },
  inMemoryVersionedKeyValueStore(name: string, historyRetentionMs: number): VersionedBytesStoreSupplier {
    return VersionedStores.inMemoryVersionedKeyValueStore(name, historyRetentionMs)
  },
  versionedKeyValueStoreBuilder<K, V>(
    supplier: VersionedBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): VersionedKeyValueStoreBuilder<K, V> {
    return VersionedStores.versionedKeyValueStoreBuilder(supplier, keySerde, valueSerde)
  },
}
