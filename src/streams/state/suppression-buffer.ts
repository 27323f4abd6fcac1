/**
 * suppress()'s buffer as a state store (Kafka Streams' InMemoryTimeOrderedKeyValueChangeBuffer): each key's latest
 * change, kept in (buffer time, key bytes) order. With logging on (the default, as Kafka Streams) the keys written
 * or evicted since the last commit go to the changelog topic `<application.id>-<store>-changelog` when the task
 * commits (a tombstone for an evicted key), and the buffer is rebuilt from it on restart, so a result held back
 * is neither lost nor emitted twice; under exactly_once_v2 those writes are in the task's transaction.
 *
 * Changelog record: key = the buffer key (the table's key as serialized, for windowed keys Kafka's windowed
 * layout), value = this module's envelope (version 1, big-endian):
 *   u8 version, u8 window kind (0 none, 1 time, 2 session, 3 sliding), i64 buffer time, i64 record timestamp,
 *   [i64 window start, i64 window end when windowed], old value, new value (each i32 length, -1 for null, bytes),
 *   i32 header count, per header: i32 key length + UTF-8 key, i32 value length (-1 for null) + bytes.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { SessionWindow, SlidingWindow, TimeWindow, type Window, Windowed } from '../dsl/windows.ts'
import { streamsError } from '../errors.ts'
import { type Change, change, Headers } from '../processor/record.ts'
import { changelogTopicFor } from './layers.ts'
import type { RestoreRecord, StateStore, StateStoreContext } from './state-store.ts'
import type { BuildOptions, StoreBuilder } from './stores.ts'

const VERSION = 1

/** One buffered change: the table's key and change, with the record's timestamp and headers. */
export interface BufferedChange<K, V> {
  readonly key: K
  /** The buffer time: window end for untilWindowCloses, the first buffered update's timestamp for untilTimeLimit. */
  readonly time: number
  readonly change: Change<V>
  readonly timestamp: number
  readonly headers: Headers
}

interface Entry<K, V> extends BufferedChange<K, V> {
  readonly keyBytes: Buffer
  readonly order: string
  readonly encoded: Buffer
  /** Bytes counted against BufferConfig.maxBytes: key, values and 8 bytes of time. */
  readonly size: number
}

type Serde = SyncSerde<unknown>

function windowKind(w: Window): number {
  if (w instanceof SlidingWindow) return 3
  if (w instanceof SessionWindow) return 2
  return 1
}

function windowOf(kind: number, start: number, end: number): Window {
  if (kind === 3) return new SlidingWindow(start, end)
  if (kind === 2) return new SessionWindow(start, end)
  return new TimeWindow(start, end)
}

class Writer {
  readonly parts: Buffer[] = []
  u8(n: number) {
    this.parts.push(Buffer.from([n]))
  }
  i64(n: number) {
    const b = Buffer.allocUnsafe(8)
    b.writeBigInt64BE(BigInt(n))
    this.parts.push(b)
  }
  i32(n: number) {
    const b = Buffer.allocUnsafe(4)
    b.writeInt32BE(n)
    this.parts.push(b)
  }
  bytes(b: Buffer | null) {
    if (b === null) return this.i32(-1)
    this.i32(b.length)
    this.parts.push(b)
  }
  done(): Buffer {
    return Buffer.concat(this.parts)
  }
}

class Reader {
  #at = 0
  readonly #b: Buffer
  constructor(b: Buffer) {
    this.#b = b
  }
  #need(n: number) {
    if (this.#at + n > this.#b.length) {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'suppress buffer changelog record is truncated')
    }
  }
  u8(): number {
    this.#need(1)
    return this.#b[this.#at++]
  }
  i64(): number {
    this.#need(8)
    const n = Number(this.#b.readBigInt64BE(this.#at))
    this.#at += 8
    return n
  }
  i32(): number {
    this.#need(4)
    const n = this.#b.readInt32BE(this.#at)
    this.#at += 4
    return n
  }
  bytes(): Buffer | null {
    const n = this.i32()
    if (n < 0) return null
    this.#need(n)
    const out = this.#b.subarray(this.#at, this.#at + n)
    this.#at += n
    return out
  }
}

