/**
 * Differential checks against Apache Kafka 4.x (started by the test from test-interop/java's Maven classpath), the
 * coordinators: scripted scenarios over raw connections, run against Kafka and against Tributary configured alike,
 * answers compared field by field. Transaction outcomes and misuse, consumer group states across
 * join/sync/leave, and ACL denials and grants. The data path is in differential-topics.test.ts. See
 * test/helpers/differential.ts for the rules and docs/broker/compatibility.md for every known difference.
 */
import { describe, test } from 'node:test'
import { AclOperation, AclPermission, PatternType, ResourceType } from '../src/broker/security/acl.ts'
import type { KafkaWireClient } from '../src/client/wire-client.ts'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../src/protocol/generated/error-codes.ts'
import { until } from '../test/helpers/differential.ts'
import {
  addPartitionsV3,
  batch,
  comparing,
  createTopics,
  err,
  fetch,
  findCoordinator,
  initProducerId,
  listOffset,
  produce,
  retrying,
  topic,
  V,
} from '../test/helpers/differential-requests.ts'

describe('differential: Apache Kafka 4.x and Tributary answer alike (transactions, groups, ACLs)', () => {
  const run = comparing()

  test('transactions: commit and abort outcomes under both isolation levels', async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-tx-out')
      const txId = 'diff-tx'
      const init = await initProducerId(c, txId)
      const ids = { transactionalId: txId, producerId: init.producerId, producerEpoch: init.producerEpoch }
      let seq = 0
      const step = async (values: string[], commit: boolean) => {
        const added = await retrying(
          () =>
            addPartitionsV3(c, {
              v3AndBelowTransactionalId: txId,
              v3AndBelowProducerId: ids.producerId,
              v3AndBelowProducerEpoch: ids.producerEpoch,
              v3AndBelowTopics: [{ name: 'diff-tx-out', partitions: [0] }],
            }),
          'AddPartitionsToTxn',
        )
        const produced = await produce(
          c,
          'diff-tx-out',
          batch(values, {
            producerId: Number(ids.producerId),
            producerEpoch: ids.producerEpoch,
            baseSequence: seq,
            isTransactional: true,
          }),
          { transactionalId: txId },
        )
        seq += values.length
        const ended = await retrying(
          () =>
            c.call(ApiKeys.EndTxn, V.endTxn, {
              transactionalId: txId,
              producerId: ids.producerId,
              producerEpoch: ids.producerEpoch,
              committed: commit,
            }),
          'EndTxn',
        )
        return {
          add: err(added.errorCode),
          produce: produced,
          end: err(ended.errorCode),
        }
      }
      const out: Record<string, unknown> = {
        init: [init.error, init.producerEpoch],
        committed: await step(['c1', 'c2'], true),
        aborted: await step(['a1'], false),
        'committed again': await step(['c3'], true),
      }
      // Markers are written asynchronously by Kafka's coordinator: wait for the last one to be readable.
      await until(
        async () => (await fetch(c, 'diff-tx-out', 0n, 1)).lastStableOffset === 7n,
        `the last marker (${side.name}: ${JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? String(v) : v))})`,
      )
      const committedRead = await fetch(c, 'diff-tx-out', 0n, 1)
      const uncommittedRead = await fetch(c, 'diff-tx-out', 0n, 0)
      out['read_committed'] = committedRead
      out['read_uncommitted'] = uncommittedRead
      out['latest, read_committed'] = await listOffset(c, 'diff-tx-out', -1n, 0, 1)
      out['latest, read_uncommitted'] = await listOffset(c, 'diff-tx-out', -1n, 0, 0)
      const described = await c.call(ApiKeys.DescribeTransactions, V.describeTransactions, {
        transactionalIds: [txId, 'diff-tx-unknown'],
      })
      const unknown = described.transactionStates[1]
      out['describe an unknown id'] = [
        unknown.transactionState,
        unknown.transactionTimeoutMs,
        unknown.transactionStartTimeMs,
        unknown.producerId,
        unknown.producerEpoch,
      ]
      out.describe = described.transactionStates.map(
        (s: { errorCode: number; transactionState: string; producerEpoch: number; topics: unknown[] }) => [
          err(s.errorCode),
          s.transactionState,
          s.producerEpoch,
          s.topics,
        ],
      )
      return out
    })
  })

  test("transactions: misuse is refused with Kafka's errors", async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-misuse', 2)
      const txId = 'diff-tx-misuse'
      const first = await initProducerId(c, txId)
      const endTxn = (producerId: bigint, producerEpoch: number, transactionalId = txId, committed = true) =>
        retrying(
          () => c.call(ApiKeys.EndTxn, V.endTxn, { transactionalId, producerId, producerEpoch, committed }),
          'EndTxn',
        ).then((r) => err(r.errorCode))
      const addPartitions = (producerId: bigint, producerEpoch: number, partitions = [0]) =>
        retrying(
          () =>
            addPartitionsV3(c, {
              v3AndBelowTransactionalId: txId,
              v3AndBelowProducerId: producerId,
              v3AndBelowProducerEpoch: producerEpoch,
              v3AndBelowTopics: [{ name: 'diff-misuse', partitions }],
            }),
          'AddPartitionsToTxn',
        ).then((r) => err(r.errorCode))
      const txBatch = (producerId: bigint, producerEpoch: number, baseSequence: number) =>
        batch(['t'], { producerId: Number(producerId), producerEpoch, baseSequence, isTransactional: true })
      await findCoordinator(c, 'diff-tx-never', 1)
      const out: Record<string, unknown> = {
        'commit with nothing in the transaction': await endTxn(first.producerId, first.producerEpoch),
        'abort with nothing in the transaction': await endTxn(first.producerId, first.producerEpoch, txId, false),
        'EndTxn of an unknown transactional id': await endTxn(first.producerId, 0, 'diff-tx-never'),
        'AddPartitionsToTxn with a wrong producer id': await addPartitions(
          first.producerId + 1000n,
          first.producerEpoch,
        ),
        'transactional produce to a partition not added': (
          await produce(c, 'diff-misuse', txBatch(first.producerId, first.producerEpoch, 0), {
            transactionalId: txId,
            partition: 1,
          })
        ).error,
      }
      const second = await initProducerId(c, txId)
      out['epoch after a second InitProducerId'] = second.producerEpoch - first.producerEpoch
      out['AddPartitionsToTxn with the fenced epoch'] = await addPartitions(first.producerId, first.producerEpoch)
      out['EndTxn with the fenced epoch'] = await endTxn(first.producerId, first.producerEpoch)
      out['AddPartitionsToTxn, current epoch'] = await addPartitions(second.producerId, second.producerEpoch)
      out['transactional produce, fenced epoch'] = (
        await produce(c, 'diff-misuse', txBatch(first.producerId, first.producerEpoch, 0), { transactionalId: txId })
      ).error
      out['transactional produce, current epoch'] = (
        await produce(c, 'diff-misuse', txBatch(second.producerId, second.producerEpoch, 0), { transactionalId: txId })
      ).error
      out['non-transactional produce by the transactional producer'] = (
        await produce(
          c,
          'diff-misuse',
          batch(['n'], { producerId: Number(second.producerId), producerEpoch: second.producerEpoch, baseSequence: 1 }),
        )
      ).error
      const third = await initProducerId(c, txId)
      out['InitProducerId during a transaction'] = [third.error, third.producerEpoch - second.producerEpoch]
      await until(async () => (await fetch(c, 'diff-misuse', 0n, 1)).lastStableOffset >= 0n, 'a stable offset')
      const read = await fetch(c, 'diff-misuse', 0n, 1)
      out['the open transaction was aborted'] = [read.records, read.aborted]
      return out
    })
  })

  test('consumer group states across join, sync, heartbeat and leave', async (t) => {
    await run(t, async (side) => {
      const groupId = 'diff-group'
      const a = await side.connect()
      const b = await side.connect()
      const out: Record<string, unknown> = { coordinator: await findCoordinator(a, groupId, 0) }
      const names = new Map<string, string>()
      const who = (id: string) => (id === '' ? '' : (names.get(id) ?? `unknown(${names.size})`))
      const describe = async () => {
        // Kafka answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while its group coordinator loads.
        const g = await retrying(async () => {
          const res = await a.call(ApiKeys.DescribeGroups, V.describeGroups, {
            groups: [groupId],
            includeAuthorizedOperations: false,
          })
          return res.groups[0]
        }, 'DescribeGroups')
        return [
          err(g.errorCode),
          g.groupState,
          g.protocolType,
          g.protocolData,
          g.members.map((m: { memberId: string }) => who(m.memberId)).sort(),
        ]
      }
      const join = (via: KafkaWireClient, memberId: string, sessionTimeoutMs = 10000) =>
        via.call(ApiKeys.JoinGroup, V.joinGroup, {
          groupId,
          sessionTimeoutMs,
          rebalanceTimeoutMs: 10000,
          memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
        })
      const joined = (r: {
        errorCode: number
        generationId: number
        protocolName: string | null
        leader: string
        members: unknown[]
      }) => [err(r.errorCode), r.generationId, r.protocolName, who(r.leader), r.members.length]
      const sync = (
        via: KafkaWireClient,
        memberId: string,
        generationId: number,
        assignments: { memberId: string; assignment: Buffer }[],
      ) =>
        via
          .call(ApiKeys.SyncGroup, V.syncGroup, {
            groupId,
            generationId,
            memberId,
            groupInstanceId: null,
            assignments,
          })
          .then((r) => [err(r.errorCode), r.assignment.toString()])
      const heartbeat = (via: KafkaWireClient, memberId: string, generationId: number) =>
        via
          .call(ApiKeys.Heartbeat, V.heartbeat, { groupId, generationId, memberId, groupInstanceId: null })
          .then((r) => err(r.errorCode))

      out['describe before any member'] = await describe()
      out['join with a session timeout below the minimum'] = err((await join(a, '', 1)).errorCode)
      const needId = await retrying(() => join(a, ''), 'JoinGroup')
      const A = needId.memberId as string
      names.set(A, 'A')
      out['join without a member id'] = err(needId.errorCode)
      const a1 = await join(a, A)
      out['A joins'] = joined(a1)
      out['describe after the join'] = await describe()
      out['heartbeat while awaiting sync'] = await heartbeat(a, A, a1.generationId)
      out['sync with a wrong generation'] = await sync(a, A, a1.generationId + 5, [])
      out['sync by an unknown member'] = await sync(a, 'nobody', a1.generationId, [])
      out['A syncs'] = await sync(a, A, a1.generationId, [{ memberId: A, assignment: Buffer.from('p0,p1') }])
      out['describe when stable'] = await describe()
      out['heartbeat'] = await heartbeat(a, A, a1.generationId)
      out['heartbeat, unknown member'] = await heartbeat(a, 'nobody', a1.generationId)
      out['heartbeat, wrong generation'] = await heartbeat(a, A, a1.generationId + 1)

      const bFirst = await join(b, '')
      const B = bFirst.memberId as string
      names.set(B, 'B')
      const bJoin = join(b, B)
      await until(async () => (await describe())[1] === 'PreparingRebalance', 'a rebalance')
      out['describe while B joins'] = await describe()
      out['heartbeat of A during the rebalance'] = await heartbeat(a, A, a1.generationId)
      const a2 = await join(a, A)
      const b2 = await bJoin
      out['A rejoins'] = joined(a2)
      out['B joins'] = joined(b2)
      const bSync = sync(b, B, b2.generationId, [])
      out['A syncs both'] = await sync(a, A, a2.generationId, [
        { memberId: A, assignment: Buffer.from('p0') },
        { memberId: B, assignment: Buffer.from('p1') },
      ])
      out['B syncs'] = await bSync
      out['describe with two members'] = await describe()

      const left = await b.call(ApiKeys.LeaveGroup, V.leaveGroup, {
        groupId,
        members: [
          { memberId: B, groupInstanceId: null },
          { memberId: 'nobody', groupInstanceId: null },
        ],
      })
      out['B leaves (and an unknown member)'] = [
        err(left.errorCode),
        left.members.map((m: { memberId: string; errorCode: number }) => [who(m.memberId), err(m.errorCode)]),
      ]
      out['describe after B left'] = await describe()
      const a3 = await join(a, A)
      out['A rejoins alone'] = joined(a3)
      out['A syncs alone'] = await sync(a, A, a3.generationId, [{ memberId: A, assignment: Buffer.from('p0,p1') }])
      const commit = await a.call(ApiKeys.OffsetCommit, V.offsetCommit, {
        groupId,
        generationIdOrMemberEpoch: a3.generationId,
        memberId: A,
        groupInstanceId: null,
        topics: [
          {
            name: 'diff-group-topic',
            partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: 'm' }],
          },
        ],
      })
      out['commit for an unknown topic'] = err(commit.topics[0].partitions[0].errorCode)
      const aLeft = await a.call(ApiKeys.LeaveGroup, V.leaveGroup, {
        groupId,
        members: [{ memberId: A, groupInstanceId: null }],
      })
      out['A leaves'] = err(aLeft.errorCode)
      out['describe when empty'] = await describe()
      const listed = await a.call(ApiKeys.ListGroups, V.listGroups, { statesFilter: ['Empty'] })
      out['listed as Empty'] = listed.groups
        .filter((g: { groupId: string }) => g.groupId === groupId)
        .map((g: { groupState: string; protocolType: string }) => [g.groupState, g.protocolType])
      out['heartbeat after leaving'] = await heartbeat(a, A, a3.generationId)
      return out
    })
  })

  test('ACL denials and grants for a SASL user (StandardAuthorizer semantics)', async (t) => {
    await run(t, async (side) => {
      const admin = await side.connect('admin')
      await topic(admin, 'diff-acl')
      await topic(admin, 'diff-acl-w1')
      await produce(admin, 'diff-acl', batch(['secret']))
      const alice = await side.connect('alice')
      const metadataOf = async (via: KafkaWireClient, topics: string[] | null) => {
        const res = await via.call(ApiKeys.Metadata, V.metadata, {
          topics: topics === null ? null : topics.map((name) => ({ name })),
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
        return res.topics
          .filter((x: { name: string }) => topics !== null || x.name.startsWith('diff-acl'))
          .map((x: { name: string; errorCode: number }) => [x.name, err(x.errorCode)])
          .sort()
      }
      const probe = async (via: KafkaWireClient) => {
        const group = 'diff-acl-group'
        const joinRes = await via.call(ApiKeys.JoinGroup, V.joinGroup, {
          groupId: group,
          sessionTimeoutMs: 10000,
          rebalanceTimeoutMs: 10000,
          memberId: '',
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        })
        const commit = await via.call(ApiKeys.OffsetCommit, V.offsetCommit, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'diff-acl',
              partitions: [
                { partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
              ],
            },
          ],
        })
        const fetched = await via.call(ApiKeys.OffsetFetch, V.offsetFetch, {
          groupId: group,
          topics: [{ name: 'diff-acl', partitionIndexes: [0] }],
          requireStable: false,
        })
        const described = await via.call(ApiKeys.DescribeConfigs, V.describeConfigs, {
          resources: [{ resourceType: 2, resourceName: 'diff-acl', configurationKeys: ['retention.ms'] }],
          includeSynonyms: false,
          includeDocumentation: false,
        })
        const deleted = await via.call(ApiKeys.DeleteTopics, 4, { topicNames: ['diff-acl-w1'], timeoutMs: 5000 })
        const acls = await via.call(ApiKeys.DescribeAcls, 2, {
          resourceTypeFilter: 1,
          resourceNameFilter: null,
          patternTypeFilter: 1,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        })
        const groups = await via.call(ApiKeys.DescribeGroups, V.describeGroups, {
          groups: [group],
          includeAuthorizedOperations: false,
        })
        const initTx = await via.call(ApiKeys.InitProducerId, V.initProducerId, {
          transactionalId: 'diff-acl-tx',
          transactionTimeoutMs: 60000,
          producerId: -1n,
          producerEpoch: -1,
        })
        const initIdem = await via.call(ApiKeys.InitProducerId, V.initProducerId, {
          transactionalId: null,
          transactionTimeoutMs: 60000,
          producerId: -1n,
          producerEpoch: -1,
        })
        return {
          'metadata of the topic': await metadataOf(via, ['diff-acl', 'diff-acl-w1']),
          'metadata of all topics': await metadataOf(via, null),
          produce: (await produce(via, 'diff-acl', batch(['x']))).error,
          'produce to diff-acl-w1': (await produce(via, 'diff-acl-w1', batch(['w']))).error,
          fetch: (await fetch(via, 'diff-acl', 0n)).error,
          listOffsets: (await listOffset(via, 'diff-acl', -1n)).error,
          'create topic': (await createTopics(via, [{ name: 'diff-acl-w2' }]))['diff-acl-w2'],
          'delete topic': err(deleted.responses[0].errorCode),
          describeConfigs: err(described.results[0].errorCode),
          'find group coordinator': err(
            (await via.call(ApiKeys.FindCoordinator, V.findCoordinator, { key: group, keyType: 0 })).errorCode,
          ),
          'find transaction coordinator': err(
            (await via.call(ApiKeys.FindCoordinator, V.findCoordinator, { key: 'diff-acl-tx', keyType: 1 })).errorCode,
          ),
          joinGroup: err(joinRes.errorCode),
          offsetCommit: [err(commit.errorCode ?? 0), err(commit.topics[0].partitions[0].errorCode)],
          offsetFetch: [
            err(fetched.errorCode),
            fetched.topics.map((x: { partitions: { errorCode: number }[] }) => err(x.partitions[0]!.errorCode)),
          ],
          describeGroups: err(groups.groups[0].errorCode),
          describeAcls: err(acls.errorCode),
          'transactional InitProducerId': err(initTx.errorCode),
          'idempotent InitProducerId': err(initIdem.errorCode),
        }
      }
      const denied = await probe(alice)
      const acl = (
        resourceType: number,
        resourceName: string,
        operation: number,
        pattern: number = PatternType.LITERAL,
        permission: number = AclPermission.ALLOW,
      ) => ({
        resourceType,
        resourceName,
        resourcePatternType: pattern,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType: permission,
      })
      const creations = [
        acl(ResourceType.TOPIC, 'diff-acl', AclOperation.READ),
        acl(ResourceType.TOPIC, 'diff-acl-w', AclOperation.WRITE, PatternType.PREFIXED),
        acl(ResourceType.TOPIC, 'diff-acl-w1', AclOperation.DELETE, PatternType.LITERAL, AclPermission.DENY),
        acl(ResourceType.TOPIC, '*', AclOperation.DELETE),
        acl(ResourceType.GROUP, 'diff-acl-', AclOperation.READ, PatternType.PREFIXED),
        acl(ResourceType.TRANSACTIONAL_ID, 'diff-acl-tx', AclOperation.DESCRIBE),
      ]
      const created = await admin.call(ApiKeys.CreateAcls, V.createAcls, { creations })
      // Kafka's brokers learn new ACLs from the metadata log a moment after CreateAcls is answered.
      await until(async () => {
        const r = await alice.call(ApiKeys.Metadata, V.metadata, {
          topics: [{ name: 'diff-acl' }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
        const d = await admin.call(ApiKeys.DescribeAcls, 2, {
          resourceTypeFilter: 1,
          resourceNameFilter: null,
          patternTypeFilter: 1,
          principalFilter: 'User:alice',
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        })
        const count = d.resources.reduce((n: number, x: { acls: unknown[] }) => n + x.acls.length, 0)
        return r.topics[0].errorCode === ErrorCode.NONE && count === creations.length
      }, 'the ACLs to reach the broker')
      const granted = await probe(alice)
      const out: Record<string, unknown> = {
        createAcls: created.results.map((r: { errorCode: number }) => err(r.errorCode)),
      }
      for (const [k, v] of Object.entries(denied)) out[`without ACLs: ${k}`] = v
      for (const [k, v] of Object.entries(granted)) out[`with ACLs: ${k}`] = v
      return out
    })
  })
})
