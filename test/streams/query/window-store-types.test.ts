/**
 * Window and session store queries (QueryableStoreTypes.windowStore() / timestampedWindowStore() / sessionStore())
 * over minimal in-test stores with Kafka Streams' read methods, one per partition: single-key queries answered by
 * the partition holding the key, multi-key queries going through every partition, timestamped values read with or
 * without their timestamps, and each type accepting only its own kind of store.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  KeyValue,
  type LocalStoreInstance,
  Position,
  QueryableStoreTypes,
  type WindowedKey,
} from '../../../src/streams/index.ts'
import { type KeyValueIterator, makeIterator } from '../../../src/streams/state/key-value-store.ts'
import type { StateStore } from '../../../src/streams/state/state-store.ts'
import { Stores } from '../../../src/streams/state/stores.ts'

const storeBase = (name: string) => ({
  name,
  persistent: () => false,
  isOpen: () => true,
  init() {},
  flush() {},
  close() {},
})

function iter<K, V>(entries: Array<KeyValue<K, V>>): KeyValueIterator<K, V> {
  return makeIterator(entries[Symbol.iterator]())
}

const between = (x: string, from: string | null, to: string | null) =>
  (from === null || x >= from) && (to === null || x <= to)

/** A window store kept in an array (key, window start, value), sorted by key then start; window size 10 ms. */
function windowStore(name: string, rows: Array<[string, number, unknown]>, timestamped: boolean) {
  const sorted = [...rows].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x - y))
  const windowed = ([key, start, value]: [string, number, unknown]) =>
    new KeyValue<WindowedKey<string>, unknown>({ key, window: { startMs: start, endMs: start + 10 } }, value)
  const select = (from: string | null, to: string | null, t0: number, t1: number) =>
    sorted.filter(([k, s]) => between(k, from, to) && s >= t0 && s <= t1)
  return {
    ...storeBase(name),
    timestamped,
    windowSize: 10,
    fetch(...args: unknown[]) {
      if (args.length === 2) return sorted.find(([k, s]) => k === args[0] && s === args[1])?.[2]
      if (args.length === 3) {
        const [key, t0, t1] = args as [string, number, number]
        return iter(select(key, key, t0, t1).map(([, s, v]) => new KeyValue(s, v)))
      }
      const [from, to, t0, t1] = args as [string | null, string | null, number, number]
      return iter(select(from, to, t0, t1).map(windowed))
    },
    backwardFetch(...args: unknown[]) {
      if (args.length === 3) {
        const [key, t0, t1] = args as [string, number, number]
        return iter(
          select(key, key, t0, t1)
            .reverse()
            .map(([, s, v]) => new KeyValue(s, v)),
        )
      }
      const [from, to, t0, t1] = args as [string | null, string | null, number, number]
      return iter(select(from, to, t0, t1).reverse().map(windowed))
    },
    all: () => iter(sorted.map(windowed)),
    backwardAll: () => iter([...sorted].reverse().map(windowed)),
    fetchAll: (t0: number, t1: number) => iter(select(null, null, t0, t1).map(windowed)),
    backwardFetchAll: (t0: number, t1: number) => iter(select(null, null, t0, t1).reverse().map(windowed)),
  } as unknown as StateStore
}

/** A session store kept in an array (key, start, end, aggregate). */
function sessionStore(name: string, rows: Array<[string, number, number, number]>) {
  const sorted = [...rows].sort(([a, , x], [b, , y]) => (a < b ? -1 : a > b ? 1 : x - y))
  const session = ([key, start, end, agg]: [string, number, number, number]) =>
    new KeyValue<WindowedKey<string>, number>({ key, window: { startMs: start, endMs: end } }, agg)
  const find = (key: string, earliestEnd: number, latestStart: number) =>
    sorted.filter(([k, s, e]) => k === key && e >= earliestEnd && s <= latestStart)
  return {
    ...storeBase(name),
    findSessions: (key: string, earliestEnd: number, latestStart: number) =>
      iter(find(key, earliestEnd, latestStart).map(session)),
    backwardFindSessions: (key: string, earliestEnd: number, latestStart: number) =>
      iter(find(key, earliestEnd, latestStart).reverse().map(session)),
    fetchSession: (key: string, start: number, end: number) =>
      sorted.find(([k, s, e]) => k === key && s === start && e === end)?.[3],
    fetch(...args: unknown[]) {
      if (args.length === 1) return iter(sorted.filter(([k]) => k === args[0]).map(session))
      const [from, to] = args as [string | null, string | null]
      return iter(sorted.filter(([k]) => between(k, from, to)).map(session))
    },
    backwardFetch: (key: string) =>
      iter(
        sorted
          .filter(([k]) => k === key)
          .reverse()
          .map(session),
      ),
  } as unknown as StateStore
}

