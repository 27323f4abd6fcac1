import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import { kstreamFilter } from '../processor/dsl-processors.ts'
import { FailOnInvalidTimestamp } from '../processor/timestamp-extractor.ts'
import { type KeyValueStoreBuilder, Stores } from '../state/stores.ts'
import {
  isVersionedSupplier,
  type VersionedBytesStoreSupplier,
  VersionedKeyValueStoreBuilder,
} from '../state/versioned-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { Materialized } from './options.ts'

export const REPARTITION_SUFFIX = '-repartition'

/**
 * The DSL's bookkeeping (Kafka Streams' InternalStreamsBuilder): one counter for generated names, and the write
 * actions that put nodes into the Topology at build(), in the order operators were called, so that late decisions
 * (a KTable source materialized because a downstream operator needs old values) are taken into account.
 */
export class InternalBuilder {
  #index = 0
  readonly #actions: Array<(t: Topology) => void> = []
  built = false

  check(): void {
    if (this.built) {
      throw streamsError(
        'TRB_STREAMS_TOPOLOGY_BUILT',
        'the StreamsBuilder was already built: operators added after build() would not be in the topology; ' +
          'call them before build(), or use a new StreamsBuilder',
      )
    }
  }

  newProcessorName(prefix: string): string {
    return prefix + String(this.#index++).padStart(10, '0')
  }

  newStoreName(prefix: string): string {
    return `${prefix}STATE-STORE-${String(this.#index++).padStart(10, '0')}`
  }

  /** A user's name, or a generated one (the counter is advanced either way, as Kafka Streams does). */
  nameOr(given: string | undefined, prefix: string): string {
    const generated = this.newProcessorName(prefix)
    return given ?? generated
  }

  add(write: (t: Topology) => void): void {
    this.check()
    this.#actions.push(write)
  }

  /** Keeps a place in the write order for a node whose details are known later (split()'s branch processor). */
  reserve(): (write: (t: Topology) => void) => void {
    this.check()
    const index = this.#actions.length
    this.#actions.push(() => {
      throw streamsError(
        'TRB_STREAMS_INVALID_TOPOLOGY',
        'split() was not ended with defaultBranch() or noDefaultBranch()',
      )
    })
    return (write) => {
      this.#actions[index] = write
    }
  }

  writeTo(topology: Topology): void {
    for (const write of this.#actions) write(topology)
  }

  /**
   * Sink → repartition topic → source, as Kafka Streams' createRepartitionedSource: returns the source name. The
   * generated names burn three counter values even when a name is given.
   */
  repartition<K, V>(
    parent: string,
    prefix: string,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
    options: { numberOfPartitions?: number; partitioner?: StreamPartitioner<K, V>; withFilter?: boolean } = {},
  ): string {
    const topic = prefix.endsWith(REPARTITION_SUFFIX) ? prefix : prefix + REPARTITION_SUFFIX
    const genSink = this.newProcessorName('KSTREAM-SINK-')
    const genFilter = this.newProcessorName('KSTREAM-FILTER-')
    const genSource = this.newProcessorName('KSTREAM-SOURCE-')
    const generated = /^KSTREAM.*-[0-9]{10}$/.test(prefix)
    const sink = generated ? genSink : `${topic}-sink`
    const filter = generated ? genFilter : `${topic}-filter`
    const source = generated ? genSource : `${topic}-source`
    const withFilter = options.withFilter !== false
    this.add((t) => {
      t.addInternalTopic(topic, options.numberOfPartitions)
      if (withFilter)
        t.addProcessor(
          filter,
          kstreamFilter(() => true, false),
          parent,
        )
      t.addSink(
        {
          name: sink,
          keySerde: keySerde as SyncSerde<never>,
          valueSerde: valueSerde as SyncSerde<never>,
          partitioner: options.partitioner as StreamPartitioner<never, never>,
        },
        topic,
        withFilter ? filter : parent,
      )
      t.addSource(
        {
          name: source,
          keySerde: keySerde as SyncSerde<unknown>,
          valueSerde: valueSerde as SyncSerde<unknown>,
          timestampExtractor: FailOnInvalidTimestamp,
        },
        topic,
      )
    })
    return source
  }

  /**
   * The store a Materialized describes (Kafka Streams' KeyValueStoreMaterializer): timestamped, cached and logged by
   * default; with a versioned store supplier (KIP-914), a versioned store, logged as the Materialized says and never
   * cached (Kafka Streams ignores withCachingEnabled for them too).
   */
  storeBuilder<K, V>(
    storeName: string,
    m: Materialized<K, V> | undefined,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ): KeyValueStoreBuilder<K, unknown> {
    if (isVersionedSupplier(m?.storeSupplier)) {
      const versioned = new VersionedKeyValueStoreBuilder<K, V>(
        m!.storeSupplier as unknown as VersionedBytesStoreSupplier,
        keySerde,
        valueSerde,
      )
      if (!m!.loggingEnabled) versioned.withLoggingDisabled()
      else versioned.withLoggingEnabled(m!.logConfig)
      return versioned as unknown as KeyValueStoreBuilder<K, unknown>
    }
    const supplier =
      m?.storeSupplier ??
      (m?.storeType === 'in_memory'
        ? Stores.inMemoryKeyValueStore(storeName)
        : m?.storeType === 'lmdb'
          ? Stores.persistentKeyValueStore(storeName)
          : Stores.dslKeyValueStore(storeName))
    const builder = Stores.timestampedKeyValueStoreBuilder<K, V>(supplier, keySerde, valueSerde)
    if (m && !m.cachingEnabled) builder.withCachingDisabled()
    else builder.withCachingEnabled()
    if (m && !m.loggingEnabled) builder.withLoggingDisabled()
    else builder.withLoggingEnabled(m?.logConfig ?? {})
    return builder as unknown as KeyValueStoreBuilder<K, unknown>
  }
}
