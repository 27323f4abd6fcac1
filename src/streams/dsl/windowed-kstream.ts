/**
 * Windowed grouped streams (Kafka Streams' TimeWindowedKStream and SessionWindowedKStream), made by
 * `groupByKey().windowedBy(windows)`: count, reduce and aggregate per key and window into a `KTable<Windowed<K>, V>`
 * backed by a window store (or a session store), changelogged, with retention = window size + grace unless
 * Materialized says more.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { Aggregator, Initializer, Reducer } from '../processor/dsl-processors.ts'
import {
  KStreamSessionWindowAggregate,
  KStreamSlidingWindowAggregate,
  KStreamWindowAggregate,
  type Merger,
} from '../processor/window-processors.ts'
import { Serdes } from '../serdes.ts'
import type { StoreBuilder } from '../state/stores.ts'
import { type SessionBytesStoreSupplier, type WindowBytesStoreSupplier, WindowStores } from '../state/window-store.ts'
import type { KGroupedStream } from './kstream.ts'
import { KTable } from './ktable.ts'
import { type Materialized, Named } from './options.ts'
import { SessionWindowedSerde, TimeWindowedSerde } from './windowed-serdes.ts'
import { type SessionWindows, SlidingWindows, TimeWindows, type Windowed } from './windows.ts'

function nameOf(named: Named | string | undefined): string | undefined {
  return typeof named === 'string' ? Named.as(named).name : named?.name
}

function retentionOf(m: Materialized<unknown, unknown> | undefined, minimum: number, what: string): number {
  const given = (m as { retentionMs?: number } | undefined)?.retentionMs
  if (given === undefined) return minimum
  if (given < minimum) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `the retention period of the window store (${given} ms) must be no smaller than ${what} (${minimum} ms)`,
    )
  }
  return given
}

function applyOptions<S extends StoreBuilder>(builder: S, m: Materialized<unknown, unknown> | undefined): S {
  if (m && !m.loggingEnabled) builder.withLoggingDisabled()
  else builder.withLoggingEnabled(m?.logConfig ?? {})
  return builder
}

type WindowSpec = TimeWindows | SlidingWindows

/** A grouped stream over time windows (tumbling, hopping or sliding). */
export class TimeWindowedKStream<K, V> {
  readonly #grouped: KGroupedStream<K, V>
  readonly #windows: WindowSpec

  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: WindowSpec) {
    this.#grouped = grouped
    this.#windows = windows
  }

  #aggregate<A>(
    named: Named | string | undefined,
    materialized: Materialized<K, A> | undefined,
    valueSerde: SyncSerde<A> | undefined,
    initializer: Initializer<A | null>,
    aggregator: Aggregator<K, V, A>,
  ): KTable<Windowed<K>, A> {
    const g = this.#grouped
    const b = g.stream.builder
    b.check()
    const prefix = 'KSTREAM-AGGREGATE-'
    const storeName = materialized?.storeName ?? b.newStoreName(prefix)
    const name = b.nameOr(nameOf(named), prefix)
    const parent = g.parentFor(storeName)
    const keySerde = materialized?.keySerde ?? g.keySerde
    const vSerde = materialized?.valueSerde ?? valueSerde
    const w = this.#windows
    const sliding = w instanceof SlidingWindows
    const size = sliding ? w.timeDifferenceMs : w.sizeMs
    const minimum = sliding ? 2 * w.timeDifferenceMs + w.graceMs : w.sizeMs + w.graceMs
    const retention = retentionOf(
      materialized as Materialized<unknown, unknown>,
      minimum,
      'its window size plus the grace period',
    )
    const given = materialized?.storeSupplier as unknown as WindowBytesStoreSupplier | undefined
    const supplier =
      given ??
      (materialized?.storeType === 'in_memory'
        ? WindowStores.inMemoryWindowStore(storeName, retention, size)
        : materialized?.storeType === 'lmdb'
          ? WindowStores.persistentWindowStore(storeName, retention, size)
          : WindowStores.dslWindowStore(storeName, retention, size))
    const processor = sliding
      ? new KStreamSlidingWindowAggregate<K, V, A>(storeName, w, initializer as Initializer<A>, aggregator)
      : new KStreamWindowAggregate<K, V, A>(storeName, w as TimeWindows, initializer, aggregator)
    b.add((t) => {
      t.addProcessor(name, processor, parent)
      t.addStateStore(
        applyOptions(
          WindowStores.timestampedWindowStoreBuilder(supplier, keySerde, vSerde),
          materialized as Materialized<unknown, unknown>,
        ),
        name,
      )
    })
    const windowedSerde = keySerde ? new TimeWindowedSerde(keySerde, size) : undefined
    return new KTable<Windowed<K>, A>(b, name, windowedSerde, vSerde, processor, materialized?.storeName)
  }

  /** The number of records per key and window (64-bit longs). */
  count(materialized?: Materialized<K, number>, named?: Named | string): KTable<Windowed<K>, number> {
    return this.#aggregate(
      named,
      materialized,
      Serdes.Long(),
      () => 0,
      (_k, _v, n) => n + 1,
    )
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named | string): KTable<Windowed<K>, V> {
    return this.#aggregate(
      named,
      materialized,
      this.#grouped.valueSerde,
      () => null,
      (_k, v, agg) => reducer(agg, v),
    )
  }

  aggregate<A>(
    initializer: Initializer<A>,
    aggregator: Aggregator<K, V, A>,
    materialized?: Materialized<K, A>,
    named?: Named | string,
  ): KTable<Windowed<K>, A> {
    return this.#aggregate(named, materialized, undefined, initializer, aggregator)
  }
}

