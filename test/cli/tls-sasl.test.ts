/**
 * The connection options on the client commands: SASL_SSL and SSL listeners with --tls/--ca and SCRAM, for a
 * command on @platformatic/kafka (topics, produce, consume) and one on the raw client (users); wrong credentials
 * and an untrusted certificate fail with exit code 1 and a message naming the cause.
 */
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { cli } from '../helpers/cli.ts'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'broker', 'security', 'fixtures')
const ca = join(fixtures, 'broker-cert.pem')

describe('tributary over TLS and SASL', () => {
  let tb: TestBroker
  const at = (p: string) => tb.broker!.listeners.find((l) => l.securityProtocol === p)!.bootstrap
  before(async () => {
    tb = await startTestBroker({
      listeners: [
        { name: 'SASL_SSL', securityProtocol: 'SASL_SSL', host: '127.0.0.1', port: 0 },
        { name: 'SSL', securityProtocol: 'SSL', host: '127.0.0.1', port: 0 },
      ],
      sslCertificateLocation: ca,
      sslKeyLocation: join(fixtures, 'broker-key.pem'),
      saslUsers: { alice: 'alice-pw' },
    })
  })
  after(() => tb.close())

  it('creates, writes and reads over SASL_SSL with flags, and over SSL with TRIBUTARY_* variables', async () => {
    const sasl = ['--bootstrap', at('SASL_SSL'), '--ca', ca, '--sasl-mechanism', 'SCRAM-SHA-512', '--username', 'alice']
    const env = { TRIBUTARY_SASL_PASSWORD: 'alice-pw' }
    for (const args of [
      ['topics', 'create', 'secure'],
      ['produce', 'secure', '--value', 'hello'],
    ]) {
      const r = await cli([...args, ...sasl], { env })
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    }
    const users = await cli(['users', 'list', ...sasl], { env })
    assert.equal(users.code, 0, users.stderr)
    assert.match(users.stdout, /^alice +SCRAM-SHA-256/m)
    const read = await cli(['consume', 'secure'], { env: { TRIBUTARY_BOOTSTRAP: at('SSL'), TRIBUTARY_TLS_CA: ca } })
    assert.equal(read.code, 0, read.stderr)
    assert.equal(read.stdout, 'hello\n')
  })

  it('fails with exit code 1 on a wrong password or an untrusted certificate', async () => {
    const wrong = await cli([
      'topics',
      'list',
      '--bootstrap',
      at('SASL_SSL'),
      '--ca',
      ca,
      '--sasl-mechanism',
      'SCRAM-SHA-256',
      '--username',
      'alice',
      '--password',
      'guess',
    ])
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /SASL|authenticat/i)
    const rawWrong = await cli([
      'users',
      'list',
      '--bootstrap',
      at('SASL_SSL'),
      '--ca',
      ca,
      '--sasl-mechanism',
      'PLAIN',
      '--username',
      'alice',
      '--password',
      'guess',
    ])
    assert.equal(rawWrong.code, 1)
    assert.match(rawWrong.stderr, /SASL|authenticat/i)
    const untrusted = await cli(['topics', 'list', '--bootstrap', at('SSL'), '--tls'])
    assert.equal(untrusted.code, 1)
    assert.match(untrusted.stderr, /certificate|self.signed|TLS|SSL/i)
  })
})
