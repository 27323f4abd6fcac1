/** Security properties: listeners, SASL mechanisms, bootstrap users, super users, authorizer switches. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { applyProperties, DEFAULT_BROKER_CONFIG, resolveBrokerConfig } from '../../../src/broker/config.ts'
import { startBroker } from '../../../src/broker/index.ts'
import { tempDir } from '../../helpers/broker.ts'

test('listeners, advertised.listeners and the security switches', () => {
  const c = resolveBrokerConfig({
    flags: {
      listeners: 'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://:9093,SASL_SSL://[::1]:9094',
      'advertised.listeners': 'SASL_PLAINTEXT://broker.example.com:19093',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512, PLAIN',
      'sasl.users': 'admin:s3cr:et,bob:pw',
      'super.users': 'User:admin;User:ops',
      'authorizer.enabled': 'true',
      'allow.everyone.if.no.acl.found': 'true',
    },
  })
  assert.deepEqual(c.listeners, [
    { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
    {
      name: 'SASL_PLAINTEXT',
      securityProtocol: 'SASL_PLAINTEXT',
      host: '0.0.0.0',
      port: 9093,
      advertisedHost: 'broker.example.com',
      advertisedPort: 19093,
    },
    { name: 'SASL_SSL', securityProtocol: 'SASL_SSL', host: '::1', port: 9094 },
  ])
  assert.equal(c.port, 9092)
  assert.deepEqual(c.saslEnabledMechanisms, ['SCRAM-SHA-512', 'PLAIN'])
  assert.deepEqual(c.saslUsers, { admin: 's3cr:et', bob: 'pw' })
  assert.deepEqual(c.superUsers, ['User:admin', 'User:ops'])
  assert.equal(c.authorizerEnabled, true)
  assert.equal(c.allowEveryoneIfNoAclFound, true)
  // Defaults keep every existing setup open.
  assert.equal(DEFAULT_BROKER_CONFIG.authorizerEnabled, false)
  assert.equal(DEFAULT_BROKER_CONFIG.listeners, undefined)
})

test('bad security properties name the key', () => {
  for (const [key, value] of [
    ['listeners', 'HTTP://127.0.0.1:80'],
    ['listeners', 'PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2'],
    ['sasl.enabled.mechanisms', 'GSSAPI'],
    ['sasl.users', 'nopassword'],
    ['authorizer.enabled', 'yes'],
  ] as const) {
    assert.throws(
      () => applyProperties(DEFAULT_BROKER_CONFIG, { [key]: value }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TRB_CONFIG_INVALID')
        assert.match(err.message, new RegExp(key.replace(/\./g, '\\.')))
        return true
      },
    )
  }
  assert.throws(
    () => applyProperties(DEFAULT_BROKER_CONFIG, { 'advertised.listeners': 'SSL://h:1' }),
    /listener names defined in listeners/,
  )
})

test('an SSL listener without certificate files refuses to start', async () => {
  const dir = tempDir()
  try {
    await assert.rejects(
      startBroker({
        dataDir: dir.path,
        logLevel: 'silent',
        listeners: [{ name: 'SSL', securityProtocol: 'SSL', host: '127.0.0.1', port: 0 }],
      }),
      /ssl\.certificate\.location/,
    )
  } finally {
    dir.remove()
  }
})
