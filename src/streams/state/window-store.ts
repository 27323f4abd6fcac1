/**
 * Window and session stores (Kafka Streams' WindowStore / SessionStore), kept in a bytes key-value store (in memory
 * or LMDB) under Kafka Streams' key layouts, which are also the changelog keys:
 * - window store: `key bytes + window start (8 bytes, big-endian) + sequence number (4)`; timestamped stores keep
 *   `timestamp (8) + value` and log the plain value with the timestamp as the record's (as Kafka's);
 * - session store: `key bytes + session end (8) + session start (8)`, value = the aggregate's bytes.
 * Retention: a write older than stream time - retention is skipped, reads never return expired windows, and
 * expired entries are deleted (without changelog writes, as a dropped segment) whenever stream time enters a new
 * segment (segment interval = max(retention / 2, 60 s), Kafka Streams' default).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { SessionWindow, TimeWindow, type Window, Windowed } from '../dsl/windows.ts'
import { streamsError } from '../errors.ts'
import { KeyValue, type ValueAndTimestamp } from '../processor/record.ts'
import { encodeTimestamped, rawValueOf, timestampOf } from './bytes.ts'
import { InMemoryKeyValueStore } from './in-memory-store.ts'
import { type BytesKeyValueStore, type KeyValueIterator, makeIterator } from './key-value-store.ts'
import { ChangeLoggingKeyValueBytesStore, changelogTopicFor } from './layers.ts'
import { LmdbKeyValueStore, type LmdbStoreOptions } from './lmdb-store.ts'
import type { StateStore, StateStoreContext } from './state-store.ts'
import { type BuildOptions, type StoreBuilder, validateStoreName } from './stores.ts'

/** Kafka Streams' windowstore.changelog.additional.retention.ms default: the changelog keeps windows a day longer. */
export const WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS = 86_400_000

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

export interface ReadOnlySessionStore<K, AGG> {
  /** Sessions of `key` ending at or after `earliestSessionEndTime` and starting at or before `latestSessionStartTime`. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<Windowed<K>, AGG>
  backwardFindSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<Windowed<K>, AGG>
  /** The aggregate of exactly this session, if stored. */
  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined
  /** All sessions of `key` (or of keys in [keyFrom, keyTo] when two keys are given). */
  fetch(key: K): KeyValueIterator<Windowed<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<Windowed<K>, AGG>
  backwardFetch(key: K): KeyValueIterator<Windowed<K>, AGG>
}

export interface SessionStore<K, AGG> extends StateStore, ReadOnlySessionStore<K, AGG> {
  put(session: Windowed<K>, aggregate: AGG | null): void
  remove(session: Windowed<K>): void
  readonly retentionPeriod: number
}

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

export interface SessionBytesStoreSupplier {
  readonly name: string
  readonly persistent: boolean
  readonly retentionPeriod: number
  readonly segmentInterval: number
  get(options?: BuildOptions): BytesKeyValueStore
}

const MAX_TS = Number.MAX_SAFE_INTEGER

function ts8(ms: number): Buffer {
  const b = Buffer.allocUnsafe(8)
  b.writeBigInt64BE(BigInt(Math.max(0, Math.min(ms, MAX_TS))))
  return b
}

function windowKey(key: Buffer, start: number, seq: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 12)
  key.copy(out, 0)
  out.writeBigInt64BE(BigInt(start), key.length)
  out.writeUInt32BE(seq >>> 0, key.length + 8)
  return out
}

function sessionKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 16)
  key.copy(out, 0)
  out.writeBigInt64BE(BigInt(end), key.length)
  out.writeBigInt64BE(BigInt(start), key.length + 8)
  return out
}

function segmentIntervalFor(retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000)
}

