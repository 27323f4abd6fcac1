/**
 * Every denial path of every API, in every version the broker serves: the refusal must be a response a client can
 * parse (not a closed connection, not a field a client chokes on such as a null record set), carry Kafka's
 * authorization error on each refused entry, and leave out nothing that was asked for. What real clients see of
 * the denials they meet in practice: denials-clients.test.ts (KafkaJS and @platformatic/kafka; kcat in test-interop).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { allHandlers } from '../../../src/broker/handlers/index.ts'
import { AclPermission, AclOperation as Op, PatternType, ResourceType as RT } from '../../../src/broker/security/acl.ts'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode as E } from '../../../src/protocol/generated/error-codes.ts'
import {
  ALICE,
  allow,
  batch,
  type Grant,
  type SecuredBroker,
  startSecuredBroker,
  TOPIC,
} from '../../helpers/secured-broker.ts'

// biome-ignore lint/suspicious/noExplicitAny: decoded responses of many APIs are walked generically
type Any = any

/** Every error code in a decoded response (errorCode / partitionErrorCode fields at any depth). */
function errorCodes(v: Any, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const x of v) errorCodes(x, out)
  else if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'errorCode' || k === 'partitionErrorCode') && typeof x === 'number') out.push(x)
      else errorCodes(x, out)
    }
  }
  return out
}

interface Case {
  name: string
  apiKey: number
  /** ACLs granted first, so the request reaches the denial path under test. */
  grants?: Grant[]
  body: (version: number) => Record<string, unknown>
  /** The authorization error every refused entry carries. */
  expect: number
  /** How many refused entries the request names (default 1). */
  entries?: number
  /** Other codes allowed next to the refusals (e.g. OPERATION_NOT_ATTEMPTED for the rest of a batch). */
  others?: number[]
  /** Extra checks of the decoded response. */
  check?: (res: Any, version: number) => void
  versions?: (v: number) => boolean
}

