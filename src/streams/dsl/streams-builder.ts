import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { KTableSource } from '../processor/dsl-processors.ts'
import type { StoreBuilder } from '../state/stores.ts'
import { isVersionedSupplier } from '../state/versioned-store.ts'
import { Topology } from '../topology/topology.ts'
import { InternalBuilder } from './internal-builder.ts'
import { KStream } from './kstream.ts'
import { GlobalKTable, KTable } from './ktable.ts'
import type { Consumed, Materialized } from './options.ts'

/**
 * Builds a topology with the DSL (Kafka Streams' StreamsBuilder). Node and store names are generated as Kafka
 * Streams generates them, so `build().describe()` reads like Kafka Streams' output for the same program.
 */
export class StreamsBuilder {
  readonly #internal = new InternalBuilder()
  readonly #topology = new Topology()

  /** A stream of one or more topics, or of every topic matching a RegExp. */
  stream<K = unknown, V = unknown>(topics: string | string[] | RegExp, consumed?: Consumed<K, V>): KStream<K, V> {
    const b = this.#internal
    b.check()
    const list = topics instanceof RegExp ? [topics] : Array.isArray(topics) ? topics : [topics]
    if (list.length === 0) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'stream() needs at least one topic')
    const name = b.nameOr(consumed?.name, 'KSTREAM-SOURCE-')
    b.add((t) =>
      t.addSource(
        {
          name,
          keySerde: consumed?.keySerde as SyncSerde<unknown>,
          valueSerde: consumed?.valueSerde as SyncSerde<unknown>,
          timestampExtractor: consumed?.timestampExtractor,
          offsetReset: consumed?.offsetReset,
        },
        ...list,
      ),
    )
    return new KStream<K, V>(b, name, consumed?.keySerde, consumed?.valueSerde, false)
  }

  /** A table of a topic: the latest value per key (materialized when named or when a downstream operator needs it). */
  table<K = unknown, V = unknown>(
    topic: string,
    consumed?: Consumed<K, V>,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    const b = this.#internal
    b.check()
    const keySerde = materialized?.keySerde ?? consumed?.keySerde
    const valueSerde = materialized?.valueSerde ?? consumed?.valueSerde
    const storeName = materialized?.storeName ?? b.newStoreName(`${topic}-`)
    const source = consumed?.name !== undefined ? `${consumed.name}-source` : undefined
    const sourceName = b.nameOr(source, 'KSTREAM-SOURCE-')
    const tableName = b.nameOr(consumed?.name, 'KTABLE-SOURCE-')
    const tableSource = new KTableSource<K, V>(storeName, materialized?.storeName)
    b.add((t) => {
      t.addSource(
        {
          name: sourceName,
          keySerde: keySerde as SyncSerde<unknown>,
          valueSerde: valueSerde as SyncSerde<unknown>,
          timestampExtractor: consumed?.timestampExtractor,
          offsetReset: consumed?.offsetReset,
        },
        topic,
      )
      t.addProcessor(tableName, tableSource, sourceName)
      if (tableSource.materialized)
        t.addStateStore(b.storeBuilder(storeName, materialized, keySerde, valueSerde), tableName)
    })
    const table = new KTable<K, V>(b, tableName, keySerde, valueSerde, tableSource, materialized?.storeName)
    table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
    return table
  }

  /** A global table: every instance reads all partitions of `topic` into a local store. */
  globalTable<K = unknown, V = unknown>(
    topic: string,
    consumed?: Consumed<K, V>,
    materialized?: Materialized<K, V>,
  ): GlobalKTable<K, V> {
    const b = this.#internal
    b.check()
    // As Kafka Streams (InternalStreamsBuilder#globalTable): a global table cannot be versioned.
    if (isVersionedSupplier(materialized?.storeSupplier)) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'GlobalTables cannot be versioned.')
    }
    const keySerde = materialized?.keySerde ?? consumed?.keySerde
    const valueSerde = materialized?.valueSerde ?? consumed?.valueSerde
    const storeName = materialized?.storeName ?? b.newStoreName(`${topic}-`)
    const sourceName = b.nameOr(consumed?.name !== undefined ? `${consumed.name}-source` : undefined, 'KSTREAM-SOURCE-')
    const processorName = b.nameOr(consumed?.name, 'KTABLE-SOURCE-')
    const tableSource = new KTableSource<K, V>(storeName, storeName)
    b.add((t) => {
      const builder = b.storeBuilder(storeName, materialized, keySerde, valueSerde).withLoggingDisabled()
      t.addGlobalStore(
        builder,
        sourceName,
        {
          keySerde: keySerde as SyncSerde<unknown>,
          valueSerde: valueSerde as SyncSerde<unknown>,
          timestampExtractor: consumed?.timestampExtractor,
        },
        topic,
        processorName,
        tableSource as never,
      )
    })
    return new GlobalKTable<K, V>(storeName, keySerde, valueSerde)
  }

  /** Adds a store for Processor API processors (connect it by naming it in process()). */
  addStateStore(builder: StoreBuilder): this {
    this.#internal.add((t) => t.addStateStore(builder))
    return this
  }

  /** The topology. A builder builds once: operators called afterwards fail with TRB_STREAMS_TOPOLOGY_BUILT. */
  build(): Topology {
    if (this.#internal.built) return this.#topology
    this.#internal.writeTo(this.#topology)
    this.#internal.built = true
    return this.#topology
  }
}
