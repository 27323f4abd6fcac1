import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { GroupCoordinator } from '../../../src/broker/group/group-coordinator.ts'
import type { HandlerSpec, RequestContext } from '../../../src/broker/handler.ts'
import { deleteGroupsHandler } from '../../../src/broker/handlers/delete-groups.ts'
import { describeGroupsHandler } from '../../../src/broker/handlers/describe-groups.ts'
import { findCoordinatorHandler } from '../../../src/broker/handlers/find-coordinator.ts'
import { heartbeatHandler } from '../../../src/broker/handlers/heartbeat.ts'
import { joinGroupHandler } from '../../../src/broker/handlers/join-group.ts'
import { leaveGroupHandler } from '../../../src/broker/handlers/leave-group.ts'
import { listGroupsHandler } from '../../../src/broker/handlers/list-groups.ts'
import { offsetCommitHandler } from '../../../src/broker/handlers/offset-commit.ts'
import { offsetDeleteHandler } from '../../../src/broker/handlers/offset-delete.ts'
import { offsetFetchHandler } from '../../../src/broker/handlers/offset-fetch.ts'
import { syncGroupHandler } from '../../../src/broker/handlers/sync-group.ts'
import type { BrokerServices } from '../../../src/broker/services.ts'
import { createLogger } from '../../../src/common/logger.ts'
import * as delGroupsReq from '../../../src/protocol/generated/delete-groups-request.ts'
import * as delGroupsRes from '../../../src/protocol/generated/delete-groups-response.ts'
import * as descReq from '../../../src/protocol/generated/describe-groups-request.ts'
import * as descRes from '../../../src/protocol/generated/describe-groups-response.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import * as findReq from '../../../src/protocol/generated/find-coordinator-request.ts'
import * as findRes from '../../../src/protocol/generated/find-coordinator-response.ts'
import * as hbReq from '../../../src/protocol/generated/heartbeat-request.ts'
import * as hbRes from '../../../src/protocol/generated/heartbeat-response.ts'
import * as joinReq from '../../../src/protocol/generated/join-group-request.ts'
import * as joinRes from '../../../src/protocol/generated/join-group-response.ts'
import * as leaveReq from '../../../src/protocol/generated/leave-group-request.ts'
import * as leaveRes from '../../../src/protocol/generated/leave-group-response.ts'
import * as listReq from '../../../src/protocol/generated/list-groups-request.ts'
import * as listRes from '../../../src/protocol/generated/list-groups-response.ts'
import * as commitReq from '../../../src/protocol/generated/offset-commit-request.ts'
import * as commitRes from '../../../src/protocol/generated/offset-commit-response.ts'
import * as odelReq from '../../../src/protocol/generated/offset-delete-request.ts'
import * as odelRes from '../../../src/protocol/generated/offset-delete-response.ts'
import * as fetchReq from '../../../src/protocol/generated/offset-fetch-request.ts'
import * as fetchRes from '../../../src/protocol/generated/offset-fetch-response.ts'
import * as syncReq from '../../../src/protocol/generated/sync-group-request.ts'
import * as syncRes from '../../../src/protocol/generated/sync-group-response.ts'
import { Reader, Writer } from '../../../src/protocol/primitives.ts'
import { type Harness, startCoordinator, subscription } from './helpers.ts'

interface Codec<ReqIn, Req, ResIn, Res> {
  encReq(w: Writer, v: number, x: ReqIn): void
  decReq(r: Reader, v: number): Req
  encRes(w: Writer, v: number, x: ResIn): void
  decRes(r: Reader, v: number): Res
}

