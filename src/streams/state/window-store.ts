/**
 * Window stores (Kafka Streams' WindowStore), kept in a bytes key-value store (in memory or LMDB) under Kafka
 * Streams' key layout, which is also the changelog key: `key bytes + window start (8 bytes, big-endian) +
 * sequence number (4)`; timestamped stores keep `timestamp (8) + value` and log the plain value with the timestamp
 * as the record's (as Kafka's). Session stores are in state/session-store.ts; what both share (retention, expiry
 * by segment, builders' changelog defaults) in state/segmented-store.ts. WindowStores gathers the factories of both.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { TimeWindow, type Window, Windowed } from '../dsl/windows.ts'
import { KeyValue, type ValueAndTimestamp } from '../processor/record.ts'
import { encodeTimestamped, rawValueOf, timestampOf } from './bytes.ts'
import { type BytesKeyValueStore, type KeyValueIterator, makeIterator } from './key-value-store.ts'
import type { LmdbStoreOptions } from './lmdb-store.ts'
import {
  BuilderBase,
  bytesStore,
  checkRetention,
  type Kind,
  MAX_TS,
  SegmentedBase,
  type SerdeCfg,
  segmentIntervalFor,
  ts8,
} from './segmented-store.ts'
import { type SessionBytesStoreSupplier, SessionStoreBuilder, sessionSupplier } from './session-store.ts'
import type { StateStore } from './state-store.ts'
import { type BuildOptions, validateStoreName } from './stores.ts'

export { WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS } from './segmented-store.ts'
export {
  type ReadOnlySessionStore,
  type SessionBytesStoreSupplier,
  type SessionStore,
  SessionStoreBuilder,
  SessionStoreImpl,
} from './session-store.ts'

export type WindowStoreIterator<V> = KeyValueIterator<number, V>

export interface ReadOnlyWindowStore<K, V> {
  /** The value of `key`'s window that starts at `windowStartMs`, if any. */
  fetch(key: K, windowStartMs: number): V | undefined
  /** `key`'s windows starting in [timeFrom, timeTo], by start time; entries are (window start, value). */
  fetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  /** Windows of keys in [keyFrom, keyTo] (either may be null) starting in [timeFrom, timeTo]. */
  fetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  backwardFetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
  all(): KeyValueIterator<Windowed<K>, V>
  backwardAll(): KeyValueIterator<Windowed<K>, V>
  fetchAll(timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
  backwardFetchAll(timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
}

export interface WindowStore<K, V> extends StateStore, ReadOnlyWindowStore<K, V> {
  /** Puts the value of `key`'s window starting at `windowStartMs`; null deletes it (not with duplicates). */
  put(key: K, value: V | null, windowStartMs: number): void
  readonly retentionPeriod: number
  readonly windowSize: number
}

export type TimestampedWindowStore<K, V> = WindowStore<K, ValueAndTimestamp<V>>

/** Makes the bytes store a window or session store keeps its entries in. */
export interface WindowBytesStoreSupplier {
  readonly name: string
  readonly persistent: boolean
  readonly retentionPeriod: number
  readonly windowSize: number
  readonly retainDuplicates: boolean
  readonly segmentInterval: number
  get(options?: BuildOptions): BytesKeyValueStore
}

function windowKey(key: Buffer, start: number, seq: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 12)
  key.copy(out, 0)
  // The start as a big-endian int64 without a BigInt (window starts are safe integers).
  const hi = Math.floor(start / 4294967296)
  out.writeInt32BE(hi, key.length)
  out.writeUInt32BE(start - hi * 4294967296, key.length + 4)
  out.writeUInt32BE(seq >>> 0, key.length + 8)
  return out
}

/** A window store; with `timestamped` its values are ValueAndTimestamp (the DSL's windowed aggregations). */
export class WindowStoreImpl<K, V> extends SegmentedBase<K, V> implements WindowStore<K, V> {
  readonly windowSize: number
  readonly retainDuplicates: boolean
  readonly timestamped: boolean
  #seq = 0

  constructor(
    supplier: WindowBytesStoreSupplier,
    options: BuildOptions | undefined,
    logging: boolean,
    timestamped: boolean,
    serdes: SerdeCfg<K, unknown>,
  ) {
    super(
      supplier.name,
      supplier.get(options),
      supplier.retentionPeriod,
      supplier.segmentInterval,
      logging,
      timestamped,
      serdes as SerdeCfg<K, V>,
    )
    this.windowSize = supplier.windowSize
    this.retainDuplicates = supplier.retainDuplicates
    this.timestamped = timestamped
  }

  protected timeOfStoreKey(key: Buffer): number {
    return Number(key.readBigInt64BE(key.length - 12))
  }

