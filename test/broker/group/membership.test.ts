import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { GroupCoordinator } from '../../../src/broker/group/group-coordinator.ts'
import { InMemoryKeyedLog } from '../../../src/common/keyed-log.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { type Harness, joinAndSync, joinParams, peek, startCoordinator, subscription } from './helpers.ts'

function sync(
  h: Harness,
  memberId: string,
  generationId: number,
  assignments: [string, string][] = [],
  groupId = 'g1',
) {
  return h.coordinator.syncGroup({
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: assignments.map(([m, a]) => ({ memberId: m, assignment: Buffer.from(a) })),
  })
}

function heartbeat(h: Harness, memberId: string, generationId: number, groupInstanceId: string | null = null) {
  return h.coordinator.heartbeat({ groupId: 'g1', generationId, memberId, groupInstanceId })
}

/** Two members A (leader) and B in a Stable group at generation 1. */
async function stableGroupOfTwo(h: Harness, b: Parameters<typeof joinParams>[0] = {}) {
  const joinA = h.coordinator.joinGroup(joinParams({ clientId: 'a' }))
  const joinB = h.coordinator.joinGroup(joinParams({ clientId: 'b', ...b }))
  h.time.advance(6000) // the initial delay, extended once because B arrived during it
  const [a, bb] = await Promise.all([joinA, joinB])
  const syncB = sync(h, bb.memberId, bb.generationId)
  const syncA = sync(h, a.memberId, a.generationId, [
    [a.memberId, 'for-a'],
    [bb.memberId, 'for-b'],
  ])
  const [sa, sb] = await Promise.all([syncA, syncB])
  return { a, b: bb, sa, sb }
}

