/**
 * The `tributary` command itself: version, usage errors and exit codes, the compiled code behind `npx tributary`,
 * commands that load only what they use (so they start fast), and Ctrl-C.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.ts'
import { ensureBuilt } from '../helpers/build.ts'
import { cli, cliProcess, root } from '../helpers/cli.ts'

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version

describe('tributary', () => {
  let tb: TestBroker
  const dir = tempDir('tributary-cli-')
  before(async () => {
    tb = await startTestBroker()
  })
  after(async () => {
    await tb.close()
    dir.remove()
  })

  it('prints its version and help', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag])
      assert.deepEqual(r, { code: 0, stdout: `${version}\n`, stderr: '' })
    }
    const help = await cli(['--help'])
    assert.equal(help.code, 0)
    for (const cmd of [
      'broker',
      'dev',
      'topics',
      'groups',
      'produce',
      'consume',
      'cluster',
      'registry',
      'users',
      'acls',
      'quotas',
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), cmd)
    }
    assert.match((await cli(['groups', 'reset-offsets', '--help'])).stdout, /--by-duration <d>/)
  })

  it('exits 2 on usage errors, naming them', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['topics', 'list', '--colour'], /unknown option '--colour'/],
      [['topics', 'create'], /missing required argument 'topic'/],
      [['topics', 'list', '--output', 'yaml'], /unknown output format 'yaml': use table or json/],
      [['topics', 'list', '--bootstrap', 'nowhere'], /bootstrap address 'nowhere' is not host:port/],
    ]
    for (const [args, message] of cases) {
      const r = await cli(args)
      assert.equal(r.code, 2, args.join(' '))
      assert.match(r.stderr, message)
    }
  })

  it('describes the cluster', async () => {
    const r = await cli(['cluster', 'describe', '--bootstrap', tb.bootstrap])
    assert.equal(r.code, 0, r.stderr)
    const port = tb.bootstrap.split(':')[1]
    assert.match(r.stdout, /^cluster \S+ +controller 0 +1 broker +\d+ topics?$/m)
    assert.match(r.stdout, new RegExp(`^0 +127\\.0\\.0\\.1 +${port} +- +yes$`, 'm'))
    const json = JSON.parse((await cli(['cluster', 'describe', '--bootstrap', tb.bootstrap, '-o', 'json'])).stdout)
    assert.deepEqual(json.brokers, [{ nodeId: 0, host: '127.0.0.1', port: Number(port), rack: null }])
  })

  it('reads TRIBUTARY_* variables and a profile file', async () => {
    const env = await cli(['cluster', 'describe', '-o', 'json'], { env: { TRIBUTARY_BOOTSTRAP: tb.bootstrap } })
    assert.equal(env.code, 0, env.stderr)
    const file = join(dir.path, 'profiles.json')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, JSON.stringify({ profiles: { test: { bootstrap: tb.bootstrap } } }))
    const profile = await cli(['cluster', 'describe', '--profile', 'test'], { env: { TRIBUTARY_PROFILES: file } })
    assert.equal(profile.code, 0, profile.stderr)
    const jsonEnv = await cli(['topics', 'list', '--profile', 'test'], {
      env: { TRIBUTARY_PROFILES: file, TRIBUTARY_OUTPUT: 'json' },
    })
    assert.doesNotThrow(() => JSON.parse(jsonEnv.stdout))
  })

  async function modulesLoaded(args: string[], viaBin = false): Promise<{ code: number; modules: string[] }> {
    const log = join(dir.path, `imports-${Math.random()}.log`)
    const { writeFileSync } = await import('node:fs')
    writeFileSync(log, '')
    const entry = viaBin
      ? [join(root, 'bin', 'tributary.js')]
      : ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')]
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', join(root, 'test', 'helpers', 'import-log.mjs'), ...entry, ...args],
      { cwd: root, env: { ...process.env, IMPORT_LOG: log, TRIBUTARY_PROFILES: join(dir.path, 'none.json') } },
    ).then(
      () => 0,
      (e: { code?: number }) => e.code ?? 1,
    )
    return { code: r, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) }
  }

  const heavy = [
    '/node_modules/@platformatic/kafka/',
    '/node_modules/fastify/',
    '/src/broker/broker.ts',
    '/src/registry/registry-server.ts',
  ]

  it('loads no client, server or registry code for --help, and only the raw client for admin commands', async () => {
    const help = await modulesLoaded(['--help'])
    assert.equal(help.code, 0)
    for (const h of [...heavy, '/src/protocol/generated/']) {
      assert.ok(!help.modules.some((m) => m.includes(h)), `--help loads ${h}`)
    }
    const users = await modulesLoaded(['users', 'list', '--bootstrap', tb.bootstrap])
    assert.equal(users.code, 0)
    for (const h of heavy) assert.ok(!users.modules.some((m) => m.includes(h)), `users list loads ${h}`)
    const topics = await modulesLoaded(['topics', 'list', '--bootstrap', tb.bootstrap])
    assert.equal(topics.code, 0)
    assert.ok(topics.modules.some((m) => m.includes('/node_modules/@platformatic/kafka/')))
    for (const h of heavy.slice(1)) assert.ok(!topics.modules.some((m) => m.includes(h)), `topics list loads ${h}`)
  })

  it('runs the compiled dist/ code through bin/tributary.js, without tsx', async () => {
    await ensureBuilt()
    const r = await modulesLoaded(['--version'], true)
    assert.equal(r.code, 0)
    assert.ok(
      r.modules.some((m) => m.endsWith('/dist/cli/main.js')),
      'dist/cli/main.js is loaded',
    )
    assert.ok(!r.modules.some((m) => m.includes('/node_modules/tsx/') || m.endsWith('.ts')), 'no tsx, no .ts source')
    const users = await promisify(execFile)(process.execPath, [
      join(root, 'bin', 'tributary.js'),
      'users',
      'list',
      '--bootstrap',
      tb.bootstrap,
    ])
    assert.equal(users.stdout, 'no SCRAM users\n')
  })

  it('exits with the documented codes as a process', async () => {
    const notFound = await cliProcess(['topics', 'describe', 'nope', '--bootstrap', tb.bootstrap])
    assert.equal(notFound.code, 3)
    assert.equal(notFound.stderr, "tributary: topic 'nope' does not exist (TRB_CLI_NOT_FOUND)\n")
    const down = await cliProcess(['topics', 'list', '--bootstrap', '127.0.0.1:1'])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /cannot reach the Kafka cluster at 127\.0\.0\.1:1: ECONNREFUSED/)
    const produced = await cliProcess(['produce', 'piped', '--bootstrap', tb.bootstrap], { stdin: 'x\n' })
    assert.equal(produced.code, 3)
    await cli(['topics', 'create', 'piped', '--bootstrap', tb.bootstrap])
    const ok = await cliProcess(['produce', 'piped', '--bootstrap', tb.bootstrap], { stdin: 'one\ntwo\n' })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, 'produced 2 records to piped (partition 0)\n')
  })

  it('stops following on Ctrl-C with exit code 0', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src', 'cli', 'main.ts'),
        'consume',
        'piped',
        '--follow',
        '--bootstrap',
        tb.bootstrap,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d
        if (out === 'one\ntwo\n') resolve()
      }),
    )
    child.kill('SIGINT')
    assert.equal(await exited, 0, err)
    assert.equal(out, 'one\ntwo\n')
  })
})
