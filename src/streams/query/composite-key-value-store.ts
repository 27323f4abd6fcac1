/**
 * The read-only key-value view over every local instance of a store (Kafka Streams' CompositeReadOnlyKeyValueStore):
 * `get` asks each partition's store, range scans merge the partitions' iterators. Unlike Kafka Streams, whose
 * composite scans go partition after partition, the merge keeps the stores' own order (serialized key bytes)
 * across partitions whenever the stores can serialize keys (every store built by Tributary can).
 */
import { KeyValue, type ValueAndTimestamp } from '../processor/record.ts'
import { type KeyValueIterator, makeIterator, type ReadOnlyKeyValueStore } from '../state/key-value-store.ts'
import type { StateStore } from '../state/state-store.ts'
import type { StateStoreProvider } from './store-types.ts'

/** A read-only key-value store that can also give a key's serialized bytes (the order of its iterators). */
export interface KeyValueView<K, V> extends ReadOnlyKeyValueStore<K, V> {
  readonly name: string
  keyBytes?(key: K): Buffer
}

type AnyKeyValueStore = ReadOnlyKeyValueStore<unknown, unknown> & { name: string; serializeKey?(k: unknown): Buffer }

function mapValues<K, A, B>(it: KeyValueIterator<K, A>, fn: (a: A) => B): KeyValueIterator<K, B> {
  function* mapped(): Generator<KeyValue<K, B>> {
    for (const e of it) yield new KeyValue(e.key, fn(e.value))
  }
  return makeIterator(mapped(), () => it.close())
}

/**
 * The read-only view of one key-value store instance. `strip`: a timestamped store read as a plain one (values
 * without their timestamps).
 */
export function keyValueView<K, V>(store: StateStore, mode: 'plain' | 'strip'): KeyValueView<K, V> {
  const s = store as unknown as AnyKeyValueStore
  const value =
    mode === 'strip'
      ? (v: unknown) => (v as ValueAndTimestamp<unknown> | undefined)?.value as V
      : (v: unknown) => v as V
  const it = (i: KeyValueIterator<unknown, unknown>) => mapValues(i, value) as KeyValueIterator<K, V>
  return {
    name: s.name,
    get: (key) => {
      const v = s.get(key)
      return v === undefined ? undefined : value(v)
    },
    range: (from, to) => it(s.range(from, to)),
    reverseRange: (from, to) => it(s.reverseRange(from, to)),
    prefixScan: (prefix, serializer) => it(s.prefixScan(prefix, serializer)),
    all: () => it(s.all()),
    reverseAll: () => it(s.reverseAll()),
    approximateNumEntries: () => s.approximateNumEntries(),
    keyBytes: typeof s.serializeKey === 'function' ? (key) => s.serializeKey!(key) : undefined,
  }
}

/**
 * Merges iterators that are each ordered by key bytes into one ordered iterator (descending with `reverse`); without
 * a way to get key bytes, the iterators follow each other.
 */
export function mergeIterators<K, V>(
  iterators: Array<KeyValueIterator<K, V>>,
  keyBytes: ((key: K) => Buffer) | undefined,
  reverse: boolean,
): KeyValueIterator<K, V> {
  const closeAll = () => {
    for (const i of iterators) i.close()
  }
  if (iterators.length === 1) return iterators[0]!
  if (!keyBytes) {
    function* concatenated(): Generator<KeyValue<K, V>> {
      for (const i of iterators) yield* i
    }
    return makeIterator(concatenated(), closeAll)
  }
  const bytes = keyBytes
  function* merged(): Generator<KeyValue<K, V>> {
    const heads: Array<{ entry: KeyValue<K, V>; bytes: Buffer; from: KeyValueIterator<K, V> } | undefined> = []
    const advance = (i: number, from: KeyValueIterator<K, V>) => {
      const next = from.next()
      heads[i] = next.done ? undefined : { entry: next.value, bytes: bytes(next.value.key), from }
    }
    for (let i = 0; i < iterators.length; i++) advance(i, iterators[i]!)
    const sign = reverse ? -1 : 1
    for (;;) {
      let best = -1
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]
        if (h && (best < 0 || sign * Buffer.compare(h.bytes, heads[best]!.bytes) < 0)) best = i
      }
      if (best < 0) return
      const h = heads[best]!
      yield h.entry
      advance(best, h.from)
    }
  }
  return makeIterator(merged(), closeAll)
}

/** Kafka Streams' composite view: every call reads the instances the provider holds at that moment. */
export class CompositeReadOnlyKeyValueStore<K, V> implements ReadOnlyKeyValueStore<K, V> {
  readonly #provider: StateStoreProvider<KeyValueView<K, V>>
  readonly name: string

  constructor(provider: StateStoreProvider<KeyValueView<K, V>>, storeName: string) {
    this.#provider = provider
    this.name = storeName
  }

  #views(): Array<KeyValueView<K, V>> {
    return this.#provider.stores().map((s) => s.store)
  }

  get(key: K): V | undefined {
    for (const store of this.#views()) {
      const value = store.get(key)
      if (value !== undefined) return value
    }
    return undefined
  }

  #merge(open: (store: KeyValueView<K, V>) => KeyValueIterator<K, V>, reverse: boolean): KeyValueIterator<K, V> {
    const views = this.#views()
    const keyBytes = views.every((v) => v.keyBytes) ? views[0]?.keyBytes : undefined
    const iterators: Array<KeyValueIterator<K, V>> = []
    try {
      for (const v of views) iterators.push(open(v))
    } catch (error) {
      for (const i of iterators) i.close()
      throw error
    }
    return mergeIterators(iterators, keyBytes, reverse)
  }

  range(from?: K, to?: K): KeyValueIterator<K, V> {
    return this.#merge((s) => s.range(from, to), false)
  }

  reverseRange(from?: K, to?: K): KeyValueIterator<K, V> {
    return this.#merge((s) => s.reverseRange(from, to), true)
  }

  prefixScan<P>(
    prefix: P,
    prefixSerializer: { serializeSync(topic: string, value: P): Buffer },
  ): KeyValueIterator<K, V> {
    return this.#merge((s) => s.prefixScan(prefix, prefixSerializer), false)
  }

  all(): KeyValueIterator<K, V> {
    return this.#merge((s) => s.all(), false)
  }

  reverseAll(): KeyValueIterator<K, V> {
    return this.#merge((s) => s.reverseAll(), true)
  }

  /** The sum over the local instances (capped at Number.MAX_SAFE_INTEGER, as Kafka caps at Long.MAX_VALUE). */
  approximateNumEntries(): number {
    let total = 0
    for (const store of this.#views()) {
      total += store.approximateNumEntries()
      if (total >= Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER
    }
    return total
  }
}
