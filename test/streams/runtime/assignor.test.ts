import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Materialized, Serdes, StreamsBuilder } from '../../../src/streams/index.ts'
import {
  assignTasks,
  COOPERATIVE_SUBSCRIPTION_VERSION,
  cooperativeHandoff,
  decodeAssignmentInfo,
  decodeSubscriptionInfo,
  encodeAssignmentInfo,
  encodeSubscriptionInfo,
  type MemberState,
  SUBSCRIPTION_VERSION,
  type SubscriptionInfo,
} from '../../../src/streams/runtime/assignor.ts'
import { planTasks, type TaskDef, TaskPlanError } from '../../../src/streams/runtime/task-plan.ts'

function tasks(n: number, stateful = true): Map<string, TaskDef> {
  const out = new Map<string, TaskDef>()
  for (let p = 0; p < n; p++) {
    out.set(`0_${p}`, { id: `0_${p}`, subtopology: 0, partition: p, inputs: [{ topic: 't', partition: p }], stateful })
  }
  return out
}

function member(id: string, info: Partial<SubscriptionInfo> = {}): MemberState {
  return {
    memberId: id,
    info: { version: 1, processId: id, endpoint: null, prevActive: [], prevStandby: [], stateTasks: {}, ...info },
  }
}

const counts = (m: Map<string, string[]>) => [...m.values()].map((l) => l.length).sort()

describe('task assignment', () => {
  it('balances active tasks: counts differ by at most one, every task once', () => {
    const { active } = assignTasks([member('a'), member('b'), member('c')], tasks(8), 0)
    assert.deepEqual(counts(active), [2, 3, 3])
    assert.deepEqual([...active.values()].flat().sort(), [...tasks(8).keys()].sort())
  })

  it('keeps tasks where they ran when a member joins, moving only what balance needs', () => {
    const all = [...tasks(6).keys()]
    const { active } = assignTasks([member('a', { prevActive: all }), member('b')], tasks(6), 0)
    assert.deepEqual(active.get('a'), ['0_0', '0_1', '0_2'])
    assert.deepEqual(active.get('b'), ['0_3', '0_4', '0_5'])
    // The same input gives the same answer.
    assert.deepEqual(assignTasks([member('b'), member('a', { prevActive: all })], tasks(6), 0).active, active)
  })

  it('gives a departed member’s tasks to the members with their state: standby first, then on-disk state', () => {
    const { active } = assignTasks(
      [
        member('a', { prevActive: ['0_0'], stateTasks: { '0_1': 100 } }),
        member('b', { prevActive: ['0_2'], prevStandby: ['0_3'] }),
      ],
      tasks(4),
      0,
    )
    assert.deepEqual(active.get('a'), ['0_0', '0_1'])
    assert.deepEqual(active.get('b'), ['0_2', '0_3'])
  })

  it('places standbys of stateful tasks on other members only, preferring members with their state', () => {
    const { active, standby } = assignTasks(
      [member('a', { prevStandby: ['0_3'] }), member('b'), member('c')],
      tasks(4),
      1,
    )
    for (const [id, list] of standby) for (const t of list) assert.ok(!active.get(id)!.includes(t), `${id} runs ${t}`)
    assert.deepEqual([...standby.values()].flat().sort(), ['0_0', '0_1', '0_2', '0_3'])
    const ownerOf3 = [...active].find(([, l]) => l.includes('0_3'))![0]
    if (ownerOf3 !== 'a') assert.ok(standby.get('a')!.includes('0_3'))
    // Stateless tasks get no standbys; a single member gets none either.
    assert.deepEqual([...assignTasks([member('a'), member('b')], tasks(2, false), 1).standby.values()].flat(), [])
    assert.deepEqual(assignTasks([member('a')], tasks(2), 2).standby.get('a'), [])
  })

  it('round-trips subscription and assignment user data, and refuses foreign data', () => {
    const info = {
      processId: 'p1',
      endpoint: 'host:8080',
      prevActive: ['0_1'],
      prevStandby: ['1_0'],
      stateTasks: { '0_1': 42 },
      shutdownRequested: false,
    }
    assert.deepEqual(decodeSubscriptionInfo(encodeSubscriptionInfo(info)), { version: SUBSCRIPTION_VERSION, ...info })
    const assignment = {
      errorCode: 0,
      active: ['0_1'],
      standby: [],
      partitionsByHost: { 'host:8080': ['t:1'] },
      standbyPartitionsByHost: {},
    }
    assert.deepEqual(decodeAssignmentInfo(encodeAssignmentInfo(assignment)), {
      version: 1,
      errorMessage: undefined,
      ...assignment,
    })
    assert.throws(() => decodeSubscriptionInfo(Buffer.from('not ours')), { code: 'TRB_STREAMS_ILLEGAL_STATE' })
  })
})

