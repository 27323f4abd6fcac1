/**
 * The stream-side buffer of a stream-table join with a grace period (Kafka Streams' RocksDBTimeOrderedKeyValueBuffer
 * as KStreamKTableJoin uses it): stream records wait, ordered by timestamp, until the buffer's stream time (the
 * largest timestamp buffered) passes their timestamp + grace; then they are evicted oldest first (equal timestamps
 * in key-bytes order, then arrival order, as Kafka's time-first key layout orders them) and joined. A record already
 * older than stream time - grace is not buffered: the caller joins it at once. Every put and eviction goes to the
 * changelog (`<application.id>-<join name>-Buffer-changelog`); restoring replays it.
 */
import BTreeModule from 'sorted-btree'
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { Headers, Record as StreamRecord } from '../processor/record.ts'
import { changelogTopicFor } from './layers.ts'
import type { RecordContext, StateStore, StateStoreContext } from './state-store.ts'
import type { BuildOptions, StoreBuilder } from './stores.ts'
import { validateStoreName } from './stores.ts'

interface SortedTree<K, V> {
  readonly size: number
  get(key: K): V | undefined
  set(key: K, value: V): boolean
  delete(key: K): boolean
  minKey(): K | undefined
}
type BTreeClass = new <K, V>() => SortedTree<K, V>
const BTree: BTreeClass =
  (BTreeModule as unknown as { default?: BTreeClass }).default ?? (BTreeModule as unknown as BTreeClass)

/** A record let out of the buffer, with the record context it was buffered with. */
export interface Eviction<K, V> {
  readonly record: StreamRecord<K, V>
  readonly context: RecordContext
}

// Value layout: [partition int32][offset int64][topic length int16 (-1: none)][topic][header count int32]
// ([key length int32][key][value length int32, -1 null][value])* [value bytes]
function encodeEntry(context: RecordContext, value: Buffer): Buffer {
  const parts: Buffer[] = []
  const head = Buffer.allocUnsafe(14)
  head.writeInt32BE(context.partition, 0)
  head.writeBigInt64BE(BigInt(context.offset), 4)
  const topic = context.topic === null ? null : Buffer.from(context.topic, 'utf8')
  head.writeInt16BE(topic === null ? -1 : topic.length, 12)
  parts.push(head)
  if (topic) parts.push(topic)
  const headers = context.headers.toArray()
  const count = Buffer.allocUnsafe(4)
  count.writeInt32BE(headers.length, 0)
  parts.push(count)
  for (const h of headers) {
    const k = Buffer.from(h.key, 'utf8')
    const lens = Buffer.allocUnsafe(4)
    lens.writeInt32BE(k.length, 0)
    parts.push(lens, k)
    const vl = Buffer.allocUnsafe(4)
    vl.writeInt32BE(h.value === null ? -1 : h.value.length, 0)
    parts.push(vl)
    if (h.value !== null) parts.push(h.value)
  }
  parts.push(value)
  return Buffer.concat(parts)
}

function decodeEntry(raw: Buffer, timestamp: number): { context: RecordContext; value: Buffer } {
  const partition = raw.readInt32BE(0)
  const offset = Number(raw.readBigInt64BE(4))
  const topicLength = raw.readInt16BE(12)
  let at = 14
  let topic: string | null = null
  if (topicLength >= 0) {
    topic = raw.toString('utf8', at, at + topicLength)
    at += topicLength
  }
  const count = raw.readInt32BE(at)
  at += 4
  const headers = new Headers()
  for (let i = 0; i < count; i++) {
    const kl = raw.readInt32BE(at)
    const key = raw.toString('utf8', at + 4, at + 4 + kl)
    at += 4 + kl
    const vl = raw.readInt32BE(at)
    at += 4
    if (vl < 0) headers.add(key, null)
    else {
      headers.add(key, Buffer.from(raw.subarray(at, at + vl)))
      at += vl
    }
  }
  return { context: { timestamp, topic, partition, offset, headers }, value: Buffer.from(raw.subarray(at)) }
}

/** Store key: [timestamp int64][key bytes][sequence int32], compared as bytes. */
function storeKey(timestamp: number, key: Buffer, seq: number): Buffer {
  const out = Buffer.allocUnsafe(12 + key.length)
  out.writeBigInt64BE(BigInt(timestamp), 0)
  key.copy(out, 8)
  out.writeInt32BE(seq, 8 + key.length)
  return out
}

export class TimeOrderedKeyValueBuffer<K, V> implements StateStore {
  readonly name: string
  readonly gracePeriod: number
  readonly #logging: boolean
  #keySerde: SyncSerde<K> | undefined
  #valueSerde: SyncSerde<V> | undefined
  #tree = new BTree<string, Buffer>()
  #context: StateStoreContext | undefined
  #topic = ''
  #seq = 0
  #observedStreamTime = -1
  #open = false

