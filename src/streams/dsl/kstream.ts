import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { ProcessorSupplier, TopicNameExtractor } from '../processor/api.ts'
import {
  type Aggregator,
  type Initializer,
  type KeyValueMapper,
  KStreamAggregate,
  KTableSource,
  kstreamBranch,
  kstreamFilter,
  kstreamFlatMap,
  kstreamFlatMapValues,
  kstreamMap,
  kstreamMapValues,
  kstreamPeek,
  type Predicate,
  passThrough,
  type Reducer,
  type ValueMapperWithKey,
} from '../processor/dsl-processors.ts'
import type { ValueJoinerWithKey } from '../processor/join-processors.ts'
import { Serdes } from '../serdes.ts'
import { isVersionedSupplier } from '../state/versioned-store.ts'
import type { InternalBuilder } from './internal-builder.ts'
import type { Joined } from './join-options.ts'
import { GlobalKTable, KTable } from './ktable.ts'
import { type Branched, type Grouped, type Materialized, Named, type Produced, type Repartitioned } from './options.ts'
import { type StreamJoined, streamStreamJoin } from './stream-stream-join.ts'
import { streamGlobalTableJoin, streamTableJoin } from './table-joins.ts'
import { type SessionWindowedKStream, type TimeWindowedKStream, windowedBy } from './windowed-kstream.ts'
import type { JoinWindows, SessionWindows, SlidingWindows, TimeWindows } from './windows.ts'

type KV<K, V> = { key: K; value: V }

function nameOf(named: Named | string | undefined): string | undefined {
  return typeof named === 'string' ? Named.as(named).name : named?.name
}

/**
 * A record stream (Kafka Streams' KStream): every record is an independent event. Operators return new streams;
 * types flow through the chain. Serdes follow Kafka Streams' rules: key-changing operators drop the key serde,
 * value-changing ones the value serde, so give serdes again where a repartition or a sink needs them.
 */
export class KStream<K, V> {
  /** @internal */ readonly builder: InternalBuilder
  /** @internal */ readonly nodeName: string
  /** @internal */ readonly keySerde: SyncSerde<K> | undefined
  /** @internal */ readonly valueSerde: SyncSerde<V> | undefined
  /** @internal */ readonly repartitionRequired: boolean

  /** @internal */
  constructor(
    builder: InternalBuilder,
    nodeName: string,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
    repartitionRequired: boolean,
  ) {
    this.builder = builder
    this.nodeName = nodeName
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.repartitionRequired = repartitionRequired
  }

