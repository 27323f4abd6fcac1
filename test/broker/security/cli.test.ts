/** `tributary users|acls|quotas` against a running broker with SASL, an authorizer and a super user. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'
import { cli as run } from '../../helpers/cli.ts'

describe('tributary users, acls, quotas', () => {
  let tb: TestBroker
  let login: string[]
  before(async () => {
    tb = await startTestBroker({
      listeners: [{ name: 'SASL_PLAINTEXT', securityProtocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 }],
      saslUsers: { root: 'root-pw' },
      authorizerEnabled: true,
      superUsers: ['User:root'],
    })
    login = [
      '--bootstrap',
      tb.broker!.listeners[0]!.bootstrap,
      '--sasl-mechanism',
      'SCRAM-SHA-512',
      '--username',
      'root',
      '--password',
      'root-pw',
    ]
  })
  after(() => tb.close())

  async function cli(...args: string[]): Promise<string> {
    const r = await run(args)
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`)
    return r.stdout
  }

  test('manage users, ACLs and quotas of a running broker', async () => {
    await cli('users', 'add', 'erin', '--user-password', 'erin-pw', ...login)
    assert.match(
      await cli('users', 'list', ...login),
      /^erin +SCRAM-SHA-256 \(4096 iterations\), SCRAM-SHA-512 \(4096 iterations\)$/m,
    )
    await cli(
      'acls',
      'add',
      '--principal',
      'User:erin',
      '--operation',
      'WRITE',
      '--operation',
      'DESCRIBE',
      '--topic',
      'erin-',
      '--prefixed',
      ...login,
    )
    const listed = await cli('acls', 'list', '--principal', 'User:erin', ...login)
    assert.match(listed, /^TOPIC +PREFIXED +erin- +User:erin +\* +WRITE +ALLOW$/m)
    assert.match(listed, /^TOPIC +PREFIXED +erin- +User:erin +\* +DESCRIBE +ALLOW$/m)
    const json = JSON.parse(await cli('acls', 'list', '--principal', 'User:erin', '--output', 'json', ...login))
    assert.equal(json.length, 2)
    assert.deepEqual(json.map((a: { operation: string }) => a.operation).sort(), ['DESCRIBE', 'WRITE'])
    await cli('acls', 'add', '--principal', 'User:erin', '--operation', 'CREATE', '--cluster', ...login)

    // erin can now log in and write to her topics.
    const kafka = new Kafka({
      clientId: 'erin',
      brokers: [tb.broker!.listeners[0]!.bootstrap],
      sasl: { mechanism: 'scram-sha-256', username: 'erin', password: 'erin-pw' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'erin-events', messages: [{ value: 'hi' }] })
    await producer.disconnect()

    await cli('quotas', 'set', '--user', 'erin', '--producer-byte-rate', '1048576', ...login)
    assert.match(await cli('quotas', 'describe', ...login), /^user=erin +producer_byte_rate=1048576$/m)
    await cli('quotas', 'remove', '--user', 'erin', ...login)
    assert.equal(await cli('quotas', 'describe', ...login), 'no quotas\n')
    assert.equal(await cli('quotas', 'describe', '--output', 'json', ...login), '[]\n')

    assert.match(await cli('acls', 'remove', '--principal', 'User:erin', ...login), /3 ACLs removed/)
    assert.equal(await cli('acls', 'list', '--principal', 'User:erin', ...login), 'no ACLs\n')
    await cli('users', 'delete', 'erin', ...login)
    assert.doesNotMatch(await cli('users', 'list', ...login), /erin/)
  })

  test('a failed admin call reports the Kafka error', async () => {
    await assert.rejects(
      cli('users', 'add', 'x', '--user-password', 'p', '--iterations', '100', ...login),
      /UNACCEPTABLE_CREDENTIAL/,
    )
  })
})
