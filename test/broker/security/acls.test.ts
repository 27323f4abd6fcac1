/**
 * ACL enforcement per API (each refused without the right ACL and allowed with it), through the raw protocol for
 * exact error codes, and end to end with KafkaJS and @platformatic/kafka over SASL_PLAINTEXT. ACLs are managed with
 * CreateAcls/DescribeAcls/DeleteAcls and survive a restart.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Admin, Producer, stringSerializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { AclPermission, AclOperation as Op, PatternType, ResourceType as RT } from '../../../src/broker/security/acl.ts'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode as E } from '../../../src/protocol/generated/error-codes.ts'
import { encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

const SASL = 'SASL_PLAINTEXT'
const ALICE = { mechanism: 'SCRAM-SHA-256' as const, username: 'alice', password: 'alice-pw' }
const ADMIN = { mechanism: 'SCRAM-SHA-512' as const, username: 'admin', password: 'admin-pw' }

const allow = (
  resourceType: number,
  resourceName: string,
  operation: number,
  over: Partial<{ resourcePatternType: number; principal: string; host: string; permissionType: number }> = {},
) => ({
  resourceType,
  resourceName,
  resourcePatternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation,
  permissionType: AclPermission.ALLOW,
  ...over,
})
type Creation = ReturnType<typeof allow>

describe('ACLs', () => {
  let tb: TestBroker
  let admin: KafkaWireClient
  let alice: KafkaWireClient
  const bootstrap = () => tb.broker!.listeners.find((l) => l.securityProtocol === SASL)!.bootstrap

  async function grant(...creations: Creation[]) {
    const r = await admin.call(ApiKeys.CreateAcls, 3, { creations })
    assert.deepEqual(
      r.results.map((x: { errorCode: number }) => x.errorCode),
      creations.map(() => E.NONE),
    )
  }
  async function revokeAll() {
    await admin.call(ApiKeys.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: RT.ANY,
          resourceNameFilter: null,
          patternTypeFilter: PatternType.ANY,
          principalFilter: 'User:alice',
          hostFilter: null,
          operation: Op.ANY,
          permissionType: AclPermission.ANY,
        },
      ],
    })
  }

  before(async () => {
    tb = await startTestBroker({
      listeners: [
        { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
        { name: SASL, securityProtocol: SASL, host: '127.0.0.1', port: 0 },
      ],
      saslUsers: { admin: 'admin-pw', alice: 'alice-pw' },
      authorizerEnabled: true,
      superUsers: ['User:admin'],
      autoCreateTopics: true,
    })
    admin = await KafkaWireClient.connect(bootstrap(), { sasl: ADMIN })
    alice = await KafkaWireClient.connect(bootstrap(), { sasl: ALICE })
    const created = await admin.call(ApiKeys.CreateTopics, 5, {
      topics: ['orders', 'payments', 'doomed'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
    })
    assert.ok(created.topics.every((t: { errorCode: number }) => t.errorCode === E.NONE))
  })
  after(async () => {
    admin?.close()
    alice?.close()
    await tb?.close()
  })

  const batch = () => encodeRecordBatchSync({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }] })

  /** Each case: the codes alice gets without ACLs, then with `grants`. */
  const cases: {
    api: string
    grants: Creation[]
    run: () => Promise<number[]>
    denied: number[]
    allowed: number[]
  }[] = [
    {
      api: 'Produce (WRITE topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.WRITE)],
      run: async () => {
        const r = await alice.call(ApiKeys.Produce, 7, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }],
        })
        return r.responses.flatMap((t: { partitionResponses: { errorCode: number }[] }) =>
          t.partitionResponses.map((p) => p.errorCode),
        )
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'Fetch (READ topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.READ)],
      run: async () => {
        const r = await alice.call(ApiKeys.Fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'orders',
              partitions: [
                {
                  partition: 0,
                  fetchOffset: 0n,
                  partitionMaxBytes: 1 << 20,
                  currentLeaderEpoch: -1,
                  logStartOffset: -1n,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        })
        return r.responses.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode))
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'ListOffsets (DESCRIBE topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.DESCRIBE)],
      run: async () => {
        const r = await alice.call(ApiKeys.ListOffsets, 5, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] }],
        })
        return r.topics.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode))
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'Metadata of a named topic (DESCRIBE topic), an unknown one looks the same when unauthorized',
      grants: [allow(RT.TOPIC, 'orders', Op.DESCRIBE), allow(RT.TOPIC, 'ghost', Op.DESCRIBE)],
      run: async () => {
        const r = await alice.call(ApiKeys.Metadata, 9, {
          topics: [{ name: 'orders' }, { name: 'ghost' }],
          allowAutoTopicCreation: false,
        })
        return r.topics.map((t: { errorCode: number }) => t.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED, E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION],
    },
    {
      api: 'Metadata auto-creation (CREATE on cluster or topic)',
      // Kafka checks DESCRIBE first, then CREATE for topics that do not exist.
      grants: [
        allow(RT.TOPIC, 'auto-', Op.DESCRIBE, { resourcePatternType: PatternType.PREFIXED }),
        allow(RT.TOPIC, 'auto-', Op.CREATE, { resourcePatternType: PatternType.PREFIXED }),
      ],
      run: async () => {
        const r = await alice.call(ApiKeys.Metadata, 9, {
          topics: [{ name: 'auto-made' }],
          allowAutoTopicCreation: true,
        })
        return r.topics.map((t: { errorCode: number }) => t.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'CreateTopics (CREATE topic)',
      grants: [allow(RT.TOPIC, 'fresh', Op.CREATE)],
      run: async () => {
        const r = await alice.call(ApiKeys.CreateTopics, 5, {
          topics: [{ name: 'fresh', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 5000,
        })
        return r.topics.map((t: { errorCode: number }) => t.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DeleteTopics (DELETE topic)',
      grants: [allow(RT.TOPIC, 'doomed', Op.DELETE)],
      run: async () => {
        const r = await alice.call(ApiKeys.DeleteTopics, 4, { topicNames: ['doomed'], timeoutMs: 5000 })
        return r.responses.map((t: { errorCode: number }) => t.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'OffsetCommit (READ group and topic)',
      grants: [allow(RT.GROUP, 'g1', Op.READ), allow(RT.TOPIC, 'orders', Op.READ)],
      run: async () => {
        const r = await alice.call(ApiKeys.OffsetCommit, 7, {
          groupId: 'g1',
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'orders',
              partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }],
            },
          ],
        })
        return r.topics.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode))
      },
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'OffsetFetch (DESCRIBE group and topic)',
      grants: [allow(RT.GROUP, 'g1', Op.DESCRIBE), allow(RT.TOPIC, 'orders', Op.DESCRIBE)],
      run: async () => {
        const r = await alice.call(ApiKeys.OffsetFetch, 7, {
          groupId: 'g1',
          topics: [{ name: 'orders', partitionIndexes: [0] }],
          requireStable: false,
        })
        return [
          r.errorCode,
          ...r.topics.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode)),
        ]
      },
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      allowed: [E.NONE, E.NONE],
    },
    {
      api: 'FindCoordinator (DESCRIBE group)',
      grants: [allow(RT.GROUP, 'g1', Op.DESCRIBE)],
      run: async () => [(await alice.call(ApiKeys.FindCoordinator, 3, { key: 'g1', keyType: 0 })).errorCode],
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'JoinGroup (READ group)',
      grants: [allow(RT.GROUP, 'g2', Op.READ)],
      run: async () => {
        const r = await alice.call(ApiKeys.JoinGroup, 5, {
          groupId: 'g2',
          sessionTimeoutMs: 10000,
          rebalanceTimeoutMs: 10000,
          memberId: '',
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        })
        return [r.errorCode]
      },
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      // Authorized: the coordinator's first answer to a v4+ join without a member id.
      allowed: [E.MEMBER_ID_REQUIRED],
    },
    {
      api: 'DescribeGroups (DESCRIBE group)',
      grants: [allow(RT.GROUP, 'g1', Op.DESCRIBE)],
      run: async () => {
        const r = await alice.call(ApiKeys.DescribeGroups, 4, { groups: ['g1'], includeAuthorizedOperations: false })
        return r.groups.map((g: { errorCode: number }) => g.errorCode)
      },
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DeleteGroups (DELETE group)',
      grants: [allow(RT.GROUP, 'never-used', Op.DELETE)],
      run: async () => {
        const r = await alice.call(ApiKeys.DeleteGroups, 2, { groupsNames: ['never-used'] })
        return r.results.map((g: { errorCode: number }) => g.errorCode)
      },
      denied: [E.GROUP_AUTHORIZATION_FAILED],
      // Authorized: the coordinator's answer for a group that does not exist.
      allowed: [E.GROUP_ID_NOT_FOUND],
    },
    {
      api: 'DescribeConfigs (DESCRIBE_CONFIGS topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.DESCRIBE_CONFIGS)],
      run: async () => {
        const r = await alice.call(ApiKeys.DescribeConfigs, 3, {
          resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        })
        return r.results.map((x: { errorCode: number }) => x.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'IncrementalAlterConfigs (ALTER_CONFIGS topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.ALTER_CONFIGS)],
      run: async () => {
        const r = await alice.call(ApiKeys.IncrementalAlterConfigs, 1, {
          resources: [
            {
              resourceType: 2,
              resourceName: 'orders',
              configs: [{ name: 'retention.ms', configOperation: 0, value: '60000' }],
            },
          ],
          validateOnly: false,
        })
        return r.responses.map((x: { errorCode: number }) => x.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'CreatePartitions (ALTER topic)',
      grants: [allow(RT.TOPIC, 'payments', Op.ALTER)],
      run: async () => {
        const r = await alice.call(ApiKeys.CreatePartitions, 1, {
          topics: [{ name: 'payments', count: 2, assignments: null }],
          timeoutMs: 5000,
          validateOnly: false,
        })
        return r.results.map((x: { errorCode: number }) => x.errorCode)
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DeleteRecords (DELETE topic)',
      grants: [allow(RT.TOPIC, 'orders', Op.DELETE)],
      run: async () => {
        const r = await alice.call(ApiKeys.DeleteRecords, 1, {
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0n }] }],
          timeoutMs: 5000,
        })
        return r.topics.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode))
      },
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'InitProducerId, idempotent (IDEMPOTENT_WRITE cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.IDEMPOTENT_WRITE)],
      run: async () => [
        (await alice.call(ApiKeys.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 })).errorCode,
      ],
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'InitProducerId, transactional (WRITE transactional id)',
      grants: [allow(RT.TRANSACTIONAL_ID, 'tx-1', Op.WRITE)],
      run: async () => [
        (await alice.call(ApiKeys.InitProducerId, 1, { transactionalId: 'tx-1', transactionTimeoutMs: 60000 }))
          .errorCode,
      ],
      denied: [E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DescribeCluster (DESCRIBE cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.DESCRIBE)],
      run: async () => [
        (await alice.call(ApiKeys.DescribeCluster, 0, { includeClusterAuthorizedOperations: false })).errorCode,
      ],
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DescribeAcls (DESCRIBE cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.DESCRIBE)],
      run: async () => {
        const r = await alice.call(ApiKeys.DescribeAcls, 3, {
          resourceTypeFilter: RT.ANY,
          resourceNameFilter: null,
          patternTypeFilter: PatternType.ANY,
          principalFilter: null,
          hostFilter: null,
          operation: Op.ANY,
          permissionType: AclPermission.ANY,
        })
        return [r.errorCode]
      },
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'CreateAcls (ALTER cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.ALTER)],
      run: async () => {
        const r = await alice.call(ApiKeys.CreateAcls, 3, {
          creations: [allow(RT.TOPIC, 'x', Op.READ, { principal: 'User:zed' })],
        })
        return r.results.map((x: { errorCode: number }) => x.errorCode)
      },
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DescribeUserScramCredentials (DESCRIBE cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.DESCRIBE)],
      run: async () => [(await alice.call(ApiKeys.DescribeUserScramCredentials, 0, { users: null })).errorCode],
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
    {
      api: 'DescribeClientQuotas (DESCRIBE_CONFIGS cluster)',
      grants: [allow(RT.CLUSTER, 'kafka-cluster', Op.DESCRIBE_CONFIGS)],
      run: async () => [
        (await alice.call(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false })).errorCode,
      ],
      denied: [E.CLUSTER_AUTHORIZATION_FAILED],
      allowed: [E.NONE],
    },
  ]

  for (const c of cases) {
    test(`${c.api}: refused without the ACL, allowed with it`, async () => {
      await revokeAll()
      assert.deepEqual(await c.run(), c.denied, 'without ACL')
      await grant(...c.grants)
      assert.deepEqual(await c.run(), c.allowed, 'with ACL')
      await revokeAll()
    })
  }

  test('Metadata for all topics lists only the topics the principal may describe; ListGroups only its groups', async () => {
    await revokeAll()
    await grant(allow(RT.TOPIC, 'orders', Op.READ), allow(RT.GROUP, 'g1', Op.DESCRIBE))
    const md = await alice.call(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    assert.deepEqual(
      md.topics.map((t: { name: string }) => t.name),
      ['orders'],
    )
    await admin.call(ApiKeys.OffsetCommit, 7, {
      groupId: 'g-hidden',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }],
        },
      ],
    })
    const groups = await alice.call(ApiKeys.ListGroups, 4, { statesFilter: [] })
    assert.ok(!groups.groups.some((g: { groupId: string }) => g.groupId === 'g-hidden'))
    await revokeAll()
  })

  test('authorized operations in Metadata, DescribeCluster and DescribeGroups reflect the ACLs', async () => {
    await revokeAll()
    await grant(
      allow(RT.TOPIC, 'orders', Op.READ),
      allow(RT.CLUSTER, 'kafka-cluster', Op.DESCRIBE),
      allow(RT.GROUP, 'g1', Op.READ),
    )
    const md = await alice.call(ApiKeys.Metadata, 9, {
      topics: [{ name: 'orders' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    })
    // READ implies DESCRIBE: bits 3 and 8.
    assert.equal(md.topics[0].topicAuthorizedOperations, (1 << Op.READ) | (1 << Op.DESCRIBE))
    assert.equal(md.clusterAuthorizedOperations, 1 << Op.DESCRIBE)
    const dc = await alice.call(ApiKeys.DescribeCluster, 0, { includeClusterAuthorizedOperations: true })
    assert.equal(dc.clusterAuthorizedOperations, 1 << Op.DESCRIBE)
    const dg = await alice.call(ApiKeys.DescribeGroups, 4, { groups: ['g1'], includeAuthorizedOperations: true })
    assert.equal(dg.groups[0].authorizedOperations, (1 << Op.READ) | (1 << Op.DESCRIBE))
    await revokeAll()
  })

  test('DeleteTopics of a missing topic: TOPIC_AUTHORIZATION_FAILED without DESCRIBE, UNKNOWN_TOPIC_OR_PARTITION with it', async () => {
    await revokeAll()
    const del = async () =>
      (await alice.call(ApiKeys.DeleteTopics, 4, { topicNames: ['never-there'], timeoutMs: 5000 })).responses[0]
        .errorCode
    assert.equal(await del(), E.TOPIC_AUTHORIZATION_FAILED)
    await grant(allow(RT.TOPIC, 'never-there', Op.DESCRIBE))
    assert.equal(await del(), E.UNKNOWN_TOPIC_OR_PARTITION)
    await revokeAll()
  })

  test('an acks=0 produce to a topic it may not write closes the connection, as Kafka does', async () => {
    await revokeAll()
    const c = await KafkaWireClient.connect(bootstrap(), { sasl: ALICE })
    try {
      const sent = c.call(ApiKeys.Produce, 7, {
        transactionalId: null,
        acks: 0,
        timeoutMs: 5000,
        topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }],
      })
      sent.catch(() => {})
      await c.closed
    } finally {
      c.close()
    }
  })

  test('a DENY overrides a matching ALLOW', async () => {
    await revokeAll()
    await grant(
      allow(RT.TOPIC, 'ord', Op.ALL, { resourcePatternType: PatternType.PREFIXED }),
      allow(RT.TOPIC, 'orders', Op.WRITE, { permissionType: AclPermission.DENY }),
    )
    const r = await alice.call(ApiKeys.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }],
    })
    assert.equal(r.responses[0].partitionResponses[0].errorCode, E.TOPIC_AUTHORIZATION_FAILED)
    const md = await alice.call(ApiKeys.Metadata, 9, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })
    assert.equal(md.topics[0].errorCode, E.NONE)
    await revokeAll()
  })

  test('PLAINTEXT clients are User:ANONYMOUS and get nothing without ACLs', async () => {
    const plain = tb.broker!.listeners.find((l) => l.securityProtocol === 'PLAINTEXT')!.bootstrap
    const c = await KafkaWireClient.connect(plain)
    try {
      const md = await c.call(ApiKeys.Metadata, 9, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })
      assert.equal(md.topics[0].errorCode, E.TOPIC_AUTHORIZATION_FAILED)
    } finally {
      c.close()
    }
  })

  test('KafkaJS: a producer and a group consumer work with exactly the ACLs Kafka requires, and fail without', async () => {
    await revokeAll()
    const kafka = new Kafka({
      clientId: 'acl-kafkajs',
      brokers: [bootstrap()],
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-pw' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    })
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await assert.rejects(
      producer.send({ topic: 'orders', messages: [{ value: 'no' }] }),
      (err: Error & { type?: string }) => {
        assert.match(`${err.name} ${err.message} ${err.type}`, /TOPIC_AUTHORIZATION_FAILED|authoriz/i)
        return true
      },
    )
    await grant(
      allow(RT.TOPIC, 'orders', Op.WRITE),
      allow(RT.TOPIC, 'orders', Op.READ),
      allow(RT.GROUP, 'kjs', Op.READ),
    )
    await producer.send({ topic: 'orders', messages: [{ value: 'yes' }] })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: 'kjs', sessionTimeout: 10000 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'orders', fromBeginning: true })
    const got = new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) })
    })
    assert.ok(['v', 'yes'].includes(await got))
    await consumer.disconnect()
    await revokeAll()
  })

  test('@platformatic/kafka: a producer is refused without WRITE and allowed with it', async () => {
    await revokeAll()
    const producer = new Producer({
      clientId: 'acl-pk',
      bootstrapBrokers: [bootstrap()],
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-pw' },
      serializers: stringSerializers,
      retries: 0,
    })
    try {
      await assert.rejects(
        producer.send({ messages: [{ topic: 'payments', value: 'no' }] }),
        (err: Error & { errors?: Error[] }) => {
          assert.match(
            JSON.stringify(err, Object.getOwnPropertyNames(err)) + String(err.errors?.map((e) => e.message)),
            /authoriz/i,
          )
          return true
        },
      )
      await grant(allow(RT.TOPIC, 'payments', Op.WRITE))
      const r = await producer.send({ messages: [{ topic: 'payments', value: 'yes' }] })
      assert.equal(r.offsets?.[0]?.topic, 'payments')
    } finally {
      await producer.close()
      await revokeAll()
    }
  })

  test('@platformatic/kafka admin manages ACLs; they survive a restart', async () => {
    const pk = new Admin({
      clientId: 'acl-admin',
      bootstrapBrokers: [bootstrap()],
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'admin-pw' },
      retries: 1,
    })
    try {
      await pk.createAcls({
        creations: [
          {
            resourceType: RT.TOPIC,
            resourceName: 'inventory-',
            resourcePatternType: PatternType.PREFIXED,
            principal: 'User:bob',
            host: '*',
            operation: Op.READ,
            permissionType: AclPermission.ALLOW,
          },
        ] as never,
      })
    } finally {
      await pk.close()
    }
    admin.close()
    alice.close()
    await tb.restart()
    admin = await KafkaWireClient.connect(bootstrap(), { sasl: ADMIN })
    alice = await KafkaWireClient.connect(bootstrap(), { sasl: ALICE })
    const pk2 = new Admin({
      clientId: 'acl-admin-2',
      bootstrapBrokers: [bootstrap()],
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'admin-pw' },
      retries: 1,
    })
    try {
      const described = await pk2.describeAcls({
        filter: {
          resourceType: RT.TOPIC,
          resourceName: null,
          resourcePatternType: PatternType.ANY,
          principal: 'User:bob',
          host: null,
          operation: Op.ANY,
          permissionType: AclPermission.ANY,
        } as never,
      })
      assert.equal(described.length, 1)
      assert.equal(described[0]!.resourceName, 'inventory-')
      const deleted = await pk2.deleteAcls({
        filters: [
          {
            resourceType: RT.ANY,
            resourceName: null,
            resourcePatternType: PatternType.ANY,
            principal: 'User:bob',
            host: null,
            operation: Op.ANY,
            permissionType: AclPermission.ANY,
          },
        ] as never,
      })
      assert.equal(deleted.length, 1)
    } finally {
      await pk2.close()
    }
  })
})
