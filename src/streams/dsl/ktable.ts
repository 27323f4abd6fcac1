import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { ChangeSerde } from '../processor/change-serde.ts'
import {
  type Aggregator,
  type Initializer,
  type KeyValueMapper,
  KTableAggregate,
  KTableFilter,
  KTableMapValues,
  type KTableParent,
  type KTableSupplier,
  ktableRepartitionMap,
  ktableToStream,
  type Predicate,
  type Reducer,
  type ValueGetterSupplier,
  type ValueMapperWithKey,
} from '../processor/dsl-processors.ts'
import type { ValueJoiner } from '../processor/join-processors.ts'
import {
  checkTransformerSupplier,
  KTableTransformValues,
  type ValueTransformerWithKeySupplier,
} from '../processor/ktable-transform-values.ts'
import { Serdes } from '../serdes.ts'
import { isVersionedSupplier } from '../state/versioned-store.ts'
import { type ForeignKeyExtractor, foreignKeyJoin } from './foreign-key-join.ts'
import type { InternalBuilder } from './internal-builder.ts'
import type { TableJoined } from './join-options.ts'
import { KStream } from './kstream.ts'
import { type Grouped, Materialized, Named } from './options.ts'
import { type Suppressed, suppress } from './suppress.ts'
import { type TableJoinType, tableTableJoin } from './table-joins.ts'
import { isVersionedTable } from './versioned.ts'

function nameOf(named: Named | string | undefined): string | undefined {
  return typeof named === 'string' ? Named.as(named).name : named?.name
}

/**
 * A changelog stream (Kafka Streams' KTable): the latest value per key; a null value deletes the key. Derived
 * tables (filter, mapValues) are materialized only when given a Materialized with a store name, as in Kafka
 * Streams; otherwise they compute from their parent.
 */
export class KTable<K, V> implements KTableParent {
  /** @internal */ readonly builder: InternalBuilder
  /** @internal */ readonly nodeName: string
  /** @internal */ readonly keySerde: SyncSerde<K> | undefined
  /** @internal */ readonly valueSerde: SyncSerde<V> | undefined
  /** @internal */ readonly supplier: KTableSupplier
  /** The store name when the table is queryable (materialized with a name), else undefined. */
  readonly queryableStoreName: string | undefined
  /**
   * @internal Whether the table's output is versioned (Kafka Streams' GraphNode#isOutputVersioned): true or false
   * when the operator decided it (a source table, toTable, an aggregation, a join: by its store; suppress: false),
   * undefined when it inherits from `parentTable` (filter and mapValues without a Materialized).
   */
  outputVersioned: boolean | undefined = undefined
  /** @internal The table this one inherits versioned semantics from (filter and mapValues). */
  parentTable: KTable<unknown, unknown> | undefined = undefined
  #sendOldValues = false

  /** @internal */
  constructor(
    builder: InternalBuilder,
    nodeName: string,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
    supplier: KTableSupplier,
    queryableStoreName: string | undefined,
  ) {
    this.builder = builder
    this.nodeName = nodeName
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.supplier = supplier
    this.queryableStoreName = queryableStoreName
  }

  /** @internal */
  enableSendingOldValues(forceMaterialization: boolean): boolean {
    if (!this.#sendOldValues) {
      if (!this.supplier.enableSendingOldValues(forceMaterialization)) return false
      this.#sendOldValues = true
    }
    return true
  }

  /** @internal */
  valueGetterSupplier(): ValueGetterSupplier<unknown, unknown> {
    return this.supplier.view()
  }