  #processor<K2, V2>(
    prefix: string,
    named: Named | string | undefined,
    supplier: ProcessorSupplier<never, never, never, never>,
    next: { keySerde: SyncSerde<K2> | undefined; valueSerde: SyncSerde<V2> | undefined; repartition: boolean },
    stores: string[] = [],
  ): KStream<K2, V2> {
    this.builder.check()
    const name = this.builder.nameOr(nameOf(named), prefix)
    const parent = this.nodeName
    this.builder.add((t) => {
      t.addProcessor(name, supplier, parent)
      if (stores.length > 0) t.connectProcessorAndStateStores(name, ...stores)
    })
    return new KStream<K2, V2>(this.builder, name, next.keySerde, next.valueSerde, next.repartition)
  }

  #same(): { keySerde: SyncSerde<K> | undefined; valueSerde: SyncSerde<V> | undefined; repartition: boolean } {
    return { keySerde: this.keySerde, valueSerde: this.valueSerde, repartition: this.repartitionRequired }
  }

  filter(predicate: Predicate<K, V>, named?: Named | string): KStream<K, V> {
    return this.#processor('KSTREAM-FILTER-', named, kstreamFilter(predicate, false), this.#same())
  }

  filterNot(predicate: Predicate<K, V>, named?: Named | string): KStream<K, V> {
    return this.#processor('KSTREAM-FILTER-', named, kstreamFilter(predicate, true), this.#same())
  }

  /** A new key per record; marks the stream for repartitioning before grouping or joining. */
  selectKey<KR>(mapper: KeyValueMapper<K, V, KR>, named?: Named | string): KStream<KR, V> {
    return this.#processor(
      'KSTREAM-KEY-SELECT-',
      named,
      kstreamMap((k: K, v: V) => ({ key: mapper(k, v), value: v })),
      {
        keySerde: undefined,
        valueSerde: this.valueSerde,
        repartition: true,
      },
    )
  }

  /** A new key and value per record (return `KeyValue.pair(k, v)` or `{ key, value }`). */
  map<KR, VR>(mapper: KeyValueMapper<K, V, KV<KR, VR>>, named?: Named | string): KStream<KR, VR> {
    return this.#processor('KSTREAM-MAP-', named, kstreamMap(mapper), {
      keySerde: undefined,
      valueSerde: undefined,
      repartition: true,
    })
  }

  /** A new value per record; the mapper also receives the (read-only) key as second argument. */
  mapValues<VR>(mapper: ValueMapperWithKey<K, V, VR>, named?: Named | string): KStream<K, VR> {
    return this.#processor('KSTREAM-MAPVALUES-', named, kstreamMapValues(mapper), {
      keySerde: this.keySerde,
      valueSerde: undefined,
      repartition: this.repartitionRequired,
    })
  }

  flatMap<KR, VR>(mapper: KeyValueMapper<K, V, Iterable<KV<KR, VR>>>, named?: Named | string): KStream<KR, VR> {
    return this.#processor('KSTREAM-FLATMAP-', named, kstreamFlatMap(mapper), {
      keySerde: undefined,
      valueSerde: undefined,
      repartition: true,
    })
  }

  flatMapValues<VR>(mapper: ValueMapperWithKey<K, V, Iterable<VR>>, named?: Named | string): KStream<K, VR> {
    return this.#processor('KSTREAM-FLATMAPVALUES-', named, kstreamFlatMapValues(mapper), {
      keySerde: this.keySerde,
      valueSerde: undefined,
      repartition: this.repartitionRequired,
    })
  }

  peek(action: (key: K, value: V) => void, named?: Named | string): KStream<K, V> {
    return this.#processor('KSTREAM-PEEK-', named, kstreamPeek(action, true), this.#same())
  }

  /** Terminal: runs `action` on every record. */
  foreach(action: (key: K, value: V) => void, named?: Named | string): void {
    this.#processor('KSTREAM-FOREACH-', named, kstreamPeek(action, false), this.#same())
  }

  /** Terminal: prints every record (Kafka Streams' print(Printed.toSysOut())). */
  print(label = this.nodeName, named?: Named | string): void {
    this.#processor(
      'KSTREAM-PRINTER-',
      named,
      kstreamPeek((k: K, v: V) => console.log(`[${label}]: ${String(k)}, ${String(v)}`), false),
      this.#same(),
    )
  }

  /** Splits the stream by predicates: `split().branch(p1).branch(p2).defaultBranch()` returns the branches by name. */
  split(named?: Named | string): BranchedKStream<K, V> {
    this.builder.check()
    return new BranchedKStream(this, nameOf(named))
  }

  merge(other: KStream<K, V>, named?: Named | string): KStream<K, V> {
    this.builder.check()
    if (other.builder !== this.builder) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'merge(): both streams must come from the same StreamsBuilder')
    }
    const name = this.builder.nameOr(nameOf(named), 'KSTREAM-MERGE-')
    const parents = [this.nodeName, other.nodeName]
    this.builder.add((t) => t.addProcessor(name, passThrough(), ...parents))
    return new KStream<K, V>(
      this.builder,
      name,
      undefined,
      undefined,
      this.repartitionRequired || other.repartitionRequired,
    )
  }

  /** Processes with a Processor API processor; `stores` are connected to it. */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...stores: string[]): KStream<KR, VR>
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, named: Named, ...stores: string[]): KStream<KR, VR>
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...rest: Array<Named | string>): KStream<KR, VR> {
    this.builder.check()
    const named = rest[0] instanceof Named ? (rest.shift() as Named) : undefined
    const stores = rest as string[]
    const generated = this.builder.newProcessorName('KSTREAM-PROCESSOR-')
    const name = named?.name ?? generated
    const parent = this.nodeName
    this.builder.add((t) => {
      t.addProcessor(name, supplier as ProcessorSupplier<never, never, never, never>, parent)
      if (stores.length > 0) t.connectProcessorAndStateStores(name, ...stores)
    })
    return new KStream<KR, VR>(this.builder, name, undefined, undefined, true)
  }

  /** Terminal: writes the stream to a topic, or to the topic `extractor` names per record. */
  to(topic: string | TopicNameExtractor<K, V>, produced?: Produced<K, V>): void {
    this.builder.check()
    const name = this.builder.nameOr(produced?.name, 'KSTREAM-SINK-')
    const keySerde = produced?.keySerde ?? this.keySerde
    const valueSerde = produced?.valueSerde ?? this.valueSerde
    const parent = this.nodeName
    this.builder.add((t) =>
      t.addSink(
        {
          name,
          keySerde: keySerde as SyncSerde<never>,
          valueSerde: valueSerde as SyncSerde<never>,
          partitioner: produced?.partitioner as never,
        },
        topic as string,
        parent,
      ),
    )
  }

  /**
   * Joins each record with a table (Kafka Streams' KStream-KTable and KStream-GlobalKTable inner joins). Only stream
   * records trigger the join; a record whose key has no row in the table is dropped, as are records with a null key
   * or value. The joiner gets the stream value, the table value and the record's key; the output keeps the stream
   * record's key and timestamp. A stream whose key changed is repartitioned first (the table's topic and the
   * repartition topic are co-partitioned). With a GlobalKTable, `keySelector` maps each record to the table's key and
   * nothing is repartitioned.
   *
   * With another KStream and JoinWindows it is the windowed KStream-KStream inner join: each pair of records with the
   * same key whose timestamps are within the windows. Output timestamp: the larger of the two. The joiner gets
   * (this value, other value, key).
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoinerWithKey<K, V, VO, VR>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: ValueJoinerWithKey<K, V, VT, VR>,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>
  join<GK, GV, VR>(
    globalTable: GlobalKTable<GK, GV>,
    keySelector: KeyValueMapper<K, V, GK>,
    joiner: ValueJoinerWithKey<K, V, GV, VR>,
    named?: Named | string,
  ): KStream<K, VR>
  join(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    if (other instanceof KStream) return this.#streamJoin('inner', other, a, b, c)
    return this.#tableJoin(false, other, a, b, c)
  }

  /**
   * Left join with a table: as join(), but a record without a row in the table is joined with null (and a record
   * whose key, or mapped key, is null is kept too, joined with null, as Kafka Streams 4.x does). With another KStream
   * and JoinWindows, the windowed left join: records of this stream without a match are joined with null once their
   * window closes.
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoinerWithKey<K, V, VO | null, VR>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: ValueJoinerWithKey<K, V, VT | null, VR>,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>
  leftJoin<GK, GV, VR>(
    globalTable: GlobalKTable<GK, GV>,
    keySelector: KeyValueMapper<K, V, GK>,
    joiner: ValueJoinerWithKey<K, V, GV | null, VR>,
    named?: Named | string,
  ): KStream<K, VR>
  leftJoin(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    if (other instanceof KStream) return this.#streamJoin('left', other, a, b, c)
    return this.#tableJoin(true, other, a, b, c)
  }

  #streamJoin(kind: 'inner' | 'left', other: KStream<K, unknown>, a: unknown, b: unknown, c: unknown) {
    return streamStreamJoin(
      this,
      other,
      a as never,
      b as JoinWindows,
      c as StreamJoined<K, V, unknown> | undefined,
      kind,
    )
  }

  #tableJoin(left: boolean, other: unknown, a: unknown, b: unknown, c: unknown): KStream<K, unknown> {
    if (other instanceof GlobalKTable) {
      return streamGlobalTableJoin(
        this,
        other,
        a as KeyValueMapper<K, V, unknown>,
        b as ValueJoinerWithKey<K, V, unknown, unknown>,
        nameOf(c as Named | string | undefined),
        left,
      )
    }
    if (other instanceof KTable) {
      return streamTableJoin(
        this,
        other as KTable<K, unknown>,
        a as ValueJoinerWithKey<K, V, unknown, unknown>,
        b as Joined<K, V, unknown> | undefined,
        left,
      )
    }
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${left ? 'leftJoin' : 'join'}(): the other side must be a KStream, a KTable or a GlobalKTable`,
    )
  }

  /** Writes through an internal topic `<application.id>-<name>-repartition` and reads it back. */
  repartition(repartitioned?: Repartitioned<K, V>): KStream<K, V> {
    this.builder.check()
    const name = repartitioned?.name ?? this.builder.newProcessorName('KSTREAM-REPARTITION-')
    const keySerde = repartitioned?.keySerde ?? this.keySerde
    const valueSerde = repartitioned?.valueSerde ?? this.valueSerde
    const source = this.builder.repartition(this.nodeName, name, keySerde, valueSerde, {
      numberOfPartitions: repartitioned?.numberOfPartitions,
      partitioner: repartitioned?.partitioner,
    })
    return new KStream<K, V>(this.builder, source, keySerde, valueSerde, false)
  }

  /** The stream as a table: the latest value per key (null values delete). */
  toTable(named?: Named | string, materialized?: Materialized<K, V>): KTable<K, V> {
    this.builder.check()
    const name = this.builder.nameOr(nameOf(named), 'KSTREAM-TOTABLE-')
    const storeName = materialized?.storeName ?? this.builder.newStoreName('KSTREAM-TOTABLE-')
    const keySerde = materialized?.keySerde ?? this.keySerde
    const valueSerde = materialized?.valueSerde ?? this.valueSerde
    let parent = this.nodeName
    if (this.repartitionRequired) parent = this.builder.repartition(parent, name, keySerde, valueSerde)
    const source = new KTableSource<K, V>(storeName, materialized?.storeName)
    const builder = this.builder
    builder.add((t) => {
      t.addProcessor(name, source, parent)
      if (source.materialized)
        t.addStateStore(builder.storeBuilder(storeName, materialized, keySerde, valueSerde), name)
    })
    const table = new KTable<K, V>(builder, name, keySerde, valueSerde, source, materialized?.storeName)
    table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
    return table
  }

  /** Windowed outer join: unmatched records of either side are joined with null once their window closes. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value1: V | null, value2: VO | null, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return streamStreamJoin(this, other, joiner, windows, streamJoined, 'outer')
  }

  groupByKey(grouped?: Grouped<K, V>): KGroupedStream<K, V> {
    this.builder.check()
    return new KGroupedStream<K, V>(
      this,
      this.nodeName,
      grouped?.keySerde ?? this.keySerde,
      grouped?.valueSerde ?? this.valueSerde,
      this.repartitionRequired,
      grouped?.name,
    )
  }

  groupBy<KR>(selector: KeyValueMapper<K, V, KR>, grouped?: Grouped<KR, V>): KGroupedStream<KR, V> {
    this.builder.check()
    const name = this.builder.nameOr(grouped?.name, 'KSTREAM-KEY-SELECT-')
    const parent = this.nodeName
    this.builder.add((t) =>
      t.addProcessor(
        name,
        kstreamMap((k: K, v: V) => ({ key: selector(k, v), value: v })),
        parent,
      ),
    )
    const selected = new KStream<KR, V>(this.builder, name, undefined, this.valueSerde, true)
    return new KGroupedStream<KR, V>(
      selected,
      name,
      grouped?.keySerde,
      grouped?.valueSerde ?? this.valueSerde,
      true,
      grouped?.name,
    )
  }
}

/** The result of split(): add branches, then end with defaultBranch() or noDefaultBranch(). */
export class BranchedKStream<K, V> {
  readonly #stream: KStream<K, V>
  readonly #prefix: string | undefined
  readonly #splitName: string
  readonly #fill: (write: (t: import('../topology/topology.ts').Topology) => void) => void
  readonly #branches: Array<{ predicate: Predicate<K, V> | null; child: string }> = []
  readonly #result = new Map<string, KStream<K, V>>()
  #done = false