function provider<S>(stores: StateStore[], type: { view(s: StateStore): S }) {
  return {
    stores: (): Array<LocalStoreInstance<S>> =>
      stores.map((store, partition) => ({
        partition,
        taskId: `0_${partition}`,
        standby: false,
        restoring: false,
        store: type.view(store),
        position: Position.empty(),
      })),
  }
}

const pairs = <K, V>(it: Iterable<KeyValue<K, V>>) => [...it].map((e) => [e.key, e.value])
const windows = <V>(it: Iterable<KeyValue<WindowedKey<string>, V>>) =>
  [...it].map((e) => `${e.key.key}@${e.key.window.startMs}=${JSON.stringify(e.value)}`)

/** Page views per user in 10 ms windows, users spread over two partitions; values timestamped as the DSL's. */
function viewCounts(timestamped: boolean) {
  const v = (n: number, ts: number) => (timestamped ? { value: n, timestamp: ts } : n)
  return [
    windowStore(
      'views',
      [
        ['alice', 0, v(2, 5)],
        ['alice', 10, v(1, 12)],
        ['carol', 20, v(4, 29)],
      ],
      timestamped,
    ),
    windowStore(
      'views',
      [
        ['bob', 0, v(3, 9)],
        ['bob', 20, v(1, 21)],
        ['dave', 10, v(5, 19)],
      ],
      timestamped,
    ),
  ]
}

describe('QueryableStoreTypes.windowStore()', () => {
  it('fetches a key from the partition holding it and scans every partition', () => {
    const stores = viewCounts(true)
    const type = QueryableStoreTypes.windowStore<string, number>()
    assert.ok(stores.every((s) => type.accepts(s)))
    const view = type.create(provider(stores, type), 'views')
    // One window of one key.
    assert.equal(view.fetch('bob', 20), 1)
    assert.equal(view.fetch('alice', 10), 1)
    assert.equal(view.fetch('alice', 20), undefined)
    // One key over a time range: (window start, value), forward and backward.
    assert.deepEqual(pairs(view.fetch('alice', 0, 100)), [
      [0, 2],
      [10, 1],
    ])
    assert.deepEqual(pairs(view.backwardFetch('bob', 0, 100)), [
      [20, 1],
      [0, 3],
    ])
    assert.deepEqual(pairs(view.fetch('dave', 0, 5)), [])
    assert.deepEqual(pairs(view.fetch('nobody', 0, 100)), [])
    // Key ranges, everything, a time range of every key: partition after partition.
    assert.deepEqual(windows(view.fetch('alice', 'bob', 0, 10)), ['alice@0=2', 'alice@10=1', 'bob@0=3'])
    assert.deepEqual(windows(view.fetch(null, null, 20, 20)), ['carol@20=4', 'bob@20=1'])
    assert.deepEqual(windows(view.all()), ['alice@0=2', 'alice@10=1', 'carol@20=4', 'bob@0=3', 'bob@20=1', 'dave@10=5'])
    assert.deepEqual(windows(view.backwardAll()), [
      'carol@20=4',
      'alice@10=1',
      'alice@0=2',
      'dave@10=5',
      'bob@20=1',
      'bob@0=3',
    ])
    assert.deepEqual(windows(view.fetchAll(10, 10)), ['alice@10=1', 'dave@10=5'])
    assert.deepEqual(windows(view.backwardFetchAll(0, 0)), ['alice@0=2', 'bob@0=3'])
    assert.deepEqual(windows(view.backwardFetch('bob', 'dave', 0, 100)), [
      'carol@20=4',
      'dave@10=5',
      'bob@20=1',
      'bob@0=3',
    ])
  })

  it('reads timestamped stores with their timestamps through timestampedWindowStore()', () => {
    const stores = viewCounts(true)
    const type = QueryableStoreTypes.timestampedWindowStore<string, number>()
    assert.ok(stores.every((s) => type.accepts(s)))
    const view = type.create(provider(stores, type), 'views')
    assert.deepEqual(view.fetch('carol', 20), { value: 4, timestamp: 29 })
    assert.deepEqual(pairs(view.fetch('bob', 0, 0)), [[0, { value: 3, timestamp: 9 }]])
    // A plain window store is no timestamped one; a plain store reads as windowStore() unchanged.
    const plain = viewCounts(false)
    assert.equal(type.accepts(plain[0]!), false)
    const plainType = QueryableStoreTypes.windowStore<string, number>()
    assert.equal(plainType.create(provider(plain, plainType), 'views').fetch('dave', 10), 5)
  })

  it('closes the iterators it opens, also when the caller stops early', () => {
    let opened = 0
    let closed = 0
    const counting = (store: StateStore) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver)
          if (prop !== 'all' && prop !== 'fetch') return value
          return (...args: unknown[]) => {
            const it = (value as (...a: unknown[]) => KeyValueIterator<unknown, unknown>).apply(target, args)
            if (args.length === 2) return it
            opened++
            const close = it.close.bind(it)
            it.close = () => {
              closed++
              close()
            }
            return it
          }
        },
      })
    const stores = viewCounts(false).map(counting)
    const type = QueryableStoreTypes.windowStore<string, number>()
    const view = type.create(provider(stores, type), 'views')
    const all = view.all()
    all.next()
    all.close()
    assert.equal(opened, 1, 'the second partition is opened only when the first is exhausted')
    assert.equal(closed, 1)
    // A single-key fetch closes the empty iterator it skipped; the one it returns closes once exhausted.
    const dave = view.fetch('dave', 0, 100)
    assert.equal(opened, 3)
    assert.equal(closed, 2)
    assert.deepEqual(pairs(dave), [[10, 5]])
    assert.equal(closed, 3)
  })
})

