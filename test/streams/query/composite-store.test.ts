/**
 * The read-only composite view over the local instances of a store (one per partition): gets across partitions,
 * range scans merged in key-bytes order, timestamped stores read with or without timestamps, type checks, and a
 * view that reads whatever instances the provider holds at each call.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { InvalidStateStoreError, Serdes } from '../../../src/streams/index.ts'
import { Headers, KeyValue } from '../../../src/streams/processor/record.ts'
import { mergeIterators } from '../../../src/streams/query/composite-key-value-store.ts'
import { Position } from '../../../src/streams/query/position.ts'
import {
  type LocalStoreInstance,
  QueryableStoreTypes,
  StoreQueryParameters,
} from '../../../src/streams/query/store-types.ts'
import { type KeyValueStore, makeIterator } from '../../../src/streams/state/key-value-store.ts'
import type { StateStore, StateStoreContext } from '../../../src/streams/state/state-store.ts'
import { Stores } from '../../../src/streams/state/stores.ts'

const dir = mkdtempSync(join(tmpdir(), 'trb-composite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function context(partition: number): StateStoreContext {
  return {
    taskId: `0_${partition}`,
    applicationId: 'app',
    partition,
    stateDir: join(dir, `0_${partition}`),
    appConfigs: {},
    defaultKeySerde: undefined,
    defaultValueSerde: undefined,
    cache: undefined,
    register() {},
    logChange() {},
    recordContext: () => ({ timestamp: 0, topic: null, partition: -1, offset: -1, headers: new Headers() }),
    setRecordContext() {},
    deferPreparation() {},
  }
}

/** Three partitions of a store `counts` (String → Long), the middle one on LMDB, keys spread over them. */
function partitions(timestamped: boolean) {
  const stores: StateStore[] = []
  for (let p = 0; p < 3; p++) {
    const supplier = p === 1 ? Stores.persistentKeyValueStore('counts') : Stores.inMemoryKeyValueStore('counts')
    const builder = timestamped
      ? Stores.timestampedKeyValueStoreBuilder(supplier, Serdes.String(), Serdes.Long())
      : Stores.keyValueStoreBuilder(supplier, Serdes.String(), Serdes.Long())
    const store = builder.withLoggingDisabled().build()
    store.init(context(p), store)
    stores.push(store)
  }
  const put = (p: number, key: string, value: number) => {
    const s = stores[p] as KeyValueStore<string, unknown>
    s.put(key, timestamped ? { value, timestamp: 1000 + value } : value)
  }
  put(0, 'carol', 3)
  put(0, 'alice', 1)
  put(1, 'bob', 2)
  put(1, 'dave', 4)
  put(2, 'aaron', 5)
  put(2, 'erin', 6)
  return stores
}

function provider<S>(stores: () => StateStore[], type: { view(s: StateStore): S }) {
  return {
    stores: (): Array<LocalStoreInstance<S>> =>
      stores().map((store, partition) => ({
        partition,
        taskId: `0_${partition}`,
        standby: false,
        restoring: false,
        store: type.view(store),
        position: Position.empty(),
      })),
  }
}

const keys = (it: Iterable<KeyValue<string, unknown>>) => [...it].map((e) => e.key)