  constructor(stream: KStream<K, V>, name: string | undefined) {
    this.#stream = stream
    this.#prefix = name
    this.#splitName = stream.builder.nameOr(name, 'KSTREAM-BRANCH-')
    this.#fill = stream.builder.reserve()
  }

  branch(predicate: Predicate<K, V>, branched?: Branched<K, V>): this {
    this.#add(predicate, branched)
    return this
  }

  defaultBranch(branched?: Branched<K, V>): Map<string, KStream<K, V>> {
    this.#add(null, branched)
    return this.#finish()
  }

  noDefaultBranch(): Map<string, KStream<K, V>> {
    return this.#finish()
  }

  #add(predicate: Predicate<K, V> | null, branched: Branched<K, V> | undefined) {
    const b = this.#stream.builder
    b.check()
    if (this.#done)
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        'split(): no branch can be added after defaultBranch() / noDefaultBranch()',
      )
    const index = this.#branches.length + 1
    // Kafka Streams' naming: split name + branch name (or index); a generated child name when neither is given.
    const child =
      branched?.name !== undefined
        ? `${this.#prefix ?? this.#splitName}${branched.name}`
        : this.#prefix !== undefined
          ? `${this.#prefix}${index}`
          : b.newProcessorName('KSTREAM-BRANCHCHILD-')
    this.#branches.push({ predicate, child })
    const splitName = this.#splitName
    b.add((t) => t.addProcessor(child, passThrough(), splitName))
    const stream = new KStream<K, V>(
      b,
      child,
      this.#stream.keySerde,
      this.#stream.valueSerde,
      this.#stream.repartitionRequired,
    )
    if (branched?.chain) {
      const out = branched.chain(stream)
      if (out) this.#result.set(child, out)
    } else {
      this.#result.set(child, stream)
    }
  }

  #finish(): Map<string, KStream<K, V>> {
    this.#stream.builder.check()
    this.#done = true
    const branches = [...this.#branches]
    const parent = this.#stream.nodeName
    const splitName = this.#splitName
    this.#fill((t) =>
      t.addProcessor(
        splitName,
        kstreamBranch(
          branches.map((b) => b.predicate),
          branches.map((b) => b.child),
        ),
        parent,
      ),
    )
    return this.#result
  }
}

