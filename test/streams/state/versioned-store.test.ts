/**
 * Versioned key-value stores (Kafka Streams' VersionedKeyValueStore semantics, KIP-889): put return codes, get as of
 * a timestamp, tombstones, delete, history retention, the changelog and restore, for the in-memory and the LMDB
 * store. The expected values follow Kafka Streams' RocksDBVersionedStore.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Serdes } from '../../../src/streams/index.ts'
import { Headers } from '../../../src/streams/processor/record.ts'
import type {
  RestoreCallback,
  RestoreRecord,
  StateStore,
  StateStoreContext,
} from '../../../src/streams/state/state-store.ts'
import { Stores } from '../../../src/streams/state/stores.ts'
import {
  PUT_RETURN_CODE_NOT_PUT,
  PUT_RETURN_CODE_VALID_TO_UNDEFINED,
  type VersionedBytesStoreSupplier,
  type VersionedKeyValueStore,
  type VersionedKeyValueStoreImpl,
} from '../../../src/streams/state/versioned-store.ts'

const dir = mkdtempSync(join(tmpdir(), 'trb-versioned-'))
after(() => rmSync(dir, { recursive: true, force: true }))

interface Ctx extends StateStoreContext {
  restore?: RestoreCallback
  logged: RestoreRecord[]
  dropped: string[]
}

function context(stateDir = dir): Ctx {
  const ctx: Ctx = {
    taskId: '0_0',
    applicationId: 'app',
    partition: 0,
    stateDir,
    appConfigs: {},
    defaultKeySerde: undefined,
    defaultValueSerde: undefined,
    cache: undefined,
    logged: [],
    dropped: [],
    register(_s: StateStore, r: RestoreCallback) {
      ctx.restore = r
    },
    logChange(_name, key, value, timestamp) {
      ctx.logged.push({ key, value, timestamp, offset: ctx.logged.length })
    },
    recordContext: () => ({ timestamp: 0, topic: null, partition: -1, offset: -1, headers: new Headers() }),
    setRecordContext() {},
    deferPreparation() {},
  }
  ;(ctx as unknown as { recordDropped: (r: string) => void }).recordDropped = (r) => ctx.dropped.push(r)
  return ctx
}

const S = Serdes.String()
let n = 0
const kinds: Array<[string, (hr: number) => VersionedBytesStoreSupplier]> = [
  ['in-memory', (hr) => Stores.inMemoryVersionedKeyValueStore(`mem-${n++}`, hr)],
  ['LMDB', (hr) => Stores.persistentVersionedKeyValueStore(`lmdb-${n++}`, hr)],
]

function open(supplier: VersionedBytesStoreSupplier, ctx: Ctx = context()) {
  const store = Stores.versionedKeyValueStoreBuilder(supplier, S, S).build() as VersionedKeyValueStoreImpl<
    string,
    string
  >
  store.init(ctx, store)
  return { store, ctx }
}

const at = (store: VersionedKeyValueStore<string, string>, key: string, asOf?: number) => {
  const r = store.get(key, asOf)
  return r === null ? null : { ...r }
}

for (const [label, make] of kinds) {
  describe(`versioned store: ${label}`, () => {
    it('put returns validTo: -1 for the latest version, the next version timestamp otherwise', async () => {
      const { store } = open(make(1_000_000))
      assert.equal(store.put('k', 'v1', 10), PUT_RETURN_CODE_VALID_TO_UNDEFINED)
      assert.equal(store.put('k', 'v3', 30), PUT_RETURN_CODE_VALID_TO_UNDEFINED)
      assert.equal(store.put('k', 'v2', 20), 30)
      assert.equal(store.put('k', 'v0', 5), 10)
      // An equal timestamp replaces the version, keeping its validTo.
      assert.equal(store.put('k', 'v2b', 20), 30)
      assert.equal(store.put('k', 'v3b', 30), PUT_RETURN_CODE_VALID_TO_UNDEFINED)
      assert.deepEqual(store.history('k'), [
        { value: 'v0', timestamp: 5 },
        { value: 'v1', timestamp: 10 },
        { value: 'v2b', timestamp: 20 },
        { value: 'v3b', timestamp: 30 },
      ])
      await store.close()
    })

    it('get(key) is the latest version; get(key, asOf) the version valid then, with validTo', async () => {
      const { store } = open(make(1_000_000))
      for (const [v, ts] of [
        ['v1', 10],
        ['v3', 30],
        ['v2', 20],
      ] as const)
        store.put('k', v, ts)
      assert.deepEqual(at(store, 'k'), { value: 'v3', timestamp: 30 })
      assert.equal(at(store, 'k', 9), null)
      assert.deepEqual(at(store, 'k', 10), { value: 'v1', timestamp: 10, validTo: 20 })
      assert.deepEqual(at(store, 'k', 19), { value: 'v1', timestamp: 10, validTo: 20 })
      assert.deepEqual(at(store, 'k', 25), { value: 'v2', timestamp: 20, validTo: 30 })
      assert.deepEqual(at(store, 'k', 30), { value: 'v3', timestamp: 30 })
      assert.deepEqual(at(store, 'k', 1000), { value: 'v3', timestamp: 30 })
      assert.equal(at(store, 'other'), null)
      await store.close()
    })

    it('tombstones end a version; delete returns the version valid at its timestamp', async () => {
      const { store } = open(make(1_000_000))
      store.put('k', 'a', 10)
      assert.equal(store.put('k', null, 40), PUT_RETURN_CODE_VALID_TO_UNDEFINED)
      assert.equal(at(store, 'k'), null)
      assert.deepEqual(at(store, 'k', 39), { value: 'a', timestamp: 10, validTo: 40 })
      assert.equal(at(store, 'k', 40), null)
      // An out-of-order version before the tombstone is valid until it.
      assert.equal(store.put('k', 'b', 30), 40)
      assert.deepEqual(at(store, 'k', 35), { value: 'b', timestamp: 30, validTo: 40 })
      // A tombstone for an unknown key is the latest version.
      assert.equal(store.put('none', null, 50), PUT_RETURN_CODE_VALID_TO_UNDEFINED)
      assert.equal(store.delete('x', 50), null)
      store.put('x', 'x1', 60)
      store.put('x', 'x2', 80)
      assert.deepEqual({ ...store.delete('x', 70) }, { value: 'x1', timestamp: 60, validTo: 80 })
      assert.equal(at(store, 'x', 75), null)
      assert.deepEqual(at(store, 'x'), { value: 'x2', timestamp: 80 })
      await store.close()
    })

    it('history retention: older puts are not stored (and counted), older gets answer only the latest', async () => {
      const { store, ctx } = open(make(100))
      store.put('a', 'a1', 10)
      store.put('a', 'a2', 150)
      store.put('b', 'b1', 101)
      store.put('c', 'c1', 200) // stream time 200: history back to 100
      assert.equal(store.put('a', 'late', 99), PUT_RETURN_CODE_NOT_PUT)
      assert.equal(store.delete('a', 99), null)
      assert.equal(ctx.dropped.length, 2)
      assert.equal(store.put('a', 'edge', 100), 150)
      assert.deepEqual(at(store, 'a', 120), { value: 'edge', timestamp: 100, validTo: 150 })
      // asOf older than stream time - retention: null unless the latest version is at or before asOf.
      assert.equal(at(store, 'a', 99), null)
      store.put('c', 'c2', 300) // stream time 300: history back to 200
      assert.deepEqual(at(store, 'b', 150), { value: 'b1', timestamp: 101 })
      assert.equal(at(store, 'b', 100), null)
      assert.equal(at(store, 'a', 149), null, 'the version before the latest expired')
      assert.deepEqual(at(store, 'a', 199), { value: 'a2', timestamp: 150 }, 'the latest version never expires')
      assert.deepEqual(at(store, 'a', 250), { value: 'a2', timestamp: 150 })
      assert.equal(store.observedStreamTime, 300)
      await store.close()
    })

    it('logs every applied put to the changelog and restores the same history from it', async () => {
      const supplier = make(1_000)
      const { store, ctx } = open(supplier)
      store.put('k', 'v1', 10)
      store.put('k', 'v3', 30)
      store.put('k', 'v2', 20)
      store.delete('k', 40)
      store.put('j', 'j1', 5_000)
      assert.equal(store.put('k', 'expired', 3_000), PUT_RETURN_CODE_NOT_PUT)
      assert.deepEqual(
        ctx.logged.map((r) => [r.key.toString(), r.value?.toString() ?? null, r.timestamp]),
        [
          ['k', 'v1', 10],
          ['k', 'v3', 30],
          ['k', 'v2', 20],
          ['k', null, 40],
          ['j', 'j1', 5_000],
        ],
      )
      await store.close()
      // A fresh store (other directory) restored from the changelog answers the same.
      const fresh = context(mkdtempSync(join(dir, 'restore-')))
      const restored = Stores.versionedKeyValueStoreBuilder(
        { ...supplier, name: `${supplier.name}-r` } as VersionedBytesStoreSupplier,
        S,
        S,
      ).build() as VersionedKeyValueStoreImpl<string, string>
      restored.init(fresh, restored)
      fresh.restore!(ctx.logged.slice(0, 4))
      assert.deepEqual(at(restored, 'k', 25), { value: 'v2', timestamp: 20, validTo: 30 })
      assert.equal(at(restored, 'k'), null)
      fresh.restore!(ctx.logged.slice(4))
      assert.equal(restored.observedStreamTime, 5_000)
      assert.equal(at(restored, 'k', 25), null, 'history older than the retention')
      assert.deepEqual(at(restored, 'j'), { value: 'j1', timestamp: 5_000 })
      assert.deepEqual(fresh.logged, [], 'restoring does not write to the changelog')
      await restored.close()
    })
  })
}

describe('versioned store: LMDB persistence', () => {
  it('reopens with its histories and its stream time', async () => {
    const path = mkdtempSync(join(dir, 'reopen-'))
    const supplier = Stores.persistentVersionedKeyValueStore('persisted', 100)
    const first = open(supplier, context(path)).store
    first.put('k', 'v1', 10)
    first.put('k', 'v2', 20)
    await first.close()
    const second = open(supplier, context(path)).store
    assert.equal(second.observedStreamTime, 20)
    assert.deepEqual(at(second, 'k', 15), { value: 'v1', timestamp: 10, validTo: 20 })
    await second.close()
  })
})

describe('versioned store builder', () => {
  it('changelog config as Kafka Streams: compact, min.compaction.lag.ms = history retention + 1 day', () => {
    const builder = Stores.versionedKeyValueStoreBuilder(Stores.persistentVersionedKeyValueStore('s', 60_000))
    assert.deepEqual(builder.logConfig, {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': String(60_000 + 86_400_000),
    })
    builder.withLoggingEnabled({ 'min.compaction.lag.ms': '5' })
    assert.equal(builder.logConfig['min.compaction.lag.ms'], '5')
    assert.throws(() => builder.withCachingEnabled(), /do not support caching/)
    assert.throws(() => Stores.persistentVersionedKeyValueStore('s', -1), /history retention/)
  })
})