  #serValue(value: V): Buffer {
    if (this.timestamped) {
      const vt = value as unknown as ValueAndTimestamp<unknown>
      return encodeTimestamped(
        vt.timestamp,
        (this.valueSerde as SyncSerde<unknown>).serializeSync(this.topic, vt.value),
      )
    }
    return this.valueSerde!.serializeSync(this.topic, value)
  }

  #deValue(bytes: Buffer): V {
    if (this.timestamped) {
      const value = (this.valueSerde as SyncSerde<unknown>).deserializeSync(rawValueOf(bytes), { topic: this.topic })
      return { value, timestamp: timestampOf(bytes) } as V
    }
    return this.valueSerde!.deserializeSync(bytes, { topic: this.topic })
  }

  put(key: K, value: V | null, windowStartMs: number): void {
    const k = this.serKey(key)
    const isNull = value === null || value === undefined
    // Kafka ignores deletes when duplicates are retained (and they do not move the store's stream time).
    if (isNull && this.retainDuplicates) return
    this.observe(windowStartMs)
    if (windowStartMs < this.earliestLive) return // expired: Kafka skips writes to dropped segments
    if (this.retainDuplicates) {
      this.#seq = (this.#seq + 1) >>> 0
      this.inner.put(windowKey(k, windowStartMs, this.#seq), this.#serValue(value as V))
    } else {
      this.inner.put(windowKey(k, windowStartMs, 0), isNull ? null : this.#serValue(value))
    }
  }

  #window(start: number): Window {
    return new TimeWindow(start, Math.min(MAX_TS, start + Math.max(1, this.windowSize)))
  }

  /** Entries of one serialized key with start in [from, to]. */
  *#scanKey(k: Buffer, from: number, to: number, backward: boolean): Generator<[number, Buffer]> {
    const lo = Math.max(from, this.earliestLive)
    if (to < lo) return
    const lower = Buffer.concat([k, ts8(lo), Buffer.alloc(4)])
    const upper = Buffer.concat([k, ts8(to), Buffer.alloc(4, 0xff)])
    const it = backward ? this.inner.reverseRange(lower, upper) : this.inner.range(lower, upper)
    try {
      for (const kv of it) {
        if (kv.key.length !== k.length + 12 || !kv.key.subarray(0, k.length).equals(k)) continue
        const start = this.timeOfStoreKey(kv.key)
        if (start < lo || start > to) continue
        yield [start, kv.value]
      }
    } finally {
      it.close()
    }
  }

  /** Entries of keys in [from, to] (null: unbounded) with start in [timeFrom, timeTo]; keys ordered by bytes. */
  *#scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    timeFrom: number,
    timeTo: number,
    backward: boolean,
  ): Generator<KeyValue<Windowed<K>, V>> {
    const lo = Math.max(timeFrom, this.earliestLive)
    if (timeTo < lo) return
    const lower = keyFrom ? Buffer.concat([keyFrom, ts8(lo), Buffer.alloc(4)]) : undefined
    const upper = keyTo ? Buffer.concat([keyTo, ts8(MAX_TS), Buffer.alloc(4, 0xff)]) : undefined
    const it = backward ? this.inner.reverseRange(lower, upper) : this.inner.range(lower, upper)
    try {
      for (const kv of it) {
        const kb = kv.key.subarray(0, kv.key.length - 12)
        if (keyFrom && Buffer.compare(kb, keyFrom) < 0) continue
        if (keyTo && Buffer.compare(kb, keyTo) > 0) continue
        const start = this.timeOfStoreKey(kv.key)
        if (start < lo || start > timeTo) continue
        yield new KeyValue(new Windowed(this.deKey(kb), this.#window(start)), this.#deValue(kv.value))
      }
    } finally {
      it.close()
    }
  }

  fetch(key: K, windowStartMs: number): V | undefined
  fetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  fetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
  fetch(a: K | null, b: unknown, c?: unknown, d?: unknown): unknown {
    if (c === undefined && !this.retainDuplicates) {
      // One window of one key: without duplicates its store key is known, a point lookup.
      const start = b as number
      if (start < this.earliestLive) return undefined
      const bytes = this.inner.get(windowKey(this.serKey(a as K), start, 0))
      return bytes === undefined ? undefined : this.#deValue(bytes)
    }
    if (c === undefined) {
      for (const [, v] of this.#scanKey(this.serKey(a as K), b as number, b as number, false)) return this.#deValue(v)
      return undefined
    }
    if (d === undefined) return this.#keyIterator(a as K, b as number, c as number, false)
    return this.#rangeIterator(a, b as K | null, c as number, d as number, false)
  }

  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  backwardFetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V>
  backwardFetch(a: K | null, b: unknown, c: unknown, d?: unknown): unknown {
    if (d === undefined) return this.#keyIterator(a as K, b as number, c as number, true)
    return this.#rangeIterator(a, b as K | null, c as number, d as number, true)
  }

  #keyIterator(key: K, from: number, to: number, backward: boolean): WindowStoreIterator<V> {
    const k = this.serKey(key)
    const self = this
    function* gen() {
      for (const [start, v] of self.#scanKey(k, from, to, backward)) yield new KeyValue(start, self.#deValue(v))
    }
    return makeIterator(gen())
  }

  #rangeIterator(keyFrom: K | null, keyTo: K | null, from: number, to: number, backward: boolean) {
    const kf = keyFrom === null || keyFrom === undefined ? undefined : this.serKey(keyFrom)
    const kt = keyTo === null || keyTo === undefined ? undefined : this.serKey(keyTo)
    if (kf && kt && Buffer.compare(kf, kt) > 0) return makeIterator<Windowed<K>, V>([][Symbol.iterator]())
    return makeIterator(this.#scan(kf, kt, from, to, backward))
  }

  all(): KeyValueIterator<Windowed<K>, V> {
    return makeIterator(this.#scan(undefined, undefined, 0, MAX_TS, false))
  }
  backwardAll(): KeyValueIterator<Windowed<K>, V> {
    return makeIterator(this.#scan(undefined, undefined, 0, MAX_TS, true))
  }
  fetchAll(timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V> {
    return makeIterator(this.#scan(undefined, undefined, timeFrom, timeTo, false))
  }
  backwardFetchAll(timeFrom: number, timeTo: number): KeyValueIterator<Windowed<K>, V> {
    return makeIterator(this.#scan(undefined, undefined, timeFrom, timeTo, true))
  }
}

export class WindowStoreBuilder<K, V> extends BuilderBase<WindowStore<K, V>> {
  readonly supplier: WindowBytesStoreSupplier
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<unknown> | undefined
  readonly timestamped: boolean
  constructor(
    supplier: WindowBytesStoreSupplier,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<unknown> | undefined,
    timestamped: boolean,
  ) {
    super(supplier.retentionPeriod)
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
  build(options?: BuildOptions): WindowStore<K, V> {
    return new WindowStoreImpl<K, V>(this.supplier, options, this.loggingEnabled, this.timestamped, {
      keySerde: this.keySerde,
      valueSerde: this.valueSerde,
    })
  }
}

function windowSupplier(
  kind: Kind,
  name: string,
  retentionPeriod: number,
  windowSize: number,
  retainDuplicates: boolean,
  lmdb?: LmdbStoreOptions,
): WindowBytesStoreSupplier {
  validateStoreName(name)
  checkRetention(name, retentionPeriod, windowSize)
  return {
    name,
    persistent: kind !== 'in_memory',
    retentionPeriod,
    windowSize,
    retainDuplicates,
    segmentInterval: segmentIntervalFor(retentionPeriod),
    get: (options) => bytesStore(kind, name, lmdb, options),
  }
}

/** The window and session parts of Kafka Streams' `Stores` (spread into Stores). */
export const WindowStores = {
  inMemoryWindowStore(name: string, retentionPeriodMs: number, windowSizeMs: number, retainDuplicates = false) {
    return windowSupplier('in_memory', name, retentionPeriodMs, windowSizeMs, retainDuplicates)
  },
  /** The persistent window store: LMDB under the task's state directory. */
  persistentWindowStore(
    name: string,
    retentionPeriodMs: number,
    windowSizeMs: number,
    retainDuplicates = false,
    options?: LmdbStoreOptions,
  ) {
    return windowSupplier('lmdb', name, retentionPeriodMs, windowSizeMs, retainDuplicates, options)
  },
  persistentTimestampedWindowStore(
    name: string,
    retentionPeriodMs: number,
    windowSizeMs: number,
    retainDuplicates = false,
  ) {
    return windowSupplier('lmdb', name, retentionPeriodMs, windowSizeMs, retainDuplicates)
  },
  /** @internal The DSL's window store: LMDB or in memory as `default.dsl.store` says. */
  dslWindowStore(name: string, retentionPeriodMs: number, windowSizeMs: number, retainDuplicates = false) {
    return windowSupplier('dsl', name, retentionPeriodMs, windowSizeMs, retainDuplicates)
  },
  inMemorySessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return sessionSupplier('in_memory', name, retentionPeriodMs)
  },
  persistentSessionStore(
    name: string,
    retentionPeriodMs: number,
    options?: LmdbStoreOptions,
  ): SessionBytesStoreSupplier {
    return sessionSupplier('lmdb', name, retentionPeriodMs, options)
  },
  /** @internal */
  dslSessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return sessionSupplier('dsl', name, retentionPeriodMs)
  },
  windowStoreBuilder<K, V>(supplier: WindowBytesStoreSupplier, keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>) {
    return new WindowStoreBuilder<K, V>(supplier, keySerde, valueSerde as SyncSerde<unknown> | undefined, false)
  },
  timestampedWindowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): WindowStoreBuilder<K, ValueAndTimestamp<V>> {
    return new WindowStoreBuilder<K, ValueAndTimestamp<V>>(
      supplier,
      keySerde,
      valueSerde as SyncSerde<unknown> | undefined,
      true,
    )
  },
  sessionStoreBuilder<K, V>(supplier: SessionBytesStoreSupplier, keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>) {
    return new SessionStoreBuilder<K, V>(supplier, keySerde, valueSerde)
  },
}
