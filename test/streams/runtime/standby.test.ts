/**
 * Standby replicas: with num.standby.replicas=1 each instance keeps the other's stores warm by reading their
 * changelogs; when one instance is killed, the other promotes its standbys and restores only the delta, not the
 * whole changelog, and the counts go on exactly.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { ensureTopic, KafkaCluster, listOffsets } from '../../../src/client/index.ts'
import { StreamsMetricNames } from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { type AppEvent, type AppProcess, expectedCounts, produceEvents, readTableUntil, spawnApp } from './helpers.ts'

const PARTITIONS = 4
const ACCOUNTS = 40
const EVENTS = 2000

let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

const latest = (app: AppProcess, event: string): AppEvent | undefined =>
  [...app.events].reverse().find((e) => e.event === event)

const activeOf = (app: AppProcess): string[] => (latest(app, 'running')?.active as string[] | undefined) ?? []
const standbyOf = (app: AppProcess): string[] => (latest(app, 'running')?.standby as string[] | undefined) ?? []
/** The stateful (counting) tasks an instance runs. */
const stateful = (app: AppProcess): string[] => activeOf(app).filter((t) => t.startsWith('1_'))

/**
 * Waits until the latest assignments of `a` and `b` cover every task exactly once and each keeps a standby of
 * every stateful task the other runs; the victim is an instance running stateful tasks, the survivor the other.
 */
async function settled(a: AppProcess, b: AppProcess): Promise<{ victim: AppProcess; survivor: AppProcess }> {
  const deadline = Date.now() + 60000
  for (;;) {
    const all = [...activeOf(a), ...activeOf(b)]
    if (
      all.length === 2 * PARTITIONS &&
      new Set(all).size === 2 * PARTITIONS &&
      stateful(a).every((t) => standbyOf(b).includes(t)) &&
      stateful(b).every((t) => standbyOf(a).includes(t))
    ) {
      return stateful(b).length > 0 ? { victim: b, survivor: a } : { victim: a, survivor: b }
    }
    const left = deadline - Date.now()
    // Both waiters are registered in the same turn as the check above, so no assignment can slip in between.
    await Promise.race(
      [a, b].map((x) => x.next((e) => e.event === 'running', 'an assignment', Math.max(left, 1))),
    ).catch(() => {
      const seen = `a runs ${activeOf(a)} (standbys ${standbyOf(a)}), b runs ${activeOf(b)} (standbys ${standbyOf(b)})`
      throw new Error(`the group did not settle within 60000 ms: ${seen}\n${a.output()}\n${b.output()}`)
    })
  }
}

/** Standby lag gauges of an instance, from its /metrics endpoint. */
async function standbyLags(app: AppProcess): Promise<number[]> {
  const port = (await app.waitFor((e) => e.event === 'started', 'started')).metricsPort
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${StreamsMetricNames.STANDBY_LAG}{`))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))
}

describe('standby replicas', () => {
  it('a standby takes over a killed instance’s tasks without a full restore', async (t) => {
    await ensureTopic(admin.admin, 'sb-events', { partitions: PARTITIONS })
    await ensureTopic(admin.admin, 'sb-counts', { partitions: PARTITIONS })
    const config = () => {
      const d = tempDir('trb-streams-sb-')
      dirs.push(d)
      return {
        bootstrap: broker.bootstrap,
        applicationId: 'standby-app',
        stateDir: d.path,
        input: 'sb-events',
        output: 'sb-counts',
        guarantee: 'exactly_once_v2',
        standbys: 1,
        // Every update reaches the changelog: a full restore would replay all of them.
        extra: { 'statestore.cache.max.bytes': 0 },
      }
    }
    const a = spawnApp('a', 'counting-app.ts', config())
    const b = spawnApp('b', 'counting-app.ts', config())
    try {
      // Settled: each runs half of the tasks and keeps a standby of the other's stateful ones. Which instance ends
      // up with the stateful tasks (1_*) depends on which joined the group first, so the one holding some is the
      // one killed later, and the other takes them over.
      const { victim, survivor } = await settled(a, b)
      await produceEvents(broker.bootstrap, 'sb-events', 0, EVENTS, ACCOUNTS)
      const expected = expectedCounts(EVENTS, ACCOUNTS)
      await readTableUntil(broker.bootstrap, 'sb-counts', (t) => [...expected].every(([k, n]) => t.get(k) === n))
      const moving = stateful(victim)
      // Wait until the survivor's standbys have read their changelogs to the end.
      for (;;) {
        const lags = await standbyLags(survivor)
        if (lags.length === moving.length && lags.every((l) => l === 0)) break
        await delay(50)
      }
      const changelog = await listOffsets(
        admin,
        moving.map((t) => ({ topic: 'standby-app-counts-changelog', partition: Number(t.split('_')[1]) })),
        'latest',
      )
      const full = [...changelog.values()].reduce((x, y) => x + y, 0)
      assert.ok(full > (EVENTS / 16) * moving.length, `the moving tasks hold ${full} changelog records`)

      // Awaited from before the kill, so that the takeover cannot come before the test listens for it.
      const takeoverEvent = survivor.next(
        (e) => e.event === 'running' && moving.every((t) => (e.active as string[]).includes(t)),
        'taking over the killed instance’s tasks',
      )
      takeoverEvent.catch(() => {}) // awaited below; this only keeps a failure during the kill from going unhandled
      await victim.kill('SIGKILL')
      const takeover = await takeoverEvent
      const restored = takeover.restored as number
      t.diagnostic(`${victim.name} killed; promoted standbys restored ${restored} records; a full restore is ${full}`)
      assert.ok(restored < full / 10, `promoted standbys restored ${restored} of ${full} changelog records`)

      await produceEvents(broker.bootstrap, 'sb-events', EVENTS, 400, ACCOUNTS)
      const after = expectedCounts(EVENTS + 400, ACCOUNTS)
      const { table } = await readTableUntil(broker.bootstrap, 'sb-counts', (t) =>
        [...after].every(([k, n]) => (t.get(k) ?? 0) >= n),
      )
      assert.deepEqual(new Map([...table].sort()), new Map([...after].sort()))
      await survivor.stop()
    } finally {
      await a.kill('SIGKILL')
      await b.kill('SIGKILL')
    }
  })
})
