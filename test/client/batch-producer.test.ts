/**
 * The BatchProducer against a real broker: what it writes reads back exactly (order, keys, values, headers,
 * timestamps), an idempotent identity's sequences continue across calls and a resend is recognised as a
 * duplicate, a refused partition is reported on its own while the others are written, and transactional batches
 * are visible to read_committed only after the commit; the Fetcher decodes every codec.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import {
  BatchProducer,
  createProducer,
  ensureTopic,
  type FetchedRecord,
  Fetcher,
  hasKafkaError,
  isNetworkError,
  KafkaCluster,
} from '../../src/client/index.ts'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { CompressionCodec, initCompression } from '../../src/protocol/compression.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { encodeRecordBatch, type OutgoingRecord, readBatchHeader } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { fetchRecordBytes } from '../helpers/wire.ts'

let broker: TestBroker
const clusters: KafkaCluster[] = []

function cluster(): KafkaCluster {
  const c = new KafkaCluster({ bootstrap: broker.bootstrap, requestTimeoutMs: 30000 })
  clusters.push(c)
  return c
}

before(async () => {
  broker = await startTestBroker()
})

after(async () => {
  for (const c of clusters) await c.close()
  await broker.close()
})

const rec = (key: string | null, value: string | null, timestamp: number, headers: OutgoingRecord['headers'] = []) =>
  ({
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp,
    headers,
  }) satisfies OutgoingRecord

/** Reads `count` records of one partition from offset 0. */
async function readBack(
  topic: string,
  partition: number,
  count: number,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted',
): Promise<FetchedRecord[]> {
  const fetcher = new Fetcher({ cluster: cluster(), isolationLevel: isolation, maxWaitMs: 100 })
  fetcher.assign(topic, partition, 0)
  const out: FetchedRecord[] = []
  try {
    while (out.length < count) {
      for (const p of await fetcher.poll(200)) out.push(...p.records)
    }
  } finally {
    fetcher.close()
  }
  return out
}

/** The end offset of a partition under read_uncommitted (the high watermark). */
async function highWatermark(topic: string, partition: number): Promise<number> {
  const fetcher = new Fetcher({ cluster: cluster(), maxWaitMs: 10 })
  fetcher.assign(topic, partition, 0)
  try {
    for (;;) {
      const polled = await fetcher.poll(50)
      const p = polled.find((x) => x.topic === topic && x.partition === partition)
      if (p && p.records.length === 0) return p.endOffset
      if (p) fetcher.assign(topic, partition, p.nextOffset)
    }
  } finally {
    fetcher.close()
  }
}