/** A stream grouped by key, ready to aggregate (Kafka Streams' KGroupedStream). */
export class KGroupedStream<K, V> {
  /** @internal */ readonly stream: KStream<any, V>
  /** @internal */ readonly nodeName: string
  /** @internal */ readonly keySerde: SyncSerde<K> | undefined
  /** @internal */ readonly valueSerde: SyncSerde<V> | undefined
  /** @internal */ readonly repartitionRequired: boolean
  /** @internal */ readonly repartitionName: string | undefined
  #repartitionSource: string | undefined

  /** @internal */
  // biome-ignore lint/suspicious/noExplicitAny: the upstream key type is unrelated to the grouping's key
  constructor(
    stream: KStream<any, V>,
    nodeName: string,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
    repartitionRequired: boolean,
    repartitionName: string | undefined,
  ) {
    this.stream = stream
    this.nodeName = nodeName
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.repartitionRequired = repartitionRequired
    this.repartitionName = repartitionName
  }

  /** @internal The node the aggregate hangs off: the repartition source when the key changed upstream. */
  parentFor(storeName: string): string {
    const b = this.stream.builder
    if (!this.repartitionRequired) return this.nodeName
    // A named repartition topic is shared by the aggregates of this grouping; an unnamed one is made per aggregate.
    if (this.repartitionName !== undefined && this.#repartitionSource) return this.#repartitionSource
    const source = b.repartition(this.nodeName, this.repartitionName ?? storeName, this.keySerde, this.valueSerde)
    if (this.repartitionName !== undefined) this.#repartitionSource = source
    return source
  }

  #aggregate<A>(
    prefix: string,
    named: Named | string | undefined,
    materialized: Materialized<K, A> | undefined,
    valueSerde: SyncSerde<A> | undefined,
    make: (storeName: string) => KStreamAggregate<K, V, A>,
    burnStoreName = false,
  ): KTable<K, A> {
    const b = this.stream.builder
    b.check()
    if (burnStoreName && materialized?.storeName === undefined) b.newStoreName('KSTREAM-AGGREGATE-')
    const storeName = materialized?.storeName ?? b.newStoreName(prefix)
    const keySerde = materialized?.keySerde ?? this.keySerde
    const vSerde = materialized?.valueSerde ?? valueSerde
    const name = b.nameOr(nameOf(named), prefix)
    const parent = this.parentFor(storeName)
    const supplier = make(storeName)
    b.add((t) => {
      t.addProcessor(name, supplier, parent)
      t.addStateStore(b.storeBuilder(storeName, materialized, keySerde, vSerde), name)
    })
    const table = new KTable<K, A>(b, name, keySerde, vSerde, supplier, materialized?.storeName)
    table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
    return table
  }