/** A grouped stream over session windows. */
export class SessionWindowedKStream<K, V> {
  readonly #grouped: KGroupedStream<K, V>
  readonly #windows: SessionWindows

  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: SessionWindows) {
    this.#grouped = grouped
    this.#windows = windows
  }

  #aggregate<A>(
    named: Named | string | undefined,
    materialized: Materialized<K, A> | undefined,
    valueSerde: SyncSerde<A> | undefined,
    initializer: Initializer<A | null>,
    aggregator: Aggregator<K, V, A>,
    merger: Merger<K, A>,
  ): KTable<Windowed<K>, A> {
    const g = this.#grouped
    const b = g.stream.builder
    b.check()
    const prefix = 'KSTREAM-AGGREGATE-'
    const storeName = materialized?.storeName ?? b.newStoreName(prefix)
    const name = b.nameOr(nameOf(named), prefix)
    const parent = g.parentFor(storeName)
    const keySerde = materialized?.keySerde ?? g.keySerde
    const vSerde = materialized?.valueSerde ?? valueSerde
    const w = this.#windows
    const retention = retentionOf(
      materialized as Materialized<unknown, unknown>,
      w.gapMs + w.graceMs,
      'its inactivity gap plus the grace period',
    )
    const given = materialized?.storeSupplier as unknown as SessionBytesStoreSupplier | undefined
    const supplier =
      given ??
      (materialized?.storeType === 'in_memory'
        ? WindowStores.inMemorySessionStore(storeName, retention)
        : materialized?.storeType === 'lmdb'
          ? WindowStores.persistentSessionStore(storeName, retention)
          : WindowStores.dslSessionStore(storeName, retention))
    const processor = new KStreamSessionWindowAggregate<K, V, A>(storeName, w, initializer, aggregator, merger)
    b.add((t) => {
      t.addProcessor(name, processor, parent)
      t.addStateStore(
        applyOptions(
          WindowStores.sessionStoreBuilder(supplier, keySerde, vSerde),
          materialized as Materialized<unknown, unknown>,
        ),
        name,
      )
    })
    const windowedSerde = keySerde ? new SessionWindowedSerde(keySerde) : undefined
    return new KTable<Windowed<K>, A>(b, name, windowedSerde, vSerde, processor, materialized?.storeName)
  }

  count(materialized?: Materialized<K, number>, named?: Named | string): KTable<Windowed<K>, number> {
    return this.#aggregate(
      named,
      materialized,
      Serdes.Long(),
      () => 0,
      (_k, _v, n) => n + 1,
      (_k, a, b) => a + b,
    )
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>, named?: Named | string): KTable<Windowed<K>, V> {
    const aggregator: Aggregator<K, V, V> = (_k, v, agg) => (agg === null ? v : reducer(agg, v))
    return this.#aggregate(
      named,
      materialized,
      this.#grouped.valueSerde,
      () => null,
      aggregator,
      (k, a1, a2) => aggregator(k, a2, a1),
    )
  }

  /** Aggregates per session; `merger` combines two sessions' aggregates when a record bridges them. */
  aggregate<A>(
    initializer: Initializer<A>,
    aggregator: Aggregator<K, V, A>,
    merger: Merger<K, A>,
    materialized?: Materialized<K, A>,
    named?: Named | string,
  ): KTable<Windowed<K>, A> {
    return this.#aggregate(named, materialized, undefined, initializer, aggregator, merger)
  }
}

export function windowedBy<K, V>(
  grouped: KGroupedStream<K, V>,
  windows: TimeWindows | SlidingWindows | SessionWindows,
): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
  if (windows instanceof TimeWindows || windows instanceof SlidingWindows)
    return new TimeWindowedKStream(grouped, windows)
  return new SessionWindowedKStream(grouped, windows)
}
