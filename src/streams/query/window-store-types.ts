/**
 * Querying window and session stores (Kafka Streams' `QueryableStoreTypes.windowStore()`,
 * `timestampedWindowStore()` and `sessionStore()`). The shapes below are the read-only halves of Kafka Streams'
 * ReadOnlyWindowStore / ReadOnlySessionStore, written against a structural windowed key (`{ key, window: { startMs,
 * endMs } }`, which `Windowed<K>` satisfies), so any window or session store with these methods can be queried.
 *
 * The composite views follow Kafka Streams' CompositeReadOnlyWindowStore / CompositeReadOnlySessionStore: a
 * single-key query answers from the first local instance that has something for the key (a key lives in one
 * partition), a query over several keys or all keys goes through the instances one after the other.
 */
import { KeyValue, type ValueAndTimestamp } from '../processor/record.ts'
import { type KeyValueIterator, makeIterator } from '../state/key-value-store.ts'
import type { StateStore } from '../state/state-store.ts'
import type { QueryableStoreType, StateStoreProvider } from './store-types.ts'

/** A key and its window, as `Windowed<K>` has them. */
export interface WindowedKey<K> {
  readonly key: K
  readonly window: { readonly startMs: number; readonly endMs: number }
}

/** Entries are (window start ms, value). */
export type WindowStoreIterator<V> = KeyValueIterator<number, V>

