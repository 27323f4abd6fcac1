/**
 * Three processes of one application share the work; one is killed with SIGKILL while it processes, the others
 * take its tasks over, and it is restarted later. Under exactly_once_v2 every input is counted exactly once in the
 * final table (and no count ever goes beyond its final value); under at_least_once every input at least once.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { type AppEvent, type AppProcess, expectedCounts, produceEvents, readTableUntil, spawnApp } from './helpers.ts'

const ACCOUNTS = 24
const PHASE = 1500
const PARTITIONS = 6
const ALL_TASKS = PARTITIONS * 2

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

function latestRunning(app: AppProcess): AppEvent | undefined {
  return [...app.events].reverse().find((e) => e.event === 'running')
}

/** Waits until the apps' latest assignments cover every task exactly once (the group settled). */
async function settled(apps: AppProcess[], tasks: number): Promise<void> {
  for (;;) {
    const active = apps.map((a) => (latestRunning(a)?.active as string[] | undefined) ?? [])
    const union = new Set(active.flat())
    const total = active.reduce((n, a) => n + a.length, 0)
    const runningNow = apps.every((a) => [...a.events].reverse().find((e) => e.event === 'state')?.state === 'RUNNING')
    if (runningNow && union.size === tasks && total === tasks && active.every((a) => a.length > 0)) return
    await Promise.race(apps.map((a) => a.next((e) => e.event === 'running' || e.event === 'state', 'a new assignment')))
  }
}

for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
  describe(`3 processes, one killed with SIGKILL and restarted (${guarantee})`, () => {
    it(`counts every input ${guarantee === 'exactly_once_v2' ? 'exactly once' : 'at least once'}`, async (t) => {
      const applicationId = `counting-${guarantee}`
      const input = `events-${guarantee}`
      const output = `counts-${guarantee}`
      await ensureTopic(admin.admin, input, { partitions: PARTITIONS })
      await ensureTopic(admin.admin, output, { partitions: PARTITIONS })
      const stateDirs = ['a', 'b', 'c'].map(() => {
        const d = tempDir('trb-streams-mp-')
        dirs.push(d)
        return d.path
      })
      const config = (stateDir: string) => ({
        bootstrap: broker.bootstrap,
        applicationId,
        stateDir,
        input,
        output,
        guarantee,
        progressEvery: 50,
      })
      const apps = stateDirs.map((dir, i) => spawnApp(`app-${i}`, 'counting-app.ts', config(dir)))
      try {
        await settled(apps, ALL_TASKS)
        await produceEvents(broker.bootstrap, input, 0, PHASE, ACCOUNTS)
        // The victim: an instance running source tasks, killed once it is processing input.
        const victimIndex = apps.findIndex((a) =>
          ((latestRunning(a)?.active as string[]) ?? []).some((t) => t.startsWith('0_')),
        )
        const victim = apps[victimIndex]
        await victim.waitFor((e) => e.event === 'progress', 'processing input')
        const phase2 = produceEvents(broker.bootstrap, input, PHASE, PHASE, ACCOUNTS)
        await victim.kill('SIGKILL')
        await phase2
        const survivors = apps.filter((a) => a !== victim)
        await settled(survivors, ALL_TASKS)
        // Later, the killed instance comes back on its state directory.
        const restarted = spawnApp(`${victim.name}-restarted`, 'counting-app.ts', config(stateDirs[victimIndex]))
        apps[victimIndex] = restarted
        await settled(apps, ALL_TASKS)
        await produceEvents(broker.bootstrap, input, 2 * PHASE, PHASE, ACCOUNTS)

        const expected = expectedCounts(3 * PHASE, ACCOUNTS)
        const { table, history } = await readTableUntil(broker.bootstrap, output, (t) =>
          [...expected].every(([k, n]) => (t.get(k) ?? 0) >= n),
        )
        if (guarantee === 'exactly_once_v2') {
          assert.deepEqual(new Map([...table].sort()), new Map([...expected].sort()))
          for (const [k, values] of history) {
            assert.ok(Math.max(...values) <= expected.get(k)!, `${k} was counted beyond ${expected.get(k)}: ${values}`)
          }
        } else {
          for (const [k, n] of expected) assert.ok(table.get(k)! >= n, `${k}: ${table.get(k)} < ${n}`)
          const excess = [...expected].reduce((a, [k, n]) => a + table.get(k)! - n, 0)
          t.diagnostic(`inputs counted more than once after the kill: ${excess}`)
        }
        for (const app of apps) {
          await app.stop()
          assert.ok(
            app.events.some((e) => e.event === 'closed' && e.clean === true),
            `${app.name} closed cleanly\n${app.output()}`,
          )
          assert.ok(!app.events.some((e) => e.event === 'error'), app.output())
        }
      } finally {
        for (const app of apps) await app.kill('SIGKILL')
      }
    })
  })
}
