import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { OffsetCommitParams } from '../../../src/broker/group/group-coordinator.ts'
import { decodeKey, encodeOffsetKey } from '../../../src/broker/group/state-store.ts'
import { InMemoryKeyedLog } from '../../../src/common/keyed-log.ts'
import { ManualTime } from '../../../src/common/time.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { joinAndSync, joinParams, startCoordinator, subscription } from './helpers.ts'

const DAY = 24 * 60 * 60 * 1000

function commit(
  topic: string,
  partitions: [number, bigint][],
  over: Partial<OffsetCommitParams> = {},
): OffsetCommitParams {
  return {
    groupId: 'g1',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: partitions.map(([partitionIndex, committedOffset]) => ({
          partitionIndex,
          committedOffset,
          committedLeaderEpoch: 3,
          committedMetadata: `meta-${partitionIndex}`,
        })),
      },
    ],
    ...over,
  }
}

function errors(results: { partitions: { errorCode: number }[] }[]): number[] {
  return results.flatMap((t) => t.partitions.map((p) => p.errorCode))
}

describe('committed offsets', () => {
  test('simple commits create the group; fetch returns them, unknown partitions -1, null topics = all', async () => {
    const h = await startCoordinator()
    const r = await h.coordinator.commitOffsets(
      commit('orders', [
        [0, 10n],
        [1, 20n],
      ]),
    )
    assert.deepEqual(errors(r), [ErrorCode.NONE, ErrorCode.NONE])
    await h.coordinator.commitOffsets(commit('audit', [[0, 5n]]))
    const fetched = h.coordinator.fetchOffsets('g1', [{ name: 'orders', partitionIndexes: [1, 7] }])
    assert.deepEqual(fetched, {
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 1, committedOffset: 20n, committedLeaderEpoch: 3, metadata: 'meta-1', errorCode: 0 },
            { partitionIndex: 7, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
      ],
    })
    const all = h.coordinator.fetchOffsets('g1', null)
    assert.deepEqual(
      all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)]),
      [
        ['audit', [5n]],
        ['orders', [10n, 20n]],
      ],
    )
    assert.deepEqual(h.coordinator.fetchOffsets('nobody', null).topics, [])
    assert.equal(
      h.coordinator.fetchOffsets('nobody', [{ name: 'orders', partitionIndexes: [0] }]).topics[0]!.partitions[0]!
        .committedOffset,
      -1n,
    )
    assert.deepEqual(h.coordinator.listGroups(), [
      { groupId: 'g1', protocolType: '', state: 'Empty', groupType: 'classic' },
    ])
    assert.equal(h.coordinator.committedOffsets('g1').length, 3)
  })

  test('member commits are checked against generation, member id and rebalance state', async () => {
    const h = await startCoordinator()
    const { join } = await joinAndSync(h, 'g1')
    const member = { generationId: 1, memberId: join.memberId }
    assert.deepEqual(errors(await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], member))), [ErrorCode.NONE])
    assert.deepEqual(
      errors(await h.coordinator.commitOffsets(commit('orders', [[0, 2n]], { ...member, generationId: 0 }))),
      [ErrorCode.ILLEGAL_GENERATION],
    )
    assert.deepEqual(
      errors(await h.coordinator.commitOffsets(commit('orders', [[0, 2n]], { ...member, memberId: 'x' }))),
      [ErrorCode.UNKNOWN_MEMBER_ID],
    )
    // An admin commit while the group has members is refused.
    assert.deepEqual(errors(await h.coordinator.commitOffsets(commit('orders', [[0, 2n]]))), [
      ErrorCode.UNKNOWN_MEMBER_ID,
    ])
    // During CompletingRebalance the member's commit is answered REBALANCE_IN_PROGRESS.
    const rejoin = await h.coordinator.joinGroup(
      joinParams({ memberId: join.memberId, protocols: [{ name: 'range', metadata: Buffer.from('new') }] }),
    )
    assert.equal(rejoin.generationId, 2)
    assert.deepEqual(
      errors(await h.coordinator.commitOffsets(commit('orders', [[0, 3n]], { ...member, generationId: 2 }))),
      [ErrorCode.REBALANCE_IN_PROGRESS],
    )
    assert.equal(h.coordinator.fetchOffsets('g1', null).topics[0]!.partitions[0]!.committedOffset, 1n)
    // A generation commit to a group that does not exist.
    assert.deepEqual(
      errors(await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], { groupId: 'nope', generationId: 4 }))),
      [ErrorCode.ILLEGAL_GENERATION],
    )
    assert.deepEqual(
      errors(
        await h.coordinator.commitOffsets(
          commit('orders', [[0, 1n]], { groupId: 'nope', generationId: 4, groupIdNotFoundIfMissing: true }),
        ),
      ),
      [ErrorCode.GROUP_ID_NOT_FOUND],
    )
  })

  test('unknown topics, oversized metadata and store failures are reported per partition', async () => {
    const h = await startCoordinator({ topicExists: (t) => t !== 'ghost', maxOffsetMetadataBytes: 8 })
    const r = await h.coordinator.commitOffsets({
      ...commit('orders', [[0, 1n]]),
      topics: [
        {
          name: 'ghost',
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }],
        },
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              committedMetadata: 'way too long metadata',
            },
            { partitionIndex: 1, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    })
    assert.deepEqual(errors(r), [
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.NONE,
    ])
    assert.equal(
      h.coordinator.fetchOffsets('g1', [{ name: 'orders', partitionIndexes: [1] }]).topics[0]!.partitions[0]!.metadata,
      '',
    )
    h.store.failAppends = new Error('disk full')
    assert.deepEqual(errors(await h.coordinator.commitOffsets(commit('orders', [[1, 9n]]))), [
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ])
    assert.equal(
      h.coordinator.fetchOffsets('g1', [{ name: 'orders', partitionIndexes: [1] }]).topics[0]!.partitions[0]!
        .committedOffset,
      1n,
    )
  })

  test('offsets and group metadata survive a coordinator restart on the same store', async () => {
    const time = new ManualTime()
    const store = new InMemoryKeyedLog()
    const h = await startCoordinator({ time, store })
    const join = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'pod-0' }))
    await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: join.memberId,
      groupInstanceId: 'pod-0',
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: join.memberId, assignment: Buffer.from('p0') }],
    })
    await h.coordinator.commitOffsets(
      commit('orders', [[0, 42n]], { generationId: 1, memberId: join.memberId, groupInstanceId: 'pod-0' }),
    )
    await h.coordinator.commitOffsets(commit('orders', [[0, 7n]], { groupId: 'simple' }))
    await h.coordinator.close()

    const again = await startCoordinator({ time, store })
    const group = again.coordinator.describeGroup('g1')!
    assert.equal(group.state, 'Stable')
    assert.equal(group.generationId, 1)
    assert.equal(group.protocol, 'range')
    assert.equal(group.leader, join.memberId)
    assert.deepEqual(
      again.coordinator.committedOffsets('g1').map((o) => [o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata]),
      [['orders', 0, 42n, 3, 'meta-0']],
    )
    assert.equal(again.coordinator.committedOffsets('simple')[0]!.offset, 7n)
    // The restarted static member comes back under its instance id: no rebalance, same assignment.
    const back = await again.coordinator.joinGroup(joinParams({ groupInstanceId: 'pod-0' }))
    assert.equal(back.generationId, 1)
    const s = await again.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: back.memberId,
      groupInstanceId: 'pod-0',
      protocolType: null,
      protocolName: null,
      assignments: [],
    })
    assert.equal(s.assignment.toString(), 'p0')
    // A dynamic member that never returns after a restart expires with its session.
    await again.coordinator.close()
    const third = await startCoordinator({ time, store })
    assert.equal(third.coordinator.describeGroup('g1')?.state, 'Stable')
    time.advance(10_001)
    assert.equal(third.coordinator.describeGroup('g1')?.state, 'Empty')
    await third.coordinator.close()
  })

  test('records use the documented key layout; unreadable records are skipped on load', async () => {
    const key = encodeOffsetKey('grp', 'topic', 5)
    assert.equal(key.readInt16BE(0), 0)
    assert.deepEqual(decodeKey(key), { kind: 'offset', group: 'grp', topic: 'topic', partition: 5 })
    const store = new InMemoryKeyedLog()
    await store.append([
      { key: Buffer.from([0, 9, 1]), value: Buffer.from('junk') },
      {
        key: encodeOffsetKey('g1', 'orders', 0),
        value: Buffer.from(JSON.stringify({ v: 1, offset: '5', commitTimestamp: 1 })),
      },
    ])
    const h = await startCoordinator({ store })
    assert.equal(h.coordinator.committedOffsets('g1')[0]!.offset, 5n)
  })

  test('offsets of an Empty group expire after offsets.retention.ms; the group goes with them', async () => {
    const h = await startCoordinator({ offsetsRetentionMs: 7 * DAY, offsetsRetentionCheckIntervalMs: 60_000 })
    await h.coordinator.commitOffsets(commit('orders', [[0, 1n]]))
    h.time.advance(6 * DAY)
    await h.coordinator.commitOffsets(commit('orders', [[1, 2n]]))
    h.time.advance(1 * DAY + 60_000) // the periodic sweep runs on its own
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      h.coordinator.committedOffsets('g1').map((o) => o.partition),
      [1],
      'only the offset older than the retention expired',
    )
    h.time.advance(6 * DAY)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(h.coordinator.committedOffsets('g1'), [])
    assert.equal(h.coordinator.describeGroup('g1'), undefined)
    assert.deepEqual(h.store.compacted(), [], 'tombstones for every offset and the group')
  })

  test('a stable consumer group keeps offsets of subscribed topics and loses the others', async () => {
    const h = await startCoordinator({ offsetsRetentionMs: DAY })
    const join = await h.coordinator.joinGroup(joinParams({ sessionTimeoutMs: 30 * 60_000 }))
    const sync = { groupId: 'g1', generationId: 1, memberId: join.memberId, groupInstanceId: null }
    await h.coordinator.syncGroup({ ...sync, protocolType: null, protocolName: null, assignments: [] })
    const member = { generationId: 1, memberId: join.memberId }
    await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], member))
    await h.coordinator.commitOffsets(commit('old-topic', [[0, 1n]], member))
    for (let i = 0; i < 80; i++) {
      h.time.advance(20 * 60_000)
      assert.equal(h.coordinator.heartbeat(sync), ErrorCode.NONE)
    }
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      h.coordinator.committedOffsets('g1').map((o) => o.topic),
      ['orders'],
    )
  })

  test('delete groups: only empty groups; deletion survives a restart', async () => {
    const h = await startCoordinator()
    await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], { groupId: 'idle' }))
    await joinAndSync(h, 'busy')
    const results = await h.coordinator.deleteGroups(['idle', 'busy', 'missing', ''])
    assert.deepEqual(results, [
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: '', errorCode: ErrorCode.INVALID_GROUP_ID },
    ])
    assert.equal(h.coordinator.describeGroups(['idle'])[0]!.state, 'Dead')
    await h.coordinator.close()
    const again = await startCoordinator({ store: h.store, time: h.time })
    assert.equal(again.coordinator.describeGroup('idle'), undefined)
    assert.deepEqual(again.coordinator.committedOffsets('idle'), [])
    assert.equal(again.coordinator.describeGroup('busy')?.state, 'Stable')
  })

  test('offset delete refuses topics a live consumer member subscribes to', async () => {
    const h = await startCoordinator()
    const join = await h.coordinator.joinGroup(
      joinParams({ protocols: [{ name: 'range', metadata: subscription(['orders', 'payments'], Buffer.from('ud')) }] }),
    )
    await h.coordinator.syncGroup({
      groupId: 'g1',
      generationId: 1,
      memberId: join.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    })
    const member = { generationId: 1, memberId: join.memberId }
    await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], member))
    await h.coordinator.commitOffsets(commit('legacy', [[0, 1n]], member))
    const r = await h.coordinator.deleteOffsets('g1', [
      { name: 'orders', partitions: [0] },
      { name: 'legacy', partitions: [0] },
    ])
    assert.equal(r.errorCode, ErrorCode.NONE)
    assert.deepEqual(
      r.topics.map((t) => [t.name, t.partitions[0]!.errorCode]),
      [
        ['orders', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
        ['legacy', ErrorCode.NONE],
      ],
    )
    assert.deepEqual(
      h.coordinator.committedOffsets('g1').map((o) => o.topic),
      ['orders'],
    )
    assert.equal((await h.coordinator.deleteOffsets('missing', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
    // Once the group is empty nothing is subscribed any more.
    h.coordinator.leaveGroup('g1', [{ memberId: join.memberId, groupInstanceId: null }])
    const r2 = await h.coordinator.deleteOffsets('g1', [{ name: 'orders', partitions: [0] }])
    assert.equal(r2.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
    assert.deepEqual(h.coordinator.committedOffsets('g1'), [])
    // A non-consumer group with members cannot have offsets deleted at all.
    const other = await h.coordinator.joinGroup(joinParams({ groupId: 'connect', protocolType: 'connect' }))
    assert.equal(other.errorCode, 0)
    assert.equal((await h.coordinator.deleteOffsets('connect', [])).errorCode, ErrorCode.NON_EMPTY_GROUP)
  })

  test('list and describe groups with state filters', async () => {
    const h = await startCoordinator()
    await h.coordinator.commitOffsets(commit('orders', [[0, 1n]], { groupId: 'idle' }))
    await joinAndSync(h, 'busy', Buffer.from('assigned'))
    assert.deepEqual(
      h.coordinator.listGroups({ states: ['stable'] }).map((g) => g.groupId),
      ['busy'],
    )
    assert.deepEqual(h.coordinator.listGroups({ types: ['consumer'] }), [], 'only classic groups exist')
    assert.equal(h.coordinator.listGroups({ types: ['Classic'] }).length, 2)
    const [busy, unknown] = h.coordinator.describeGroups(['busy', 'unknown'])
    assert.equal(busy!.state, 'Stable')
    assert.equal(busy!.protocol, 'range')
    assert.equal(busy!.members[0]!.memberAssignment.toString(), 'assigned')
    assert.equal(busy!.members[0]!.clientHost, '/127.0.0.1')
    assert.deepEqual(unknown, {
      errorCode: 0,
      groupId: 'unknown',
      state: 'Dead',
      protocolType: '',
      protocol: '',
      members: [],
    })
  })
})