/** Kafka Streams' ReadOnlyWindowStore. */
export interface QueryableWindowStore<K, V> {
  /** The value of `key`'s window that starts at `windowStartMs`, if any. */
  fetch(key: K, windowStartMs: number): V | undefined
  /** `key`'s windows starting in [timeFrom, timeTo], by start time; entries are (window start, value). */
  fetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  /** Windows of keys in [keyFrom, keyTo] (null: unbounded) starting in [timeFrom, timeTo]. */
  fetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V>
  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  backwardFetch(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValueIterator<WindowedKey<K>, V>
  all(): KeyValueIterator<WindowedKey<K>, V>
  backwardAll(): KeyValueIterator<WindowedKey<K>, V>
  /** Windows of every key starting in [timeFrom, timeTo]. */
  fetchAll(timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V>
  backwardFetchAll(timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V>
}

/** Kafka Streams' ReadOnlySessionStore. */
export interface QueryableSessionStore<K, AGG> {
  /** Sessions of `key` ending at or after `earliestSessionEndTime` and starting at or before `latestSessionStartTime`. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<WindowedKey<K>, AGG>
  backwardFindSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<WindowedKey<K>, AGG>
  /** The aggregate of exactly this session, if stored. */
  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined
  /** All sessions of `key`, or of keys in [keyFrom, keyTo] (null: unbounded) when two keys are given. */
  fetch(key: K): KeyValueIterator<WindowedKey<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<WindowedKey<K>, AGG>
  backwardFetch(key: K): KeyValueIterator<WindowedKey<K>, AGG>
}

// biome-ignore lint/suspicious/noExplicitAny: the stores' overloads are called with the caller's arguments as given
type AnyMethod = (...args: any[]) => any

function hasMethods(store: StateStore, names: string[]): boolean {
  const s = store as unknown as Record<string, unknown>
  return names.every((n) => typeof s[n] === 'function')
}

export function isWindowStore(store: StateStore): boolean {
  return hasMethods(store, ['fetch', 'fetchAll', 'backwardFetch', 'all']) && !hasMethods(store, ['findSessions'])
}

export function isSessionStore(store: StateStore): boolean {
  return hasMethods(store, ['findSessions', 'fetchSession', 'fetch'])
}

export function isTimestamped(store: StateStore): boolean {
  return (store as { timestamped?: unknown }).timestamped === true
}

function mapValues<K, A, B>(it: KeyValueIterator<K, A>, fn: (a: A) => B): KeyValueIterator<K, B> {
  function* mapped(): Generator<KeyValue<K, B>> {
    for (const e of it) yield new KeyValue(e.key, fn(e.value))
  }
  return makeIterator(mapped(), () => it.close())
}

/**
 * The read-only view of one window store instance: every read method of the store, values mapped by `value` (a
 * timestamped store read as a plain one loses its timestamps, as Kafka Streams' facade does).
 */
export function windowView<K, V>(store: StateStore, value: (raw: unknown) => V): QueryableWindowStore<K, V> {
  const s = store as unknown as Record<string, AnyMethod>
  const call = (method: string, args: unknown[]) => s[method]!.apply(store, args)
  const iterator = (raw: KeyValueIterator<unknown, unknown>) => mapValues(raw, value)
  const view = {
    fetch: (...args: unknown[]) => {
      const out = call('fetch', args)
      if (args.length === 2) return out === undefined || out === null ? undefined : value(out)
      return iterator(out)
    },
    backwardFetch: (...args: unknown[]) => iterator(call('backwardFetch', args)),
    all: () => iterator(call('all', [])),
    backwardAll: () => iterator(call('backwardAll', [])),
    fetchAll: (from: number, to: number) => iterator(call('fetchAll', [from, to])),
    backwardFetchAll: (from: number, to: number) => iterator(call('backwardFetchAll', [from, to])),
  }
  return view as unknown as QueryableWindowStore<K, V>
}

function sessionView<K, AGG>(store: StateStore): QueryableSessionStore<K, AGG> {
  return store as unknown as QueryableSessionStore<K, AGG>
}

const stripTimestamp = (raw: unknown) => (raw as ValueAndTimestamp<unknown> | undefined)?.value
const asIs = (raw: unknown) => raw

/** Gives the first iterator that has an entry (closing the empty ones), or an empty iterator. */
function firstNonEmpty<K, V>(views: unknown[], open: (view: never) => KeyValueIterator<K, V>): KeyValueIterator<K, V> {
  for (const v of views) {
    const it = open(v as never)
    if (it.peekNextKey() !== undefined) return it
    it.close()
  }
  return makeIterator<K, V>([][Symbol.iterator]())
}

/** The instances' iterators one after the other, each opened when the previous one is exhausted. */
function concatenated<K, V>(views: unknown[], open: (view: never) => KeyValueIterator<K, V>): KeyValueIterator<K, V> {
  let current: KeyValueIterator<K, V> | undefined
  function* all(): Generator<KeyValue<K, V>> {
    for (const v of views) {
      current = open(v as never)
      try {
        yield* current
      } finally {
        current.close()
        current = undefined
      }
    }
  }
  return makeIterator(all(), () => current?.close())
}

/** Kafka Streams' CompositeReadOnlyWindowStore: every call reads the instances the provider holds at that moment. */
export class CompositeReadOnlyWindowStore<K, V> {
  readonly #provider: StateStoreProvider<QueryableWindowStore<K, V>>
  readonly name: string

  constructor(provider: StateStoreProvider<QueryableWindowStore<K, V>>, storeName: string) {
    this.#provider = provider
    this.name = storeName
  }

  #views(): Array<QueryableWindowStore<K, V>> {
    return this.#provider.stores().map((s) => s.store)
  }

  fetch(key: K, windowStartMs: number): V | undefined
  fetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  fetch(keyFrom: K | null, keyTo: K | null, timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V>
  fetch(...args: unknown[]): unknown {
    const views = this.#views()
    if (args.length === 2) {
      for (const v of views) {
        const found = v.fetch(args[0] as K, args[1] as number)
        if (found !== undefined) return found
      }
      return undefined
    }
    if (args.length === 3) {
      return firstNonEmpty(views, (v: QueryableWindowStore<K, V>) =>
        v.fetch(args[0] as K, args[1] as number, args[2] as number),
      )
    }
    return concatenated(views, (v: QueryableWindowStore<K, V>) =>
      v.fetch(args[0] as K | null, args[1] as K | null, args[2] as number, args[3] as number),
    )
  }

  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowStoreIterator<V>
  backwardFetch(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValueIterator<WindowedKey<K>, V>
  backwardFetch(...args: unknown[]): unknown {
    const views = this.#views()
    if (args.length === 3) {
      return firstNonEmpty(views, (v: QueryableWindowStore<K, V>) =>
        v.backwardFetch(args[0] as K, args[1] as number, args[2] as number),
      )
    }
    return concatenated(views, (v: QueryableWindowStore<K, V>) =>
      v.backwardFetch(args[0] as K | null, args[1] as K | null, args[2] as number, args[3] as number),
    )
  }

  all(): KeyValueIterator<WindowedKey<K>, V> {
    return concatenated(this.#views(), (v: QueryableWindowStore<K, V>) => v.all())
  }

  backwardAll(): KeyValueIterator<WindowedKey<K>, V> {
    return concatenated(this.#views(), (v: QueryableWindowStore<K, V>) => v.backwardAll())
  }

  fetchAll(timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V> {
    return concatenated(this.#views(), (v: QueryableWindowStore<K, V>) => v.fetchAll(timeFrom, timeTo))
  }

  backwardFetchAll(timeFrom: number, timeTo: number): KeyValueIterator<WindowedKey<K>, V> {
    return concatenated(this.#views(), (v: QueryableWindowStore<K, V>) => v.backwardFetchAll(timeFrom, timeTo))
  }
}

/** Kafka Streams' CompositeReadOnlySessionStore. */
export class CompositeReadOnlySessionStore<K, AGG> {
  readonly #provider: StateStoreProvider<QueryableSessionStore<K, AGG>>
  readonly name: string

  constructor(provider: StateStoreProvider<QueryableSessionStore<K, AGG>>, storeName: string) {
    this.#provider = provider
    this.name = storeName
  }

  #views(): Array<QueryableSessionStore<K, AGG>> {
    return this.#provider.stores().map((s) => s.store)
  }

  findSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    return firstNonEmpty(this.#views(), (v: QueryableSessionStore<K, AGG>) =>
      v.findSessions(key, earliestSessionEndTime, latestSessionStartTime),
    )
  }

  backwardFindSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    return firstNonEmpty(this.#views(), (v: QueryableSessionStore<K, AGG>) =>
      v.backwardFindSessions(key, earliestSessionEndTime, latestSessionStartTime),
    )
  }

  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined {
    for (const v of this.#views()) {
      const found = v.fetchSession(key, sessionStartTime, sessionEndTime)
      if (found !== undefined && found !== null) return found
    }
    return undefined
  }

  fetch(key: K): KeyValueIterator<WindowedKey<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<WindowedKey<K>, AGG>
  fetch(...args: unknown[]): KeyValueIterator<WindowedKey<K>, AGG> {
    const views = this.#views()
    if (args.length === 1) return firstNonEmpty(views, (v: QueryableSessionStore<K, AGG>) => v.fetch(args[0] as K))
    return concatenated(views, (v: QueryableSessionStore<K, AGG>) => v.fetch(args[0] as K | null, args[1] as K | null))
  }

  backwardFetch(key: K): KeyValueIterator<WindowedKey<K>, AGG> {
    return firstNonEmpty(this.#views(), (v: QueryableSessionStore<K, AGG>) => v.backwardFetch(key))
  }
}

/** The window and session store types, merged into QueryableStoreTypes. */
export const windowQueryableStoreTypes = {
  /** Window stores, timestamped (DSL) ones included: their values are read without the timestamp. */
  windowStore<K, V>(): QueryableStoreType<QueryableWindowStore<K, V>, QueryableWindowStore<K, V>> {
    return {
      kind: 'windowStore',
      accepts: isWindowStore,
      view: (store) => windowView<K, V>(store, (isTimestamped(store) ? stripTimestamp : asIs) as (raw: unknown) => V),
      create: (provider, name) => new CompositeReadOnlyWindowStore<K, V>(provider, name),
    }
  },
  /** Timestamped window stores (the DSL's windowed aggregations): values are `{ value, timestamp }`. */
  timestampedWindowStore<K, V>(): QueryableStoreType<
    QueryableWindowStore<K, ValueAndTimestamp<V>>,
    QueryableWindowStore<K, ValueAndTimestamp<V>>
  > {
    return {
      kind: 'timestampedWindowStore',
      accepts: (store) => isWindowStore(store) && isTimestamped(store),
      view: (store) => windowView<K, ValueAndTimestamp<V>>(store, asIs as (raw: unknown) => ValueAndTimestamp<V>),
      create: (provider, name) => new CompositeReadOnlyWindowStore<K, ValueAndTimestamp<V>>(provider, name),
    }
  },
  /** Session stores (the DSL's session-windowed aggregations). */
  sessionStore<K, AGG>(): QueryableStoreType<QueryableSessionStore<K, AGG>, QueryableSessionStore<K, AGG>> {
    return {
      kind: 'sessionStore',
      accepts: isSessionStore,
      view: (store) => sessionView<K, AGG>(store),
      create: (provider, name) => new CompositeReadOnlySessionStore<K, AGG>(provider, name),
    }
  },
}
