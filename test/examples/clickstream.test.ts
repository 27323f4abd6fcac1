/**
 * examples/clickstream: session windows over views and clicks through the test driver, and the example's scripts
 * as the README runs them, against a real broker.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import { clickstreamTopology, type Session, Topics } from '../../examples/clickstream/topology.ts'
import { Serdes } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.ts'

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
let broker: TestBroker

before(async () => {
  broker = await startTestBroker()
})
after(() => broker.close())

const scriptPath = (name: string) => join(root, 'examples', 'clickstream', name)
const env = () => ({ ...process.env, TRIBUTARY_BOOTSTRAP: broker.bootstrap })
const script = (name: string, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', scriptPath(name), ...args], { cwd: root, env: env(), timeout: 90000 })

const MIN = 60_000

describe('examples/clickstream', () => {
  it('groups views and clicks into sessions per user, merging sessions and placing late events', async () => {
    const driver = new TopologyTestDriver(clickstreamTopology(), { 'application.id': 'clickstream-test' })
    const S = Serdes.String()
    const views = driver.createInputTopic(Topics.views, S, Serdes.Json())
    const clicks = driver.createInputTopic(Topics.clicks, S, Serdes.Json())
    const t = 10 * 60 * MIN
    views.pipeInput('ann', { page: '/home' }, t)
    clicks.pipeInput('ann', { page: '/ads/1' }, t + 5 * MIN)
    views.pipeInput('ann', { page: '/bikes' }, t + 50 * MIN) // 45 min later: a second session
    views.pipeInput('bob', { page: '/home' }, t + 20 * MIN)
    views.pipeInput('ann', { page: '/deals' }, t + 30 * MIN) // late, bridges ann's two sessions: one session
    clicks.pipeInput('bob', { page: '/ads/2' }, t + 200 * MIN) // stream time moves on: a new session for bob
    views.pipeInput('bob', { page: '/old' }, t + 10 * MIN) // older than gap + grace behind stream time: dropped
    const records = driver.createOutputTopic(Topics.sessions, S, Serdes.Json<Session | null>()).readRecordsToList()
    const table = new Map<string, Session | null>()
    for (const r of records) table.set(r.key!, r.value)
    const current = [...table.values()].filter((s): s is Session => s !== null)
    assert.deepEqual(
      current.map((s) => [s.user, s.start - t, s.end - t, s.views, s.clicks, s.clickThroughRate]),
      [
        ['ann', 0, 50 * MIN, 3, 1, 1 / 3],
        ['bob', 20 * MIN, 20 * MIN, 1, 0, 0],
        ['bob', 200 * MIN, 200 * MIN, 0, 1, 0],
      ],
    )
    // The merge deleted ann's two earlier sessions (tombstones for their keys).
    assert.deepEqual(
      [...table].filter(([, v]) => v === null).map(([k]) => k),
      [`ann@${t + 50 * MIN}`],
    )
    assert.equal(driver.metrics().get('stream-task-metrics:dropped-records-total'), 1)
    await driver.closeAsync()
  })

  it('runs as the README says: the demo twice, then the service with send.ts and report.ts', async () => {
    const expected =
      'ann: 1 events over 0 min: 1 views, 0 clicks, click-through rate 0.00\n' +
      'ann: 3 events over 2 min: 2 views, 1 clicks, click-through rate 0.50\n' +
      'bob: 2 events over 1 min: 1 views, 1 clicks, click-through rate 1.00\n'
    assert.equal((await script('demo.ts')).stdout, expected)
    // A second run on the same broker: its own users, the same story.
    assert.equal((await script('demo.ts')).stdout, expected)

    const dir = tempDir('clickstream-service-')
    const service = spawn(process.execPath, ['--import', 'tsx', scriptPath('service.ts'), dir.path], {
      cwd: root,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<void>((resolve) => service.once('exit', () => resolve()))
    let output = ''
    service.stdout!.on('data', (d: Buffer) => {
      output += d.toString()
    })
    service.stderr!.on('data', (d: Buffer) => {
      output += d.toString()
    })
    try {
      assert.equal((await script('send.ts', 'view', 'carol', '/home', '12')).stdout, 'sent view carol\n')
      assert.equal((await script('send.ts', 'view', 'carol', '/bikes', '11')).stdout, 'sent view carol\n')
      assert.equal((await script('send.ts', 'click', 'carol', '/ads/velo', '10')).stdout, 'sent click carol\n')
      const line = 'carol: 3 events over 2 min: 2 views, 1 clicks, click-through rate 0.50\n'
      let report = ''
      for (let i = 0; i < 300 && report !== line; i++) {
        if (service.exitCode !== null) assert.fail(`the service exited:\n${output}`)
        report = (await script('report.ts', 'carol')).stdout
        if (report !== line) await delay(200)
      }
      assert.equal(report, line, output)
      await assert.rejects(script('send.ts', 'scroll', 'carol', '/home'), (e: { code?: number }) => e.code === 2)
    } finally {
      service.kill('SIGTERM')
      await exited
      dir.remove()
    }
  })
})
