/**
 * Cooperative rebalancing on a real broker: a second instance joins an application that one instance runs alone
 * under exactly_once_v2. Only the tasks that move are closed on the first instance (its staying tasks keep their
 * open stores, nothing is reopened or restored), a moving task is closed by its owner before the new member opens
 * it (two-phase handoff: processors of one task never run on both instances at once), and every input is counted
 * exactly once.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import type { Logger } from '../../../src/common/logger.ts'
import {
  Grouped,
  KafkaStreams,
  Materialized,
  type Processor,
  type ProcessorContext,
  Produced,
  Serdes,
  type StateStore,
  type Record as StreamRecord,
  StreamsBuilder,
  StreamsMetricNames,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { expectedCounts, produceEvents, readTableUntil, untilChecked } from './helpers.ts'

const PARTITIONS = 4
const ALL_TASKS = PARTITIONS * 2
const ACCOUNTS = 20
const PHASE = 1000

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

/** Which instance runs each task now (set when a task's processors start, cleared when they close). */
const runningOn = new Map<string, string>()
const overlaps: string[] = []

/** Passes records on; records in `runningOn` which instance runs the task, and any moment two would at once. */
function tracker<V>(instance: string): () => Processor<string, V, string, V> {
  return () => {
    let ctx: ProcessorContext<string, V> | undefined
    return {
      init(context: ProcessorContext<string, V>) {
        ctx = context
        const other = runningOn.get(context.taskId)
        if (other !== undefined && other !== instance) overlaps.push(`${context.taskId} on ${other} and ${instance}`)
        runningOn.set(context.taskId, instance)
      },
      process(record: StreamRecord<string, V>) {
        ctx!.forward(record)
      },
      close() {
        if (ctx && runningOn.get(ctx.taskId) === instance) runningOn.delete(ctx.taskId)
      },
    }
  }
}

/** Lifecycle log events of both instances, in order: which tasks each revoked or holds, per generation. */
const events: Array<{ instance: string; msg: string; generation: number; tasks: string[] }> = []

/** A logger (KafkaStreams' `logger` option) that keeps the task lifecycle events and drops the rest. */
function recordingLogger(instance: string): Logger {
  const keep = (msg: string, fields?: globalThis.Record<string, unknown>) => {
    if (msg === 'tasks revoked' || msg === 'assignment applied') {
      const tasks = (msg === 'tasks revoked' ? fields?.tasks : fields?.active) as string[]
      events.push({ instance, msg, generation: Number(fields?.generation), tasks })
    }
  }
  const logger: Logger = {
    debug: () => {},
    info: keep,
    warn: keep,
    error: keep,
    child: () => logger,
  }
  return logger
}

function countingApp(instance: string, input: string, output: string, applicationId: string) {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(input)
    .process(tracker<string>(instance))
    .groupBy((_id, account) => account, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('counts'))
    .toStream()
    .process(tracker<number>(instance))
    .to(output, Produced.with(Serdes.String(), Serdes.Long()))
  const dir = tempDir('trb-streams-coop-')
  dirs.push(dir)
  return new KafkaStreams(
    builder.build(),
    {
      'application.id': applicationId,
      'bootstrap.servers': broker.bootstrap,
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.String(),
      'state.dir': dir.path,
      'processing.guarantee': 'exactly_once_v2',
      'default.dsl.store': 'lmdb',
      'commit.interval.ms': 100,
      'session.timeout.ms': 1500,
      'heartbeat.interval.ms': 200,
      'transaction.timeout.ms': 5000,
    },
    { logger: recordingLogger(instance) },
  )
}

