import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import type { Predicate } from '../processor/dsl-processors.ts'
import type { TimestampExtractor } from '../processor/timestamp-extractor.ts'
import type { KeyValueBytesStoreSupplier } from '../state/stores.ts'
import type { OffsetReset } from '../topology/nodes.ts'

const NAME = /^[a-zA-Z0-9._-]+$/

function checkName(name: string, what: string): string {
  if (!name || name.length > 249 || !NAME.test(name)) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${what} name '${name}' must be 1..249 characters of [a-zA-Z0-9._-]`,
    )
  }
  return name
}

/** A processor name for an operator (Kafka Streams' Named). */
export class Named {
  readonly name: string
  private constructor(name: string) {
    this.name = checkName(name, 'processor')
  }
  static as(name: string): Named {
    return new Named(name)
  }
}

/** How a source reads: serdes, timestamp extractor, offset reset, processor name (Kafka Streams' Consumed). */
export class Consumed<K, V> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  timestampExtractor?: TimestampExtractor
  offsetReset?: OffsetReset
  name?: string
  static with<K, V>(
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
    timestampExtractor?: TimestampExtractor,
    offsetReset?: OffsetReset,
  ): Consumed<K, V> {
    const c = new Consumed<K, V>()
    c.keySerde = keySerde
    c.valueSerde = valueSerde
    c.timestampExtractor = timestampExtractor
    c.offsetReset = offsetReset
    return c
  }
  static as<K = unknown, V = unknown>(name: string): Consumed<K, V> {
    return new Consumed<K, V>().withName(name)
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
  }
  withTimestampExtractor(extractor: TimestampExtractor): this {
    this.timestampExtractor = extractor
    return this
  }
  withOffsetResetPolicy(reset: OffsetReset): this {
    this.offsetReset = reset
    return this
  }
  withName(name: string): this {
    this.name = checkName(name, 'processor')
    return this
  }
}

/** How a sink writes: serdes, partitioner, processor name (Kafka Streams' Produced). */
export class Produced<K, V> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  partitioner?: StreamPartitioner<K, V>
  name?: string
  static with<K, V>(
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
    partitioner?: StreamPartitioner<K, V>,
  ): Produced<K, V> {
    const p = new Produced<K, V>()
    p.keySerde = keySerde
    p.valueSerde = valueSerde
    p.partitioner = partitioner
    return p
  }
  static as<K = unknown, V = unknown>(name: string): Produced<K, V> {
    return new Produced<K, V>().withName(name)
  }
  static streamPartitioner<K, V>(partitioner: StreamPartitioner<K, V>): Produced<K, V> {
    return new Produced<K, V>().withStreamPartitioner(partitioner)
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
  }
  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): this {
    this.partitioner = partitioner
    return this
  }
  withName(name: string): this {
    this.name = checkName(name, 'processor')
    return this
  }
}

/** Serdes and name of a grouping's repartition topic (Kafka Streams' Grouped). */
export class Grouped<K, V> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  name?: string
  static with<K, V>(keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>): Grouped<K, V> {
    const g = new Grouped<K, V>()
    g.keySerde = keySerde
    g.valueSerde = valueSerde
    return g
  }
  static as<K = unknown, V = unknown>(name: string): Grouped<K, V> {
    return new Grouped<K, V>().withName(name)
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
  }
  withName(name: string): this {
    this.name = checkName(name, 'repartition topic')
    return this
  }
}

/** Serdes, name, partition count and partitioner of a repartition() topic (Kafka Streams' Repartitioned). */
export class Repartitioned<K, V> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  name?: string
  numberOfPartitions?: number
  partitioner?: StreamPartitioner<K, V>
  static with<K, V>(keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>): Repartitioned<K, V> {
    const r = new Repartitioned<K, V>()
    r.keySerde = keySerde
    r.valueSerde = valueSerde
    return r
  }
  static as<K = unknown, V = unknown>(name: string): Repartitioned<K, V> {
    return new Repartitioned<K, V>().withName(name)
  }
  static numberOfPartitions<K = unknown, V = unknown>(n: number): Repartitioned<K, V> {
    return new Repartitioned<K, V>().withNumberOfPartitions(n)
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
  }
  withName(name: string): this {
    this.name = checkName(name, 'repartition topic')
    return this
  }
  withNumberOfPartitions(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `number of partitions must be >= 1, got ${n}`)
    this.numberOfPartitions = n
    return this
  }
  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): this {
    this.partitioner = partitioner
    return this
  }
}

export type StoreType = 'lmdb' | 'in_memory'

/**
 * How a KTable is kept in a store: name (which makes it queryable), serdes, caching, logging, store type or
 * supplier (Kafka Streams' Materialized).
 */
export class Materialized<K, V> {
  storeName?: string
  storeSupplier?: KeyValueBytesStoreSupplier
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  cachingEnabled = true
  loggingEnabled = true
  logConfig: Record<string, string> = {}
  storeType?: StoreType

  static as<K = unknown, V = unknown>(nameOrSupplier: string | KeyValueBytesStoreSupplier): Materialized<K, V> {
    const m = new Materialized<K, V>()
    if (typeof nameOrSupplier === 'string') m.storeName = checkName(nameOrSupplier, 'store')
    else {
      m.storeSupplier = nameOrSupplier
      m.storeName = nameOrSupplier.name
    }
    return m
  }
  static with<K, V>(keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>): Materialized<K, V> {
    const m = new Materialized<K, V>()
    m.keySerde = keySerde
    m.valueSerde = valueSerde
    return m
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
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
    return this
  }
  /** How long a window or session store keeps windows (at least window size + grace; that is the default). */
  withRetention(retentionMs: number): this {
    if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `retention must be >= 0 ms, got ${retentionMs}`)
    }
    this.retentionMs = retentionMs
    return this
  }
  retentionMs?: number
  withStoreType(type: StoreType): this {
    this.storeType = type
    return this
  }
}

/** One branch of split(): its predicate's name suffix, and what to do with the branch (Kafka Streams' Branched). */
export class Branched<K, V> {
  name?: string
  chain?: (stream: import('./kstream.ts').KStream<K, V>) => import('./kstream.ts').KStream<K, V> | undefined | void
  static as<K = unknown, V = unknown>(name: string): Branched<K, V> {
    const b = new Branched<K, V>()
    b.name = name
    return b
  }
  /** Applies `fn` to the branch; what it returns (if anything) is the branch in the result map. */
  static withFunction<K, V>(
    fn: (stream: import('./kstream.ts').KStream<K, V>) => import('./kstream.ts').KStream<K, V> | undefined | void,
    name?: string,
  ): Branched<K, V> {
    const b = new Branched<K, V>()
    b.chain = fn
    b.name = name
    return b
  }
  static withConsumer<K, V>(fn: (stream: import('./kstream.ts').KStream<K, V>) => void, name?: string): Branched<K, V> {
    const b = Branched.withFunction<K, V>((s) => {
      fn(s)
    }, name)
    return b
  }
}

export type { Predicate }