/** The time-ordered suppress buffer; the suppress processor reaches it with getStateStore(name). */
export class InMemoryTimeOrderedKeyValueBuffer<K, V> implements StateStore {
  readonly name: string
  readonly loggingEnabled: boolean
  readonly #keySerde: SyncSerde<K> | undefined
  readonly #valueSerde: SyncSerde<V> | undefined
  #context: StateStoreContext | undefined
  #open = false
  readonly #byKey = new Map<string, Entry<K, V>>()
  #sorted: Array<Entry<K, V>> = []
  #unsorted = false
  #bytes = 0
  /** Keys put or evicted since the last flush (what the next flush writes to the changelog). */
  readonly #dirty = new Map<string, { keyBytes: Buffer; timestamp: number }>()

  constructor(
    name: string,
    loggingEnabled: boolean,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ) {
    this.name = name
    this.loggingEnabled = loggingEnabled
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#context = context
    context.register(root, (records) => this.#restore(records))
    this.#open = true
  }

  get #topic(): string {
    return changelogTopicFor(this.#context?.applicationId ?? '', this.name)
  }

  #valueSerdeOrDefault(): Serde | undefined {
    return (this.#valueSerde ?? this.#context?.defaultValueSerde) as Serde | undefined
  }

  /** The inner key's serde of a windowed key: the windowed serde's inner one, else the default key serde. */
  #innerKeySerde(): Serde | undefined {
    const inner = (this.#keySerde as { inner?: Serde } | undefined)?.inner
    return inner ?? (this.#keySerde ? undefined : (this.#context?.defaultKeySerde as Serde | undefined))
  }

  #serializeKey(key: K): Buffer {
    const topic = this.#topic
    // The table's key serde (a windowed serde for windowed tables) gives Kafka's buffer key bytes.
    if (this.#keySerde) return this.#keySerde.serializeSync(topic, key, { isKey: true })
    const serde = this.#context?.defaultKeySerde as Serde | undefined
    const plain = (k: unknown) =>
      serde ? serde.serializeSync(topic, k, { isKey: true }) : Buffer.from(JSON.stringify(k) ?? 'null')
    if (!(key instanceof Windowed)) return plain(key)
    const w = key.window
    const session = windowKind(w) === 2
    const tail = Buffer.alloc(session ? 16 : 8)
    if (session) {
      tail.writeBigInt64BE(BigInt(w.endMs), 0)
      tail.writeBigInt64BE(BigInt(w.startMs), 8)
    } else tail.writeBigInt64BE(BigInt(w.startMs), 0)
    return Buffer.concat([plain(key.key), tail])
  }

  #deserializeKey(bytes: Buffer, kind: number, start: number, end: number): K {
    const topic = this.#topic
    const where = { topic, partition: this.#context?.partition ?? 0, isKey: true }
    if (kind === 0) {
      if (this.#keySerde) return this.#keySerde.deserializeSync(bytes, where)
      const serde = this.#context?.defaultKeySerde as Serde | undefined
      return (serde ? serde.deserializeSync(bytes, where) : JSON.parse(bytes.toString('utf8'))) as K
    }
    const inner = this.#innerKeySerde()
    if (this.#keySerde && !inner) {
      // A windowed key serde without a known layout: it reads its own bytes.
      return this.#keySerde.deserializeSync(bytes, where)
    }
    const raw = bytes.subarray(0, bytes.length - (kind === 2 ? 16 : 8))
    const key = inner ? inner.deserializeSync(raw, where) : JSON.parse(raw.toString('utf8'))
    return new Windowed(key, windowOf(kind, start, end)) as K
  }

  #serializeValue(v: V | null | undefined): Buffer | null {
    if (v === null || v === undefined) return null
    const serde = this.#valueSerdeOrDefault()
    return serde ? serde.serializeSync(this.#topic, v) : Buffer.from(JSON.stringify(v) ?? 'null')
  }

  #deserializeValue(b: Buffer | null): V | null {
    if (b === null) return null
    const serde = this.#valueSerdeOrDefault()
    const where = { topic: this.#topic, partition: this.#context?.partition ?? 0 }
    return (serde ? serde.deserializeSync(b, where) : JSON.parse(b.toString('utf8'))) as V
  }

  #encode(e: BufferedChange<K, V>, oldBytes: Buffer | null, newBytes: Buffer | null): Buffer {
    const w = new Writer()
    w.u8(VERSION)
    const window = e.key instanceof Windowed ? e.key.window : undefined
    w.u8(window ? windowKind(window) : 0)
    w.i64(e.time)
    w.i64(e.timestamp)
    if (window) {
      w.i64(window.startMs)
      w.i64(window.endMs)
    }
    w.bytes(oldBytes)
    w.bytes(newBytes)
    const headers = [...e.headers]
    w.i32(headers.length)
    for (const h of headers) {
      w.bytes(Buffer.from(h.key, 'utf8'))
      w.bytes(h.value)
    }
    return w.done()
  }

  #decode(keyBytes: Buffer, value: Buffer): Entry<K, V> {
    const r = new Reader(value)
    const version = r.u8()
    if (version !== VERSION) {
      throw streamsError(
        'TRB_STREAMS_ILLEGAL_STATE',
        `suppress buffer ${this.name}: changelog record of format version ${version} (this version reads ${VERSION}); ` +
          'reset the application or run the version that wrote it',
      )
    }
    const kind = r.u8()
    const time = r.i64()
    const timestamp = r.i64()
    const start = kind === 0 ? 0 : r.i64()
    const end = kind === 0 ? 0 : r.i64()
    const oldBytes = r.bytes()
    const newBytes = r.bytes()
    const headers = new Headers()
    const n = r.i32()
    for (let i = 0; i < n; i++) headers.add((r.bytes() ?? Buffer.alloc(0)).toString('utf8'), r.bytes())
    const key = this.#deserializeKey(keyBytes, kind, start, end)
    const c = change(this.#deserializeValue(newBytes), this.#deserializeValue(oldBytes))
    return this.#entry({ key, time, change: c, timestamp, headers }, keyBytes, value, oldBytes, newBytes)
  }

  #entry(
    e: BufferedChange<K, V>,
    keyBytes: Buffer,
    encoded: Buffer,
    oldBytes: Buffer | null,
    newBytes: Buffer | null,
  ): Entry<K, V> {
    const size = keyBytes.length + (oldBytes?.length ?? 0) + (newBytes?.length ?? 0) + 8
    return { ...e, keyBytes, order: keyBytes.toString('latin1'), encoded, size }
  }

  #set(entry: Entry<K, V>) {
    const previous = this.#byKey.get(entry.order)
    if (previous) this.#bytes -= previous.size
    this.#bytes += entry.size
    this.#byKey.set(entry.order, entry)
    this.#unsorted = true
  }