describe('classic group membership', () => {
  test('a single member joins, becomes leader with its own metadata, and gets its assignment', async () => {
    const h = await startCoordinator()
    const meta = subscription(['orders'], Buffer.from('user-data'))
    const join = await h.coordinator.joinGroup(joinParams({ protocols: [{ name: 'range', metadata: meta }] }))
    assert.equal(join.errorCode, ErrorCode.NONE)
    assert.equal(join.generationId, 1)
    assert.equal(join.leader, join.memberId)
    assert.equal(join.protocolName, 'range')
    assert.equal(join.protocolType, 'consumer')
    assert.match(join.memberId, /^client-[0-9a-f-]{36}$/)
    assert.deepEqual(join.members, [{ memberId: join.memberId, groupInstanceId: null, metadata: meta }])
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'CompletingRebalance')
    const s = await sync(h, join.memberId, 1, [[join.memberId, 'assignment-bytes']])
    assert.equal(s.errorCode, ErrorCode.NONE)
    assert.equal(s.assignment.toString(), 'assignment-bytes')
    assert.equal(s.protocolName, 'range')
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'Stable')
    assert.equal(heartbeat(h, join.memberId, 1), ErrorCode.NONE)
  })

  test('MEMBER_ID_REQUIRED: an unknown dynamic member gets an id and must rejoin with it', async () => {
    const h = await startCoordinator()
    const first = await h.coordinator.joinGroup(joinParams({ requireKnownMemberId: true, clientId: 'app' }))
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
    assert.match(first.memberId, /^app-/)
    assert.equal(h.coordinator.describeGroup('g1')?.members.length, 0)
    const second = await h.coordinator.joinGroup(joinParams({ requireKnownMemberId: true, memberId: first.memberId }))
    assert.equal(second.errorCode, ErrorCode.NONE)
    assert.equal(second.memberId, first.memberId)
    assert.equal(second.leader, first.memberId)
    // A pending id that is never used expires with the session timeout and stops blocking rebalances.
    const pending = await h.coordinator.joinGroup(joinParams({ requireKnownMemberId: true, groupId: 'g2' }))
    h.time.advance(10_000)
    const late = await h.coordinator.joinGroup(
      joinParams({ requireKnownMemberId: true, groupId: 'g2', memberId: pending.memberId }),
    )
    assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  })

  test('two members: the initial delay gathers both; leader gets all metadata, both get their assignment', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const joinA = h.coordinator.joinGroup(joinParams({ clientId: 'a' }))
    h.time.advance(1000)
    const joinB = h.coordinator.joinGroup(joinParams({ clientId: 'b' }))
    assert.equal(await peek(joinA), 'pending')
    h.time.advance(2000)
    // B arrived during the delay, so the delay is extended once more.
    assert.equal(await peek(joinA), 'pending')
    h.time.advance(3000)
    const [a, b] = await Promise.all([joinA, joinB])
    assert.equal(a.generationId, 1)
    assert.equal(b.generationId, 1)
    assert.equal(a.leader, a.memberId)
    assert.equal(b.leader, a.memberId)
    assert.deepEqual(
      a.members.map((m) => m.memberId),
      [a.memberId, b.memberId],
    )
    assert.deepEqual(b.members, [])
    const syncB = sync(h, b.memberId, 1)
    assert.equal(await peek(syncB), 'pending')
    const syncA = await sync(h, a.memberId, 1, [
      [a.memberId, 'for-a'],
      [b.memberId, 'for-b'],
    ])
    assert.equal(syncA.assignment.toString(), 'for-a')
    assert.equal((await syncB).assignment.toString(), 'for-b')
    const described = h.coordinator.describeGroups(['g1'])[0]!
    assert.equal(described.state, 'Stable')
    assert.deepEqual(
      described.members.map((m) => m.memberAssignment.toString()),
      ['for-a', 'for-b'],
    )
  })

  test('a third member joining a stable group triggers a rebalance to the next generation', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h)
    const joinC = h.coordinator.joinGroup(joinParams({ clientId: 'c' }))
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'PreparingRebalance')
    assert.equal(heartbeat(h, a.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS)
    assert.equal((await sync(h, b.memberId, 1)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS)
    const rejoinA = h.coordinator.joinGroup(joinParams({ memberId: a.memberId }))
    assert.equal(await peek(joinC), 'pending')
    const rejoinB = h.coordinator.joinGroup(joinParams({ memberId: b.memberId }))
    const [ra, rb, rc] = await Promise.all([rejoinA, rejoinB, joinC])
    for (const r of [ra, rb, rc]) assert.equal(r.generationId, 2)
    assert.equal(ra.leader, a.memberId)
    assert.equal(ra.members.length, 3)
    assert.equal(rc.members.length, 0)
    // A commit or heartbeat from the previous generation is now illegal.
    assert.equal(heartbeat(h, b.memberId, 1), ErrorCode.ILLEGAL_GENERATION)
  })

  test('a member that misses its session timeout is removed and the group rebalances without it', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h)
    h.time.advance(6000)
    assert.equal(heartbeat(h, a.memberId, 1), ErrorCode.NONE)
    h.time.advance(4001) // B's session (10 s) ends; A's was renewed at 6 s
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'PreparingRebalance')
    assert.equal(heartbeat(h, b.memberId, 1), ErrorCode.UNKNOWN_MEMBER_ID)
    assert.equal(heartbeat(h, a.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS)
    const ra = await h.coordinator.joinGroup(joinParams({ memberId: a.memberId }))
    assert.equal(ra.generationId, 2)
    assert.deepEqual(
      ra.members.map((m) => m.memberId),
      [a.memberId],
    )
  })

  test('a member that does not rejoin within the rebalance timeout is dropped from the generation', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h)
    const rejoinA = h.coordinator.joinGroup(joinParams({ memberId: a.memberId }))
    h.time.advance(9000)
    assert.equal(heartbeat(h, b.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS)
    h.time.advance(21_000) // rebalance timeout (30 s) since A's rejoin
    const ra = await rejoinA
    assert.equal(ra.errorCode, ErrorCode.NONE)
    assert.equal(ra.generationId, 2)
    assert.equal(ra.members.length, 1)
    assert.equal(heartbeat(h, b.memberId, 2), ErrorCode.UNKNOWN_MEMBER_ID)
  })

  test('leave: the group rebalances, unknown members are reported, the last leave empties the group', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h)
    const left = h.coordinator.leaveGroup('g1', [
      { memberId: b.memberId, groupInstanceId: null },
      { memberId: 'nobody', groupInstanceId: null },
    ])
    assert.deepEqual(
      left.members.map((m) => m.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID],
    )
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'PreparingRebalance')
    const ra = await h.coordinator.joinGroup(joinParams({ memberId: a.memberId }))
    assert.equal(ra.generationId, 2)
    assert.equal(ra.members.length, 1)
    await sync(h, a.memberId, 2, [[a.memberId, 'x']])
    h.coordinator.leaveGroup('g1', [{ memberId: a.memberId, groupInstanceId: null }])
    const group = h.coordinator.describeGroup('g1')!
    assert.equal(group.state, 'Empty')
    assert.equal(group.generationId, 3)
    assert.deepEqual(h.coordinator.leaveGroup('missing', [{ memberId: 'm', groupInstanceId: null }]).members, [
      { memberId: 'm', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
    ])
  })

  test('a pending JoinGroup of a leaving member is answered with UNKNOWN_MEMBER_ID', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h)
    const rejoinA = h.coordinator.joinGroup(joinParams({ memberId: a.memberId }))
    h.coordinator.leaveGroup('g1', [{ memberId: a.memberId, groupInstanceId: null }])
    assert.equal((await rejoinA).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
    const rb = await h.coordinator.joinGroup(joinParams({ memberId: b.memberId }))
    assert.equal(rb.leader, b.memberId)
  })

  test('static membership: rejoin with the same instance id replaces the member without a rebalance', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const { a, b } = await stableGroupOfTwo(h, { groupInstanceId: 'instance-b' })
    assert.match(b.memberId, /^instance-b-/)
    const rejoined = await h.coordinator.joinGroup(joinParams({ clientId: 'b', groupInstanceId: 'instance-b' }))
    assert.equal(rejoined.errorCode, ErrorCode.NONE)
    assert.notEqual(rejoined.memberId, b.memberId)
    assert.equal(rejoined.generationId, 1)
    assert.equal(rejoined.leader, a.memberId)
    assert.equal(h.coordinator.describeGroup('g1')?.state, 'Stable')
    const s = await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: rejoined.memberId,
      groupInstanceId: 'instance-b',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    })
    assert.equal(s.assignment.toString(), 'for-b', 'the static member keeps its assignment')
    // The old member id is fenced everywhere.
    assert.equal(heartbeat(h, b.memberId, 1, 'instance-b'), ErrorCode.FENCED_INSTANCE_ID)
    const stale = await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: b.memberId,
      groupInstanceId: 'instance-b',
      protocolType: null,
      protocolName: null,
      assignments: [],
    })
    assert.equal(stale.errorCode, ErrorCode.FENCED_INSTANCE_ID)
    const staleJoin = await h.coordinator.joinGroup(joinParams({ memberId: b.memberId, groupInstanceId: 'instance-b' }))
    assert.equal(staleJoin.errorCode, ErrorCode.FENCED_INSTANCE_ID)
    assert.equal(heartbeat(h, rejoined.memberId, 1, 'instance-b'), ErrorCode.NONE)
    // Admin removal by instance id alone.
    const left = h.coordinator.leaveGroup('g1', [{ memberId: '', groupInstanceId: 'instance-b' }])
    assert.equal(left.members[0]!.errorCode, ErrorCode.NONE)
    assert.equal(h.coordinator.describeGroup('g1')?.members.length, 1)
  })

  test('static leader rejoining a stable group: skipAssignment on v9, otherwise it is told the old leader id', async () => {
    const h = await startCoordinator()
    const first = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'i-1' }))
    await sync(h, first.memberId, 1, [[first.memberId, 'mine']])
    const v9 = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'i-1', supportSkippingAssignment: true }))
    assert.equal(v9.skipAssignment, true)
    assert.equal(v9.leader, v9.memberId)
    assert.equal(v9.members.length, 1)
    const old = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'i-1' }))
    assert.equal(old.skipAssignment, false)
    assert.equal(old.leader, v9.memberId)
    assert.notEqual(old.leader, old.memberId)
    assert.deepEqual(old.members, [])
    assert.equal(old.generationId, 1)
  })

  test('a static member rejoining with other protocols triggers a rebalance', async () => {
    const h = await startCoordinator()
    const first = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'i-1' }))
    await sync(h, first.memberId, 1, [[first.memberId, 'mine']])
    const changed = await h.coordinator.joinGroup(
      joinParams({
        groupInstanceId: 'i-1',
        protocols: [
          { name: 'cooperative-sticky', metadata: Buffer.from('m') },
          { name: 'range', metadata: Buffer.from('m') },
        ],
      }),
    )
    assert.equal(changed.generationId, 2)
    assert.equal(changed.protocolName, 'cooperative-sticky')
  })

  test('ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID', async () => {
    const h = await startCoordinator()
    const { join } = await joinAndSync(h, 'g1')
    assert.equal(heartbeat(h, join.memberId, 7), ErrorCode.ILLEGAL_GENERATION)
    assert.equal(heartbeat(h, 'stranger', 1), ErrorCode.UNKNOWN_MEMBER_ID)
    assert.equal((await sync(h, join.memberId, 0)).errorCode, ErrorCode.ILLEGAL_GENERATION)
    assert.equal((await sync(h, 'stranger', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
    assert.equal((await sync(h, 'x', 1, [], 'no-such-group')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
    const j = await h.coordinator.joinGroup(joinParams({ groupId: 'no-such-group', memberId: 'someone' }))
    assert.equal(j.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
    assert.equal((await h.coordinator.joinGroup(joinParams({ groupId: '' }))).errorCode, ErrorCode.INVALID_GROUP_ID)
    assert.equal(
      (await h.coordinator.joinGroup(joinParams({ groupId: 'g3', sessionTimeoutMs: 10 }))).errorCode,
      ErrorCode.INVALID_SESSION_TIMEOUT,
    )
    const wrongName = await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: join.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    })
    assert.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  })

  test('inconsistent protocols are rejected; the protocol all members support wins the vote', async () => {
    const h = await startCoordinator({ initialRebalanceDelayMs: 100 })
    const m = Buffer.from('m')
    const joinA = h.coordinator.joinGroup(
      joinParams({
        protocols: [
          { name: 'range', metadata: m },
          { name: 'cooperative-sticky', metadata: m },
        ],
      }),
    )
    const other = await h.coordinator.joinGroup(joinParams({ protocols: [{ name: 'roundrobin', metadata: m }] }))
    assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    const wrongType = await h.coordinator.joinGroup(joinParams({ protocolType: 'connect' }))
    assert.equal(wrongType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    const joinB = h.coordinator.joinGroup(
      joinParams({
        protocols: [
          { name: 'cooperative-sticky', metadata: m },
          { name: 'range', metadata: m },
        ],
      }),
    )
    const joinC = h.coordinator.joinGroup(joinParams({ protocols: [{ name: 'cooperative-sticky', metadata: m }] }))
    h.time.advance(200)
    const [a] = await Promise.all([joinA, joinB, joinC])
    assert.equal(a.protocolName, 'cooperative-sticky')
    assert.equal(
      (await h.coordinator.joinGroup(joinParams({ groupId: 'fresh', protocols: [] }))).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    )
  })

  test('subscription and assignment bytes pass through untouched, whatever they contain', async () => {
    const h = await startCoordinator()
    const weird = Buffer.from([0xff, 0x00, 0x13, 0x37, 0x00])
    const join = await h.coordinator.joinGroup(
      joinParams({ protocolType: 'streams-like', protocols: [{ name: 'custom', metadata: weird }] }),
    )
    assert.deepEqual(join.members[0]!.metadata, weird)
    const assignment = Buffer.from([1, 2, 3, 0, 255])
    const s = await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: join.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: join.memberId, assignment }],
    })
    assert.deepEqual(s.assignment, assignment)
  })

  test('before load answers COORDINATOR_LOAD_IN_PROGRESS; close answers waiters COORDINATOR_NOT_AVAILABLE', async () => {
    const unloaded = new GroupCoordinator({ store: new InMemoryKeyedLog() })
    assert.equal((await unloaded.joinGroup(joinParams())).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    await unloaded.close()
    const h = await startCoordinator({ initialRebalanceDelayMs: 3000 })
    const waiting = h.coordinator.joinGroup(joinParams())
    await h.coordinator.close()
    assert.equal((await waiting).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    assert.equal(h.time.pendingCount, 0, 'close leaves no timers behind')
    assert.equal((await h.coordinator.joinGroup(joinParams())).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE)
  })
})