const codecs = {
  find: {
    encReq: findReq.encodeFindCoordinatorRequest,
    decReq: findReq.decodeFindCoordinatorRequest,
    encRes: findRes.encodeFindCoordinatorResponse,
    decRes: findRes.decodeFindCoordinatorResponse,
  },
  join: {
    encReq: joinReq.encodeJoinGroupRequest,
    decReq: joinReq.decodeJoinGroupRequest,
    encRes: joinRes.encodeJoinGroupResponse,
    decRes: joinRes.decodeJoinGroupResponse,
  },
  sync: {
    encReq: syncReq.encodeSyncGroupRequest,
    decReq: syncReq.decodeSyncGroupRequest,
    encRes: syncRes.encodeSyncGroupResponse,
    decRes: syncRes.decodeSyncGroupResponse,
  },
  hb: {
    encReq: hbReq.encodeHeartbeatRequest,
    decReq: hbReq.decodeHeartbeatRequest,
    encRes: hbRes.encodeHeartbeatResponse,
    decRes: hbRes.decodeHeartbeatResponse,
  },
  leave: {
    encReq: leaveReq.encodeLeaveGroupRequest,
    decReq: leaveReq.decodeLeaveGroupRequest,
    encRes: leaveRes.encodeLeaveGroupResponse,
    decRes: leaveRes.decodeLeaveGroupResponse,
  },
  commit: {
    encReq: commitReq.encodeOffsetCommitRequest,
    decReq: commitReq.decodeOffsetCommitRequest,
    encRes: commitRes.encodeOffsetCommitResponse,
    decRes: commitRes.decodeOffsetCommitResponse,
  },
  fetch: {
    encReq: fetchReq.encodeOffsetFetchRequest,
    decReq: fetchReq.decodeOffsetFetchRequest,
    encRes: fetchRes.encodeOffsetFetchResponse,
    decRes: fetchRes.decodeOffsetFetchResponse,
  },
  list: {
    encReq: listReq.encodeListGroupsRequest,
    decReq: listReq.decodeListGroupsRequest,
    encRes: listRes.encodeListGroupsResponse,
    decRes: listRes.decodeListGroupsResponse,
  },
  desc: {
    encReq: descReq.encodeDescribeGroupsRequest,
    decReq: descReq.decodeDescribeGroupsRequest,
    encRes: descRes.encodeDescribeGroupsResponse,
    decRes: descRes.decodeDescribeGroupsResponse,
  },
  delGroups: {
    encReq: delGroupsReq.encodeDeleteGroupsRequest,
    decReq: delGroupsReq.decodeDeleteGroupsRequest,
    encRes: delGroupsRes.encodeDeleteGroupsResponse,
    decRes: delGroupsRes.decodeDeleteGroupsResponse,
  },
  odel: {
    encReq: odelReq.encodeOffsetDeleteRequest,
    decReq: odelReq.decodeOffsetDeleteRequest,
    encRes: odelRes.encodeOffsetDeleteResponse,
    decRes: odelRes.decodeOffsetDeleteResponse,
  },
}

const TOPICS: Record<string, number> = { orders: 3, audit: 1 }

function fakeContext(groups: GroupCoordinator, apiKey: number, apiVersion: number): RequestContext {
  const services = {
    config: { nodeId: 0, advertisedHost: 'broker.local', advertisedPort: 19092 },
    clusterId: 'test-cluster',
    topics: {
      get: (name: string) =>
        TOPICS[name] === undefined
          ? undefined
          : { name, id: 'id', partitions: TOPICS[name], configs: {}, internal: false },
    },
    groups,
    logger: createLogger('silent'),
    now: () => Date.now(),
  } as unknown as BrokerServices
  return {
    apiKey,
    apiVersion,
    correlationId: 1,
    clientId: 'test-client',
    clientHost: '127.0.0.1',
    principal: 'User:ANONYMOUS',
    connectionId: 'conn-1',
    services,
    signal: new AbortController().signal,
    closeConnection(reason) {
      throw new Error(`a group API asked to close the connection: ${reason}`)
    },
  }
}

/** Encodes the request, decodes it as the server would, runs the handler, and round-trips the response bytes. */
async function call<ReqIn, Req, ResIn, Res>(
  h: Harness,
  spec: HandlerSpec<Req, ResIn>,
  codec: Codec<ReqIn, Req, ResIn, Res>,
  version: number,
  input: ReqIn,
): Promise<Res> {
  assert.ok(version >= spec.minVersion && version <= spec.maxVersion, `version ${version} is served`)
  const w = new Writer()
  codec.encReq(w, version, input)
  const req = codec.decReq(new Reader(w.toBuffer()), version)
  const res = await spec.handle(req, fakeContext(h.coordinator, spec.apiKey, version))
  assert.ok(res !== undefined)
  const out = new Writer()
  codec.encRes(out, version, res)
  const r = new Reader(out.toBuffer())
  const decoded = codec.decRes(r, version)
  assert.equal(r.remaining, 0, 'the response decodes completely')
  return decoded
}

