/**
 * Processing while a rejoin is in flight, on a real broker: an instance that runs every task of a counting
 * application goes on processing them while its JoinGroup is outstanding, and commits nothing until the join has
 * completed. The join is held open without timing luck: a pending member (KIP-394: a JoinGroup without member id is
 * answered MEMBER_ID_REQUIRED, and the coordinator waits for that member to come back before it completes a
 * rebalance) keeps the group in PreparingRebalance until the test makes it leave. Under exactly_once_v2 every input is
 * counted exactly once across the rebalance; a clean close during the held join commits what ran during it; and a
 * transaction the broker aborts during the join (its timeout passed) closes the tasks without committing, the join's
 * result is dropped and the member rejoins, still with every input counted once.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, GroupMember, KafkaCluster } from '../../../src/client/index.ts'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import type { Logger } from '../../../src/common/logger.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import {
  KafkaStreams,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  type StreamsConfigInput,
  StreamsMetricNames,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka, readTableUntil, untilChecked } from './helpers.ts'

const PARTITIONS = 4
/** Keys per input partition; every record of a key goes to the same partition (so to the same task). */
const KEYS = 5
const PHASE = 400

type Guarantee = 'at_least_once' | 'exactly_once_v2'

let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []

before(async () => {
  broker = await startTestBroker()
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

/** Record `i`: key `k-<p>-<j>` on partition p = i % PARTITIONS. */
const recordAt = (i: number) => {
  const partition = i % PARTITIONS
  return { partition, key: `k-${partition}-${Math.floor(i / PARTITIONS) % KEYS}` }
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = kafka(broker.bootstrap).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const messages = Array.from({ length: count }, (_, n) => {
      const { partition, key } = recordAt(from + n)
      return { key, value: `event-${from + n}`, partition }
    })
    await producer.send({ topic, acks: -1, messages })
  } finally {
    await producer.disconnect()
  }
}

/** The count of every key after records 0..total-1. */
function expected(total: number): Map<string, number> {
  const out = new Map<string, number>()
  for (let i = 0; i < total; i++) {
    const { key } = recordAt(i)
    out.set(key, (out.get(key) ?? 0) + 1)
  }
  return out
}

/** Exactly once: the table holds the expected counts and every key's committed counts went 1, 2, 3, ... */
function assertCountedOnce(
  table: Map<string, number>,
  history: Map<string, number[]>,
  want: Map<string, number>,
): void {
  assert.deepEqual(Object.fromEntries([...table].sort()), Object.fromEntries([...want].sort()))
  for (const [key, n] of want) {
    assert.deepEqual(
      history.get(key),
      Array.from({ length: n }, (_, i) => i + 1),
      `committed counts of ${key}`,
    )
  }
}

const reached = (table: Map<string, number>, want: Map<string, number>) =>
  [...want].every(([k, v]) => (table.get(k) ?? 0) >= v)

function countingApp(
  guarantee: Guarantee,
  input: string,
  output: string,
  applicationId: string,
  overrides: Record<string, unknown> = {},
  logger?: Logger,
): KafkaStreams {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(input)
    .groupByKey()
    .count(Materialized.as<string, number>('counts'))
    .toStream()
    .to(output, Produced.with(Serdes.String(), Serdes.Long()))
  const dir = tempDir('trb-streams-rejoin-')
  dirs.push(dir)
  const config: StreamsConfigInput = {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': dir.path,
    'processing.guarantee': guarantee,
    'default.dsl.store': 'lmdb',
    // No record cache: every count is forwarded as it is computed (a cache forwards at commit, after the join).
    'statestore.cache.max.bytes': 0,
    'commit.interval.ms': 100,
    'session.timeout.ms': 10000,
    'heartbeat.interval.ms': 200,
    // Far above the time a join is held here: the transaction open across it must not time out.
    'transaction.timeout.ms': 60000,
    'log.level': 'warn',
    ...overrides,
  }
  return new KafkaStreams(builder.build(), config, logger ? { logger } : {})
}

/** A logger that drops everything but lets a test await a message. */
function awaitableLogger() {
  const seen: string[] = []
  const waiters: Array<{ message: string; resolve: () => void }> = []
  const keep = (message: string) => {
    seen.push(message)
    for (const w of [...waiters]) {
      if (w.message !== message) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  const logger: Logger = { debug: () => {}, info: keep, warn: keep, error: keep, child: () => logger }
  return {
    logger,
    seen,
    logged(message: string, timeoutMs = 60000): Promise<void> {
      if (seen.includes(message)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not logged: ${message}`)), timeoutMs)
        waiters.push({
          message,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
      })
    },
  }
}

/** The states of the application's transactional ids, as ListTransactions tells (one broker here). */
async function transactionStates(wire: KafkaWireClient, applicationId: string): Promise<string[]> {
  const listed = await wire.call(ApiKeys.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] })
  assert.equal(listed.errorCode, ErrorCode.NONE)
  return (listed.transactionStates as Array<{ transactionalId: string; transactionState: string }>)
    .filter((t) => t.transactionalId.startsWith(`${applicationId}-`))
    .map((t) => t.transactionState)
}

/** Resolves once `check()` holds, asked every 50 ms (for what only a request can observe). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The coordinator of a group, over the wire (one broker here; FindCoordinator when pointed at a cluster). */
async function coordinatorOf(groupId: string): Promise<KafkaWireClient> {
  const bootstrap = await KafkaWireClient.connect(broker.bootstrap)
  const found = await bootstrap.call(ApiKeys.FindCoordinator, 3, { key: groupId, keyType: 0 })
  assert.equal(found.errorCode, ErrorCode.NONE, 'the group has a coordinator')
  const [host, port] = broker.bootstrap.split(':')
  if (found.host === host && found.port === Number(port)) return bootstrap
  bootstrap.close()
  return KafkaWireClient.connect({ host: found.host, port: found.port })
}

/**
 * Holds the group's next rebalance open: a member that sent JoinGroup without an id (answered MEMBER_ID_REQUIRED)
 * and never comes back with it is pending, and the coordinator completes no rebalance while a member is pending
 * (until its session timeout, far away here, or until it leaves: `release()`).
 */
async function holdRebalance(groupId: string) {
  const wire = await coordinatorOf(groupId)
  const joined = await wire.call(ApiKeys.JoinGroup, 5, {
    groupId,
    sessionTimeoutMs: 120000,
    rebalanceTimeoutMs: 120000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'stream', metadata: Buffer.alloc(0) }],
  })
  assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
  const memberId: string = joined.memberId
  let released = false
  return {
    async groupState(): Promise<string> {
      const described = await wire.call(ApiKeys.DescribeGroups, 5, {
        groups: [groupId],
        includeAuthorizedOperations: false,
      })
      return described.groups[0].groupState
    },
    async release(): Promise<void> {
      if (released) return
      released = true
      const left = await wire.call(ApiKeys.LeaveGroup, 3, { groupId, members: [{ memberId, groupInstanceId: null }] })
      assert.equal(left.errorCode, ErrorCode.NONE)
      wire.close()
    },
  }
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

/** The group's committed offsets of the input partitions, summed (what a restart would skip). */
async function committedTotal(groupId: string, topic: string): Promise<number> {
  const reader = new GroupMember({ cluster: admin, groupId })
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
  let total = 0
  for (const offset of (await reader.committedOffsets(partitions)).values()) total += Number(offset ?? 0n)
  return total
}

const runningTasks = (s: KafkaStreams) =>
  (s.metadataForLocalThreads()[0]?.activeTasks ?? []).filter((t) => t.phase === 'running').map((t) => t.taskId)

/** Watches instances' states: `until(done)` resolves when `done()` holds, checked after every state change. */
function watch(...instances: KafkaStreams[]) {
  const checks = new Set<() => void>()
  const states = new Map<KafkaStreams, string[]>(instances.map((s) => [s, []]))
  for (const s of instances) {
    s.setStateListener((next) => {
      states.get(s)!.push(next)
      setImmediate(() => {
        for (const check of [...checks]) check()
      })
    })
  }
  return {
    states: (s: KafkaStreams) => states.get(s)!,
    until: (done: () => boolean, what: string, timeoutMs = 90000) => untilChecked(checks, done, what, timeoutMs),
  }
}

async function topics(name: string) {
  const input = `${name}-events`
  const output = `${name}-counts`
  await ensureTopic(admin.admin, input, { partitions: PARTITIONS })
  await ensureTopic(admin.admin, output, { partitions: PARTITIONS })
  return { input, output }
}

describe('processing while a rejoin is in flight', () => {
  for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const) {
    it(`${guarantee}: the owned tasks process records while the join is held open, and commit after it`, async () => {
      const applicationId = `rejoin-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`
      const { input, output } = await topics(applicationId)
      const a = countingApp(guarantee, input, output, applicationId)
      const b = countingApp(guarantee, input, output, applicationId)
      const w = watch(a, b)
      let hold: Awaited<ReturnType<typeof holdRebalance>> | undefined
      try {
        await a.start()
        await w.until(() => a.state === 'RUNNING' && runningTasks(a).length === PARTITIONS, 'a runs every task')
        await produce(input, 0, PHASE)
        await readTableUntil(broker.bootstrap, output, (t) => reached(t, expected(PHASE)))

        // b joins while a pending member holds the rebalance open: a's rejoin stays outstanding.
        hold = await holdRebalance(applicationId)
        await b.start()
        await w.until(() => a.state === 'REBALANCING', 'a rejoins')
        const joinStartedAt = w.states(a).length
        const committedBefore = await committedTotal(applicationId, input)
        const commitsBefore = await metric(a, StreamsMetricNames.COMMITS)
        const processedBefore = new Map<string, number>()
        for (const task of runningTasks(a)) {
          processedBefore.set(task, await metric(a, StreamsMetricNames.PROCESSED, { task_id: task }))
        }

        // Records for every task of a, while its JoinGroup is outstanding: their counts come out (under
        // exactly_once_v2 in the open transaction, so read_uncommitted).
        await produce(input, PHASE, PHASE)
        await readTableUntil(broker.bootstrap, output, (t) => reached(t, expected(2 * PHASE)), 60000, true)
        assert.equal(await hold.groupState(), 'PreparingRebalance', 'the rebalance has not completed')
        assert.equal(a.state, 'REBALANCING')
        assert.deepEqual(w.states(a).slice(joinStartedAt), [], 'a stayed REBALANCING throughout')
        for (const [task, before] of processedBefore) {
          const now = await metric(a, StreamsMetricNames.PROCESSED, { task_id: task })
          assert.equal(now - before, PHASE / PARTITIONS, `task ${task} processed its records during the join`)
        }
        // Nothing is committed while the join is in flight.
        assert.equal(await metric(a, StreamsMetricNames.COMMITS), commitsBefore, 'no commit during the join')
        assert.equal(await committedTotal(applicationId, input), committedBefore, 'committed offsets unchanged')
        assert.deepEqual(runningTasks(b), [], 'b runs nothing yet')

        // The join completes: a keeps half its tasks (never reopened) and hands the other half to b.
        await hold.release()
        await w.until(
          () =>
            a.state === 'RUNNING' &&
            b.state === 'RUNNING' &&
            runningTasks(a).length === PARTITIONS / 2 &&
            runningTasks(b).length === PARTITIONS / 2,
          'a and b run half the tasks each',
        )
        assert.equal(await metric(a, StreamsMetricNames.TASKS_CREATED, { kind: 'active' }), PARTITIONS)
        assert.equal(await metric(a, StreamsMetricNames.TASKS_CLOSED, { kind: 'active' }), PARTITIONS / 2)
        // What ran during the join was committed after it.
        assert.ok((await metric(a, StreamsMetricNames.COMMITS)) > commitsBefore)

        await produce(input, 2 * PHASE, PHASE)
        const want = expected(3 * PHASE)
        const { table, history } = await readTableUntil(broker.bootstrap, output, (t) => reached(t, want))
        if (guarantee === 'exactly_once_v2') {
          // Exactly once: the committed counts of every key went 1, 2, 3, ... with no value lost or repeated.
          assertCountedOnce(table, history, want)
        }
      } finally {
        await hold?.release()
        await b.close()
        await a.close()
      }
    })
  }

  it('exactly_once_v2: close() during a held join waits for it, then commits what ran during it', async () => {
    const applicationId = 'rejoin-close'
    const { input, output } = await topics(applicationId)
    const a = countingApp('exactly_once_v2', input, output, applicationId)
    const b = countingApp('exactly_once_v2', input, output, applicationId)
    const w = watch(a, b)
    let hold: Awaited<ReturnType<typeof holdRebalance>> | undefined
    try {
      await a.start()
      await w.until(() => a.state === 'RUNNING' && runningTasks(a).length === PARTITIONS, 'a runs every task')
      hold = await holdRebalance(applicationId)
      await b.start()
      await w.until(() => a.state === 'REBALANCING', 'a rejoins')
      await produce(input, 0, PHASE)
      await readTableUntil(broker.bootstrap, output, (t) => reached(t, expected(PHASE)), 60000, true)
      assert.equal(await committedTotal(applicationId, input), 0, 'nothing committed during the join')

      // a closes while its join is held: it stops processing, waits for the join, commits and leaves.
      let closed = false
      const closing = a.close().then(() => {
        closed = true
      })
      await w.until(() => a.state === 'PENDING_SHUTDOWN', 'a is closing')
      assert.equal(closed, false)
      await hold.release()
      await closing
      assert.equal(a.state, 'NOT_RUNNING')
      assert.equal(await committedTotal(applicationId, input), PHASE, 'a committed everything it processed')

      // b takes every task over from what a committed; every input is counted exactly once.
      await w.until(() => b.state === 'RUNNING' && runningTasks(b).length === PARTITIONS, 'b runs every task')
      await produce(input, PHASE, PHASE)
      const want = expected(2 * PHASE)
      const { table, history } = await readTableUntil(broker.bootstrap, output, (t) => reached(t, want))
      assertCountedOnce(table, history, want)
    } finally {
      await hold?.release()
      await b.close()
      await a.close()
    }
  })
  it('exactly_once_v2: a transaction that times out during the held join is aborted, and nothing is lost or repeated', async () => {
    const applicationId = 'rejoin-txn-timeout'
    const { input, output } = await topics(applicationId)
    // A short transaction timeout, and a flush whenever anything waits to be sent (so the fencing shows at once).
    const overrides = { 'transaction.timeout.ms': 2000, 'tributary.producer.backlog.bytes': 1 }
    const aLog = awaitableLogger()
    const a = countingApp('exactly_once_v2', input, output, applicationId, overrides, aLog.logger)
    const b = countingApp('exactly_once_v2', input, output, applicationId, overrides)
    const w = watch(a, b)
    const wire = await KafkaWireClient.connect(broker.bootstrap)
    let hold: Awaited<ReturnType<typeof holdRebalance>> | undefined
    try {
      await a.start()
      await w.until(() => a.state === 'RUNNING' && runningTasks(a).length === PARTITIONS, 'a runs every task')
      await produce(input, 0, PHASE)
      await readTableUntil(broker.bootstrap, output, (t) => reached(t, expected(PHASE)))

      hold = await holdRebalance(applicationId)
      await b.start()
      await w.until(() => a.state === 'REBALANCING', 'a rejoins')
      // a processes during the join: its transaction is open, and cannot commit before the join completes.
      await produce(input, PHASE, PHASE)
      await readTableUntil(broker.bootstrap, output, (t) => reached(t, expected(2 * PHASE)), 60000, true)
      // The join outlasts the transaction timeout: the broker aborts a's transaction (and bumps its epoch).
      await eventually(
        async () => (await transactionStates(wire, applicationId)).includes('CompleteAbort'),
        'the transaction timed out',
      )
      // a's next records meet the fencing: it closes its tasks without committing, still inside the join.
      await produce(input, 2 * PHASE, PHASE)
      await aLog.logged('tasks migrated: closing them without committing and rejoining')
      await eventually(
        async () => (await metric(a, StreamsMetricNames.TASKS_CLOSED, { kind: 'active' })) === PARTITIONS,
        'a closed its tasks',
      )
      assert.equal(await hold.groupState(), 'PreparingRebalance', 'the rebalance has not completed')
      assert.equal(await committedTotal(applicationId, input), PHASE, 'only what ran before the join is committed')

      // The join completes; its result no longer holds for a (it ran nothing since), so a rejoins at once.
      await hold.release()
      await aLog.logged('tasks were closed during the rebalance: rejoining')
      await w.until(
        () =>
          a.state === 'RUNNING' &&
          b.state === 'RUNNING' &&
          runningTasks(a).length + runningTasks(b).length === PARTITIONS &&
          runningTasks(a).length > 0 &&
          runningTasks(b).length > 0,
        'a and b run the tasks between them',
      )
      await produce(input, 3 * PHASE, PHASE)
      const want = expected(4 * PHASE)
      const { table, history } = await readTableUntil(broker.bootstrap, output, (t) => reached(t, want))
      assertCountedOnce(table, history, want)
    } finally {
      wire.close()
      await hold?.release()
      await b.close()
      await a.close()
    }
  })
})