describe('QueryableStoreTypes.sessionStore()', () => {
  const stores = [
    sessionStore('sessions', [
      ['ann', 0, 40, 3],
      ['ann', 500, 500, 1],
      ['cy', 100, 160, 2],
    ]),
    sessionStore('sessions', [
      ['bo', 10, 90, 4],
      ['bo', 300, 320, 2],
    ]),
  ]
  const type = QueryableStoreTypes.sessionStore<string, number>()
  const sessions = (it: Iterable<KeyValue<WindowedKey<string>, number>>) =>
    [...it].map((e) => `${e.key.key}@${e.key.window.startMs}-${e.key.window.endMs}=${e.value}`)

  it('finds and fetches sessions of a key from the partition holding it, and key ranges from every partition', () => {
    assert.ok(stores.every((s) => type.accepts(s)))
    const view = type.create(provider(stores, type), 'sessions')
    assert.deepEqual(sessions(view.fetch('bo')), ['bo@10-90=4', 'bo@300-320=2'])
    assert.deepEqual(sessions(view.backwardFetch('ann')), ['ann@500-500=1', 'ann@0-40=3'])
    assert.deepEqual(sessions(view.findSessions('bo', 50, 200)), ['bo@10-90=4'])
    assert.deepEqual(sessions(view.backwardFindSessions('ann', 0, 1000)), ['ann@500-500=1', 'ann@0-40=3'])
    assert.deepEqual(sessions(view.findSessions('ann', 41, 499)), [])
    assert.equal(view.fetchSession('cy', 100, 160), 2)
    assert.equal(view.fetchSession('bo', 300, 320), 2)
    assert.equal(view.fetchSession('bo', 300, 321), undefined)
    assert.deepEqual(sessions(view.fetch('ann', 'bo')), ['ann@0-40=3', 'ann@500-500=1', 'bo@10-90=4', 'bo@300-320=2'])
    assert.deepEqual(sessions(view.fetch(null, null)).length, 5)
  })

  it('each store type accepts only its own kind of store', () => {
    const windowType = QueryableStoreTypes.windowStore<string, number>()
    const keyValue = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), undefined, undefined)
      .withLoggingDisabled()
      .build()
    const window = viewCounts(false)[0]!
    assert.equal(windowType.accepts(stores[0]!), false)
    assert.equal(windowType.accepts(keyValue), false)
    assert.equal(type.accepts(window), false)
    assert.equal(type.accepts(keyValue), false)
    assert.equal(QueryableStoreTypes.keyValueStore().accepts(window), false)
    assert.equal(QueryableStoreTypes.keyValueStore().accepts(stores[0]!), false)
  })
})
