import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Headers } from '../../../src/streams/processor/record.ts'
import { InMemoryKeyValueStore } from '../../../src/streams/state/in-memory-store.ts'
import type { BytesKeyValueStore } from '../../../src/streams/state/key-value-store.ts'
import { LmdbKeyValueStore } from '../../../src/streams/state/lmdb-store.ts'
import type { RestoreCallback, StateStore, StateStoreContext } from '../../../src/streams/state/state-store.ts'

const dir = mkdtempSync(join(tmpdir(), 'trb-kv-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function context(): StateStoreContext & { restore?: RestoreCallback } {
  const ctx = {
    taskId: '0_0',
    applicationId: 'app',
    partition: 0,
    stateDir: dir,
    appConfigs: {},
    defaultKeySerde: undefined,
    defaultValueSerde: undefined,
    cache: undefined,
    restore: undefined as RestoreCallback | undefined,
    register(_s: StateStore, r: RestoreCallback) {
      ctx.restore = r
    },
    logChange() {},
    recordContext: () => ({ timestamp: 0, topic: null, partition: -1, offset: -1, headers: new Headers() }),
    setRecordContext() {},
    deferPreparation() {},
  }
  return ctx
}

const b = (s: string) => Buffer.from(s)
const keys = (it: Iterable<{ key: Buffer }>) => [...it].map((e) => e.key.toString())

let n = 0
const implementations: Array<[string, () => BytesKeyValueStore]> = [
  ['in-memory', () => new InMemoryKeyValueStore(`mem-${n++}`)],
  ['LMDB', () => new LmdbKeyValueStore(`lmdb-${n++}`)],
]

for (const [label, make] of implementations) {
  describe(`KeyValueStore contract: ${label}`, () => {
    it('get, put, putIfAbsent, delete, put(null) deletes', async () => {
      const store = make()
      store.init(context(), store)
      assert.equal(store.get(b('a')), undefined)
      store.put(b('a'), b('1'))
      assert.equal(store.get(b('a'))!.toString(), '1')
      assert.equal(store.putIfAbsent(b('a'), b('2'))!.toString(), '1')
      assert.equal(store.putIfAbsent(b('b'), b('2')), undefined)
      assert.equal(store.get(b('b'))!.toString(), '2')
      assert.equal(store.delete(b('a'))!.toString(), '1')
      assert.equal(store.get(b('a')), undefined)
      store.put(b('b'), null)
      assert.equal(store.get(b('b')), undefined)
      assert.equal(store.approximateNumEntries(), 0)
      await store.close()
    })

    it('range, reverseRange, prefixScan, all, reverseAll in unsigned byte order', async () => {
      const store = make()
      store.init(context(), store)
      store.putAll(['a', 'ab', 'abc', 'b', 'ba', 'c'].map((k) => ({ key: b(k), value: b(k.toUpperCase()) })))
      store.put(Buffer.from([0xff]), b('high'))
      assert.deepEqual(keys(store.range(b('ab'), b('ba'))), ['ab', 'abc', 'b', 'ba'])
      assert.deepEqual(keys(store.reverseRange(b('ab'), b('ba'))), ['ba', 'b', 'abc', 'ab'])
      assert.deepEqual(keys(store.range(undefined, b('ab'))), ['a', 'ab'])
      assert.deepEqual(keys(store.range(b('c'))).length, 2)
      assert.deepEqual(keys(store.range(b('b'), b('a'))), [])
      assert.deepEqual(keys(store.prefixScan('ab', { serializeSync: (_t, s: string) => b(s) })), ['ab', 'abc'])
      assert.deepEqual(keys(store.all()).slice(0, 6), ['a', 'ab', 'abc', 'b', 'ba', 'c'])
      assert.equal(store.all().peekNextKey()!.toString(), 'a')
      assert.deepEqual(keys(store.reverseAll()).slice(1), ['c', 'ba', 'b', 'abc', 'ab', 'a'])
      assert.equal(store.approximateNumEntries(), 7)
      await store.close()
    })

    it('restores a batch of changelog records (null values delete)', async () => {
      const store = make()
      const ctx = context()
      store.init(ctx, store)
      store.put(b('gone'), b('x'))
      ctx.restore!([
        { key: b('k1'), value: b('v1'), timestamp: 1, offset: 0 },
        { key: b('gone'), value: null, timestamp: 2, offset: 1 },
      ])
      assert.equal(store.get(b('k1'))!.toString(), 'v1')
      assert.equal(store.get(b('gone')), undefined)
      await store.close()
      assert.throws(() => store.get(b('k1')), { code: 'TRB_STREAMS_STORE_CLOSED' })
    })
  })
}

describe('LMDB store', () => {
  it('offers the task a write scope: one transaction whose reads see its writes, dropped if it throws', async () => {
    const ctx = context() as ReturnType<typeof context> & { registerWriteScope(s: (w: () => void) => void): void }
    const scopes: Array<(work: () => void) => void> = []
    ctx.registerWriteScope = (s) => scopes.push(s)
    const store = new LmdbKeyValueStore('scoped')
    store.init(ctx, store)
    assert.equal(scopes.length, 1)
    scopes[0]!(() => {
      store.put(b('a'), b('1'))
      assert.equal(store.get(b('a'))!.toString(), '1')
      store.putAll([{ key: b('b'), value: b('2') }]) // a batch nested in the scope
      assert.deepEqual(keys(store.all()), ['a', 'b'])
    })
    assert.throws(() =>
      scopes[0]!(() => {
        store.put(b('c'), b('3'))
        store.delete(b('a'))
        throw new Error('processing failed')
      }),
    )
    assert.deepEqual(keys(store.all()), ['a', 'b'])
    await store.close()
  })

  it('keeps its data across close and reopen (persistent)', async () => {
    const first = new LmdbKeyValueStore('persist')
    first.init(context(), first)
    first.put(b('k'), b('v'))
    await first.close()
    const second = new LmdbKeyValueStore('persist')
    second.init(context(), second)
    assert.equal(second.get(b('k'))!.toString(), 'v')
    assert.equal(second.persistent(), true)
    await second.close()
  })
})