/** A counter of the instance's Prometheus metrics (0 when absent). */
async function metric(streams: KafkaStreams, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await streams.metrics().render()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

const activeOf = (s: KafkaStreams) =>
  (s.metadataForLocalThreads()[0]?.activeTasks ?? []).filter((t) => t.phase === 'running').map((t) => t.taskId)

/** Checks to run after every state change of any instance (listeners are set once, before start). */
const onStateChange = new Set<() => void>()

/** Resolves when `done()` holds, checking after every state change of the instances. */
function until(done: () => boolean, what: string, timeoutMs = 90000): Promise<void> {
  return untilChecked(onStateChange, done, what, timeoutMs)
}

describe('cooperative rebalancing', () => {
  it('moves only the tasks a joining instance takes, in two phases, with exact counts under exactly_once_v2', async () => {
    const input = 'coop-events'
    const output = 'coop-counts'
    const applicationId = 'coop-counting'
    await ensureTopic(admin.admin, input, { partitions: PARTITIONS })
    await ensureTopic(admin.admin, output, { partitions: PARTITIONS })
    const a = countingApp('a', input, output, applicationId)
    const b = countingApp('b', input, output, applicationId)
    for (const s of [a, b]) {
      s.setStateListener(() =>
        setImmediate(() => {
          for (const check of [...onStateChange]) check()
        }),
      )
    }
    try {
      await a.start()
      await until(() => a.state === 'RUNNING' && activeOf(a).length === ALL_TASKS, 'a runs every task')
      await produceEvents(broker.bootstrap, input, 0, PHASE, ACCOUNTS)
      await readTableUntil(broker.bootstrap, output, (t) =>
        [...expectedCounts(PHASE, ACCOUNTS)].every(([k, v]) => t.get(k) === v),
      )
      // What a runs before b joins: its stores (by task), tasks opened and closed, restored records, rebalances.
      const storesBefore = new Map<string, StateStore>(a.localStores('counts'))
      assert.equal(storesBefore.size, PARTITIONS)
      const createdBefore = await metric(a, StreamsMetricNames.TASKS_CREATED, { kind: 'active' })
      const rebalancesBefore = await metric(a, StreamsMetricNames.REBALANCES)
      const restoredBefore = a.restoredRecords
      assert.equal(createdBefore, ALL_TASKS)
      assert.equal(await metric(a, StreamsMetricNames.TASKS_CLOSED, { kind: 'active' }), 0)
      const tasksBefore = activeOf(a)

      // b joins while input keeps coming.
      await b.start()
      const phase2 = produceEvents(broker.bootstrap, input, PHASE, PHASE, ACCOUNTS)
      await until(
        () =>
          a.state === 'RUNNING' &&
          b.state === 'RUNNING' &&
          activeOf(a).length === ALL_TASKS / 2 &&
          activeOf(b).length === ALL_TASKS / 2,
        'a and b run half the tasks each',
      )
      await phase2

      const stayed = activeOf(a)
      const moved = activeOf(b)
      assert.deepEqual([...stayed, ...moved].sort(), [...tasksBefore].sort(), 'every task runs once, on a or on b')
      // Only the moving tasks were closed on a; none was reopened (a staying task would count as created again).
      assert.equal(await metric(a, StreamsMetricNames.TASKS_CLOSED, { kind: 'active' }), ALL_TASKS / 2)
      assert.equal(await metric(a, StreamsMetricNames.TASKS_CREATED, { kind: 'active' }), ALL_TASKS)
      // The staying stateful tasks kept their very store instances open, and nothing was restored on a.
      const storesAfter = a.localStores('counts')
      for (const [task, store] of storesAfter) {
        assert.equal(store, storesBefore.get(task), `task ${task} kept its store open`)
        assert.ok(store.isOpen())
      }
      assert.equal(a.restoredRecords, restoredBefore)
      // Two phases: the rebalance in which a revoked the moving tasks, then the follow-up that gave them to b.
      assert.ok((await metric(a, StreamsMetricNames.REBALANCES)) - rebalancesBefore >= 2)
      assert.deepEqual(overlaps, [], 'no task ran on both instances at once')
      for (const task of stayed) assert.equal(runningOn.get(task), 'a')
      for (const task of moved) assert.equal(runningOn.get(task), 'b')
      // Each moving task was revoked by a in one generation and given to b only in a later one.
      for (const task of moved) {
        const revoked = events.find((e) => e.instance === 'a' && e.msg === 'tasks revoked' && e.tasks.includes(task))
        const assigned = events.find(
          (e) => e.instance === 'b' && e.msg === 'assignment applied' && e.tasks.includes(task),
        )
        assert.ok(revoked && assigned, `${task}: revoked on a and assigned to b`)
        assert.ok(assigned.generation > revoked.generation, `${task}: assigned to b after a revoked it`)
      }

      // Every input counted exactly once.
      const expected = expectedCounts(2 * PHASE, ACCOUNTS)
      const { table } = await readTableUntil(broker.bootstrap, output, (t) =>
        [...expected].every(([k, v]) => t.get(k) === v),
      )
      assert.deepEqual(Object.fromEntries([...table].sort()), Object.fromEntries([...expected].sort()))
    } finally {
      await b.close()
      await a.close()
    }
  })
})