describe('authorization denials: parseable responses in every served version', () => {
  let sb: SecuredBroker
  let admin: KafkaWireClient
  let alice: KafkaWireClient
  let topicId = ''
  const bootstrap = () => sb.bootstrap
  const grant = (creations: Grant[]) => sb.grant(creations)
  const revokeAll = () => sb.revokeAll()

  before(async () => {
    sb = await startSecuredBroker()
    admin = sb.admin
    alice = await KafkaWireClient.connect(bootstrap(), { sasl: ALICE })
    const md = await admin.call(ApiKeys.Metadata, 12, { topics: [{ name: TOPIC, topicId: undefined }] })
    topicId = md.topics[0].topicId
  })
  after(async () => {
    alice?.close()
    await sb?.close()
  })

  const fetchBody = (replicaId: number) => (v: number) => ({
    replicaId,
    replicaState: { replicaId, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        topicId: v >= 13 ? topicId : undefined,
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  })
  const emptyRecords = (res: Any) => {
    for (const t of res.responses)
      for (const p of t.partitions) {
        assert.ok(Buffer.isBuffer(p.records), 'a refused partition carries a record set, not null')
        assert.equal(p.records.length, 0)
      }
  }
  const offsetCommitBody = () => ({
    groupId: 'g',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: TOPIC,
        partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }],
      },
    ],
  })
  const offsetFetchBody = () => ({
    groupId: 'g',
    topics: [{ name: TOPIC, partitionIndexes: [0] }],
    groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0] }] }],
    requireStable: false,
  })
  const txnOffsetCommitBody = () => ({
    transactionalId: 'tx',
    groupId: 'g',
    producerId: 1n,
    producerEpoch: 0,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: '' }] }],
  })
  const configResource = (resourceType: number, resourceName: string) => ({
    resources: [
      {
        resourceType,
        resourceName,
        configurationKeys: null,
        configs: [{ name: 'retention.ms', value: '60000', configOperation: 0 }],
      },
    ],
    includeSynonyms: false,
    includeDocumentation: false,
    validateOnly: false,
  })
  const aclFilter = {
    resourceTypeFilter: RT.ANY,
    resourceNameFilter: null,
    patternTypeFilter: PatternType.ANY,
    principalFilter: null,
    hostFilter: null,
    operation: Op.ANY,
    permissionType: AclPermission.ANY,
  }

  const cases: Case[] = [
    {
      name: 'Produce, topic not writable',
      apiKey: ApiKeys.Produce,
      body: () => ({
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch() }] }],
      }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'Produce, transactional id not writable',
      apiKey: ApiKeys.Produce,
      body: () => ({
        transactionalId: 'tx',
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch() }] }],
      }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'Fetch, topic not readable',
      apiKey: ApiKeys.Fetch,
      grants: [allow(RT.TOPIC, TOPIC, Op.WRITE)],
      body: fetchBody(-1),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      check: emptyRecords,
    },
    {
      name: 'Fetch as a follower without CLUSTER_ACTION',
      apiKey: ApiKeys.Fetch,
      grants: [allow(RT.TOPIC, TOPIC, Op.READ)],
      body: fetchBody(1),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      check: emptyRecords,
    },
    {
      name: 'ListOffsets, topic not describable',
      apiKey: ApiKeys.ListOffsets,
      body: () => ({
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          {
            name: TOPIC,
            partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1, maxNumOffsets: 1 }],
          },
        ],
        timeoutMs: 5000,
      }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'Metadata of a named topic not describable',
      apiKey: ApiKeys.Metadata,
      body: () => ({ topics: [{ name: TOPIC }], allowAutoTopicCreation: false }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      check: (res, v) =>
        assert.deepEqual(
          res.topics.map((t: Any) => t.name),
          [TOPIC],
          `v${v}`,
        ),
    },
    {
      name: 'Metadata of a topic id not describable',
      apiKey: ApiKeys.Metadata,
      body: () => ({ topics: [{ name: null, topicId }], allowAutoTopicCreation: false }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      versions: (v) => v >= 10,
      check: (res) => assert.ok(res.topics[0].name === null || res.topics[0].name === '', 'the name stays hidden'),
    },
    {
      name: 'Metadata auto-creation without CREATE',
      apiKey: ApiKeys.Metadata,
      grants: [allow(RT.TOPIC, 'auto-refused', Op.DESCRIBE)],
      body: () => ({ topics: [{ name: 'auto-refused' }], allowAutoTopicCreation: true }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetCommit, group not readable',
      apiKey: ApiKeys.OffsetCommit,
      body: offsetCommitBody,
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetCommit, topic not readable',
      apiKey: ApiKeys.OffsetCommit,
      grants: [allow(RT.GROUP, 'g', Op.READ)],
      body: offsetCommitBody,
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetFetch, group not describable',
      apiKey: ApiKeys.OffsetFetch,
      body: offsetFetchBody,
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetFetch, topic not describable',
      apiKey: ApiKeys.OffsetFetch,
      grants: [allow(RT.GROUP, 'g', Op.DESCRIBE)],
      body: offsetFetchBody,
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'FindCoordinator for a group',
      apiKey: ApiKeys.FindCoordinator,
      body: () => ({ key: 'g', keyType: 0, coordinatorKeys: ['g'] }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'FindCoordinator for a transactional id',
      apiKey: ApiKeys.FindCoordinator,
      body: () => ({ key: 'tx', keyType: 1, coordinatorKeys: ['tx'] }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      versions: (v) => v >= 1,
    },
    {
      name: 'JoinGroup',
      apiKey: ApiKeys.JoinGroup,
      body: () => ({
        groupId: 'g',
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 10000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'Heartbeat',
      apiKey: ApiKeys.Heartbeat,
      body: () => ({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'LeaveGroup',
      apiKey: ApiKeys.LeaveGroup,
      body: () => ({ groupId: 'g', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'SyncGroup',
      apiKey: ApiKeys.SyncGroup,
      body: () => ({
        groupId: 'g',
        generationId: 1,
        memberId: 'm',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [],
      }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
      check: (res) => assert.ok(Buffer.isBuffer(res.assignment)),
    },
    {
      name: 'DescribeGroups',
      apiKey: ApiKeys.DescribeGroups,
      body: () => ({ groups: ['g'], includeAuthorizedOperations: true }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'CreateTopics',
      apiKey: ApiKeys.CreateTopics,
      body: () => ({
        topics: [{ name: 'not-mine', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'DeleteTopics by name',
      apiKey: ApiKeys.DeleteTopics,
      body: () => ({ topicNames: [TOPIC], topics: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000' }] }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'DeleteTopics by id',
      apiKey: ApiKeys.DeleteTopics,
      body: () => ({ topics: [{ name: null, topicId }], timeoutMs: 5000 }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      versions: (v) => v >= 6,
    },
    {
      name: 'DeleteRecords',
      apiKey: ApiKeys.DeleteRecords,
      body: () => ({ topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000 }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'InitProducerId, idempotent',
      apiKey: ApiKeys.InitProducerId,
      body: () => ({ transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'InitProducerId, transactional',
      apiKey: ApiKeys.InitProducerId,
      body: () => ({ transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetForLeaderEpoch',
      apiKey: ApiKeys.OffsetForLeaderEpoch,
      body: () => ({
        replicaId: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }],
      }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'AddPartitionsToTxn, transactional id',
      apiKey: ApiKeys.AddPartitionsToTxn,
      body: () => ({
        v3AndBelowTransactionalId: 'tx',
        v3AndBelowProducerId: 1n,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
      }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'AddPartitionsToTxn, one topic of two not writable',
      apiKey: ApiKeys.AddPartitionsToTxn,
      grants: [allow(RT.TRANSACTIONAL_ID, 'tx', Op.WRITE), allow(RT.TOPIC, 'other', Op.WRITE)],
      body: () => ({
        v3AndBelowTransactionalId: 'tx',
        v3AndBelowProducerId: 1n,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [
          { name: TOPIC, partitions: [0] },
          { name: 'other', partitions: [0] },
        ],
      }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      others: [E.OPERATION_NOT_ATTEMPTED],
    },
    {
      name: 'AddOffsetsToTxn, transactional id',
      apiKey: ApiKeys.AddOffsetsToTxn,
      body: () => ({ transactionalId: 'tx', producerId: 1n, producerEpoch: 0, groupId: 'g' }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'AddOffsetsToTxn, group',
      apiKey: ApiKeys.AddOffsetsToTxn,
      grants: [allow(RT.TRANSACTIONAL_ID, 'tx', Op.WRITE)],
      body: () => ({ transactionalId: 'tx', producerId: 1n, producerEpoch: 0, groupId: 'g' }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'EndTxn',
      apiKey: ApiKeys.EndTxn,
      body: () => ({ transactionalId: 'tx', producerId: 1n, producerEpoch: 0, committed: true }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'TxnOffsetCommit, transactional id',
      apiKey: ApiKeys.TxnOffsetCommit,
      body: txnOffsetCommitBody,
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'TxnOffsetCommit, group',
      apiKey: ApiKeys.TxnOffsetCommit,
      grants: [allow(RT.TRANSACTIONAL_ID, 'tx', Op.WRITE)],
      body: txnOffsetCommitBody,
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'TxnOffsetCommit, topic',
      apiKey: ApiKeys.TxnOffsetCommit,
      grants: [allow(RT.TRANSACTIONAL_ID, 'tx', Op.WRITE), allow(RT.GROUP, 'g', Op.READ)],
      body: txnOffsetCommitBody,
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeConfigs of a topic',
      apiKey: ApiKeys.DescribeConfigs,
      body: () => configResource(2, TOPIC),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeConfigs of the broker',
      apiKey: ApiKeys.DescribeConfigs,
      body: () => configResource(4, '0'),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'AlterConfigs of a topic',
      apiKey: ApiKeys.AlterConfigs,
      body: () => configResource(2, TOPIC),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'IncrementalAlterConfigs of the broker',
      apiKey: ApiKeys.IncrementalAlterConfigs,
      body: () => configResource(4, '0'),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'CreatePartitions',
      apiKey: ApiKeys.CreatePartitions,
      body: () => ({ topics: [{ name: TOPIC, count: 2, assignments: null }], timeoutMs: 5000, validateOnly: true }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      name: 'DeleteGroups',
      apiKey: ApiKeys.DeleteGroups,
      body: () => ({ groupsNames: ['g'] }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetDelete, group',
      apiKey: ApiKeys.OffsetDelete,
      body: () => ({ groupId: 'g', topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] }),
      expect: E.GROUP_AUTHORIZATION_FAILED,
    },
    {
      name: 'OffsetDelete, topic',
      apiKey: ApiKeys.OffsetDelete,
      grants: [allow(RT.GROUP, 'g', Op.DELETE)],
      body: () => ({ groupId: 'g', topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] }),
      expect: E.TOPIC_AUTHORIZATION_FAILED,
      // As Kafka: the group's own answer (it has no offsets) next to the refused partition.
      others: [E.GROUP_ID_NOT_FOUND],
    },
    {
      name: 'DescribeCluster',
      apiKey: ApiKeys.DescribeCluster,
      body: () => ({ includeClusterAuthorizedOperations: true, endpointType: 1 }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeTransactions',
      apiKey: ApiKeys.DescribeTransactions,
      body: () => ({ transactionalIds: ['tx'] }),
      expect: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeAcls',
      apiKey: ApiKeys.DescribeAcls,
      body: () => aclFilter,
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'CreateAcls',
      apiKey: ApiKeys.CreateAcls,
      body: () => ({ creations: [{ ...allow(RT.TOPIC, 'x', Op.READ), principal: 'User:zed' }] }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'DeleteAcls',
      apiKey: ApiKeys.DeleteAcls,
      body: () => ({ filters: [aclFilter] }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeClientQuotas',
      apiKey: ApiKeys.DescribeClientQuotas,
      body: () => ({ components: [], strict: false }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'AlterClientQuotas',
      apiKey: ApiKeys.AlterClientQuotas,
      body: () => ({
        entries: [
          { entity: [{ entityType: 'user', entityName: 'zed' }], ops: [{ key: 'producer_byte_rate', value: 1024 }] },
        ],
        validateOnly: true,
      }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'DescribeUserScramCredentials',
      apiKey: ApiKeys.DescribeUserScramCredentials,
      body: () => ({ users: null }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      name: 'AlterUserScramCredentials',
      apiKey: ApiKeys.AlterUserScramCredentials,
      body: () => ({ deletions: [{ name: 'zed', mechanism: 1 }], upsertions: [] }),
      expect: E.CLUSTER_AUTHORIZATION_FAILED,
    },
  ]

  for (const c of cases) {
    const h = allHandlers.find((x) => x.apiKey === c.apiKey)!
    test(`${c.name}: every version ${h.minVersion}–${h.maxVersion}`, async () => {
      await revokeAll()
      await grant(c.grants ?? [])
      // One connection per case: a case that fails by a closed connection must not fail the others.
      const client = await KafkaWireClient.connect(bootstrap(), { sasl: ALICE })
      try {
        for (let v = h.minVersion; v <= h.maxVersion; v++) {
          if (c.versions && !c.versions(v)) continue
          const res = await client.call(c.apiKey, v, c.body(v)).catch((err: Error) => {
            throw new Error(`v${v}: no parseable answer (${err.message})`)
          })
          const codes = errorCodes(res).filter((x) => x !== E.NONE)
          const refusals = codes.filter((x) => x === c.expect)
          assert.equal(refusals.length, c.entries ?? 1, `v${v}: refusals in ${JSON.stringify(codes)}`)
          for (const x of codes) assert.ok(x === c.expect || c.others?.includes(x), `v${v}: unexpected code ${x}`)
          c.check?.(res, v)
        }
      } finally {
        client.close()
        await revokeAll()
      }
    })
  }

  test('listings leave out what the principal may not describe: Metadata (all), ListGroups, ListTransactions', async () => {
    await revokeAll()
    for (let v = 1; v <= 12; v++) {
      const md = await alice.call(ApiKeys.Metadata, v, { topics: null, allowAutoTopicCreation: false })
      assert.deepEqual(md.topics, [], `Metadata v${v}`)
    }
    await admin.call(ApiKeys.OffsetCommit, 7, { ...offsetCommitBody(), groupId: 'hidden-group' })
    for (let v = 0; v <= 5; v++) {
      const lg = await alice.call(ApiKeys.ListGroups, v, { statesFilter: [], typesFilter: [] })
      assert.equal(lg.errorCode, E.NONE)
      assert.ok(!lg.groups.some((g: { groupId: string }) => g.groupId === 'hidden-group'), `ListGroups v${v}`)
    }
    const pid = await admin.call(ApiKeys.InitProducerId, 1, {
      transactionalId: 'hidden-tx',
      transactionTimeoutMs: 60000,
    })
    assert.equal(pid.errorCode, E.NONE)
    for (let v = 0; v <= 1; v++) {
      const lt = await alice.call(ApiKeys.ListTransactions, v, { stateFilters: [], producerIdFilters: [] })
      assert.deepEqual(lt.transactionStates, [], `ListTransactions v${v}`)
    }
  })
})
