/**
 * Transactions through @platformatic/kafka (flexible versions: InitProducerId 4–5, AddPartitionsToTxn 3,
 * AddOffsetsToTxn 3–4, TxnOffsetCommit 3–4 with member and generation, EndTxn 3–4): a consume–transform–produce loop
 * committing its input offsets in the transaction, with some transactions aborted on purpose.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

async function readValues(bootstrap: string, topic: string, isolationLevel: number, count: number): Promise<string[]> {
  const consumer = new Consumer({
    clientId: 'reader',
    groupId: `reader-${isolationLevel}-${Math.random()}`,
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    isolationLevel,
    maxWaitTime: 100,
  })
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
  const values: string[] = []
  for await (const message of stream) {
    values.push(message.value)
    if (values.length >= count) break
  }
  await stream.close()
  await consumer.close()
  return values
}

describe('transactions with @platformatic/kafka', () => {
  let broker: TestBroker
  before(async () => {
    broker = await startTestBroker()
    const admin = new Admin({ clientId: 'admin', bootstrapBrokers: [broker.bootstrap] })
    await admin.createTopics({ topics: ['plt-in', 'plt-out'], partitions: 2, replicas: 1 })
    await admin.close()
  })
  after(async () => {
    await broker.close()
  })

  test('consume–transform–produce with offsets in the transaction; aborted output never reaches read_committed', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => ({ topic: 'plt-in', partition: i % 2, value: `stock-${i}` }))
    const seed = new Producer({
      clientId: 'seed',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
    })
    await seed.send({ messages: inputs })
    await seed.close()

    const producer = new Producer({
      clientId: 'ctp',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      transactionalId: 'plt-ctp',
    })
    const consumer = new Consumer({
      clientId: 'ctp',
      groupId: 'plt-ctp-group',
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
      maxWaitTime: 100,
    })
    const stream = await consumer.consume({ topics: ['plt-in'], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    let done = 0
    let aborted = 0
    for await (const message of stream) {
      const n = Number(message.value.split('-')[1])
      if (n === 4) {
        // A failed first attempt: output and offset are written, then the transaction is aborted.
        const failed = await producer.beginTransaction()
        await failed.send({ messages: [{ topic: 'plt-out', key: message.value, value: `ABORTED ${message.value}` }] })
        await failed.addConsumer(consumer)
        await failed.addOffset(message)
        await failed.abort()
        aborted++
        const committed = await consumer.listCommittedOffsets({
          topics: [{ topic: 'plt-in', partitions: [message.partition] }],
        })
        const position = committed.get('plt-in')![message.partition]!
        assert.ok(position <= message.offset, `aborted offset commit moved the group to ${position}`)
      }
      const txn = await producer.beginTransaction()
      await txn.send({ messages: [{ topic: 'plt-out', key: message.value, value: `reserved ${message.value}` }] })
      await txn.addConsumer(consumer)
      await txn.addOffset(message)
      await txn.commit()
      if (++done === inputs.length) break
    }
    await stream.close()
    const committed = await consumer.listCommittedOffsets({ topics: [{ topic: 'plt-in', partitions: [0, 1] }] })
    assert.deepEqual(committed.get('plt-in'), [6n, 6n])
    await consumer.close()
    await producer.close()

    assert.equal(aborted, 1)
    const visible = await readValues(broker.bootstrap, 'plt-out', FetchIsolationLevels.READ_COMMITTED, inputs.length)
    assert.deepEqual(
      visible.filter((v) => v.startsWith('ABORTED')),
      [],
    )
    assert.deepEqual(new Set(visible), new Set(inputs.map((i) => `reserved ${i.value}`)))
    const raw = await readValues(broker.bootstrap, 'plt-out', FetchIsolationLevels.READ_UNCOMMITTED, inputs.length + 1)
    assert.equal(raw.filter((v) => v.startsWith('ABORTED')).length, 1)
  })

  test('a second producer with the same transactionalId fences the first', async () => {
    const options = {
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      transactionalId: 'plt-zombie',
      retries: 0,
      // @platformatic/kafka otherwise sends producer id 0 / epoch 0 in InitProducerId, which Kafka (KIP-360) and
      // Tributary read as "I am producer 0" and fence; -1/-1 is how a new instance introduces itself.
      producerId: -1n,
      producerEpoch: -1,
    }
    const zombie = new Producer({ clientId: 'zombie', ...options })
    const zt = await zombie.beginTransaction()
    await zt.send({ messages: [{ topic: 'plt-out', value: 'zombie' }] })
    const successor = new Producer({ clientId: 'successor', ...options })
    const st = await successor.beginTransaction()
    await st.send({ messages: [{ topic: 'plt-out', value: 'successor' }] })
    await st.commit()
    await assert.rejects(zt.commit(), (err: AggregateError) => {
      assert.match(String(err.errors?.[0]?.message), /newer producer with the same transactionalId/)
      return true
    })
    await zombie.close()
    await successor.close()
  })
})
