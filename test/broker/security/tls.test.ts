/** SSL and SASL_SSL listeners with KafkaJS and @platformatic/kafka (PEM certificate and key from the fixtures). */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')
const ca = readFileSync(join(fixtures, 'broker-cert.pem'))

describe('TLS listeners', () => {
  let tb: TestBroker
  const at = (p: string) => tb.broker!.listeners.find((l) => l.securityProtocol === p)!.bootstrap
  before(async () => {
    tb = await startTestBroker({
      listeners: [
        { name: 'SASL_SSL', securityProtocol: 'SASL_SSL', host: '127.0.0.1', port: 0 },
        { name: 'SSL', securityProtocol: 'SSL', host: '127.0.0.1', port: 0 },
      ],
      sslCertificateLocation: join(fixtures, 'broker-cert.pem'),
      sslKeyLocation: join(fixtures, 'broker-key.pem'),
      saslUsers: { alice: 'alice-pw' },
    })
  })
  after(() => tb.close())

  test('KafkaJS produces over SASL_SSL with SCRAM-SHA-512 and reads over SSL', async () => {
    const sasl = new Kafka({
      clientId: 'tls-sasl',
      brokers: [at('SASL_SSL')],
      ssl: { ca: [ca] },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-pw' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    })
    const producer = sasl.producer()
    await producer.connect()
    await producer.send({ topic: 'tls-topic', messages: [{ key: 'k', value: 'over-tls' }] })
    await producer.disconnect()
    const plainTls = new Kafka({ clientId: 'tls', brokers: [at('SSL')], ssl: { ca: [ca] }, logLevel: logLevel.NOTHING })
    const admin = plainTls.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets('tls-topic')
    await admin.disconnect()
    assert.equal(offsets[0]!.high, '1')
  })

  test('@platformatic/kafka produces over SASL_SSL with PLAIN', async () => {
    const producer = new Producer({
      clientId: 'tls-pk',
      bootstrapBrokers: [at('SASL_SSL')],
      tls: { ca },
      sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-pw' },
      serializers: stringSerializers,
      autocreateTopics: true,
      retries: 1,
    })
    try {
      const r = await producer.send({ messages: [{ topic: 'tls-pk', value: 'v' }] })
      assert.equal(r.offsets?.[0]?.offset, 0n)
    } finally {
      await producer.close()
    }
  })

  test('a client that does not trust the certificate cannot connect; plain TCP to a TLS port gets nothing', async () => {
    await assert.rejects(KafkaWireClient.connect(at('SSL'), { tls: {} }), /self-signed|certificate/i)
    const c = await KafkaWireClient.connect(at('SSL'))
    try {
      await assert.rejects(c.call(ApiKeys.ApiVersions, 0, {}), /closed/)
    } finally {
      c.close()
    }
  })
})