describe('BatchProducer', () => {
  it('writes one batch per partition that reads back exactly, with base offsets per partition', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-a', { partitions: 2 })
    await ensureTopic(admin.admin, 'bp-b', { partitions: 1 })
    const producer = new BatchProducer({ cluster: cluster() })
    const now = Date.now()
    const big = 'x'.repeat(70_000) // a length that takes a 3-byte varint
    const a0 = [
      rec('k1', 'v1', now, [{ key: 'trace', value: Buffer.from('t-1') }]),
      rec(null, 'no key', now - 5000), // a timestamp before the batch's first: a negative delta
      rec('tombstone', null, now + 1),
      rec('big', big, now + 2, [
        { key: 'a', value: null },
        { key: 'ü', value: Buffer.from('x') },
      ]),
    ]
    const first = await producer.produce([
      { topic: 'bp-a', partition: 0, records: a0 },
      { topic: 'bp-a', partition: 1, records: [rec('p1', 'one', now)] },
      { topic: 'bp-b', partition: 0, records: [rec('b', 'bee', now)] },
    ])
    assert.deepEqual(first.failures, new Map())
    assert.deepEqual(
      first.baseOffsets,
      new Map([
        ['bp-a:0', 0],
        ['bp-a:1', 0],
        ['bp-b:0', 0],
      ]),
    )
    const second = await producer.produce([{ topic: 'bp-a', partition: 0, records: [rec('k2', 'v2', now)] }])
    assert.equal(second.baseOffsets.get('bp-a:0'), 4)

    const back = await readBack('bp-a', 0, 5)
    assert.deepEqual(
      back.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp]),
      [
        [0, 'k1', 'v1', now],
        [1, null, 'no key', now - 5000],
        [2, 'tombstone', null, now + 1],
        [3, 'big', big, now + 2],
        [4, 'k2', 'v2', now],
      ],
    )
    assert.deepEqual(
      back[0]!.headers.map((h) => [h.key, h.value?.toString()]),
      [['trace', 't-1']],
    )
    assert.deepEqual(
      back[3]!.headers.map((h) => [h.key, h.value?.toString() ?? null]),
      [
        ['a', null],
        ['ü', 'x'],
      ],
    )
    assert.equal((await readBack('bp-b', 0, 1))[0]!.value!.toString(), 'bee')
  })

  it('continues an idempotent identity’s sequences across calls, and a resend is a duplicate, not a new write', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-idem', { partitions: 1 })
    const idempotent = createProducer({ bootstrap: broker.bootstrap, idempotent: true })
    try {
      const info = await idempotent.initIdempotentProducer({})
      const identity = { producerId: Number(info.producerId), producerEpoch: info.producerEpoch }
      const producer = new BatchProducer({ cluster: cluster() })
      const batch = (from: number) => ({
        topic: 'bp-idem',
        partition: 0,
        records: [0, 1, 2].map((i) => rec(`k${from + i}`, `v${from + i}`, Date.now())),
      })
      // Sequences 0–2, then 3–5: a wrong base sequence would be refused as OUT_OF_ORDER_SEQUENCE_NUMBER.
      const one = await producer.produce([batch(0)], identity)
      const two = await producer.produce([batch(3)], identity)
      assert.deepEqual([one.failures.size, two.failures.size], [0, 0])
      assert.equal(two.baseOffsets.get('bp-idem:0'), 3)
      // A second producer object with the same identity starts at sequence 0 again: the broker has that batch
      // already (a retry after a lost answer looks like this) and does not append it twice.
      const again = await new BatchProducer({ cluster: cluster() }).produce([batch(0)], identity)
      assert.equal(again.failures.size, 0)
      assert.equal(await highWatermark('bp-idem', 0), 6)
    } finally {
      await idempotent.close()
    }
  })

  it('reports a refused partition with its Kafka error and writes the other partitions', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-small', { partitions: 1, configs: { 'max.message.bytes': '200' } })
    await ensureTopic(admin.admin, 'bp-fine', { partitions: 1 })
    const producer = new BatchProducer({ cluster: cluster(), retries: 0 })
    const outcome = await producer.produce([
      { topic: 'bp-small', partition: 0, records: [rec('k', 'y'.repeat(1000), Date.now())] },
      { topic: 'bp-fine', partition: 0, records: [rec('k', 'fits', Date.now())] },
    ])
    assert.deepEqual([...outcome.baseOffsets.keys()], ['bp-fine:0'])
    assert.equal(outcome.failures.size, 1)
    assert.ok(hasKafkaError(outcome.failures.get('bp-small:0'), 'MESSAGE_TOO_LARGE'), String(outcome.failures))
    assert.equal((await readBack('bp-fine', 0, 1))[0]!.value!.toString(), 'fits')
  })

  it('compresses its batches with the codec it is given (the broker stores them as sent)', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-lz4', { partitions: 1 })
    const producer = new BatchProducer({ cluster: cluster(), compression: CompressionCodec.LZ4 })
    const records = [0, 1, 2].map((i) => rec(`k${i}`, 'compressible '.repeat(40), Date.now()))
    const outcome = await producer.produce([{ topic: 'bp-lz4', partition: 0, records }])
    assert.equal(outcome.failures.size, 0)
    const wire = await KafkaWireClient.connect(broker.bootstrap)
    try {
      const records = await fetchRecordBytes(wire, 'bp-lz4')
      assert.equal(readBatchHeader(records).compression, CompressionCodec.LZ4)
    } finally {
      wire.close()
      await wire.closed
    }
    assert.deepEqual(
      (await readBack('bp-lz4', 0, 3)).map((r) => r.key!.toString()),
      ['k0', 'k1', 'k2'],
    )
  })

  it('retries through a broker restart, and fails with a network error when the cluster stays unreachable', async (t) => {
    if (!broker.local) {
      t.skip('needs a broker this test can restart')
      return
    }
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-restart', { partitions: 1 })
    const producer = new BatchProducer({ cluster: cluster() })
    const first = await producer.produce([
      { topic: 'bp-restart', partition: 0, records: [rec('a', 'before', Date.now())] },
    ])
    assert.equal(first.failures.size, 0)
    // The producer's pooled connection dies with the broker; the next call reconnects and writes.
    await broker.restart()
    const second = await producer.produce([
      { topic: 'bp-restart', partition: 0, records: [rec('b', 'after', Date.now())] },
    ])
    assert.deepEqual([...second.failures], [])
    assert.equal(second.baseOffsets.get('bp-restart:0'), 1)
    assert.deepEqual(
      (await readBack('bp-restart', 0, 2)).map((r) => r.value!.toString()),
      ['before', 'after'],
    )
    // Nothing listening: every round fails to connect until the delivery timeout, then the partition fails.
    const free = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port
        srv.close(() => resolve(port))
      })
    })
    const dead = new KafkaCluster({ bootstrap: `127.0.0.1:${free}`, requestTimeoutMs: 1000, connectTimeoutMs: 500 })
    clusters.push(dead)
    const unreachable = new BatchProducer({ cluster: dead, deliveryTimeoutMs: 500, retryBackoffMs: 50 })
    const outcome = await unreachable.produce([{ topic: 'bp-restart', partition: 0, records: [rec('c', 'lost', 1)] }])
    assert.equal(outcome.baseOffsets.size, 0)
    assert.ok(isNetworkError(outcome.failures.get('bp-restart:0')), String(outcome.failures.get('bp-restart:0')))
  })

  it('writes transactional batches that read_committed sees after the commit and never after an abort', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'bp-txn', { partitions: 1 })
    const txProducer = createProducer({
      bootstrap: broker.bootstrap,
      transactionalId: 'bp-txn-1',
      idempotent: true,
      producerId: -1n,
      producerEpoch: -1,
    })
    const producer = new BatchProducer({ cluster: cluster() })
    try {
      const write = async (value: string, commit: boolean) => {
        const transaction = await txProducer.beginTransaction()
        const metadata = await txProducer.metadata({ topics: ['bp-txn'] })
        await transaction.addPartitions(metadata, [{ topic: 'bp-txn', partition: 0 } as never])
        const outcome = await producer.produce(
          [{ topic: 'bp-txn', partition: 0, records: [rec('k', value, Date.now())] }],
          {
            producerId: Number(txProducer.producerId),
            producerEpoch: Number(txProducer.producerEpoch),
            transactionalId: transaction.id,
          },
        )
        assert.equal(outcome.failures.size, 0)
        if (commit) await transaction.commit()
        else await transaction.abort()
      }
      await write('aborted', false)
      await write('committed', true)
      const seen = await readBack('bp-txn', 0, 1, 'read_committed')
      assert.deepEqual(
        seen.map((r) => r.value!.toString()),
        ['committed'],
      )
    } finally {
      await txProducer.close()
    }
  })
})

