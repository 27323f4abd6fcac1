/**
 * Authorization denials as real clients see them: a KafkaJS group consumer and a @platformatic/kafka consumer
 * without READ on the topic get the authorization error and no record. The wire answers of every API in every
 * version: denials.test.ts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Consumer, stringDeserializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { AclOperation as Op, ResourceType as RT } from '../../../src/broker/security/acl.ts'
import { allow, type Grant, type SecuredBroker, startSecuredBroker, TOPIC } from '../../helpers/secured-broker.ts'

describe('authorization denials seen by clients', () => {
  let sb: SecuredBroker
  const bootstrap = () => sb.bootstrap
  const grant = (creations: Grant[]) => sb.grant(creations)
  const revokeAll = () => sb.revokeAll()

  before(async () => {
    sb = await startSecuredBroker()
  })
  after(async () => {
    await sb?.close()
  })

  test('KafkaJS: a group consumer without READ on the topic fails with TOPIC_AUTHORIZATION_FAILED', async () => {
    await revokeAll()
    await grant([allow(RT.TOPIC, TOPIC, Op.WRITE), allow(RT.GROUP, 'kjs-denied', Op.READ)])
    const kafka = new Kafka({
      clientId: 'denied-kafkajs',
      brokers: [bootstrap()],
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-pw' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    })
    const consumer = kafka.consumer({ groupId: 'kjs-denied', retry: { retries: 0 } })
    try {
      await consumer.connect()
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
      const crashed = new Promise<Error & { type?: string }>((resolve) =>
        consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error as Error & { type?: string })),
      )
      const received: string[] = []
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) })
      const err = await crashed
      assert.match(`${err.type} ${err.message}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i)
      assert.deepEqual(received, [])
    } finally {
      await consumer.disconnect().catch(() => {})
      await revokeAll()
    }
  })

  test('@platformatic/kafka: a consumer without READ on the topic gets the authorization error', async () => {
    await revokeAll()
    await grant([allow(RT.TOPIC, TOPIC, Op.WRITE), allow(RT.GROUP, 'pk-denied', Op.READ)])
    const consumer = new Consumer({
      clientId: 'denied-pk',
      groupId: 'pk-denied',
      bootstrapBrokers: [bootstrap()],
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-pw' },
      deserializers: stringDeserializers,
      retries: 0,
    })
    try {
      const stream = await consumer.consume({ topics: [TOPIC], mode: 'earliest' })
      const err = await new Promise<Error>((resolve) => {
        stream.once('error', resolve)
        stream.on('data', () => resolve(new Error('received a record it may not read')))
      })
      assert.match(
        JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as AggregateError).errors?.map((e) => e)),
        /authoriz/i,
      )
      await stream.close().catch(() => {})
    } finally {
      await consumer.close().catch(() => {})
      await revokeAll()
    }
  })
})
