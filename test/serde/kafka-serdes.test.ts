import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAdmin, createConsumer, createProducer, ensureTopic } from '../../src/client/index.ts'
import { AvroSerde, kafkaSerdes, StringSerde } from '../../src/serde/index.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { type MemoryRegistry, startMemoryRegistry, userV1 } from '../registry/helpers.ts'

type User = { id: number; name: string }

describe('serdes with @platformatic/kafka producers and consumers', () => {
  let broker: TestBroker
  let registry: MemoryRegistry
  before(async () => {
    broker = await startTestBroker()
    registry = await startMemoryRegistry()
  })
  after(async () => {
    await registry.close()
    await broker.close()
  })

  const newTopic = async (prefix: string) => {
    const topic = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
    const admin = createAdmin({ bootstrap: broker.bootstrap })
    await ensureTopic(admin, topic)
    await admin.close()
    return topic
  }
  const consumerSerdes = () =>
    kafkaSerdes({ key: new StringSerde(), value: new AvroSerde<User>({ registry: registry.url }) })

  it('produces and consumes typed values through the registry', async () => {
    const topic = await newTopic('users')
    const producerSerdes = kafkaSerdes({
      key: new StringSerde(),
      value: new AvroSerde<User>({ registry: registry.url, schema: userV1 }),
    })
    const producer = createProducer<string, User>({ bootstrap: broker.bootstrap, ...producerSerdes.producer })
    const users: User[] = [
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Grace' },
    ]
    await producer.send({ messages: users.map((u) => ({ topic, key: String(u.id), value: u })) })
    await producer.close()

    const consumer = createConsumer<string, User>({ bootstrap: broker.bootstrap, groupId: `g-${topic}` })
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', ...consumerSerdes().consumer })
    const seen: { key: string; value: User }[] = []
    for await (const m of stream) {
      seen.push({ key: m.key, value: { ...m.value } })
      if (seen.length === users.length) break
    }
    await stream.close().catch(() => {})
    await consumer.close(true)
    assert.deepEqual(
      seen,
      users.map((u) => ({ key: String(u.id), value: u })),
    )
  })

  it('fails the stream with a coded error naming topic and partition for a record not in the wire format', async () => {
    const topic = await newTopic('garbage')
    const raw = createProducer({ bootstrap: broker.bootstrap })
    await raw.send({ messages: [{ topic, key: Buffer.from('3'), value: Buffer.from('not avro') }] })
    await raw.close()
    const consumer = createConsumer<string, User>({ bootstrap: broker.bootstrap, groupId: `g-${topic}` })
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', ...consumerSerdes().consumer })
    const failure = await new Promise<Error>((resolve) => {
      stream.on('data', () => {})
      stream.on('error', resolve)
    })
    await stream.close().catch(() => {})
    await consumer.close(true)
    assert.equal((failure as Error & { code?: string }).code, 'TRB_SERDE_UNKNOWN_MAGIC_BYTE')
    assert.match(failure.message, new RegExp(`topic ${topic}, partition 0`))
  })
})
