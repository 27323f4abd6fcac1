/**
 * Large Produce requests: their frames are assembled in pooled buffers and their batches are written to the
 * segment on the thread pool. Many pipelined requests on several connections must land byte for byte, in order,
 * with no request seeing another's bytes, and readers must never get a batch before it is fully written.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { RawKafkaConnection } from '../../bench/lib/raw-kafka.ts'
import { FramePool } from '../../src/broker/frame-pool.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

test('FramePool serves sizes in its range, reuses released buffers and caps what it keeps', () => {
  const pool = new FramePool(1024, 8192, 16384)
  assert.equal(pool.pools(1023), false)
  assert.equal(pool.pools(1024), true)
  assert.equal(pool.pools(8193), false)
  const a = pool.acquire(3000)
  assert.ok(a.length >= 3000)
  pool.release(a)
  assert.equal(pool.acquire(2000), a, 'a released buffer large enough is handed out again')
  const b = pool.acquire(8192)
  const c = pool.acquire(8192)
  const d = pool.acquire(8192)
  pool.release(b)
  pool.release(c)
  pool.release(d)
  assert.equal(pool.idle, 2, 'idle buffers beyond maxFreeBytes are dropped')
})

let tb: TestBroker
before(async () => {
  tb = await startTestBroker()
})
after(async () => {
  await tb.close()
})

test('pipelined large produces on several connections are stored byte for byte and in order', {
  skip: !!process.env.TRIBUTARY_BOOTSTRAP,
}, async () => {
  const port = Number(tb.bootstrap.split(':').at(-1))
  const topic = 'large-produce'
  const conns = await Promise.all([0, 1, 2].map(() => RawKafkaConnection.open('127.0.0.1', port)))
  try {
    await conns[0]!.metadata([topic], true)
    // Each request carries ~300 KiB whose every byte says which connection and request it came from.
    const sends: Promise<void>[] = []
    for (let i = 0; i < 8; i++) {
      for (const [c, conn] of conns.entries()) {
        const value = Buffer.alloc(300 * 1024, (c * 16 + i) & 0xff)
        const key = Buffer.from(`${c}:${i}`)
        sends.push(conn.produce(topic, new Map([[0, encodeRecordBatchSync({ records: [{ key, value }] })]])))
      }
    }
    await Promise.all(sends)
    const seen = new Map<number, number[]>()
    let offset = 0
    while (offset < sends.length) {
      const r = await conns[0]!.fetch(topic, 0, offset, 4 * 1024 * 1024, 1000)
      assert.ok(r.records && r.nextOffset > offset, `fetch at ${offset} made progress`)
      for (const b of await decodeRecordBatches(r.records)) {
        for (const rec of b.records) {
          const [c, i] = rec.key!.toString().split(':').map(Number) as [number, number]
          const expected = (c * 16 + i) & 0xff
          assert.equal(rec.value!.length, 300 * 1024)
          assert.ok(
            rec.value!.every((x) => x === expected),
            `record ${rec.offset} from connection ${c} request ${i} holds only its own bytes`,
          )
          seen.set(c, [...(seen.get(c) ?? []), i])
        }
      }
      offset = r.nextOffset
    }
    // Requests of one connection keep their order in the log.
    for (const c of [0, 1, 2]) assert.deepEqual(seen.get(c), [0, 1, 2, 3, 4, 5, 6, 7])
  } finally {
    for (const c of conns) c.close()
  }
})
