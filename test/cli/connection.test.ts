/** Connection settings from flags, TRIBUTARY_* variables and a profile file, in that order of precedence. */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { type ConnectionFlags, resolveConnection } from '../../src/cli/connection.ts'
import type { CliContext } from '../../src/cli/context.ts'
import { TributaryError } from '../../src/errors.ts'
import { tempDir } from '../helpers/broker.ts'

const dir = tempDir('tributary-profiles-')
after(() => dir.remove())
const file = join(dir.path, 'profiles.json')
writeFileSync(join(dir.path, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n')
writeFileSync(
  file,
  JSON.stringify({
    current: 'local',
    profiles: {
      local: { bootstrap: '127.0.0.1:19092', registry: 'http://127.0.0.1:18081/' },
      secure: {
        bootstrap: 'kafka-1.internal:9093,kafka-2.internal:9093',
        'sasl-mechanism': 'SCRAM-SHA-512',
        username: 'admin',
        password: 'from-profile',
        ca: join(dir.path, 'ca.pem'),
      },
      typo: { bootstrap: '127.0.0.1:9092', usernmae: 'x' },
    },
  }),
)

function ctx(env: NodeJS.ProcessEnv): CliContext {
  return {
    env,
    out: () => {},
    err: () => {},
    stdin: Readable.from([]),
    interactive: false,
    outIsTerminal: false,
    signal: new AbortController().signal,
    keepAlive: false,
  }
}

const resolve = (flags: ConnectionFlags, env: NodeJS.ProcessEnv = {}) =>
  resolveConnection(flags, ctx({ HOME: dir.path, ...env }))

const fails = (fn: () => unknown, code: string, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof TributaryError && e.code === code && pattern.test(e.message))

describe('connection settings', () => {
  it('defaults to the local platform of npm start', () => {
    const c = resolve({})
    assert.deepEqual(c.bootstrap, ['127.0.0.1:9092'])
    assert.equal(c.registry, 'http://127.0.0.1:8081')
    assert.equal(c.sasl, undefined)
    assert.equal(c.tls, undefined)
  })

  it('takes the current profile, then TRIBUTARY_* variables over it, then flags over both', () => {
    const env = { TRIBUTARY_PROFILES: file }
    assert.deepEqual(resolve({}, env).bootstrap, ['127.0.0.1:19092'])
    assert.equal(resolve({}, env).registry, 'http://127.0.0.1:18081')
    assert.equal(resolve({}, env).profile, 'local')
    assert.deepEqual(resolve({}, { ...env, TRIBUTARY_BOOTSTRAP: '127.0.0.1:29092' }).bootstrap, ['127.0.0.1:29092'])
    assert.deepEqual(
      resolve({ bootstrap: '127.0.0.1:39092' }, { ...env, TRIBUTARY_BOOTSTRAP: '127.0.0.1:29092' }).bootstrap,
      ['127.0.0.1:39092'],
    )
  })

  it('selects a profile by --profile or TRIBUTARY_PROFILE, with SASL and TLS from it', () => {
    const env = { TRIBUTARY_PROFILES: file }
    for (const c of [resolve({ profile: 'secure' }, env), resolve({}, { ...env, TRIBUTARY_PROFILE: 'secure' })]) {
      assert.deepEqual(c.bootstrap, ['kafka-1.internal:9093', 'kafka-2.internal:9093'])
      assert.deepEqual(c.sasl, { mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'from-profile' })
      assert.ok(c.tls?.ca?.toString().startsWith('-----BEGIN'))
    }
    const pw = resolve({ profile: 'secure' }, { ...env, TRIBUTARY_SASL_PASSWORD: 'from-env' })
    assert.equal(pw.sasl!.password, 'from-env')
    assert.equal(resolve({ profile: 'secure', password: 'from-flag' }, env).sasl!.password, 'from-flag')
  })

  it('finds the profiles file under XDG_CONFIG_HOME or ~/.config', () => {
    fails(
      () => resolve({ profile: 'x' }, { XDG_CONFIG_HOME: join(dir.path, 'none') }),
      'TRB_CLI_USAGE',
      /none\/tributary\/profiles\.json/,
    )
    fails(() => resolve({ profile: 'x' }), 'TRB_CLI_USAGE', /\.config\/tributary\/profiles\.json/)
  })

  it('names what is wrong', () => {
    const env = { TRIBUTARY_PROFILES: file }
    fails(
      () => resolve({ profile: 'nope' }, env),
      'TRB_CLI_USAGE',
      /profile 'nope' not found .*profiles: local, secure, typo/,
    )
    fails(() => resolve({ profile: 'typo' }, env), 'TRB_CONFIG_INVALID', /unknown key 'usernmae'/)
    fails(() => resolve({ bootstrap: 'localhost' }), 'TRB_CLI_USAGE', /'localhost' is not host:port/)
    fails(() => resolve({ bootstrap: '127.0.0.1:99999' }), 'TRB_CLI_USAGE', /not host:port/)
    fails(
      () => resolve({ saslMechanism: 'GSSAPI', username: 'a', password: 'b' }),
      'TRB_CLI_USAGE',
      /unknown SASL mechanism/,
    )
    fails(() => resolve({ saslMechanism: 'PLAIN', username: 'a' }), 'TRB_CLI_USAGE', /needs a user and a password/)
    fails(() => resolve({ username: 'a' }), 'TRB_CLI_USAGE', /--username needs --sasl-mechanism/)
    fails(
      () => resolve({ tls: true, ca: join(dir.path, 'missing.pem') }),
      'TRB_CLI_USAGE',
      /cannot read the CA file .*ENOENT/,
    )
    fails(() => resolve({ registry: 'localhost:8081' }), 'TRB_CLI_USAGE', /registry URL/)
    writeFileSync(join(dir.path, 'broken.json'), '{ nope')
    fails(
      () => resolve({}, { TRIBUTARY_PROFILES: join(dir.path, 'broken.json') }),
      'TRB_CONFIG_INVALID',
      /not valid JSON/,
    )
  })

  it('reads TLS and SASL from TRIBUTARY_* variables', () => {
    const c = resolve(
      {},
      {
        TRIBUTARY_SASL_MECHANISM: 'plain',
        TRIBUTARY_SASL_USERNAME: 'svc',
        TRIBUTARY_SASL_PASSWORD: 'pw',
        TRIBUTARY_TLS: 'true',
      },
    )
    assert.deepEqual(c.sasl, { mechanism: 'PLAIN', username: 'svc', password: 'pw' })
    assert.deepEqual(c.tls, {})
  })
})
