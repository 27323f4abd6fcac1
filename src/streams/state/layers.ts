import { SerdeError, type SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { isDefaultsAware } from '../processor/change-serde.ts'
import { change, type Headers, KeyValue, type ValueAndTimestamp } from '../processor/record.ts'
import { encodeTimestamped, rawValueOf, timestampOf } from './bytes.ts'
import type {
  BytesKeyValueStore,
  CachedStore,
  CacheFlushListener,
  KeyValueIterator,
  KeyValueStore,
} from './key-value-store.ts'
import { makeIterator } from './key-value-store.ts'
import { RecordCache } from './record-cache.ts'
import type { RestoreCallback, RestoreRecord, StateStore, StateStoreContext, WrappedStore } from './state-store.ts'

function isNotReady(error: unknown): boolean {
  return error instanceof SerdeError && error.code === 'TRB_SERDE_NOT_READY'
}

const IDENTITY = { serializeSync: (_topic: string, b: Buffer) => b }

/** Kafka Streams' changelog topic name for a store. */
export function changelogTopicFor(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}

/**
 * Sends every write to the store's changelog topic (Kafka Streams' ChangeLoggingKeyValueBytesStore). Timestamped
 * stores log the plain value with the stored timestamp as the record timestamp, and restore the reverse way.
 */
export class ChangeLoggingKeyValueBytesStore implements BytesKeyValueStore, WrappedStore {
  readonly wrapped: BytesKeyValueStore
  readonly name: string
  readonly #timestamped: boolean
  #context!: StateStoreContext

  constructor(inner: BytesKeyValueStore, timestamped: boolean) {
    this.wrapped = inner
    this.name = inner.name
    this.#timestamped = timestamped
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#context = context
    const timestamped = this.#timestamped
    const register = (store: StateStore, restore: RestoreCallback) => {
      const callback: RestoreCallback = timestamped
        ? (records) =>
            restore(
              records.map(
                (r): RestoreRecord =>
                  r.value === null
                    ? r
                    : // Four fields, not a spread: a spread of a fetched record copies its topic, partition and headers.
                      {
                        key: r.key,
                        value: encodeTimestamped(r.timestamp, r.value),
                        timestamp: r.timestamp,
                        offset: r.offset,
                      },
              ),
            )
        : restore
      context.register(store, callback)
    }
    // The inner store registers a restore callback of plain bytes; a timestamped store re-adds the timestamp.
    const proxied = new Proxy(context, {
      get(target, prop) {
        if (prop === 'register') return register
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    this.wrapped.init(proxied, root)
  }

  #log(key: Buffer, value: Buffer | null) {
    const ctx = this.#context
    if (value !== null && this.#timestamped) {
      ctx.logChange(this.name, key, rawValueOf(value), timestampOf(value), ctx.recordContext().headers)
    } else {
      ctx.logChange(this.name, key, value, ctx.recordContext().timestamp, ctx.recordContext().headers)
    }
  }

  put(key: Buffer, value: Buffer | null): void {
    this.wrapped.put(key, value)
    this.#log(key, value)
  }

  putIfAbsent(key: Buffer, value: Buffer | null): Buffer | undefined {
    const previous = this.wrapped.putIfAbsent(key, value)
    if (previous === undefined) this.#log(key, value)
    return previous
  }

  putAll(entries: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    for (const e of entries) this.put(e.key, e.value)
  }

  delete(key: Buffer): Buffer | undefined {
    const previous = this.wrapped.delete(key)
    this.#log(key, null)
    return previous
  }

  get(key: Buffer) {
    return this.wrapped.get(key)
  }
  range(from?: Buffer, to?: Buffer) {
    return this.wrapped.range(from, to)
  }
  reverseRange(from?: Buffer, to?: Buffer) {
    return this.wrapped.reverseRange(from, to)
  }
  prefixScan<P>(prefix: P, serializer: { serializeSync(topic: string, value: P): Buffer }) {
    return this.wrapped.prefixScan(prefix, serializer)
  }
  all() {
    return this.wrapped.all()
  }
  reverseAll() {
    return this.wrapped.reverseAll()
  }
  approximateNumEntries() {
    return this.wrapped.approximateNumEntries()
  }
  flush() {
    this.wrapped.flush()
  }
  close() {
    return this.wrapped.close()
  }
  persistent() {
    return this.wrapped.persistent()
  }
  isOpen() {
    return this.wrapped.isOpen()
  }
}

/**
 * Holds writes in the record cache and writes them below (and forwards them downstream, through the flush
 * listener) on eviction or commit (Kafka Streams' CachingKeyValueStore).
 */
export class CachingKeyValueStore implements BytesKeyValueStore, WrappedStore, CachedStore<Buffer, Buffer> {
  readonly wrapped: BytesKeyValueStore
  readonly name: string
  #context!: StateStoreContext
  #cache: RecordCache | undefined
  #namespace = ''
  #listener: CacheFlushListener<Buffer, Buffer> | undefined
  #sendOldValues = false

  constructor(inner: BytesKeyValueStore) {
    this.wrapped = inner
    this.name = inner.name
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#context = context
    this.#cache = context.cache
    this.#namespace = RecordCache.namespace(context.taskId, this.name)
    this.#cache?.addDirtyEntryFlushListener(this.#namespace, (entries) => {
      const run = () => {
        for (const entry of entries) this.#putAndMaybeForward(entry.key, entry.value, entry.context)
      }
      // One LMDB write transaction per flush, forwarding included (a transaction per entry made a commit cost
      // one fsync-free but still costly LMDB commit per key). Downstream stores are other LMDB environments; if a
      // processor throws, the flush's writes roll back and the task is closed dirty: the restore from the
      // changelog (or, under exactly_once_v2, from scratch) brings the store back in line.
      const batch = (this.#innermost() as { batch?: (fn: () => void) => void }).batch
      if (batch) batch.call(this.#innermost(), run)
      else run()
    })
    this.wrapped.init(context, root)
  }

  #innermost(): StateStore {
    let store: StateStore = this.wrapped
    while ((store as Partial<WrappedStore>).wrapped) store = (store as WrappedStore).wrapped
    return store
  }

  setFlushListener(listener: CacheFlushListener<Buffer, Buffer>, sendOldValues: boolean): boolean {
    this.#listener = listener
    this.#sendOldValues = sendOldValues
    return true
  }

  #putAndMaybeForward(key: Buffer, rawNew: Buffer | null, recordContext: import('./state-store.ts').RecordContext) {
    const ctx = this.#context
    const current = ctx.recordContext()
    try {
      ctx.setRecordContext(recordContext)
      if (this.#listener) {
        const rawOld = rawNew === null || this.#sendOldValues ? (this.wrapped.get(key) ?? null) : null
        // A key absent both below and in the cache needs neither a write nor a forward.
        if (rawNew === null && rawOld === null) return
        this.wrapped.put(key, rawNew)
        this.#listener(
          key,
          change(rawNew, this.#sendOldValues ? rawOld : null),
          recordContext.timestamp,
          recordContext.headers,
        )
      } else {
        this.wrapped.put(key, rawNew)
      }
    } finally {
      ctx.setRecordContext(current)
    }
  }

  get(key: Buffer): Buffer | undefined {
    if (this.#cache) {
      const entry = this.#cache.get(this.#namespace, key)
      if (entry) return entry.value ?? undefined
    }
    return this.wrapped.get(key)
  }

  put(key: Buffer, value: Buffer | null): void {
    if (!this.#cache) {
      this.#putAndMaybeForward(key, value, this.#context.recordContext())
      return
    }
    // A null value stays in the cache as a tombstone until flushed.
    this.#cache.put(this.#namespace, key, { value, dirty: true, context: this.#context.recordContext() })
  }

  putIfAbsent(key: Buffer, value: Buffer | null): Buffer | undefined {
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  putAll(entries: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    for (const e of entries) this.put(e.key, e.value)
  }

  delete(key: Buffer): Buffer | undefined {
    const existing = this.get(key)
    this.put(key, null)
    return existing
  }

  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    if (from && to && Buffer.compare(from, to) > 0) return makeIterator<Buffer, Buffer>([][Symbol.iterator]())
    return this.#merge(this.wrapped.range(from, to), this.#cached(from, to, true), false)
  }

  reverseRange(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    if (from && to && Buffer.compare(from, to) > 0) return makeIterator<Buffer, Buffer>([][Symbol.iterator]())
    return this.#merge(this.wrapped.reverseRange(from, to), this.#cached(from, to, true).reverse(), true)
  }

  prefixScan<P>(prefix: P, serializer: { serializeSync(topic: string, value: P): Buffer }) {
    const from = serializer.serializeSync(this.name, prefix)
    const cached = this.#cached(from, undefined, true).filter(([k]) => k.subarray(0, from.length).equals(from))
    return this.#merge(this.wrapped.prefixScan(from, IDENTITY), cached, false)
  }

  all() {
    return this.#merge(this.wrapped.all(), this.#cached(undefined, undefined, true), false)
  }

  reverseAll() {
    return this.#merge(this.wrapped.reverseAll(), this.#cached(undefined, undefined, true).reverse(), true)
  }

  approximateNumEntries() {
    return this.wrapped.approximateNumEntries()
  }

  #cached(from: Buffer | undefined, to: Buffer | undefined, toInclusive: boolean) {
    return this.#cache ? this.#cache.range(this.#namespace, from, to, toInclusive) : []
  }

  // Merges the store's entries with the cached ones; the cache wins on equal keys and hides deleted keys.
  #merge(
    below: KeyValueIterator<Buffer, Buffer>,
    cached: Array<[Buffer, { value: Buffer | null }]>,
    reverse: boolean,
  ): KeyValueIterator<Buffer, Buffer> {
    if (cached.length === 0) return below
    const sign = reverse ? -1 : 1
    function* merged(): Generator<KeyValue<Buffer, Buffer>> {
      let i = 0
      let next = below.next()
      while (!next.done || i < cached.length) {
        if (i < cached.length && (next.done || sign * Buffer.compare(cached[i][0], next.value.key) <= 0)) {
          const [key, entry] = cached[i++]
          if (!next.done && key.equals(next.value.key)) next = below.next()
          if (entry.value !== null) yield new KeyValue(key, entry.value)
        } else if (!next.done) {
          yield next.value
          next = below.next()
        }
      }
    }
    return makeIterator(merged(), () => below.close())
  }

  flush(): void {
    this.#cache?.flush(this.#namespace)
    this.wrapped.flush()
  }

  close() {
    this.#cache?.close(this.#namespace)
    return this.wrapped.close()
  }

  persistent() {
    return this.wrapped.persistent()
  }

  isOpen() {
    return this.wrapped.isOpen()
  }
}