function checkRetention(name: string, retentionMs: number, windowSizeMs: number): void {
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: retention period must be >= 0 ms, got ${retentionMs}`,
    )
  }
  if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: window size must be >= 0 ms, got ${windowSizeMs}`,
    )
  }
  if (windowSizeMs > retentionMs) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: the retention period (${retentionMs} ms) must be at least the window size (${windowSizeMs} ms)`,
    )
  }
}

interface SerdeCfg<K, V> {
  keySerde: SyncSerde<K> | undefined
  valueSerde: SyncSerde<V> | undefined
}

/** What the window and session stores share: serdes, the inner (and logging) stores, stream time and expiry. */
abstract class SegmentedBase<K, V> implements StateStore {
  readonly name: string
  readonly retentionPeriod: number
  readonly segmentInterval: number
  protected readonly raw: BytesKeyValueStore
  protected readonly inner: BytesKeyValueStore
  protected keySerde: SyncSerde<K> | undefined
  protected valueSerde: SyncSerde<V> | undefined
  protected topic = ''
  /** The largest window start (session end) written: Kafka's observedStreamTime of the segmented store. */
  protected observedStreamTime = -1
  #lastSegment = -1
  #open = false

  constructor(
    name: string,
    raw: BytesKeyValueStore,
    retentionPeriod: number,
    segmentInterval: number,
    logging: boolean,
    timestamped: boolean,
    serdes: SerdeCfg<K, V>,
  ) {
    this.name = name
    this.raw = raw
    this.inner = logging ? new ChangeLoggingKeyValueBytesStore(raw, timestamped) : raw
    this.retentionPeriod = retentionPeriod
    this.segmentInterval = segmentInterval
    this.keySerde = serdes.keySerde
    this.valueSerde = serdes.valueSerde
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.keySerde ??= context.defaultKeySerde as SyncSerde<K> | undefined
    this.valueSerde ??= context.defaultValueSerde as SyncSerde<V> | undefined
    if (!this.keySerde || !this.valueSerde) {
      throw streamsError(
        'TRB_STREAMS_MISSING_SERDE',
        `state store ${this.name} has no ${this.keySerde ? 'value' : 'key'} serde: give one (Materialized.with / ` +
          'Stores.windowStoreBuilder) or set default.key.serde / default.value.serde',
      )
    }
    this.topic = changelogTopicFor(context.applicationId, this.name)
    this.inner.init(context, root)
    this.#open = true
    // After a restore, stream time is what the restored entries say.
    for (const kv of this.raw.all()) this.observe(this.timeOfStoreKey(kv.key))
  }

  /** The time a store key carries (window start, or session end). */
  protected abstract timeOfStoreKey(key: Buffer): number

  protected observe(time: number): void {
    if (time > this.observedStreamTime) this.observedStreamTime = time
    const segment = Math.floor(this.observedStreamTime / this.segmentInterval)
    if (segment !== this.#lastSegment && this.#open) {
      this.#lastSegment = segment
      this.#dropExpired()
    }
  }

  /** Earliest live time: entries at or before stream time - retention are expired. */
  protected get earliestLive(): number {
    return this.observedStreamTime - this.retentionPeriod + 1
  }

  #dropExpired(): void {
    const limit = this.earliestLive
    const expired: Buffer[] = []
    for (const kv of this.raw.all()) if (this.timeOfStoreKey(kv.key) < limit) expired.push(kv.key)
    for (const k of expired) this.raw.delete(k)
  }

  protected serKey(key: K): Buffer {
    if (key === null || key === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: keys cannot be null`)
    }
    return this.keySerde!.serializeSync(this.topic, key, { isKey: true })
  }

  protected deKey(bytes: Buffer): K {
    return this.keySerde!.deserializeSync(bytes, { topic: this.topic, isKey: true })
  }

  flush(): void {
    this.inner.flush()
  }
  close(): void | Promise<void> {
    this.#open = false
    return this.inner.close()
  }
  persistent(): boolean {
    return this.raw.persistent()
  }
  isOpen(): boolean {
    return this.#open
  }
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

/** A session store: one entry per session (key, start, end), expiring by session end. */
export class SessionStoreImpl<K, AGG> extends SegmentedBase<K, AGG> implements SessionStore<K, AGG> {
  constructor(
    supplier: SessionBytesStoreSupplier,
    options: BuildOptions | undefined,
    logging: boolean,
    serdes: SerdeCfg<K, AGG>,
  ) {
    super(
      supplier.name,
      supplier.get(options),
      supplier.retentionPeriod,
      supplier.segmentInterval,
      logging,
      false,
      serdes,
    )
  }

  protected timeOfStoreKey(key: Buffer): number {
    return Number(key.readBigInt64BE(key.length - 16))
  }