  #derived<VR>(
    prefix: string,
    named: Named | string | undefined,
    materialized: Materialized<K, VR> | undefined,
    valueSerde: SyncSerde<VR> | undefined,
    make: (queryable: string | undefined) => KTableSupplier,
    options: { burnStoreName: boolean; stores: string[] } = { burnStoreName: true, stores: [] },
  ): KTable<K, VR> {
    const b = this.builder
    b.check()
    // Kafka Streams' filter and mapValues burn a store name whenever a Materialized is given, named or not.
    let storeName = materialized?.storeName
    if (materialized && storeName === undefined && options.burnStoreName) b.newStoreName(prefix)
    const name = b.nameOr(nameOf(named), prefix)
    const keySerde = materialized?.keySerde ?? this.keySerde
    const vSerde = materialized?.valueSerde ?? valueSerde
    const queryable = materialized?.storeName
    const supplier = make(queryable)
    // Versioned semantics (KIP-914): a filter of a versioned table forwards every update, even null to null.
    if (supplier instanceof KTableFilter)
      supplier.useVersionedSemantics = isVersionedTable(this as KTable<unknown, unknown>)
    const parent = this.nodeName
    const stores = options.stores
    b.add((t) => {
      t.addProcessor(name, supplier, parent)
      if (queryable !== undefined) t.addStateStore(b.storeBuilder(queryable, materialized, keySerde, vSerde), name)
      if (stores.length > 0) t.connectProcessorAndStateStores(name, ...stores)
    })
    storeName = queryable
    const table = new KTable<K, VR>(b, name, keySerde, vSerde, supplier, storeName)
    // As Kafka Streams: a Materialized (named or not) decides the output; without one it is the parent's.
    table.parentTable = this as KTable<unknown, unknown>
    if (materialized) table.outputVersioned = isVersionedSupplier(materialized.storeSupplier)
    return table
  }

  filter(predicate: Predicate<K, V>, materialized?: Materialized<K, V>, named?: Named | string): KTable<K, V> {
    return this.#derived(
      'KTABLE-FILTER-',
      named,
      materialized,
      this.valueSerde,
      (q) => new KTableFilter(this, predicate, false, q),
    )
  }

  filterNot(predicate: Predicate<K, V>, materialized?: Materialized<K, V>, named?: Named | string): KTable<K, V> {
    return this.#derived(
      'KTABLE-FILTER-',
      named,
      materialized,
      this.valueSerde,
      (q) => new KTableFilter(this, predicate, true, q),
    )
  }

  mapValues<VR>(
    mapper: ValueMapperWithKey<K, V, VR>,
    materialized?: Materialized<K, VR>,
    named?: Named | string,
  ): KTable<K, VR> {
    return this.#derived(
      'KTABLE-MAPVALUES-',
      named,
      materialized,
      undefined,
      (q) => new KTableMapValues(this, mapper, q),
    )
  }

  /**
   * A table of transformed values (Kafka Streams' KTable#transformValues): like mapValues, but a transformer made
   * per task by `supplier` computes each value, with the stores named in `stateStoreNames` (added beforehand with
   * `builder.addStateStore`) and punctuation at hand. It sees deletions too (`transform(key, null)`); what it returns
   * is the new value, null deleting the row. Not materialized unless a Materialized with a store name is given;
   * otherwise joins and lookups below apply a transformer of their own to the parent's value.
   */
  transformValues<VR>(supplier: ValueTransformerWithKeySupplier<K, V, VR>, ...stateStoreNames: string[]): KTable<K, VR>
  transformValues<VR>(
    supplier: ValueTransformerWithKeySupplier<K, V, VR>,
    named: Named,
    ...stateStoreNames: string[]
  ): KTable<K, VR>
  transformValues<VR>(
    supplier: ValueTransformerWithKeySupplier<K, V, VR>,
    materialized: Materialized<K, VR>,
    ...stateStoreNames: string[]
  ): KTable<K, VR>
  transformValues<VR>(
    supplier: ValueTransformerWithKeySupplier<K, V, VR>,
    materialized: Materialized<K, VR>,
    named: Named,
    ...stateStoreNames: string[]
  ): KTable<K, VR>
  transformValues<VR>(
    supplier: ValueTransformerWithKeySupplier<K, V, VR>,
    ...rest: Array<Materialized<K, VR> | Named | string>
  ): KTable<K, VR> {
    this.builder.check()
    const materialized = rest[0] instanceof Materialized ? (rest.shift() as Materialized<K, VR>) : undefined
    const named = rest[0] instanceof Named ? (rest.shift() as Named) : undefined
    for (const store of rest) {
      if (typeof store !== 'string') {
        throw streamsError(
          'TRB_STREAMS_INVALID_ARGUMENT',
          'transformValues(supplier, materialized?, named?, ...stateStoreNames): store names must be strings, after ' +
            'the Materialized and the Named',
        )
      }
    }
    if (typeof supplier !== 'function' && typeof supplier?.get !== 'function') {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'transformValues() needs a supplier (a function or { get() })')
    }
    // Kafka Streams also gets two transformers while building (checking the processor supplier that wraps them); it
    // compares the processors, we compare the transformers: a shared one would serve every task and lookup.
    checkTransformerSupplier(supplier, 'transformValues()')
    // As Kafka Streams: no store name is generated for a Materialized without one (unlike mapValues).
    return this.#derived(
      'KTABLE-TRANSFORMVALUES-',
      named,
      materialized,
      undefined,
      (q) => new KTableTransformValues(this, supplier, q),
      { burnStoreName: false, stores: rest as string[] },
    )
  }

  /** Holds back updates: final results per window (untilWindowCloses) or at most one per key per time limit. */
  suppress(suppressed: Suppressed): KTable<K, V> {
    return suppress(this, suppressed)
  }

  /** The table's updates as a stream (deletes are records with a null value). */
  toStream(named?: Named | string): KStream<K, V> {
    const b = this.builder
    b.check()
    const name = b.nameOr(nameOf(named), 'KTABLE-TOSTREAM-')
    const parent = this.nodeName
    b.add((t) => t.addProcessor(name, ktableToStream(), parent))
    return new KStream<K, V>(b, name, this.keySerde, this.valueSerde, false)
  }

  /**
   * Inner join with another table on the key (both tables are materialized): a row exists in the result while both
   * sides have one; an update on either side emits the joined row (its timestamp the larger of the two inputs'),
   * a deletion on either side deletes it. The result is materialized only when a Materialized is given.
   *
   * With a foreign-key extractor instead, joins each row with the row of `other` whose key the extractor returns
   * from the row's value (Kafka Streams' foreign-key join; see docs/streams/joins.md).
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO, VR>,
    named?: Named | string,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>
  join<VO, VR>(other: KTable<K, VO>, joiner: ValueJoiner<V, VO, VR>, materialized: Materialized<K, VR>): KTable<K, VR>
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>,
    joiner: ValueJoiner<V, VO, VR>,
    tableJoined?: TableJoined<K, KO>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>,
    joiner: ValueJoiner<V, VO, VR>,
    materialized: Materialized<K, VR>,
  ): KTable<K, VR>
  // biome-ignore lint/suspicious/noExplicitAny: the implementation of the typed overloads above
  join(other: KTable<any, any>, a: unknown, b?: unknown, c?: unknown, d?: unknown): KTable<K, any> {
    return this.#join('inner', other, a, b, c, d)
  }

  /**
   * Left join with another table on the key: every row of this table is in the result, joined with the other
   * table's row or with null. With a foreign-key extractor, a left foreign-key join.
   */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR>,
    named?: Named | string,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR>,
    materialized: Materialized<K, VR>,
  ): KTable<K, VR>
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>,
    joiner: ValueJoiner<V, VO | null, VR>,
    tableJoined?: TableJoined<K, KO>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>,
    joiner: ValueJoiner<V, VO | null, VR>,
    materialized: Materialized<K, VR>,
  ): KTable<K, VR>
  // biome-ignore lint/suspicious/noExplicitAny: the implementation of the typed overloads above
  leftJoin(other: KTable<any, any>, a: unknown, b?: unknown, c?: unknown, d?: unknown): KTable<K, any> {
    return this.#join('left', other, a, b, c, d)
  }

  /** Outer join with another table on the key: a row exists while either side has one (the other side null). */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR>,
    named?: Named | string,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR>,
    materialized: Materialized<K, VR>,
  ): KTable<K, VR>
  // biome-ignore lint/suspicious/noExplicitAny: the implementation of the typed overloads above
  outerJoin(other: KTable<any, any>, a: unknown, b?: unknown, c?: unknown): KTable<K, any> {
    return this.#join('outer', other, a, b, c, undefined)
  }

  #join(
    type: TableJoinType,
    other: KTable<unknown, unknown>,
    a: unknown,
    b: unknown,
    c: unknown,
    d: unknown,
  ): KTable<K, unknown> {
    if (type !== 'outer' && typeof b === 'function') {
      const [tableJoined, materialized] =
        c instanceof Materialized ? [undefined, c] : [c as TableJoined<K, unknown> | undefined, d]
      return foreignKeyJoin(
        this,
        other,
        a as ForeignKeyExtractor<K, V, unknown>,
        b as ValueJoiner<V | null, unknown, unknown>,
        tableJoined,
        materialized as Materialized<K, unknown> | undefined,
        type === 'left',
      )
    }
    const [named, materialized] = b instanceof Materialized ? [undefined, b] : [b as Named | string | undefined, c]
    return tableTableJoin(
      this as KTable<K, V>,
      other as KTable<K, unknown>,
      a as ValueJoiner<V | null, unknown, unknown>,
      nameOf(named),
      materialized as Materialized<K, unknown> | undefined,
      type,
    )
  }

  /** Re-groups the table by a new key; the aggregation subtracts a row's old value and adds its new one. */
  groupBy<KR, VR>(
    selector: KeyValueMapper<K, V, { key: KR; value: VR }>,
    grouped?: Grouped<KR, VR>,
  ): KGroupedTable<KR, VR> {
    const b = this.builder
    b.check()
    const name = b.nameOr(grouped?.name, 'KTABLE-SELECT-')
    const parent = this.nodeName
    // Versioned semantics (KIP-914): out-of-order updates of a versioned table are not re-grouped.
    const versioned = isVersionedTable(this as KTable<unknown, unknown>)
    b.add((t) => t.addProcessor(name, ktableRepartitionMap(selector, versioned), parent))
    this.enableSendingOldValues(true)
    return new KGroupedTable<KR, VR>(b, name, grouped?.keySerde, grouped?.valueSerde, grouped?.name)
  }
}

