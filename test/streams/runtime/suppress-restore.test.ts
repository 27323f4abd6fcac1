/**
 * suppress()'s buffer on a real broker, under exactly_once_v2: windowed counts held back until their window
 * closes survive a SIGKILL and a clean restart on a fresh state directory (the buffer is rebuilt from its
 * changelog `<application.id>-final-store-changelog`), and each window's final count is emitted exactly once.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { type AppProcess, kafka, readTableUntil, readTopicUntil, spawnApp } from './helpers.ts'

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

function stateDir(): string {
  const d = tempDir('trb-streams-sup-')
  dirs.push(d)
  return d.path
}

const INPUT = 'sup-clicks'
const OUTPUT = 'sup-final-counts'
const APP = 'suppress-restart'
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f']

async function produce(records: Array<[key: string, timestamp: number]>) {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({
    topic: INPUT,
    acks: -1,
    messages: records.map(([key, timestamp]) => ({ key, value: 'x', timestamp: String(timestamp) })),
  })
  await producer.disconnect()
}

/** Waits until the buffer's changelog holds, committed, a live entry for each of `keys` in window `start`. */
async function bufferLogged(keys: string[], start: number) {
  const tail = Buffer.alloc(8)
  tail.writeBigInt64BE(BigInt(start))
  const name = (k: string) => Buffer.concat([Buffer.from(k), tail]).toString()
  await readTopicUntil(broker.bootstrap, `${APP}-final-store-changelog`, (records) => {
    const latest = new Map<string, Buffer | null>()
    for (const r of records) latest.set(r.key ?? '', r.value)
    return keys.every((k) => latest.get(name(k)))
  })
}

describe('suppress buffer across restarts (exactly_once_v2)', () => {
  it('emits every window final result exactly once across a SIGKILL and a clean restart', async () => {
    await ensureTopic(admin.admin, INPUT, { partitions: 2 })
    await ensureTopic(admin.admin, OUTPUT, { partitions: 2 })
    const config = (dir: string) => ({
      bootstrap: broker.bootstrap,
      applicationId: APP,
      stateDir: dir,
      input: INPUT,
      output: OUTPUT,
      guarantee: 'exactly_once_v2',
    })
    const w0 = Date.now() - (Date.now() % 60_000) - 600_000
    const w1 = w0 + 60_000
    const w2 = w1 + 60_000
    const apps: AppProcess[] = []
    const start = async (name: string, dir: string) => {
      const app = spawnApp(name, 'suppress-app.ts', config(dir))
      apps.push(app)
      await app.waitFor((e) => e.event === 'state' && e.state === 'RUNNING', 'RUNNING')
      return app
    }
    try {
      // 1. Window w0 is counted and held back; once the buffer is committed, the instance is killed.
      const dir = stateDir()
      const first = await start('first', dir)
      await produce([...KEYS.map((k): [string, number] => [k, w0 + 1_000]), ['a', w0 + 2_000]])
      await bufferLogged(KEYS, w0)
      await first.kill('SIGKILL')

      // 2. Restarted on the same directory: a record of window w1 per key closes w0 in every partition.
      const second = await start('second', dir)
      await produce(KEYS.map((k) => [k, w1 + 1_000]))
      await readTableUntil(broker.bootstrap, OUTPUT, (t) => KEYS.every((k) => t.has(`${k}@${w0}`)))
      // w1's counts are held back and committed to the buffer's changelog; then a clean stop.
      await bufferLogged(KEYS, w1)
      await second.stop()
      assert.ok(
        second.events.some((e) => e.event === 'closed' && e.clean === true),
        second.output(),
      )

      // 3. A clean restart on a fresh state directory: the buffer comes back from its changelog only.
      const third = await start('third', stateDir())
      await produce(KEYS.map((k) => [k, w2 + 1_000]))
      const { table, history } = await readTableUntil(broker.bootstrap, OUTPUT, (t) =>
        KEYS.every((k) => t.has(`${k}@${w1}`)),
      )
      await third.stop()

      const expected = new Map<string, number>()
      for (const k of KEYS) {
        expected.set(`${k}@${w0}`, k === 'a' ? 2 : 1)
        expected.set(`${k}@${w1}`, 1)
      }
      assert.deepEqual(new Map([...table].sort()), new Map([...expected].sort()))
      for (const [k, values] of history) assert.deepEqual(values, [expected.get(k)], `${k} emitted ${values}`)
      for (const app of apps) assert.ok(!app.events.some((e) => e.event === 'error'), app.output())
    } finally {
      for (const app of apps) await app.kill('SIGKILL')
    }
  })
})