  constructor(
    name: string,
    gracePeriod: number,
    logging: boolean,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ) {
    this.name = name
    this.gracePeriod = gracePeriod
    this.#logging = logging
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  /** The buffer's stream time: the largest timestamp buffered (or restored); -1 before any. */
  get observedStreamTime(): number {
    return this.#observedStreamTime
  }

  /** How many records wait in the buffer. */
  get numRecords(): number {
    return this.#tree.size
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#keySerde ??= context.defaultKeySerde as SyncSerde<K> | undefined
    this.#valueSerde ??= context.defaultValueSerde as SyncSerde<V> | undefined
    if (!this.#keySerde || !this.#valueSerde) {
      throw streamsError(
        'TRB_STREAMS_MISSING_SERDE',
        `join buffer ${this.name} has no ${this.#keySerde ? 'value' : 'key'} serde: give the stream's serdes in ` +
          'Joined.with(...) or set default.key.serde / default.value.serde',
      )
    }
    this.#context = context
    this.#topic = changelogTopicFor(context.applicationId, this.name)
    context.register(root, (records) => {
      for (const r of records) {
        const k = r.key.toString('latin1')
        if (r.value === null) this.#tree.delete(k)
        else {
          this.#tree.set(k, r.value)
          this.#observe(Number(r.key.readBigInt64BE(0)))
        }
      }
    })
    this.#open = true
  }

  #observe(timestamp: number): void {
    if (timestamp > this.#observedStreamTime) this.#observedStreamTime = timestamp
  }

  #check(): void {
    if (!this.#open) throw streamsError('TRB_STREAMS_STORE_CLOSED', `store ${this.name} is not open`)
  }

  /** Buffers the record; false (and nothing buffered) when it is already older than stream time - grace. */
  put(record: StreamRecord<K, V>, context: RecordContext): boolean {
    this.#check()
    if (this.#observedStreamTime - this.gracePeriod > record.timestamp) return false
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `join buffer ${this.name}: key and value cannot be null`)
    }
    this.#seq = (this.#seq + 1) & 0x7fffffff
    const key = storeKey(
      record.timestamp,
      this.#keySerde!.serializeSync(this.#topic, record.key, { isKey: true }),
      this.#seq,
    )
    const value = encodeEntry(context, this.#valueSerde!.serializeSync(this.#topic, record.value))
    this.#tree.set(key.toString('latin1'), value)
    this.#observe(record.timestamp)
    if (this.#logging) this.#context!.logChange(this.name, key, value, record.timestamp, new Headers())
    return true
  }

  /** Lets out, oldest first, every record whose timestamp is at or before stream time - grace. */
  evict(callback: (eviction: Eviction<K, V>) => void): void {
    this.#check()
    const limit = this.#observedStreamTime - this.gracePeriod
    for (;;) {
      const first = this.#tree.minKey()
      if (first === undefined) return
      const key = Buffer.from(first, 'latin1')
      const timestamp = Number(key.readBigInt64BE(0))
      if (timestamp > limit) return
      const raw = this.#tree.get(first)!
      this.#tree.delete(first)
      if (this.#logging) this.#context!.logChange(this.name, key, null, timestamp, new Headers())
      const { context, value } = decodeEntry(raw, timestamp)
      const k = this.#keySerde!.deserializeSync(key.subarray(8, key.length - 4), { topic: this.#topic, isKey: true })
      const v = this.#valueSerde!.deserializeSync(value, { topic: this.#topic })
      callback({ record: new StreamRecord(k, v, timestamp, context.headers), context })
    }
  }

  flush(): void {}
  close(): void {
    this.#open = false
  }
  persistent(): boolean {
    return false
  }
  isOpen(): boolean {
    return this.#open
  }
}

/** Builds a join's buffer (logged by default, never cached: Kafka's buffer builder ignores caching). */
export class TimeOrderedKeyValueBufferBuilder<K, V> implements StoreBuilder<TimeOrderedKeyValueBuffer<K, V>> {
  readonly name: string
  readonly gracePeriod: number
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  loggingEnabled = true
  readonly cachingEnabled = false
  logConfig: Record<string, string> = {}
  readonly persistent = false

  constructor(name: string, gracePeriod: number, keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>) {
    validateStoreName(name)
    this.name = name
    this.gracePeriod = gracePeriod
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }
  withCachingEnabled(): this {
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
  build(_options?: BuildOptions): TimeOrderedKeyValueBuffer<K, V> {
    return new TimeOrderedKeyValueBuffer<K, V>(
      this.name,
      this.gracePeriod,
      this.loggingEnabled,
      this.keySerde,
      this.valueSerde,
    )
  }
}
