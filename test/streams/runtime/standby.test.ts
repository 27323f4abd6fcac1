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
      // Settled: each runs half of the tasks and keeps a standby of the other's stateful ones.
      for (;;) {
        const ra = latest(a, 'running')
        const rb = latest(b, 'running')
        const activeA = (ra?.active as string[]) ?? []
        const activeB = (rb?.active as string[]) ?? []
        const standbyA = (ra?.standby as string[]) ?? []
        if (
          activeA.length + activeB.length === 2 * PARTITIONS &&
          new Set([...activeA, ...activeB]).size === 2 * PARTITIONS &&
          activeB.filter((t) => t.startsWith('1_')).every((t) => standbyA.includes(t)) &&
          activeB.some((t) => t.startsWith('1_'))
        ) {
          break
        }
        await Promise.race([a, b].map((x) => x.next((e) => e.event === 'running', 'an assignment')))
      }
      await produceEvents(broker.bootstrap, 'sb-events', 0, EVENTS, ACCOUNTS)
      const expected = expectedCounts(EVENTS, ACCOUNTS)
      await readTableUntil(broker.bootstrap, 'sb-counts', (t) => [...expected].every(([k, n]) => t.get(k) === n))
      const moving = ((latest(b, 'running')!.active as string[]) ?? []).filter((t) => t.startsWith('1_'))
      // Wait until a's standbys have read their changelogs to the end.
      for (;;) {
        const lags = await standbyLags(a)
        if (lags.length === moving.length && lags.every((l) => l === 0)) break
        await delay(50)
      }
      const changelog = await listOffsets(
        admin,
        moving.map((t) => ({ topic: 'standby-app-counts-changelog', partition: Number(t.split('_')[1]) })),
        'latest',
      )
      const full = [...changelog.values()].reduce((x, y) => x + y, 0)
      assert.ok(full > EVENTS / 4, `the moving tasks hold ${full} changelog records`)

      await b.kill('SIGKILL')
      const takeover = await a.next(
        (e) => e.event === 'running' && moving.every((t) => (e.active as string[]).includes(t)),
        'taking over the killed instance’s tasks',
      )
      const restored = takeover.restored as number
      t.diagnostic(`promoted standbys restored ${restored} records; a full restore is ${full}`)
      assert.ok(restored < full / 10, `promoted standbys restored ${restored} of ${full} changelog records`)

      await produceEvents(broker.bootstrap, 'sb-events', EVENTS, 400, ACCOUNTS)
      const after = expectedCounts(EVENTS + 400, ACCOUNTS)
      const { table } = await readTableUntil(broker.bootstrap, 'sb-counts', (t) =>
        [...after].every(([k, n]) => (t.get(k) ?? 0) >= n),
      )
      assert.deepEqual(new Map([...table].sort()), new Map([...after].sort()))
      await a.stop()
    } finally {
      await a.kill('SIGKILL')
      await b.kill('SIGKILL')
    }
  })
})