  /** The number of records per key (values are 64-bit longs, Serdes.Long()). */
  count(materialized?: Materialized<K, number>, named?: Named | string): KTable<K, number> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE-',
      named,
      materialized,
      Serdes.Long(),
      (store) =>
        new KStreamAggregate<K, V, number>(
          store,
          () => 0,
          (_k, _v, n) => n + 1,
        ),
      true,
    )
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named | string): KTable<K, V> {
    return this.#aggregate(
      'KSTREAM-REDUCE-',
      named,
      materialized,
      this.valueSerde,
      (store) => new KStreamAggregate<K, V, V>(store, null, (_k, v, agg) => reducer(agg, v)),
    )
  }

  aggregate<A>(
    initializer: Initializer<A>,
    aggregator: Aggregator<K, V, A>,
    materialized?: Materialized<K, A>,
    named?: Named | string,
  ): KTable<K, A> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE-',
      named,
      materialized,
      undefined,
      (store) => new KStreamAggregate<K, V, A>(store, initializer, aggregator),
    )
  }

  /** Aggregates per window: time windows (tumbling, hopping), sliding windows or session windows. */
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>
  windowedBy(windows: TimeWindows | SlidingWindows | SessionWindows) {
    this.stream.builder.check()
    return windowedBy(this, windows)
  }

  /** Starts a co-grouped aggregation: several grouped streams into one aggregate store. */
  cogroup<A>(aggregator: Aggregator<K, V, A>): CogroupedKStream<K, A> {
    this.stream.builder.check()
    return new CogroupedKStream<K, A>(this.stream.builder).cogroup(this, aggregator)
  }
}