describe('CompositeReadOnlyKeyValueStore', () => {
  it('gets from whichever partition holds the key, and scans all partitions in key order', async () => {
    const stores = partitions(false)
    const type = QueryableStoreTypes.keyValueStore<string, number>()
    assert.equal(
      stores.every((s) => type.accepts(s)),
      true,
    )
    const view = type.create(
      provider(() => stores, type),
      'counts',
    )
    assert.equal(view.get('alice'), 1)
    assert.equal(view.get('dave'), 4)
    assert.equal(view.get('erin'), 6)
    assert.equal(view.get('nobody'), undefined)
    assert.deepEqual(keys(view.all()), ['aaron', 'alice', 'bob', 'carol', 'dave', 'erin'])
    assert.deepEqual(keys(view.reverseAll()), ['erin', 'dave', 'carol', 'bob', 'alice', 'aaron'])
    assert.deepEqual(
      [...view.range('alice', 'dave')].map((e) => [e.key, e.value]),
      [
        ['alice', 1],
        ['bob', 2],
        ['carol', 3],
        ['dave', 4],
      ],
    )
    assert.deepEqual(keys(view.reverseRange('b', 'e')), ['dave', 'carol', 'bob'])
    assert.deepEqual(keys(view.range(undefined, 'b')), ['aaron', 'alice'])
    assert.deepEqual(keys(view.prefixScan('a', Serdes.String())), ['aaron', 'alice'])
    assert.equal(view.approximateNumEntries(), 6)
    for (const s of stores) await s.close()
  })

  it('closing an iterator early closes every partition’s iterator (LMDB read transactions end)', async () => {
    const stores = partitions(false)
    const type = QueryableStoreTypes.keyValueStore<string, number>()
    const view = type.create(
      provider(() => stores, type),
      'counts',
    )
    const it = view.all()
    assert.equal(it.next().value?.key, 'aaron')
    assert.equal(it.peekNextKey(), 'alice')
    it.close()
    assert.equal(it.next().done, true)
    // The LMDB store can close: no iterator holds it.
    for (const s of stores) await s.close()
  })

  it('reads a timestamped store with its timestamps, or without them as a plain key-value store', async () => {
    const stores = partitions(true)
    const plain = QueryableStoreTypes.keyValueStore<string, number>()
    const timestamped = QueryableStoreTypes.timestampedKeyValueStore<string, number>()
    assert.equal(timestamped.accepts(stores[0]!), true)
    assert.equal(
      plain
        .create(
          provider(() => stores, plain),
          'counts',
        )
        .get('bob'),
      2,
    )
    const view = timestamped.create(
      provider(() => stores, timestamped),
      'counts',
    )
    assert.deepEqual(view.get('bob'), { value: 2, timestamp: 1002 })
    assert.deepEqual(
      [...view.range('dave')].map((e) => [e.key, e.value]),
      [
        ['dave', { value: 4, timestamp: 1004 }],
        ['erin', { value: 6, timestamp: 1006 }],
      ],
    )
    for (const s of stores) await s.close()
    // A plain store is not a timestamped one.
    const plainStores = partitions(false)
    assert.equal(timestamped.accepts(plainStores[0]!), false)
    for (const s of plainStores) await s.close()
  })

  it('reads the instances the provider holds at each call, and passes its errors on', async () => {
    const stores = partitions(false)
    let held: StateStore[] = stores
    const type = QueryableStoreTypes.keyValueStore<string, number>()
    const view = type.create(
      {
        stores: () => {
          if (held.length === 0) {
            throw new InvalidStateStoreError('TRB_STREAMS_STORE_MIGRATED', 'the state store, counts, may have migrated')
          }
          return provider(() => held, type).stores()
        },
      },
      'counts',
    )
    assert.equal(view.approximateNumEntries(), 6)
    held = [stores[0]!]
    assert.equal(view.get('dave'), undefined)
    assert.deepEqual(keys(view.all()), ['alice', 'carol'])
    held = []
    assert.throws(
      () => view.get('alice'),
      (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_STORE_MIGRATED' && e.retriable,
    )
    for (const s of stores) await s.close()
  })

  it('merges without key bytes by concatenating, and in order with them', () => {
    const it = (entries: Array<[string, number]>) =>
      makeIterator(entries.map(([k, v]) => new KeyValue(k, v))[Symbol.iterator]())
    const a = (): Array<[string, number]> => [
      ['b', 1],
      ['d', 2],
    ]
    const b = (): Array<[string, number]> => [
      ['a', 3],
      ['c', 4],
      ['e', 5],
    ]
    assert.deepEqual(keys(mergeIterators([it(a()), it(b())], undefined, false)), ['b', 'd', 'a', 'c', 'e'])
    assert.deepEqual(keys(mergeIterators([it(a()), it(b())], (k) => Buffer.from(k), false)), ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(keys(mergeIterators([it(a().reverse()), it(b().reverse())], (k) => Buffer.from(k), true)), [
      'e',
      'd',
      'c',
      'b',
      'a',
    ])
  })

  it('StoreQueryParameters: name and type required, partition and stale stores optional', () => {
    const type = QueryableStoreTypes.keyValueStore<string, number>()
    const params = StoreQueryParameters.fromNameAndType('counts', type)
    assert.equal(params.partition, undefined)
    assert.equal(params.staleStoresEnabled, false)
    const p2 = params.withPartition(2).enableStaleStores()
    assert.equal(p2.partition, 2)
    assert.equal(p2.staleStoresEnabled, true)
    assert.equal(p2.withAllPartitions().partition, undefined)
    assert.throws(() => params.withPartition(-1), /partition -1/)
    assert.throws(() => StoreQueryParameters.fromNameAndType('', type), /store name/)
  })
})