  #delete(order: string) {
    const previous = this.#byKey.get(order)
    if (!previous) return
    this.#bytes -= previous.size
    this.#byKey.delete(order)
    this.#unsorted = true
  }

  #restore(records: readonly RestoreRecord[]) {
    for (const rec of records) {
      if (rec.value === null) this.#delete(rec.key.toString('latin1'))
      else this.#set(this.#decode(rec.key, rec.value))
    }
  }

  #sort() {
    if (!this.#unsorted) return
    this.#sorted = [...this.#byKey.values()].sort((a, b) =>
      a.time !== b.time ? a.time - b.time : a.order < b.order ? -1 : a.order > b.order ? 1 : 0,
    )
    this.#unsorted = false
  }

  /**
   * Buffers `key`'s change: a key already buffered keeps its buffer time and its oldest old value (the value
   * before the first suppressed update), as Kafka's buffer does.
   */
  put(key: K, time: number, c: Change<V>, timestamp: number, headers: Headers): void {
    this.#checkOpen()
    const keyBytes = this.#serializeKey(key)
    const order = keyBytes.toString('latin1')
    const previous = this.#byKey.get(order)
    const e: BufferedChange<K, V> = {
      key,
      time: previous?.time ?? time,
      change: change(c.newValue, previous ? previous.change.oldValue : c.oldValue),
      timestamp,
      headers,
    }
    const oldBytes = this.#serializeValue(e.change.oldValue)
    const newBytes = this.#serializeValue(e.change.newValue)
    this.#set(this.#entry(e, keyBytes, this.#encode(e, oldBytes, newBytes), oldBytes, newBytes))
    this.#dirty.set(order, { keyBytes, timestamp })
  }

  /** Removes and hands to `emit`, oldest first, the entries for which `predicate` holds, stopping at the first not. */
  evictWhile(predicate: (e: BufferedChange<K, V>) => boolean, emit: (e: BufferedChange<K, V>) => void): number {
    this.#checkOpen()
    this.#sort()
    let i = 0
    while (i < this.#sorted.length && predicate(this.#sorted[i])) {
      const e = this.#sorted[i++]
      this.#bytes -= e.size
      this.#byKey.delete(e.order)
      this.#dirty.set(e.order, { keyBytes: e.keyBytes, timestamp: e.timestamp })
      emit(e)
    }
    if (i > 0) this.#sorted = this.#sorted.slice(i)
    return i
  }

  numRecords(): number {
    return this.#byKey.size
  }

  bufferSize(): number {
    return this.#bytes
  }

  /** The smallest buffer time held, or +Infinity when empty. */
  minTimestamp(): number {
    this.#sort()
    return this.#sorted.length > 0 ? this.#sorted[0].time : Number.POSITIVE_INFINITY
  }

  /** Writes the keys changed since the last flush to the changelog: each one's current entry or a tombstone. */
  flush(): void {
    if (!this.#open || !this.#context) return
    if (this.loggingEnabled) {
      for (const [order, { keyBytes, timestamp }] of this.#dirty) {
        const e = this.#byKey.get(order)
        this.#context.logChange(this.name, keyBytes, e ? e.encoded : null, e ? e.timestamp : timestamp)
      }
    }
    this.#dirty.clear()
  }

  close(): void {
    this.#open = false
    this.#byKey.clear()
    this.#sorted = []
    this.#dirty.clear()
    this.#bytes = 0
  }

  persistent(): boolean {
    return false
  }

  isOpen(): boolean {
    return this.#open
  }

  #checkOpen() {
    if (!this.#open) throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `suppress buffer ${this.name} is not open`)
  }
}

/** Builds the suppress buffer of each task; logging is on unless BufferConfig.withLoggingDisabled() was chained. */
export class SuppressionBufferBuilder<K, V> implements StoreBuilder<InMemoryTimeOrderedKeyValueBuffer<K, V>> {
  readonly name: string
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  loggingEnabled = true
  readonly cachingEnabled = false
  logConfig: Record<string, string> = {}
  readonly persistent = false

  constructor(name: string, keySerde: SyncSerde<K> | undefined, valueSerde: SyncSerde<V> | undefined) {
    this.name = name
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }
  withCachingEnabled(): this {
    // Kafka's suppression buffer has no cache either: the buffer is the cache.
    return this
  }
  withCachingDisabled(): this {
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
  build(_options?: BuildOptions): InMemoryTimeOrderedKeyValueBuffer<K, V> {
    return new InMemoryTimeOrderedKeyValueBuffer<K, V>(this.name, this.loggingEnabled, this.keySerde, this.valueSerde)
  }
}
