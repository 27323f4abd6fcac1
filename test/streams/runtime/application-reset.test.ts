/**
 * `tributary streams reset` (the application reset tool): refuses while instances run; --dry-run changes nothing;
 * a reset makes the application reprocess its input from the start into the same results.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import { KafkaStreams, Materialized, Produced, Serdes, StreamsBuilder } from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka, readTableUntil, stateRecorder } from './helpers.ts'

const root = join(import.meta.dirname, '..', '..', '..')
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

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

function app(dir: string) {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('reset-in')
    .groupBy((_k, v) => v)
    .count(Materialized.as<string, number>('tally'))
    .toStream()
    .to('reset-out', Produced.with(Serdes.String(), Serdes.Long()))
  return new KafkaStreams(builder.build(), {
    'application.id': 'resettable',
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': dir,
    'commit.interval.ms': 100,
    'session.timeout.ms': 1500,
    'heartbeat.interval.ms': 200,
    'log.level': 'warn',
    // Every update reaches the output, so the test sees each count go 1..10.
    'statestore.cache.max.bytes': 0,
  })
}

describe('tributary streams reset', () => {
  it('refuses while the application runs, shows a dry run, and resets so the input is reprocessed', async () => {
    await ensureTopic(admin.admin, 'reset-in', { partitions: 2 })
    await ensureTopic(admin.admin, 'reset-out', { partitions: 2 })
    const producer = kafka(broker.bootstrap).producer()
    await producer.connect()
    await producer.send({
      topic: 'reset-in',
      messages: Array.from({ length: 30 }, (_, i) => ({ key: `e${i}`, value: ['red', 'green', 'blue'][i % 3] })),
    })
    await producer.disconnect()
    const d = tempDir('trb-streams-reset-')
    dirs.push(d)
    const first = app(d.path)
    const recorder = stateRecorder(first)
    await first.start()
    await recorder.reach('RUNNING')
    await readTableUntil(
      broker.bootstrap,
      'reset-out',
      (t) => t.get('red') === 10 && t.get('green') === 10 && t.get('blue') === 10,
    )

    const refused = await cli('streams', 'reset', '--application-id', 'resettable', '--bootstrap', broker.bootstrap)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /still has 1 active member.*TRB_STREAMS_RESET_FAILED/s)
    await first.close()

    const dry = await cli(
      'streams',
      'reset',
      '--application-id',
      'resettable',
      '--bootstrap',
      broker.bootstrap,
      '--dry-run',
    )
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /Dry run: would reset application resettable/)
    assert.match(dry.stdout, /reset-in-0: \d+ -> 0/)
    assert.match(
      dry.stdout,
      /Internal topics to delete:\n {2}resettable-tally-changelog\n {2}resettable-tally-repartition/,
    )
    const stillThere = await admin.admin.listTopics({ includeInternals: true })
    assert.ok(stillThere.includes('resettable-tally-changelog'))

    const done = await cli(
      'streams',
      'reset',
      '--application-id',
      'resettable',
      '--bootstrap',
      broker.bootstrap,
      '--input-topics',
      'reset-in',
    )
    assert.equal(done.code, 0, done.stderr)
    assert.match(done.stdout, /Reset application resettable/)
    const after = await admin.admin.listTopics({ includeInternals: true })
    assert.ok(!after.some((t) => t.startsWith('resettable-')), `internal topics deleted: ${after}`)

    // Reprocessing from the start with fresh local state gives the same counts (not doubled): the output topic
    // now holds the first run's updates and then the second run's, which end at the same values.
    const second = app(d.path)
    second.cleanUp()
    const recorder2 = stateRecorder(second)
    await second.start()
    await recorder2.reach('RUNNING')
    const colors = ['red', 'green', 'blue']
    const { history } = await readTableUntil(broker.bootstrap, 'reset-out', (_t, h) =>
      colors.every((c) => (h.get(c)?.length ?? 0) >= 20),
    )
    const once = Array.from({ length: 10 }, (_, i) => i + 1)
    for (const c of colors) assert.deepEqual(history.get(c), [...once, ...once])
    await second.close()
  })
})
