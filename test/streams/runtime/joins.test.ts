/**
 * Joins in the KafkaStreams runtime against a real broker on loopback: a foreign-key join creates its subscription
 * and response topics (partitioned as the right and the left table) and gives the right results under updates,
 * deletes and foreign-key changes; a stream-table join over topics with different partition counts is refused.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import { KafkaStreams, Serdes, StreamsBuilder, TableJoined } from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka, stateRecorder } from './helpers.ts'

let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

function config(applicationId: string) {
  const d = tempDir('trb-streams-joins-')
  dirs.push(d)
  return {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': d.path,
    'commit.interval.ms': 100,
    'session.timeout.ms': 1500,
    'heartbeat.interval.ms': 200,
    'log.level': 'warn' as const,
  }
}

async function produce(topic: string, messages: Array<{ key: string; value: string | null }>) {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  // One record at a time, in order: each step's result depends on the previous ones being applied.
  for (const m of messages) await producer.send({ topic, acks: -1, messages: [m] })
  await producer.disconnect()
}

/** Reads a topic of string records from the beginning, keeping the last value per key, until `done(table)`. */
async function readStringTableUntil(topic: string, done: (t: Map<string, string | null>) => boolean) {
  const consumer = kafka(broker.bootstrap).consumer({
    groupId: `join-reader-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const table = new Map<string, string | null>()
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${topic} incomplete after 90 s: ${JSON.stringify([...table])}`)),
        90000,
      )
      consumer
        .run({
          eachMessage: async ({ message }) => {
            table.set(message.key!.toString(), message.value === null ? null : message.value.toString())
            if (done(table)) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return table
}

describe('joins in the KafkaStreams runtime', () => {
  it('foreign-key join: internal topics created and partitioned as Kafka Streams, results right', async () => {
    await ensureTopic(admin.admin, 'fk-orders', { partitions: 3 })
    await ensureTopic(admin.admin, 'fk-products', { partitions: 2 })
    await ensureTopic(admin.admin, 'fk-out', { partitions: 3 })
    const b = new StreamsBuilder()
    const orders = b.table<string, string>('fk-orders')
    const products = b.table<string, string>('fk-products')
    orders
      .leftJoin(
        products,
        (v) => v.split(':')[0]!,
        (o, p) => `${o}=${p}`,
        TableJoined.as<string, string>('order-product'),
      )
      .toStream()
      .to('fk-out')
    const streams = new KafkaStreams(b.build(), config('fkjoin'))
    const recorder = stateRecorder(streams)
    try {
      await streams.start()
      await recorder.reach('RUNNING')
      await produce('fk-products', [
        { key: 'p1', value: 'Pen' },
        { key: 'p2', value: 'Ink' },
      ])
      await produce('fk-orders', [
        { key: 'o1', value: 'p1:1' },
        { key: 'o2', value: 'p2:4' },
        { key: 'o3', value: 'p9:1' },
        { key: 'o4', value: 'p1:2' },
      ])
      await readStringTableUntil(
        'fk-out',
        (t) => t.get('o1') === 'p1:1=Pen' && t.get('o2') === 'p2:4=Ink' && t.get('o3') === 'p9:1=null',
      )
      // Update of the right side, foreign-key change and deletion of the left side, deletion of the right side.
      await produce('fk-products', [{ key: 'p1', value: 'Pencil' }])
      await produce('fk-orders', [
        { key: 'o2', value: 'p1:4' },
        { key: 'o3', value: null },
      ])
      await produce('fk-products', [{ key: 'p2', value: null }])
      const final = await readStringTableUntil(
        'fk-out',
        (t) =>
          t.get('o1') === 'p1:1=Pencil' &&
          t.get('o2') === 'p1:4=Pencil' &&
          t.get('o3') === null &&
          t.get('o4') === 'p1:2=Pencil',
      )
      assert.equal(final.size, 4)
      const kadmin = kafka(broker.bootstrap).admin()
      await kadmin.connect()
      try {
        const { topics } = await kadmin.fetchTopicMetadata({
          topics: [
            'fkjoin-order-product-subscription-registration-topic',
            'fkjoin-order-product-subscription-response-topic',
          ],
        })
        assert.deepEqual(topics.map((t) => [t.name, t.partitions.length]).sort(), [
          ['fkjoin-order-product-subscription-registration-topic', 2],
          ['fkjoin-order-product-subscription-response-topic', 3],
        ])
      } finally {
        await kadmin.disconnect()
      }
    } finally {
      await streams.close()
    }
  })

  it('refuses a stream-table join of topics that are not co-partitioned', async () => {
    await ensureTopic(admin.admin, 'cp-clicks', { partitions: 3 })
    await ensureTopic(admin.admin, 'cp-users', { partitions: 2 })
    const b = new StreamsBuilder()
    b.stream<string, string>('cp-clicks')
      .join(b.table<string, string>('cp-users'), (c, u) => `${c}/${u}`)
      .to('cp-out')
    const streams = new KafkaStreams(b.build(), config('copart'))
    try {
      await assert.rejects(streams.start(), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'TRB_STREAMS_COPARTITIONING')
        assert.match(e.message, /cp-clicks \(3\)/)
        assert.match(e.message, /cp-users \(2\)/)
        return true
      })
    } finally {
      await streams.close()
    }
  })
})
