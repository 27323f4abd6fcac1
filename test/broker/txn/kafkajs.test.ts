/**
 * Transactions through KafkaJS (non-flexible versions: InitProducerId 1, AddPartitionsToTxn 1, AddOffsetsToTxn 1,
 * TxnOffsetCommit 2, EndTxn 1): a consume–transform–produce loop that commits its input offsets in the transaction,
 * read_committed versus read_uncommitted consumers, and zombie fencing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

const { Kafka, logLevel } = kafkajs

/** Reads `topic` from the start with the given isolation until `until` says it has seen enough. */
async function readAll(
  kafka: kafkajs.Kafka,
  topic: string,
  readUncommitted: boolean,
  until: (values: string[]) => boolean,
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random()}`, readUncommitted, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const values: string[] = []
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString())
          if (until(values)) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return values
}

describe('transactions with KafkaJS', () => {
  let broker: TestBroker
  let kafka: kafkajs.Kafka
  let admin: kafkajs.Admin
  before(async () => {
    broker = await startTestBroker()
    kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'txn-test' })
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        { topic: 'kjs-in', numPartitions: 2 },
        { topic: 'kjs-out', numPartitions: 2 },
        { topic: 'kjs-plain', numPartitions: 1 },
      ],
    })
  })
  after(async () => {
    await admin.disconnect()
    await broker.close()
  })

  test('commit is visible to read_committed, abort only to read_uncommitted', async () => {
    const producer = kafka.producer({ transactionalId: 'kjs-simple', maxInFlightRequests: 1, idempotent: true })
    await producer.connect()
    const t1 = await producer.transaction()
    await t1.send({ topic: 'kjs-plain', messages: [{ value: 'c1' }, { value: 'c2' }] })
    await t1.commit()
    const t2 = await producer.transaction()
    await t2.send({ topic: 'kjs-plain', messages: [{ value: 'a1' }] })
    await t2.abort()
    const t3 = await producer.transaction()
    await t3.send({ topic: 'kjs-plain', messages: [{ value: 'c3' }] })
    await t3.commit()
    await producer.disconnect()

    const committed = await readAll(kafka, 'kjs-plain', false, (v) => v.includes('c3'))
    assert.deepEqual(committed, ['c1', 'c2', 'c3'])
    const all = await readAll(kafka, 'kjs-plain', true, (v) => v.includes('c3'))
    assert.deepEqual(all, ['c1', 'c2', 'a1', 'c3'])
  })

  test('consume–transform–produce commits input offsets in the transaction', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `order-${i}` }))
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic: 'kjs-in', messages: inputs })
    await plain.disconnect()

    const producer = kafka.producer({ transactionalId: 'kjs-ctp', maxInFlightRequests: 1, idempotent: true })
    await producer.connect()
    const consumer = kafka.consumer({ groupId: 'kjs-ctp-group', maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'kjs-in', fromBeginning: true })
    const processed = new Set<string>()
    const abortedOnce = new Set<string>()
    const stableDuringAbort: number[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            const value = message.value!.toString()
            const n = Number(value.split('-')[1])
            const offsets = {
              topics: [{ topic, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }],
            }
            if (n % 5 === 0 && !abortedOnce.has(value)) {
              // The first attempt at every fifth input fails after writing its output and its offset.
              abortedOnce.add(value)
              const t = await producer.transaction()
              await t.send({ topic: 'kjs-out', messages: [{ key: value, value: `ABORTED ${value}` }] })
              await t.sendOffsets({ consumerGroupId: 'kjs-ctp-group', ...offsets })
              await t.abort()
              const after = await admin.fetchOffsets({ groupId: 'kjs-ctp-group', topics: [topic] })
              stableDuringAbort.push(
                Number(after[0]!.partitions.find((p) => p.partition === partition)!.offset) - Number(message.offset),
              )
            }
            const t = await producer.transaction()
            await t.send({ topic: 'kjs-out', messages: [{ key: value, value: `shipped ${value}` }] })
            await t.sendOffsets({ consumerGroupId: 'kjs-ctp-group', ...offsets })
            await t.commit()
            processed.add(value)
            if (processed.size === inputs.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    await producer.disconnect()

    // An aborted offset commit never advanced the group's position past the message being retried.
    assert.equal(stableDuringAbort.length, 4)
    for (const d of stableDuringAbort) assert.ok(d <= 0, `offset advanced by an aborted transaction (${d})`)
    const offsets = await admin.fetchOffsets({ groupId: 'kjs-ctp-group', topics: ['kjs-in'] })
    assert.deepEqual(offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [
      [0, '10'],
      [1, '10'],
    ])
    const out = await readAll(kafka, 'kjs-out', false, (v) => v.length >= inputs.length)
    assert.equal(out.length, inputs.length)
    assert.deepEqual(
      out.filter((v) => v.startsWith('ABORTED')),
      [],
    )
    assert.deepEqual(new Set(out), new Set(inputs.map((i) => `shipped ${i.value}`)))
    const raw = await readAll(kafka, 'kjs-out', true, (v) => v.length >= inputs.length + 4)
    assert.equal(raw.filter((v) => v.startsWith('ABORTED')).length, 4)
  })

  test('a second producer with the same transactional.id fences the first', async () => {
    const zombie = kafka.producer({ transactionalId: 'kjs-zombie', maxInFlightRequests: 1, idempotent: true })
    await zombie.connect()
    const zt = await zombie.transaction()
    await zt.send({ topic: 'kjs-plain', messages: [{ value: 'zombie-1' }] })

    const successor = kafka.producer({ transactionalId: 'kjs-zombie', maxInFlightRequests: 1, idempotent: true })
    await successor.connect() // aborts the zombie's open transaction
    const st = await successor.transaction()
    await st.send({ topic: 'kjs-plain', messages: [{ value: 'successor-1' }] })
    await st.commit()

    await assert.rejects(zt.commit(), (err: Error & { type?: string }) => {
      assert.match(String(err.type ?? err.message), /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/)
      return true
    })
    await zombie.disconnect().catch(() => {})
    await successor.disconnect()
    const committed = await readAll(kafka, 'kjs-plain', false, (v) => v.includes('successor-1'))
    assert.ok(!committed.includes('zombie-1'))
  })

  test('two overlapping transactions aborted in reverse order stay hidden from read_committed', async () => {
    // KafkaJS skips aborted records with a list it assumes is sorted by first offset; the markers here come in the
    // opposite order (B aborts before A), so a list in marker order made it show A's aborted record.
    await admin.createTopics({ topics: [{ topic: 'kjs-overlap', numPartitions: 1 }] })
    const a = kafka.producer({ transactionalId: 'kjs-overlap-a', maxInFlightRequests: 1, idempotent: true })
    const b = kafka.producer({ transactionalId: 'kjs-overlap-b', maxInFlightRequests: 1, idempotent: true })
    const plain = kafka.producer()
    await Promise.all([a.connect(), b.connect(), plain.connect()])
    const ta = await a.transaction()
    await ta.send({ topic: 'kjs-overlap', messages: [{ value: 'A' }] })
    const tb = await b.transaction()
    await tb.send({ topic: 'kjs-overlap', messages: [{ value: 'B' }] })
    await tb.abort()
    await ta.abort()
    await plain.send({ topic: 'kjs-overlap', messages: [{ value: 'C' }] })
    await Promise.all([a.disconnect(), b.disconnect(), plain.disconnect()])

    const committed = await readAll(kafka, 'kjs-overlap', false, (v) => v.includes('C'))
    assert.deepEqual(committed, ['C'])
    const all = await readAll(kafka, 'kjs-overlap', true, (v) => v.includes('C'))
    assert.deepEqual(all, ['A', 'B', 'C'])
  })
})