  #startOf(key: Buffer): number {
    return Number(key.readBigInt64BE(key.length - 8))
  }

  put(session: Windowed<K>, aggregate: AGG | null): void {
    const k = this.serKey(session.key)
    this.observe(session.window.endMs)
    if (session.window.endMs < this.earliestLive) return
    const value =
      aggregate === null || aggregate === undefined ? null : this.valueSerde!.serializeSync(this.topic, aggregate)
    this.inner.put(sessionKey(k, session.window.startMs, session.window.endMs), value)
  }

  remove(session: Windowed<K>): void {
    this.put(session, null)
  }

  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined {
    const v = this.inner.get(sessionKey(this.serKey(key), sessionStartTime, sessionEndTime))
    return v === undefined || v === null ? undefined : this.valueSerde!.deserializeSync(v, { topic: this.topic })
  }

  *#scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
    backward: boolean,
  ): Generator<KeyValue<Windowed<K>, AGG>> {
    const lo = Math.max(earliestEnd, this.earliestLive)
    const lower = keyFrom ? Buffer.concat([keyFrom, ts8(lo), ts8(0)]) : undefined
    const upper = keyTo ? Buffer.concat([keyTo, ts8(MAX_TS), ts8(MAX_TS)]) : undefined
    const it = backward ? this.inner.reverseRange(lower, upper) : this.inner.range(lower, upper)
    try {
      for (const kv of it) {
        const kb = kv.key.subarray(0, kv.key.length - 16)
        if (keyFrom && Buffer.compare(kb, keyFrom) < 0) continue
        if (keyTo && Buffer.compare(kb, keyTo) > 0) continue
        const end = this.timeOfStoreKey(kv.key)
        const start = this.#startOf(kv.key)
        if (end < lo || start > latestStart) continue
        yield new KeyValue(
          new Windowed(this.deKey(kb), new SessionWindow(start, end)),
          this.valueSerde!.deserializeSync(kv.value, { topic: this.topic }),
        )
      }
    } finally {
      it.close()
    }
  }

  findSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, earliestSessionEndTime, latestSessionStartTime, false))
  }
  backwardFindSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, earliestSessionEndTime, latestSessionStartTime, true))
  }
  fetch(key: K): KeyValueIterator<Windowed<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<Windowed<K>, AGG>
  fetch(...args: [K] | [K | null, K | null]): KeyValueIterator<Windowed<K>, AGG> {
    if (args.length === 1) {
      const k = this.serKey(args[0])
      return makeIterator(this.#scan(k, k, 0, MAX_TS, false))
    }
    const [a, b] = args
    const kf = a === null || a === undefined ? undefined : this.serKey(a)
    const kt = b === null || b === undefined ? undefined : this.serKey(b)
    return makeIterator(this.#scan(kf, kt, 0, MAX_TS, false))
  }
  backwardFetch(key: K): KeyValueIterator<Windowed<K>, AGG> {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, 0, MAX_TS, true))
  }
}

abstract class BuilderBase<S extends StateStore> implements StoreBuilder<S> {
  loggingEnabled = true
  cachingEnabled = false
  logConfig: Record<string, string>
  readonly #retention: number
  constructor(retention: number) {
    this.#retention = retention
    this.logConfig = this.#defaults()
  }
  #defaults(): Record<string, string> {
    return {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(this.#retention + WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS),
    }
  }
  abstract readonly name: string
  abstract readonly persistent: boolean
  /** Window and session stores here write through (no record cache): every update is forwarded. */
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
    this.logConfig = { ...this.#defaults(), ...config }
    return this
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false
    this.logConfig = {}
    return this
  }
  abstract build(options?: BuildOptions): S
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

export class SessionStoreBuilder<K, V> extends BuilderBase<SessionStore<K, V>> {
  readonly supplier: SessionBytesStoreSupplier
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  constructor(
    supplier: SessionBytesStoreSupplier,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ) {
    super(supplier.retentionPeriod)
    this.supplier = supplier
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }
  get name(): string {
    return this.supplier.name
  }
  get persistent(): boolean {
    return this.supplier.persistent
  }
  build(options?: BuildOptions): SessionStore<K, V> {
    return new SessionStoreImpl<K, V>(this.supplier, options, this.loggingEnabled, {
      keySerde: this.keySerde,
      valueSerde: this.valueSerde,
    })
  }
}

type Kind = 'in_memory' | 'lmdb' | 'dsl'

function bytesStore(kind: Kind, name: string, lmdb: LmdbStoreOptions | undefined, options?: BuildOptions) {
  const persistent = kind === 'lmdb' || (kind === 'dsl' && options?.dslStore !== 'in_memory')
  return persistent ? new LmdbKeyValueStore(name, lmdb) : new InMemoryKeyValueStore(name)
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

function sessionSupplier(kind: Kind, name: string, retentionPeriod: number, lmdb?: LmdbStoreOptions) {
  validateStoreName(name)
  checkRetention(name, retentionPeriod, 0)
  return {
    name,
    persistent: kind !== 'in_memory',
    retentionPeriod,
    segmentInterval: segmentIntervalFor(retentionPeriod),
    get: (options?: BuildOptions) => bytesStore(kind, name, lmdb, options),
  } satisfies SessionBytesStoreSupplier
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
