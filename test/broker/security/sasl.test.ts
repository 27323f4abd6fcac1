/**
 * SASL on SASL_PLAINTEXT listeners: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 with KafkaJS and @platformatic/kafka,
 * wrong credentials, requests before authentication, a storm of failed logins, and SCRAM credential management
 * through Describe/AlterUserScramCredentials surviving a restart.
 */
import assert from 'node:assert/strict'
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

const SASL = 'SASL_PLAINTEXT'

function saslBootstrap(tb: TestBroker): string {
  return tb.broker!.listeners.find((l) => l.securityProtocol === SASL)!.bootstrap
}

function plainBootstrap(tb: TestBroker): string {
  return tb.broker!.listeners.find((l) => l.securityProtocol === 'PLAINTEXT')!.bootstrap
}

describe('SASL', () => {
  let tb: TestBroker
  before(async () => {
    tb = await startTestBroker({
      listeners: [
        { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
        { name: SASL, securityProtocol: SASL, host: '127.0.0.1', port: 0 },
      ],
      saslUsers: { alice: 'alice-secret', bob: 'bob-secret' },
    })
  })
  after(() => tb.close())

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    test(`KafkaJS produces and consumes with ${mechanism}`, async () => {
      const kafka = new Kafka({
        clientId: `sasl-${mechanism}`,
        brokers: [saslBootstrap(tb)],
        sasl: { mechanism, username: 'alice', password: 'alice-secret' } as never,
        logLevel: logLevel.NOTHING,
        retry: { retries: 2 },
      })
      const topic = `sasl-kafkajs-${mechanism}`
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic, messages: [{ key: 'k', value: mechanism }] })
      await producer.disconnect()
      const admin = kafka.admin()
      await admin.connect()
      const offsets = await admin.fetchTopicOffsets(topic)
      await admin.disconnect()
      assert.equal(offsets[0]!.high, '1')
    })
  }

  test('KafkaJS with a wrong password fails with SASL_AUTHENTICATION_FAILED', async () => {
    const kafka = new Kafka({
      clientId: 'sasl-wrong',
      brokers: [saslBootstrap(tb)],
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'nope' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    })
    const admin = kafka.admin()
    await assert.rejects(admin.connect(), (err: Error & { type?: string }) => {
      assert.match(`${err.name} ${err.message} ${err.type ?? ''}`, /SASL|authentication/i)
      return true
    })
  })

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    test(`@platformatic/kafka produces with ${mechanism}`, async () => {
      const producer = new Producer({
        clientId: `pk-${mechanism}`,
        bootstrapBrokers: [saslBootstrap(tb)],
        sasl: { mechanism, username: 'bob', password: 'bob-secret' },
        serializers: stringSerializers,
        autocreateTopics: true,
        retries: 1,
      })
      try {
        const result = await producer.send({ messages: [{ topic: `sasl-pk-${mechanism}`, key: 'k', value: 'v' }] })
        assert.equal(result.offsets?.[0]?.offset, 0n)
      } finally {
        await producer.close()
      }
    })
  }

  test('@platformatic/kafka with an unknown user is refused', async () => {
    const producer = new Producer({
      clientId: 'pk-unknown',
      bootstrapBrokers: [saslBootstrap(tb)],
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'mallory', password: 'x' },
      serializers: stringSerializers,
      retries: 0,
    })
    try {
      await assert.rejects(producer.send({ messages: [{ topic: 'nope', value: 'v' }] }))
    } finally {
      await producer.close()
    }
  })

  test('a request before authentication closes the connection', async () => {
    const c = await KafkaWireClient.connect(saslBootstrap(tb))
    try {
      const versions = await c.call(ApiKeys.ApiVersions, 3, {
        clientSoftwareName: 'raw',
        clientSoftwareVersion: '1',
      })
      assert.equal(versions.errorCode, ErrorCode.NONE)
      await assert.rejects(c.call(ApiKeys.Metadata, 9, { topics: null }), /closed/)
    } finally {
      c.close()
    }
  })

  test('a wrong SCRAM proof gets SASL_AUTHENTICATION_FAILED and then the connection is closed', async () => {
    const c = await KafkaWireClient.connect(saslBootstrap(tb))
    try {
      const hs = await c.call(ApiKeys.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' })
      assert.equal(hs.errorCode, ErrorCode.NONE)
      assert.deepEqual([...hs.mechanisms].sort(), ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])
      const first = await c.call(ApiKeys.SaslAuthenticate, 2, { authBytes: Buffer.from('n,,n=alice,r=abc') })
      assert.equal(first.errorCode, ErrorCode.NONE)
      const serverFirst = first.authBytes.toString()
      const nonce = /r=([^,]+)/.exec(serverFirst)![1]
      const res = await c.call(ApiKeys.SaslAuthenticate, 2, {
        authBytes: Buffer.from(`c=biws,r=${nonce},p=${randomBytes(32).toString('base64')}`),
      })
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
      await c.closed
    } finally {
      c.close()
    }
  })

  test('an unsupported mechanism gets UNSUPPORTED_SASL_MECHANISM and the enabled list', async () => {
    const c = await KafkaWireClient.connect(saslBootstrap(tb))
    try {
      const hs = await c.call(ApiKeys.SaslHandshake, 1, { mechanism: 'GSSAPI' })
      assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM)
      assert.ok(hs.mechanisms.includes('SCRAM-SHA-512'))
      await c.closed
    } finally {
      c.close()
    }
  })

  test('SaslHandshake v0 (unframed tokens) is refused and the connection closed', async () => {
    const c = await KafkaWireClient.connect(saslBootstrap(tb))
    try {
      const hs = await c.call(ApiKeys.SaslHandshake, 0, { mechanism: 'PLAIN' })
      assert.equal(hs.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
      await c.closed
    } finally {
      c.close()
    }
  })

  test('SaslHandshake on a PLAINTEXT listener is ILLEGAL_SASL_STATE', async () => {
    const c = await KafkaWireClient.connect(plainBootstrap(tb))
    try {
      const hs = await c.call(ApiKeys.SaslHandshake, 1, { mechanism: 'PLAIN' })
      assert.equal(hs.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    } finally {
      c.close()
    }
  })

  test('a storm of failed PLAIN logins neither crashes the broker nor stalls other clients', async () => {
    const attempts = 60
    const storm = Promise.all(
      Array.from({ length: attempts }, async (_, i) => {
        const c = await KafkaWireClient.connect(saslBootstrap(tb))
        try {
          await c.call(ApiKeys.SaslHandshake, 1, { mechanism: 'PLAIN' })
          const r = await c.call(ApiKeys.SaslAuthenticate, 1, {
            authBytes: Buffer.from(`\u0000alice\u0000wrong-${i}`),
          })
          return r.errorCode
        } finally {
          c.close()
        }
      }),
    )
    // Meanwhile a PLAINTEXT client's metadata round trips stay fast.
    const c = await KafkaWireClient.connect(plainBootstrap(tb))
    let slowest = 0
    try {
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now()
        await c.call(ApiKeys.Metadata, 9, { topics: [] })
        slowest = Math.max(slowest, performance.now() - t0)
      }
    } finally {
      c.close()
    }
    const codes = await storm
    assert.deepEqual(new Set(codes), new Set([ErrorCode.SASL_AUTHENTICATION_FAILED]))
    assert.ok(slowest < 250, `metadata took ${slowest.toFixed(0)} ms during the login storm`)
  })

  test('AlterUserScramCredentials adds a user that can log in, Describe lists it, and it survives a restart', async () => {
    const c = await KafkaWireClient.connect(plainBootstrap(tb))
    const salt = randomBytes(16)
    const iterations = 4096
    const saltedPassword = pbkdf2Sync('carol-secret', salt, iterations, 64, 'sha512')
    try {
      const altered = await c.call(ApiKeys.AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [{ name: 'carol', mechanism: 2, iterations, salt, saltedPassword }],
      })
      assert.deepEqual(
        altered.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]),
        [['carol', ErrorCode.NONE]],
      )
      const tooFew = await c.call(ApiKeys.AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [{ name: 'dave', mechanism: 1, iterations: 1000, salt, saltedPassword }],
      })
      assert.equal(tooFew.results[0].errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL)
      const missing = await c.call(ApiKeys.AlterUserScramCredentials, 0, {
        deletions: [{ name: 'nobody', mechanism: 1 }],
        upsertions: [],
      })
      assert.equal(missing.results[0].errorCode, ErrorCode.RESOURCE_NOT_FOUND)
    } finally {
      c.close()
    }
    await tb.restart()
    const d = await KafkaWireClient.connect(plainBootstrap(tb))
    try {
      const described = await d.call(ApiKeys.DescribeUserScramCredentials, 0, { users: [{ name: 'carol' }] })
      assert.equal(described.results[0].errorCode, ErrorCode.NONE)
      assert.deepEqual(described.results[0].credentialInfos, [{ mechanism: 2, iterations: 4096 }])
      const all = await d.call(ApiKeys.DescribeUserScramCredentials, 0, { users: null })
      assert.deepEqual(
        all.results.map((r: { user: string }) => r.user),
        ['alice', 'bob', 'carol'],
      )
    } finally {
      d.close()
    }
    const kafka = new Kafka({
      clientId: 'carol',
      brokers: [saslBootstrap(tb)],
      sasl: { mechanism: 'scram-sha-512', username: 'carol', password: 'carol-secret' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    })
    const admin = kafka.admin()
    await admin.connect()
    await admin.listTopics()
    await admin.disconnect()
    // Only keys are stored: neither the password nor the salted password appear in the metadata log.
    const stored = tb.broker!.services.scram.scramCredential('carol', 'SCRAM-SHA-512')!
    assert.notEqual(stored.storedKey, saltedPassword.toString('base64'))
    const clientKey = createHmac('sha512', saltedPassword).update('Client Key').digest()
    assert.equal(stored.storedKey, createHash('sha512').update(clientKey).digest('base64'))
  })
})