describe('Fetcher', () => {
  it('reads batches of every codec (gzip, snappy, lz4, zstd) with their headers, and from inside a compressed batch', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'fetch-codecs', { partitions: 1 })
    await initCompression()
    const wire = await KafkaWireClient.connect(broker.bootstrap)
    const codecs = [
      CompressionCodec.NONE,
      CompressionCodec.GZIP,
      CompressionCodec.SNAPPY,
      CompressionCodec.LZ4,
      CompressionCodec.ZSTD,
    ]
    try {
      for (const codec of codecs) {
        const records = [0, 1, 2].map((i) => ({
          key: `c${codec}-${i}`,
          value: 'v'.repeat(200 + i),
          timestamp: 1_700_000_000_000 + i,
          headers: [{ key: 'codec', value: String(codec) }],
        }))
        const batch = await encodeRecordBatch({ records, compression: codec })
        const topicData = [{ name: 'fetch-codecs', partitionData: [{ index: 0, records: batch }] }]
        const response = await wire.call(ApiKeys.Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData,
        })
        assert.equal(response.responses[0].partitionResponses[0].errorCode, 0)
      }
    } finally {
      wire.close()
      await wire.closed
    }
    const back = await readBack('fetch-codecs', 0, 15)
    assert.deepEqual(
      back.map((r) => [r.offset, r.key!.toString(), r.value!.length, r.timestamp, r.headers[0]!.value!.toString()]),
      codecs.flatMap((codec, b) =>
        [0, 1, 2].map((i) => [b * 3 + i, `c${codec}-${i}`, 200 + i, 1_700_000_000_000 + i, String(codec)]),
      ),
    )
    // A fetch limited to fewer bytes than the first batch still makes progress (Kafka returns one whole batch),
    // and one starting in the middle of a compressed batch skips the records before the position.
    const fetcher = new Fetcher({ cluster: cluster(), maxWaitMs: 100, partitionMaxBytes: 10 })
    fetcher.assign('fetch-codecs', 0, 4)
    try {
      let first: FetchedRecord[] = []
      while (first.length === 0) for (const p of await fetcher.poll(200)) first = p.records
      assert.deepEqual(
        first.map((r) => r.offset),
        [4, 5],
      )
    } finally {
      fetcher.close()
    }
  })
})