/** A table re-grouped by a new key (Kafka Streams' KGroupedTable). */
export class KGroupedTable<K, V> {
  readonly #builder: InternalBuilder
  readonly #nodeName: string
  readonly #keySerde: SyncSerde<K> | undefined
  readonly #valueSerde: SyncSerde<V> | undefined
  readonly #repartitionName: string | undefined
  #repartitionSource: string | undefined

  /** @internal */
  constructor(
    builder: InternalBuilder,
    nodeName: string,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
    repartitionName: string | undefined,
  ) {
    this.#builder = builder
    this.#nodeName = nodeName
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#repartitionName = repartitionName
  }

  #aggregate<A>(
    prefix: string,
    named: Named | string | undefined,
    materialized: Materialized<K, A> | undefined,
    valueSerde: SyncSerde<A> | undefined,
    make: (storeName: string) => KTableAggregate<K, V, A>,
  ): KTable<K, A> {
    const b = this.#builder
    b.check()
    const storeName = materialized?.storeName ?? b.newStoreName('KTABLE-AGGREGATE-')
    const userName = nameOf(named)
    const genSink = b.newProcessorName('KSTREAM-SINK-')
    const genSource = b.newProcessorName('KSTREAM-SOURCE-')
    const sink = userName !== undefined ? `${userName}-sink` : genSink
    const source = userName !== undefined ? `${userName}-source` : genSource
    const name = b.nameOr(userName, prefix)
    const topic = `${this.#repartitionName ?? storeName}-repartition`
    const keySerde = materialized?.keySerde ?? this.#keySerde
    const vSerde = materialized?.valueSerde ?? valueSerde
    let from = this.#repartitionSource
    if (!from || this.#repartitionName === undefined) {
      const parent = this.#nodeName
      const changeSerde = new ChangeSerde(this.#valueSerde)
      const kSerde = this.#keySerde
      b.add((t) => {
        t.addInternalTopic(topic)
        t.addSink(
          { name: sink, keySerde: kSerde as SyncSerde<never>, valueSerde: changeSerde as unknown as SyncSerde<never> },
          topic,
          parent,
        )
        t.addSource(
          {
            name: source,
            keySerde: kSerde as SyncSerde<unknown>,
            valueSerde: changeSerde as unknown as SyncSerde<unknown>,
          },
          topic,
        )
      })
      from = source
      this.#repartitionSource = source
    }
    const supplier = make(storeName)
    const parentSource = from
    b.add((t) => {
      t.addProcessor(name, supplier, parentSource)
      t.addStateStore(b.storeBuilder(storeName, materialized, keySerde, vSerde), name)
    })
    const table = new KTable<K, A>(b, name, keySerde, vSerde, supplier, materialized?.storeName)
    table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
    return table
  }

  count(materialized?: Materialized<K, number>, named?: Named | string): KTable<K, number> {
    return this.#aggregate(
      'KTABLE-AGGREGATE-',
      named,
      materialized,
      Serdes.Long(),
      (store) =>
        new KTableAggregate<K, V, number>(
          store,
          () => 0,
          (_k, _v, n) => n + 1,
          (_k, _v, n) => n - 1,
        ),
    )
  }

  reduce(
    adder: Reducer<V>,
    subtractor: Reducer<V>,
    materialized?: Materialized<K, V>,
    named?: Named | string,
  ): KTable<K, V> {
    return this.#aggregate(
      'KTABLE-REDUCE-',
      named,
      materialized,
      this.#valueSerde,
      (store) =>
        new KTableAggregate<K, V, V>(
          store,
          null,
          (_k, v, agg) => adder(agg, v),
          (_k, v, agg) => subtractor(agg, v),
        ),
    )
  }

  aggregate<A>(
    initializer: Initializer<A>,
    adder: Aggregator<K, V, A>,
    subtractor: Aggregator<K, V, A>,
    materialized?: Materialized<K, A>,
    named?: Named | string,
  ): KTable<K, A> {
    return this.#aggregate(
      'KTABLE-AGGREGATE-',
      named,
      materialized,
      undefined,
      (store) => new KTableAggregate<K, V, A>(store, initializer, adder, subtractor),
    )
  }
}

/** A table replicated in full on every instance (Kafka Streams' GlobalKTable): read by joins and queries. */
export class GlobalKTable<K, V> {
  readonly queryableStoreName: string
  /** @internal */ readonly keySerde: SyncSerde<K> | undefined
  /** @internal */ readonly valueSerde: SyncSerde<V> | undefined
  constructor(storeName: string, keySerde: SyncSerde<K> | undefined, valueSerde: SyncSerde<V> | undefined) {
    this.queryableStoreName = storeName
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }
}
