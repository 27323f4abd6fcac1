import { streamsError } from '../errors.ts'

export interface Header {
  readonly key: string
  readonly value: Buffer | null
}

/**
 * Record headers, as Kafka's: an ordered list where a key may repeat. A record and the records forwarded from it
 * share one Headers instance along a forward chain (as Kafka Streams' context does); `copy()` isolates them.
 */
export class Headers implements Iterable<Header> {
  #entries: Header[]

  constructor(entries?: Iterable<Header | readonly [string, Buffer | string | null]>) {
    this.#entries = []
    if (entries) for (const entry of entries) this.#push(entry)
  }

  #push(entry: Header | readonly [string, Buffer | string | null]) {
    if (Array.isArray(entry)) this.add(entry[0] as string, entry[1] as Buffer | string | null)
    else this.#entries.push(entry as Header)
  }

  add(key: string, value: Buffer | string | null): this {
    this.#entries.push({ key, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value })
    return this
  }

  remove(key: string): this {
    this.#entries = this.#entries.filter((h) => h.key !== key)
    return this
  }

  /** The last header with this key, as Kafka's `lastHeader`. */
  lastHeader(key: string): Header | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) if (this.#entries[i].key === key) return this.#entries[i]
    return undefined
  }

  /** The value of the last header with this key as UTF-8 text. */
  lastText(key: string): string | undefined {
    const value = this.lastHeader(key)?.value
    return value === null || value === undefined ? undefined : value.toString('utf8')
  }

  headers(key: string): Header[] {
    return this.#entries.filter((h) => h.key === key)
  }

  toArray(): Header[] {
    return [...this.#entries]
  }

  get size(): number {
    return this.#entries.length
  }

  copy(): Headers {
    return new Headers(this.#entries)
  }

  [Symbol.iterator](): Iterator<Header> {
    return this.#entries[Symbol.iterator]()
  }

  /** Rough resident size, for the record cache's accounting (Kafka counts key chars and value bytes). */
  sizeEstimate(): number {
    let size = 0
    for (const h of this.#entries) size += h.key.length + (h.value ? h.value.length : 0)
    return size
  }
}

const EMPTY_HEADERS_LENGTH = 0

/**
 * A record flowing through a topology (Kafka Streams' `api.Record`): key, value, timestamp, headers. Immutable:
 * `withKey`, `withValue`, `withTimestamp`, `withHeaders` return new records.
 */
export class Record<K, V> {
  readonly key: K
  readonly value: V
  readonly timestamp: number
  readonly headers: Headers

  constructor(key: K, value: V, timestamp: number, headers?: Headers) {
    if (timestamp < 0 || !Number.isFinite(timestamp)) {
      throw streamsError('TRB_STREAMS_INVALID_TIMESTAMP', `record timestamp ${timestamp} is not a valid timestamp`)
    }
    this.key = key
    this.value = value
    this.timestamp = timestamp
    this.headers = headers ?? new Headers()
  }

  withKey<K2>(key: K2): Record<K2, V> {
    return new Record(key, this.value, this.timestamp, this.headers)
  }

  withValue<V2>(value: V2): Record<K, V2> {
    return new Record(this.key, value, this.timestamp, this.headers)
  }

  withTimestamp(timestamp: number): Record<K, V> {
    return new Record(this.key, this.value, timestamp, this.headers)
  }

  withHeaders(headers: Headers): Record<K, V> {
    return new Record(this.key, this.value, this.timestamp, headers)
  }

  hasHeaders(): boolean {
    return this.headers.size > EMPTY_HEADERS_LENGTH
  }
}

/** Key and value, as Kafka Streams' KeyValue (`KeyValue.pair(k, v)`). Any `{ key, value }` object will do. */
export class KeyValue<K, V> {
  constructor(
    readonly key: K,
    readonly value: V,
  ) {}

  static pair<K, V>(key: K, value: V): KeyValue<K, V> {
    return new KeyValue(key, value)
  }

  toString(): string {
    return `KeyValue(${String(this.key)}, ${String(this.value)})`
  }
}

/** A KTable update: the new value and (when the downstream asked for it) the old one. */
export interface Change<V> {
  readonly newValue: V | null
  readonly oldValue: V | null
  readonly isLatest: boolean
}

export function change<V>(newValue: V | null, oldValue: V | null, isLatest = true): Change<V> {
  return { newValue, oldValue, isLatest }
}

/** A value with the timestamp of the record that last updated it (Kafka's ValueAndTimestamp). */
export interface ValueAndTimestamp<V> {
  readonly value: V
  readonly timestamp: number
}

export const ValueAndTimestamp = {
  make<V>(value: V | null | undefined, timestamp: number): ValueAndTimestamp<V> | null {
    return value === null || value === undefined ? null : { value, timestamp }
  },
  getValueOrNull<V>(vt: ValueAndTimestamp<V> | null | undefined): V | null {
    return vt === null || vt === undefined ? null : vt.value
  },
}

/** Where the record being processed came from; absent in punctuations. */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}
