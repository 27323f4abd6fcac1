/**
 * A topic's compression.type other than `producer` recompresses batches on append, as Kafka's LogValidator does:
 * every batch is stored with the topic's codec (`uncompressed` included), records keep keys, values, headers and
 * timestamps, offsets stay consecutive, producer fields and the transactional flag are kept, transaction markers stay
 * uncompressed. A consumer over the wire reads the stored codec from the fetched batches; KafkaJS and
 * @platformatic/kafka read the records back.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Consumer, stringDeserializers } from '@platformatic/kafka'
import kafkajs from 'kafkajs'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { decodeRecordBatches, iterateBatches, validateRecordBatch } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { registerKafkaJsCodecs } from '../helpers/kafkajs-codecs.ts'

const { Kafka, logLevel, CompressionTypes } = kafkajs
registerKafkaJsCodecs()

const CODEC_IDS = { uncompressed: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const

interface StoredBatch {
  codec: number
  baseOffset: number
  lastOffsetDelta: number
  transactional: boolean
  control: boolean
  producerId: number
  timestampType: number
  maxTimestamp: number
  records: { offset: number; key: string | null; value: string | null; timestamp: number; headers: string[] }[]
}

describe('compression.type recompresses on append', () => {
  let tb: TestBroker
  let raw: KafkaWireClient
  let kafka: kafkajs.Kafka
  let admin: kafkajs.Admin

  before(async () => {
    tb = await startTestBroker()
    raw = await KafkaWireClient.connect(tb.bootstrap)
    kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, clientId: 'compression-type' })
    admin = kafka.admin()
    await admin.connect()
  })
  after(async () => {
    raw?.close()
    await admin?.disconnect()
    await tb?.close()
  })

  /** Every batch of partition 0 from offset 0, as a consumer receives it (Fetch v11), with its CRC checked. */
  async function fetchBatches(topic: string, isolationLevel = 0): Promise<StoredBatch[]> {
    const r = await raw.call(ApiKeys.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    const p = r.responses[0].partitions[0]
    assert.equal(p.errorCode, 0)
    const records: Buffer = p.records
    for (const b of iterateBatches(records)) validateRecordBatch(records, b.start, b.end, { checkRecords: true })
    return (await decodeRecordBatches(records)).map(({ header: h, records: rs }) => ({
      codec: h.compression,
      baseOffset: h.baseOffset,
      lastOffsetDelta: h.lastOffsetDelta,
      transactional: h.isTransactional,
      control: h.isControl,
      producerId: h.producerId,
      timestampType: h.timestampType,
      maxTimestamp: h.maxTimestamp,
      records: rs.map((x) => ({
        offset: x.offset,
        key: x.key ? String(x.key) : null,
        value: x.value ? String(x.value) : null,
        timestamp: x.timestamp,
        headers: x.headers.map((hd) => `${hd.key}=${hd.value}`),
      })),
    }))
  }

  const messages = (tag: string, n: number, t0: number) =>
    Array.from({ length: n }, (_, i) => ({
      key: `${tag}-key-${i}`,
      value: `${tag} value ${i} ${'z'.repeat(300)}`,
      headers: { tag, index: String(i) },
      timestamp: String(t0 + i * 1000),
    }))

  async function readWithKafkaJs(topic: string, count: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `kjs-${topic}`, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const values: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(String(message.value))
            if (values.length === count) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    return values
  }

  async function readWithPlatformatic(topic: string, count: number): Promise<string[]> {
    const consumer = new Consumer({
      clientId: `pk-${topic}`,
      groupId: `pk-${topic}`,
      bootstrapBrokers: [tb.bootstrap],
      deserializers: stringDeserializers,
    })
    const values: string[] = []
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
      for await (const m of stream) {
        values.push(m.value)
        if (values.length === count) break
      }
      await stream.close()
    } finally {
      await consumer.close()
    }
    return values
  }

  for (const [type, id] of Object.entries(CODEC_IDS)) {
    test(`compression.type=${type}: gzip and uncompressed batches are stored as ${type}, records unchanged`, async () => {
      const topic = `ct-${type}`
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: type }] }],
      })
      const producer = kafka.producer()
      await producer.connect()
      const t0 = Date.now() - 60_000
      const a = messages('gzip', 3, t0)
      const b = messages('none', 2, t0 + 10_000)
      const [ra] = await producer.send({ topic, compression: CompressionTypes.GZIP, messages: a })
      const [rb] = await producer.send({ topic, compression: CompressionTypes.None, messages: b })
      await producer.disconnect()
      assert.equal(ra!.baseOffset, '0')
      assert.equal(rb!.baseOffset, '3')

      const stored = await fetchBatches(topic)
      assert.deepEqual(
        stored.map((s) => [s.codec, s.baseOffset, s.lastOffsetDelta]),
        [
          [id, 0, 2],
          [id, 3, 1],
        ],
      )
      const expected = [...a, ...b].map((m, i) => ({
        offset: i,
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
        headers: [`tag=${m.headers.tag}`, `index=${m.headers.index}`],
      }))
      assert.deepEqual(
        stored.flatMap((s) => s.records),
        expected,
      )
      assert.deepEqual(
        stored.map((s) => s.maxTimestamp),
        [t0 + 2000, t0 + 11_000],
      )

      const values = expected.map((e) => e.value)
      assert.deepEqual(await readWithKafkaJs(topic, values.length), values)
      // @platformatic/kafka decompresses zstd only with node:zlib's zstd (Node >= 22.15).
      if (type !== 'zstd' || process.versions.node.split('.').map(Number)[0]! >= 23) {
        assert.deepEqual(await readWithPlatformatic(topic, values.length), values)
      }
    })
  }

  test('compression.type=producer keeps each batch as produced', async () => {
    const topic = 'ct-producer'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, compression: CompressionTypes.GZIP, messages: messages('g', 2, Date.now()) })
    await producer.send({ topic, compression: CompressionTypes.LZ4, messages: messages('l', 2, Date.now()) })
    await producer.send({ topic, messages: messages('n', 2, Date.now()) })
    await producer.disconnect()
    assert.deepEqual(
      (await fetchBatches(topic)).map((s) => s.codec),
      [1, 3, 0],
    )
  })

  test('a transactional batch keeps its producer and transactional flag; markers stay uncompressed', async () => {
    const topic = 'ct-txn'
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'lz4' }] }],
    })
    const producer = kafka.producer({ transactionalId: 'ct-txn', maxInFlightRequests: 1, idempotent: true })
    await producer.connect()
    const committed = await producer.transaction()
    await committed.send({ topic, compression: CompressionTypes.GZIP, messages: messages('kept', 2, Date.now()) })
    await committed.commit()
    const aborted = await producer.transaction()
    await aborted.send({ topic, messages: messages('dropped', 2, Date.now()) })
    await aborted.abort()
    await producer.disconnect()

    const stored = await fetchBatches(topic)
    assert.deepEqual(
      stored.map((s) => [s.codec, s.transactional, s.control]),
      [
        [3, true, false],
        [0, true, true],
        [3, true, false],
        [0, true, true],
      ],
    )
    assert.ok(stored.every((s) => s.producerId === stored[0]!.producerId && s.producerId >= 0))
    const values = await readWithKafkaJs(topic, 2)
    assert.deepEqual(
      values,
      messages('kept', 2, 0).map((m) => m.value),
    )
  })

  test('with LogAppendTime the rebuilt batch carries the append time', async () => {
    const topic = 'ct-append-time'
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: [
            { name: 'compression.type', value: 'gzip' },
            { name: 'message.timestamp.type', value: 'LogAppendTime' },
          ],
        },
      ],
    })
    const before = Date.now()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: messages('t', 3, 1000) })
    await producer.disconnect()
    const [s] = await fetchBatches(topic)
    assert.equal(s!.codec, 1)
    assert.equal(s!.timestampType, 1)
    assert.ok(s!.maxTimestamp >= before && s!.maxTimestamp <= Date.now())
    assert.ok(s!.records.every((r) => r.timestamp === s!.maxTimestamp))
  })

  test('changing compression.type applies to batches appended afterwards', async () => {
    const topic = 'ct-altered'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: messages('before', 1, Date.now()) })
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: topic, configEntries: [{ name: 'compression.type', value: 'snappy' }] }],
    })
    await producer.send({ topic, messages: messages('after', 1, Date.now()) })
    await producer.disconnect()
    assert.deepEqual(
      (await fetchBatches(topic)).map((s) => s.codec),
      [0, 2],
    )
  })
})