type SerdeLike<T> = SyncSerde<T>

/**
 * The typed face of a store (Kafka Streams' MeteredKeyValueStore): turns keys and values into bytes with the
 * store's serdes (with the changelog topic as the serde topic, so registry serdes register `<changelog>-value`).
 * With `timestamped`, values are ValueAndTimestamp and the bytes carry the timestamp, as Kafka Streams'.
 */
export class MeteredKeyValueStore<K, V> implements KeyValueStore<K, V>, WrappedStore, CachedStore<K, V> {
  readonly wrapped: BytesKeyValueStore
  readonly name: string
  readonly timestamped: boolean
  #keySerde: SerdeLike<K> | undefined
  #valueSerde: SerdeLike<unknown> | undefined
  #topic = ''
  #context: StateStoreContext | undefined
  #warm = false

  constructor(
    inner: BytesKeyValueStore,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<unknown> | undefined,
    timestamped: boolean,
  ) {
    this.wrapped = inner
    this.name = inner.name
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.timestamped = timestamped
  }

  get keySerde(): SyncSerde<K> | undefined {
    return this.#keySerde
  }
  get valueSerde(): SyncSerde<unknown> | undefined {
    return this.#valueSerde
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#context = context
    const defaults = { key: context.defaultKeySerde, value: context.defaultValueSerde }
    // A wrapping serde built without its inner serde (a join's internal formats) takes the configured defaults.
    if (isDefaultsAware(this.#keySerde)) this.#keySerde = this.#keySerde.withDefaults(defaults) as SyncSerde<K>
    if (isDefaultsAware(this.#valueSerde)) this.#valueSerde = this.#valueSerde.withDefaults(defaults)
    this.#keySerde ??= context.defaultKeySerde as SyncSerde<K> | undefined
    this.#valueSerde ??= context.defaultValueSerde
    if (!this.#keySerde || !this.#valueSerde) {
      throw streamsError(
        'TRB_STREAMS_MISSING_SERDE',
        `state store ${this.name} has no ${this.#keySerde ? 'value' : 'key'} serde: give one (Materialized.with / ` +
          'Stores.keyValueStoreBuilder) or set default.key.serde / default.value.serde',
      )
    }
    this.#topic = changelogTopicFor(context.applicationId, this.name)
    this.wrapped.init(context, root)
  }

  /** The serde topic: the store's changelog topic. */
  get serdeTopic(): string {
    return this.#topic
  }

  /** Prepares the serdes for writing (a registry serde registers or looks up its writer schemas). */
  async prepare(): Promise<void> {
    await this.#keySerde!.prepareSerialize(this.#topic, { isKey: true })
    await this.#valueSerde!.prepareSerialize(this.#topic, { isKey: false })
  }

  serializeKey(key: K): Buffer {
    if (key === null || key === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: keys cannot be null`)
    }
    return this.#keySerde!.serializeSync(this.#topic, key, { isKey: true })
  }

  deserializeKey(bytes: Buffer): K {
    return this.#keySerde!.deserializeSync(bytes, { topic: this.#topic, isKey: true })
  }

  serializeValue(value: V | null | undefined): Buffer | null {
    if (value === null || value === undefined) return null
    if (this.timestamped) {
      const vt = value as unknown as ValueAndTimestamp<unknown>
      if (vt.value === null || vt.value === undefined) return null
      return encodeTimestamped(vt.timestamp, this.#valueSerde!.serializeSync(this.#topic, vt.value))
    }
    return this.#valueSerde!.serializeSync(this.#topic, value)
  }

  deserializeValue(bytes: Buffer | null | undefined): V | undefined {
    if (bytes === null || bytes === undefined) return undefined
    if (this.timestamped) {
      const value = this.#valueSerde!.deserializeSync(rawValueOf(bytes), { topic: this.#topic })
      return { value, timestamp: timestampOf(bytes) } as V
    }
    return this.#valueSerde!.deserializeSync(bytes, { topic: this.#topic }) as V
  }

  // A registry serde can write with a schema it cannot yet read back: check once, and if so warm its reader up
  // before the next record.
  #warmUp(key: Buffer, value: Buffer | null) {
    if (this.#warm || !this.#context) return
    this.#warm = true
    const jobs: Promise<void>[] = []
    const where = { topic: this.#topic }
    try {
      this.#keySerde!.deserializeSync(key, { ...where, isKey: true })
    } catch (error) {
      if (isNotReady(error)) jobs.push(this.#keySerde!.prepareDeserialize(key, { ...where, isKey: true }))
    }
    if (value !== null) {
      const raw = this.timestamped ? rawValueOf(value) : value
      try {
        this.#valueSerde!.deserializeSync(raw, where)
      } catch (error) {
        if (isNotReady(error)) jobs.push(this.#valueSerde!.prepareDeserialize(raw, where))
      }
    }
    if (jobs.length > 0) this.#context.deferPreparation(Promise.all(jobs).then(() => undefined))
  }

  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean {
    const wrapped = this.wrapped as Partial<CachedStore<Buffer, Buffer>>
    if (typeof wrapped.setFlushListener !== 'function') return false
    return wrapped.setFlushListener(
      (key, c, timestamp, headers: Headers) =>
        listener(
          this.deserializeKey(key),
          change(this.deserializeValue(c.newValue) ?? null, this.deserializeValue(c.oldValue) ?? null, c.isLatest),
          timestamp,
          headers,
        ),
      sendOldValues,
    )
  }

  get(key: K): V | undefined {
    return this.deserializeValue(this.wrapped.get(this.serializeKey(key)))
  }

  put(key: K, value: V | null): void {
    const k = this.serializeKey(key)
    const v = this.serializeValue(value)
    this.wrapped.put(k, v)
    if (!this.#warm) this.#warmUp(k, v)
  }

  putIfAbsent(key: K, value: V | null): V | undefined {
    const k = this.serializeKey(key)
    const v = this.serializeValue(value)
    const previous = this.deserializeValue(this.wrapped.putIfAbsent(k, v))
    if (!this.#warm) this.#warmUp(k, v)
    return previous
  }

  putAll(entries: Iterable<{ key: K; value: V | null }>): void {
    for (const e of entries) this.put(e.key, e.value)
  }

  delete(key: K): V | undefined {
    return this.deserializeValue(this.wrapped.delete(this.serializeKey(key)))
  }

  #typed(it: KeyValueIterator<Buffer, Buffer>): KeyValueIterator<K, V> {
    const self = this
    function* typed(): Generator<KeyValue<K, V>> {
      for (const entry of it)
        yield new KeyValue(self.deserializeKey(entry.key), self.deserializeValue(entry.value) as V)
    }
    return makeIterator(typed(), () => it.close())
  }

  range(from?: K, to?: K): KeyValueIterator<K, V> {
    return this.#typed(
      this.wrapped.range(
        from === undefined || from === null ? undefined : this.serializeKey(from),
        to === undefined || to === null ? undefined : this.serializeKey(to),
      ),
    )
  }

  reverseRange(from?: K, to?: K): KeyValueIterator<K, V> {
    return this.#typed(
      this.wrapped.reverseRange(
        from === undefined || from === null ? undefined : this.serializeKey(from),
        to === undefined || to === null ? undefined : this.serializeKey(to),
      ),
    )
  }

  prefixScan<P>(prefix: P, serializer: { serializeSync(topic: string, value: P): Buffer }): KeyValueIterator<K, V> {
    return this.#typed(this.wrapped.prefixScan(serializer.serializeSync(this.#topic, prefix), IDENTITY))
  }

  all(): KeyValueIterator<K, V> {
    return this.#typed(this.wrapped.all())
  }

  reverseAll(): KeyValueIterator<K, V> {
    return this.#typed(this.wrapped.reverseAll())
  }

  approximateNumEntries(): number {
    return this.wrapped.approximateNumEntries()
  }

  flush(): void {
    this.wrapped.flush()
  }

  close() {
    return this.wrapped.close()
  }

  persistent(): boolean {
    return this.wrapped.persistent()
  }

  isOpen(): boolean {
    return this.wrapped.isOpen()
  }
}

/**
 * A plain key-value view of a timestamped store (what `getKeyValueStore` returns for DSL stores, as Kafka's
 * driver does): values without their timestamps; writes stamp the current record time.
 */
export class TimestampedStoreFacade<K, V> implements KeyValueStore<K, V> {
  readonly name: string
  readonly #inner: KeyValueStore<K, ValueAndTimestamp<V>>
  readonly #now: () => number

  constructor(inner: KeyValueStore<K, ValueAndTimestamp<V>>, now: () => number) {
    this.#inner = inner
    this.name = inner.name
    this.#now = now
  }

  #strip(it: KeyValueIterator<K, ValueAndTimestamp<V>>): KeyValueIterator<K, V> {
    function* strip(): Generator<KeyValue<K, V>> {
      for (const e of it) yield new KeyValue(e.key, e.value.value)
    }
    return makeIterator(strip(), () => it.close())
  }

  get(key: K): V | undefined {
    return this.#inner.get(key)?.value
  }
  put(key: K, value: V | null): void {
    this.#inner.put(key, value === null || value === undefined ? null : { value, timestamp: this.#now() })
  }
  putIfAbsent(key: K, value: V | null): V | undefined {
    return this.#inner.putIfAbsent(
      key,
      value === null || value === undefined ? null : { value, timestamp: this.#now() },
    )?.value
  }
  putAll(entries: Iterable<{ key: K; value: V | null }>): void {
    for (const e of entries) this.put(e.key, e.value)
  }
  delete(key: K): V | undefined {
    return this.#inner.delete(key)?.value
  }
  range(from?: K, to?: K) {
    return this.#strip(this.#inner.range(from, to))
  }
  reverseRange(from?: K, to?: K) {
    return this.#strip(this.#inner.reverseRange(from, to))
  }
  prefixScan<P>(prefix: P, serializer: { serializeSync(topic: string, value: P): Buffer }) {
    return this.#strip(this.#inner.prefixScan(prefix, serializer))
  }
  all() {
    return this.#strip(this.#inner.all())
  }
  reverseAll() {
    return this.#strip(this.#inner.reverseAll())
  }
  approximateNumEntries() {
    return this.#inner.approximateNumEntries()
  }
  init(): void {}
  flush() {
    this.#inner.flush()
  }
  close() {
    return this.#inner.close()
  }
  persistent() {
    return this.#inner.persistent()
  }
  isOpen() {
    return this.#inner.isOpen()
  }
}