/** Several grouped streams aggregated into one table (Kafka Streams' CogroupedKStream). */
export class CogroupedKStream<K, A> {
  readonly #builder: InternalBuilder
  readonly #groups: Array<{ grouped: KGroupedStream<K, unknown>; aggregator: Aggregator<K, unknown, A> }> = []

  constructor(builder: InternalBuilder) {
    this.#builder = builder
  }

  cogroup<V>(grouped: KGroupedStream<K, V>, aggregator: Aggregator<K, V, A>): this {
    this.#builder.check()
    if (this.#groups.some((g) => g.grouped === (grouped as unknown))) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        'cogroup(): this grouped stream is already part of the co-group',
      )
    }
    this.#groups.push({
      grouped: grouped as unknown as KGroupedStream<K, unknown>,
      aggregator: aggregator as Aggregator<K, unknown, A>,
    })
    return this
  }

  aggregate(initializer: Initializer<A>, materialized?: Materialized<K, A>, named?: Named | string): KTable<K, A> {
    const b = this.#builder
    b.check()
    const storeName = materialized?.storeName ?? b.newStoreName('COGROUPKSTREAM-AGGREGATE-')
    const keySerde = materialized?.keySerde ?? this.#groups.find((g) => g.grouped.keySerde)?.grouped.keySerde
    const valueSerde = materialized?.valueSerde
    const processors: string[] = []
    const suppliers: Array<KStreamAggregate<K, unknown, A>> = []
    for (const g of this.#groups) {
      const parent = g.grouped.parentFor(storeName)
      const name = b.newProcessorName('COGROUPKSTREAM-AGGREGATE-')
      const supplier = new KStreamAggregate<K, unknown, A>(storeName, initializer, g.aggregator)
      suppliers.push(supplier)
      processors.push(name)
      b.add((t) => {
        t.addProcessor(name, supplier, parent)
        if (!t.store(storeName)) t.addStateStore(b.storeBuilder(storeName, materialized, keySerde, valueSerde))
        t.connectProcessorAndStateStores(name, storeName)
      })
    }
    const merge = b.nameOr(nameOf(named), 'COGROUPKSTREAM-MERGE-')
    b.add((t) => t.addProcessor(merge, passThrough(), ...processors))
    const parentLink = {
      enableSendingOldValues: () => {
        for (const s of suppliers) s.enableSendingOldValues()
        return true
      },
      valueGetterSupplier: () => suppliers[0].view(),
      get: () => {
        throw new Error('not a processor')
      },
      view: () => suppliers[0].view(),
    }
    const table = new KTable<K, A>(b, merge, keySerde, valueSerde, parentLink as never, materialized?.storeName)
    table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
    return table
  }
}
