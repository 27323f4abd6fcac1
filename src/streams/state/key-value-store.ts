import type { Change, ValueAndTimestamp } from '../processor/record.ts'
import { KeyValue } from '../processor/record.ts'
import type { StateStore } from './state-store.ts'

/**
 * An iterator over store entries, in key order (bytes order of the serialized keys, as Kafka's stores). Use it in
 * a `for...of` loop; close it when leaving early (LMDB holds a read transaction while it is open).
 */
export interface KeyValueIterator<K, V> extends IterableIterator<KeyValue<K, V>> {
  peekNextKey(): K | undefined
  close(): void
}

export interface ReadOnlyKeyValueStore<K, V> {
  /** The value for the key, or undefined when there is none. */
  get(key: K): V | undefined
  /** Entries with from <= key <= to (either bound may be omitted), in ascending key order. */
  range(from?: K, to?: K): KeyValueIterator<K, V>
  /** Entries with from <= key <= to, in descending key order. */
  reverseRange(from?: K, to?: K): KeyValueIterator<K, V>
  /** Entries whose serialized key starts with the serialized prefix. */
  prefixScan<P>(prefix: P, prefixSerializer: { serializeSync(topic: string, value: P): Buffer }): KeyValueIterator<K, V>
  all(): KeyValueIterator<K, V>
  reverseAll(): KeyValueIterator<K, V>
  /** An estimate of the number of entries (exact for the in-memory and LMDB stores, when nothing is cached). */
  approximateNumEntries(): number
}

/**
 * A key-value state store (Kafka Streams' KeyValueStore). `put(key, null)` deletes, as Kafka's does.
 */
export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V | null): void
  /** Puts only when the key has no value; returns the existing value (undefined if the put happened). */
  putIfAbsent(key: K, value: V | null): V | undefined
  putAll(entries: Iterable<KeyValue<K, V | null> | { key: K; value: V | null }>): void
  /** Deletes the key; returns the value it had. */
  delete(key: K): V | undefined
}

export type TimestampedKeyValueStore<K, V> = KeyValueStore<K, ValueAndTimestamp<V>>

/** The bytes-level store the DSL and the layers below the metered store work with. */
export type BytesKeyValueStore = KeyValueStore<Buffer, Buffer>

/** Called by a caching store when it flushes a dirty entry: the change, with the record context of the write. */
export type CacheFlushListener<K, V> = (
  key: K,
  change: Change<V>,
  timestamp: number,
  headers: import('../processor/record.ts').Headers,
) => void

/** A store whose writes can be held in the record cache: the DSL forwards KTable changes when they are flushed. */
export interface CachedStore<K, V> {
  /** Returns true when the store caches (and so the listener forwards), false when it writes through. */
  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean
}

export function isCachedStore(store: unknown): store is CachedStore<unknown, unknown> {
  return typeof (store as Partial<CachedStore<unknown, unknown>>)?.setFlushListener === 'function'
}

/** Builds an iterator from a generator of entries, with an explicit close hook. */
export function makeIterator<K, V>(
  source: Iterator<KeyValue<K, V>>,
  onClose: () => void = () => {},
): KeyValueIterator<K, V> {
  let peeked: IteratorResult<KeyValue<K, V>> | undefined
  let closed = false
  const close = () => {
    peeked = undefined
    if (closed) return
    closed = true
    source.return?.()
    onClose()
  }
  const it: KeyValueIterator<K, V> = {
    next(): IteratorResult<KeyValue<K, V>> {
      if (peeked) {
        const result = peeked
        peeked = undefined
        if (result.done) close()
        return result
      }
      if (closed) return { done: true, value: undefined }
      const result = source.next()
      if (result.done) close()
      return result
    },
    peekNextKey(): K | undefined {
      if (!peeked) peeked = closed ? { done: true, value: undefined } : source.next()
      return peeked.done ? undefined : peeked.value.key
    },
    close,
    return(): IteratorResult<KeyValue<K, V>> {
      close()
      return { done: true, value: undefined }
    },
    [Symbol.iterator]() {
      return it
    },
  }
  return it
}

export function kv<K, V>(key: K, value: V): KeyValue<K, V> {
  return new KeyValue(key, value)
}