describe('task planning', () => {
  function countTopology() {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('words')
      .groupBy((_k, v) => v)
      .count(Materialized.as<string, number>('store').withKeySerde(Serdes.String()))
    return builder.build()
  }

  it('derives tasks, repartition and changelog topics from the source partition counts', () => {
    const plan = planTasks(countTopology(), 'app', new Map([['words', 3]]))
    assert.deepEqual([...plan.tasks.keys()], ['0_0', '0_1', '0_2', '1_0', '1_1', '1_2'])
    assert.deepEqual(plan.tasks.get('1_2')!.inputs, [{ topic: 'app-store-repartition', partition: 2 }])
    assert.equal(plan.tasks.get('0_0')!.stateful, false)
    assert.equal(plan.tasks.get('1_0')!.stateful, true)
    assert.deepEqual(
      plan.internalTopics.map((t) => [t.name, t.partitions, t.configs['cleanup.policy']]),
      [
        ['app-store-repartition', 3, 'delete'],
        ['app-store-changelog', 3, 'compact'],
      ],
    )
  })

  it('names missing source topics', () => {
    assert.throws(
      () => planTasks(countTopology(), 'app', new Map([['words', undefined]])),
      (e: TaskPlanError) =>
        e instanceof TaskPlanError && e.reason === 'missing-source-topics' && /words/.test(e.message),
    )
  })

  it('hands a task over in two phases: withheld while another cooperative member still owns it', () => {
    const all = [...tasks(6).keys()]
    const coop = (id: string, info: Partial<SubscriptionInfo> = {}) =>
      member(id, { version: COOPERATIVE_SUBSCRIPTION_VERSION, ...info })
    // Phase 1: b joins; a still owns everything, so b gets nothing yet and a keeps only what stays with it.
    const first = [coop('a', { prevActive: all }), coop('b')]
    const target = assignTasks(first, tasks(6), 0)
    const phase1 = cooperativeHandoff(first, target.active)
    assert.deepEqual(phase1.active.get('a'), ['0_0', '0_1', '0_2'])
    assert.deepEqual(phase1.active.get('b'), [])
    assert.deepEqual(phase1.withheld, ['0_3', '0_4', '0_5'])
    // Phase 2: a has revoked them (its subscription lists only what it kept), so b gets them now.
    const second = [coop('a', { prevActive: ['0_0', '0_1', '0_2'], stateTasks: { '0_3': 5 } }), coop('b')]
    const phase2 = cooperativeHandoff(second, assignTasks(second, tasks(6), 0).active)
    assert.deepEqual(phase2.active.get('a'), ['0_0', '0_1', '0_2'])
    assert.deepEqual(phase2.active.get('b'), ['0_3', '0_4', '0_5'])
    assert.deepEqual(phase2.withheld, [])
    // An eager member (version 1) let go of its tasks before joining: they move at once.
    const eager = [member('a', { prevActive: all }), coop('b')]
    const direct = cooperativeHandoff(eager, assignTasks(eager, tasks(6), 0).active)
    assert.deepEqual(direct.active.get('b'), ['0_3', '0_4', '0_5'])
    assert.deepEqual(direct.withheld, [])
    // A task two members claim (a zombie's leftover) stays with the one the target names.
    const both = [coop('a', { prevActive: ['0_0'] }), coop('b', { prevActive: ['0_0'] })]
    const kept = cooperativeHandoff(
      both,
      new Map([
        ['a', ['0_0']],
        ['b', []],
      ]),
    )
    assert.deepEqual(kept.active.get('a'), ['0_0'])
    assert.deepEqual(kept.withheld, [])
  })
})