const meta = subscription(['orders'])
const protocols = [{ name: 'range', metadata: meta }]

/** Join + sync one member of `groupId` at the given JoinGroup/SyncGroup versions. */
async function joinAndSyncAt(h: Harness, groupId: string, joinVersion: number, syncVersion: number) {
  let memberId = ''
  let join = await call(h, joinGroupHandler, codecs.join, joinVersion, {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    memberId,
    protocolType: 'consumer',
    protocols,
  })
  if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    memberId = join.memberId
    join = await call(h, joinGroupHandler, codecs.join, joinVersion, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 20_000,
      memberId,
      protocolType: 'consumer',
      protocols,
    })
  }
  assert.equal(join.errorCode, ErrorCode.NONE)
  const sync = await call(h, syncGroupHandler, codecs.sync, syncVersion, {
    groupId,
    generationId: join.generationId,
    memberId: join.memberId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: join.memberId, assignment: Buffer.from('assignment') }],
  })
  return { join, sync }
}

describe('group API handlers over the wire codecs', () => {
  test('FindCoordinator answers node 0 for groups and transactions at v0–v6', async () => {
    const h = await startCoordinator()
    const v0 = await call(h, findCoordinatorHandler, codecs.find, 0, { key: 'g1' })
    assert.deepEqual([v0.errorCode, v0.nodeId, v0.host, v0.port], [0, 0, 'broker.local', 19092])
    const v2 = await call(h, findCoordinatorHandler, codecs.find, 2, { key: 'txn-1', keyType: 1 })
    assert.deepEqual([v2.errorCode, v2.nodeId, v2.port], [0, 0, 19092])
    for (const v of [4, 6]) {
      const r = await call(h, findCoordinatorHandler, codecs.find, v, { keyType: 0, coordinatorKeys: ['a', 'b'] })
      assert.deepEqual(
        r.coordinators.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode]),
        [
          ['a', 0, 'broker.local', 19092, 0],
          ['b', 0, 'broker.local', 19092, 0],
        ],
      )
    }
    const bad = await call(h, findCoordinatorHandler, codecs.find, 3, { key: 'x', keyType: 7 })
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST)
    await h.coordinator.close()
    const closed = await call(h, findCoordinatorHandler, codecs.find, 1, { key: 'g1', keyType: 0 })
    assert.equal(closed.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE)
  })

  for (const [joinVersion, syncVersion] of [
    [0, 0],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 5],
    [9, 5],
  ]) {
    test(`JoinGroup v${joinVersion} + SyncGroup v${syncVersion} + Heartbeat + LeaveGroup`, async () => {
      const h = await startCoordinator()
      const { join, sync } = await joinAndSyncAt(h, 'g1', joinVersion!, syncVersion!)
      assert.equal(join.generationId, 1)
      assert.equal(join.leader, join.memberId)
      assert.equal(join.protocolName, 'range')
      assert.equal(join.protocolType, joinVersion! >= 7 ? 'consumer' : null)
      assert.deepEqual(join.members[0]!.metadata, meta)
      assert.equal(sync.errorCode, ErrorCode.NONE)
      assert.equal(sync.assignment.toString(), 'assignment')
      assert.equal(sync.protocolName, syncVersion! >= 5 ? 'range' : null)
      const hbVersion = Math.min(joinVersion!, 4)
      const hb = await call(h, heartbeatHandler, codecs.hb, hbVersion, {
        groupId: 'g1',
        generationId: 1,
        memberId: join.memberId,
      })
      assert.equal(hb.errorCode, ErrorCode.NONE)
      const staleHb = await call(h, heartbeatHandler, codecs.hb, hbVersion, {
        groupId: 'g1',
        generationId: 0,
        memberId: join.memberId,
      })
      assert.equal(staleHb.errorCode, ErrorCode.ILLEGAL_GENERATION)
      const leaveVersion = Math.min(joinVersion!, 5)
      if (leaveVersion >= 3) {
        const left = await call(h, leaveGroupHandler, codecs.leave, leaveVersion, {
          groupId: 'g1',
          members: [{ memberId: join.memberId }, { memberId: 'ghost' }],
        })
        assert.equal(left.errorCode, ErrorCode.NONE)
        assert.deepEqual(
          left.members.map((m) => [m.memberId, m.errorCode]),
          [
            [join.memberId, ErrorCode.NONE],
            ['ghost', ErrorCode.UNKNOWN_MEMBER_ID],
          ],
        )
      } else {
        const ghost = await call(h, leaveGroupHandler, codecs.leave, leaveVersion, { groupId: 'g1', memberId: 'ghost' })
        assert.equal(ghost.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
        const left = await call(h, leaveGroupHandler, codecs.leave, leaveVersion, {
          groupId: 'g1',
          memberId: join.memberId,
        })
        assert.equal(left.errorCode, ErrorCode.NONE)
      }
      assert.equal(h.coordinator.describeGroup('g1')?.state, 'Empty')
    })
  }

  test('JoinGroup v4+ asks for a member id; error responses encode at old and new versions', async () => {
    const h = await startCoordinator()
    for (const v of [4, 5, 7]) {
      const r = await call(h, joinGroupHandler, codecs.join, v, {
        groupId: 'g1',
        sessionTimeoutMs: 10_000,
        memberId: '',
        protocolType: 'consumer',
        protocols,
      })
      assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
      assert.match(r.memberId, /^test-client-/)
      assert.equal(r.protocolName, v >= 7 ? null : '')
    }
    const invalid = await call(h, joinGroupHandler, codecs.join, 2, {
      groupId: '',
      sessionTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols,
    })
    assert.equal(invalid.errorCode, ErrorCode.INVALID_GROUP_ID)
  })

  test('OffsetCommit v2/v5/v8/v9 and OffsetFetch v1/v5/v7/v8/v9', async () => {
    const h = await startCoordinator()
    for (const v of [2, 5, 8, 9]) {
      const r = await call(h, offsetCommitHandler, codecs.commit, v, {
        groupId: `simple-${v}`,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        retentionTimeMs: -1n,
        topics: [
          {
            name: 'orders',
            partitions: [
              { partitionIndex: 0, committedOffset: 100n, committedLeaderEpoch: 4, committedMetadata: 'm' },
              { partitionIndex: 9, committedOffset: 1n },
            ],
          },
          { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
        ],
      })
      assert.deepEqual(
        r.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
        [
          ['orders', [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
          ['nope', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
        ],
      )
      assert.equal(h.coordinator.committedOffsets(`simple-${v}`)[0]!.leaderEpoch, v >= 6 ? 4 : -1)
    }
    const missing = await call(h, offsetCommitHandler, codecs.commit, 9, {
      groupId: 'missing',
      generationIdOrMemberEpoch: 3,
      memberId: 'm',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    })
    assert.equal(missing.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)

    const v1 = await call(h, offsetFetchHandler, codecs.fetch, 1, {
      groupId: 'simple-5',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
    })
    assert.deepEqual(
      v1.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]),
      [
        [0, 100n, 'm'],
        [1, -1n, ''],
      ],
    )
    for (const v of [5, 7]) {
      const all = await call(h, offsetFetchHandler, codecs.fetch, v, {
        groupId: 'simple-8',
        topics: null,
        requireStable: true,
      })
      assert.equal(all.errorCode, ErrorCode.NONE)
      assert.deepEqual(
        all.topics.map((t) => [
          t.name,
          t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch]),
        ]),
        [['orders', [[0, 100n, v >= 5 ? 4 : -1]]]],
      )
    }
    for (const v of [8, 9]) {
      const batched = await call(h, offsetFetchHandler, codecs.fetch, v, {
        groups: [
          { groupId: 'simple-8', topics: null },
          { groupId: 'simple-9', topics: [{ name: 'orders', partitionIndexes: [0, 2] }] },
          { groupId: '', topics: null },
        ],
      })
      assert.deepEqual(
        batched.groups.map((g) => [
          g.groupId,
          g.errorCode,
          g.topics.flatMap((t) => t.partitions.map((p) => p.committedOffset)),
        ]),
        [
          ['simple-8', 0, [100n]],
          ['simple-9', 0, [100n, -1n]],
          ['', ErrorCode.INVALID_GROUP_ID, []],
        ],
      )
    }
  })

  test('OffsetFetch v0/v1 put group-level errors on each partition; v2+ at the top', async () => {
    const h = await startCoordinator()
    await h.coordinator.close()
    const v0 = await call(h, offsetFetchHandler, codecs.fetch, 0, {
      groupId: 'g',
      topics: [{ name: 'orders', partitionIndexes: [0] }],
    })
    assert.equal(v0.topics[0]!.partitions[0]!.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    const v3 = await call(h, offsetFetchHandler, codecs.fetch, 3, { groupId: 'g', topics: null })
    assert.equal(v3.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE)
  })

  test('ListGroups v0/v4/v5, DescribeGroups v0/v3/v5, DeleteGroups v0/v2, OffsetDelete v0', async () => {
    const h = await startCoordinator()
    const { join } = await joinAndSyncAt(h, 'busy', 5, 3)
    await h.coordinator.commitOffsets({
      groupId: 'idle',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }],
        },
      ],
    })
    const v0 = await call(h, listGroupsHandler, codecs.list, 0, {})
    assert.deepEqual(
      v0.groups.map((g) => [g.groupId, g.protocolType]),
      [
        ['busy', 'consumer'],
        ['idle', ''],
      ],
    )
    const v4 = await call(h, listGroupsHandler, codecs.list, 4, { statesFilter: ['Empty'] })
    assert.deepEqual(
      v4.groups.map((g) => [g.groupId, g.groupState]),
      [['idle', 'Empty']],
    )
    const v5 = await call(h, listGroupsHandler, codecs.list, 5, { typesFilter: ['classic'] })
    assert.deepEqual(
      v5.groups.map((g) => g.groupType),
      ['classic', 'classic'],
    )

    for (const v of [0, 3, 5]) {
      const d = await call(h, describeGroupsHandler, codecs.desc, v, {
        groups: ['busy', 'unknown'],
        includeAuthorizedOperations: true,
      })
      const [busy, unknown] = d.groups
      assert.equal(busy!.groupState, 'Stable')
      assert.equal(busy!.protocolData, 'range')
      assert.equal(busy!.members[0]!.memberId, join.memberId)
      assert.equal(busy!.members[0]!.clientId, 'test-client')
      assert.equal(busy!.members[0]!.clientHost, '/127.0.0.1')
      assert.deepEqual(busy!.members[0]!.memberMetadata, meta)
      assert.equal(busy!.members[0]!.memberAssignment.toString(), 'assignment')
      assert.equal(busy!.authorizedOperations, v >= 3 ? 328 : -2147483648)
      assert.deepEqual([unknown!.errorCode, unknown!.groupState, unknown!.members.length], [0, 'Dead', 0])
    }

    const od = await call(h, offsetDeleteHandler, codecs.odel, 0, {
      groupId: 'busy',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0 }] },
        { name: 'audit', partitions: [{ partitionIndex: 0 }, { partitionIndex: 5 }] },
      ],
    })
    assert.equal(od.errorCode, ErrorCode.NONE)
    assert.deepEqual(
      od.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
      [
        ['orders', [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
        ['audit', [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
      ],
    )
    const odMissing = await call(h, offsetDeleteHandler, codecs.odel, 0, { groupId: 'missing', topics: [] })
    assert.equal(odMissing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)

    const del0 = await call(h, deleteGroupsHandler, codecs.delGroups, 0, { groupsNames: ['busy', 'missing'] })
    assert.deepEqual(
      del0.results.map((r) => [r.groupId, r.errorCode]),
      [
        ['busy', ErrorCode.NON_EMPTY_GROUP],
        ['missing', ErrorCode.GROUP_ID_NOT_FOUND],
      ],
    )
    const del2 = await call(h, deleteGroupsHandler, codecs.delGroups, 2, { groupsNames: ['idle'] })
    assert.deepEqual(del2.results, [{ groupId: 'idle', errorCode: ErrorCode.NONE }])
    assert.equal(h.coordinator.describeGroup('idle'), undefined)
  })
})
