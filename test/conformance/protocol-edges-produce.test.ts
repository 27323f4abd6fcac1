/**
 * Protocol edge cases of writing and of topics, over a raw socket with the generated codecs, where client
 * libraries hide the wire answer: unknown partitions, Metadata auto-creation, invalid topic names, idempotent and
 * transactional producer ids, acks, several batches in one Produce, and a group member's session timeout.
 * Reading: protocol-edges-fetch.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker } from '../helpers/broker.ts'
import { edgesOverTheWire, METADATA_V, PRODUCE_V, SAFETY_MS, until } from '../helpers/protocol-edges.ts'

describe('protocol edges over the wire: topics, Produce, producers and groups', () => {
  const edges = edgesOverTheWire()
  const {
    connectTo,
    connect,
    createTopic,
    leadersKnown,
    findCoordinator,
    initProducerId,
    produce,
    produceBatch,
    fetchOne,
    metadata,
  } = edges

  test('Produce to an unknown partition or topic: UNKNOWN_TOPIC_OR_PARTITION (and no topic is created)', async () => {
    const topic = 'edge-unknown-partition'
    await createTopic(topic, 2)
    assert.equal((await produce(topic, [{ value: 'x' }], 2)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.equal((await produce(topic, [{ value: 'x' }], 1)).errorCode, ErrorCode.NONE)
    assert.equal(
      (await produce('edge-never-created', [{ value: 'x' }])).errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    )
    const md = await metadata(['edge-never-created'], false)
    assert.equal(md.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const fetched = await fetchOne(topic, 5, 0n)
    assert.equal(fetched.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  test('Metadata auto-creates a topic only when the request allows it', async () => {
    const refused = await metadata(['edge-auto-no'], false)
    assert.equal(refused.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.deepEqual(refused.topics[0]!.partitions, [])

    const created = await metadata(['edge-auto-yes'], true)
    const t = created.topics[0]!
    // Tributary creates the topic before answering (NONE); Kafka 4 (KRaft) asks its controller and answers
    // UNKNOWN_TOPIC_OR_PARTITION (older brokers LEADER_NOT_AVAILABLE) while the creation is under way.
    assert.ok(
      ([ErrorCode.NONE, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION] as number[]).includes(
        t.errorCode,
      ),
      `created (${t.errorCode})`,
    )
    if (edges.broker.local) assert.equal(t.errorCode, ErrorCode.NONE, 'Tributary creates the topic before answering')
    await leadersKnown(['edge-auto-yes'])
    const again = await metadata(['edge-auto-yes', 'edge-auto-no'], false)
    assert.equal(again.topics[0]!.errorCode, ErrorCode.NONE)
    if (edges.broker.local) {
      // num.partitions (1) and this single broker as leader.
      assert.deepEqual(
        again.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId]),
        [[0, 0]],
      )
    }
    assert.equal(again.topics[1]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'still not created')
    assert.equal((await produce('edge-auto-yes', [{ value: 'v' }])).errorCode, ErrorCode.NONE)
  })

  test('auto.create.topics.enable=false: Metadata never creates', async (t) => {
    if (!edges.broker.local) {
      t.skip('needs a local broker started with autoCreateTopics false')
      return
    }
    const strict = await startTestBroker({ autoCreateTopics: false })
    const w = await connectTo(strict.bootstrap)
    try {
      const res = await metadata(['edge-auto-disabled'], true, w)
      assert.equal(res.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      assert.equal(strict.broker!.services.topics.get('edge-auto-disabled'), undefined)
    } finally {
      w.close()
      await strict.close()
    }
  })

  test('invalid topic names: INVALID_TOPIC_EXCEPTION', async () => {
    const names = ['bad name', 'bad/name', '.', '..', 'x'.repeat(250), 'ünïcode']
    const res = await metadata(names, true)
    // Kafka answers the topics in no particular order (Tributary in request order).
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.errorCode]).sort(),
      names.map((n) => [n, ErrorCode.INVALID_TOPIC_EXCEPTION]).sort(),
    )
    const listed = await metadata([], false)
    assert.deepEqual(listed.topics, [])
    const produced = await produce('bad name', [{ value: 'x' }])
    assert.ok(
      produced.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
        produced.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION,
      `produce to an invalid name is refused (${produced.errorCode})`,
    )
  })

  test('idempotent produce: a retried batch is acknowledged once, a sequence gap is refused', async () => {
    const topic = 'edge-idempotent'
    await createTopic(topic)
    const init = await initProducerId(null)
    assert.equal(init.errorCode, ErrorCode.NONE)
    assert.ok(init.producerId >= 0n)
    assert.equal(init.producerEpoch, 0)
    const producer = { producerId: Number(init.producerId), producerEpoch: 0 }
    const first = encodeRecordBatchSync({
      ...producer,
      baseSequence: 0,
      records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }],
    })
    assert.deepEqual(
      [(await produceBatch(topic, first)).errorCode, (await produceBatch(topic, first)).errorCode],
      [ErrorCode.NONE, ErrorCode.NONE],
    )
    const retried = await produceBatch(topic, first)
    assert.equal(retried.baseOffset, 0n, 'a duplicate is answered with the offset it was first written at')
    const next = await produce(topic, [{ value: 'd' }], 0, { ...producer, baseSequence: 3 })
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, 3n])
    const gap = await produce(topic, [{ value: 'x' }], 0, { ...producer, baseSequence: 10 })
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    const fetched = await fetchOne(topic, 0, 0n)
    const values = (await decodeRecordBatches(fetched.records!)).flatMap((b) =>
      b.records.map((r) => [r.offset, r.value?.toString()]),
    )
    assert.deepEqual(values, [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
    ])
    const second = await initProducerId(null)
    assert.notEqual(second.producerId, init.producerId, 'every InitProducerId hands out a new producer id')
  })

  test('InitProducerId with a transactional id keeps the producer id and bumps the epoch', async () => {
    const init = () => initProducerId('edge-tx')
    const first = await init()
    assert.equal(first.errorCode, ErrorCode.NONE)
    const second = await init()
    assert.equal(second.errorCode, ErrorCode.NONE)
    assert.deepEqual([second.producerId, second.producerEpoch], [first.producerId, first.producerEpoch + 1])
  })

  test('acks=0 gets no response; invalid acks get INVALID_REQUIRED_ACKS', async () => {
    const topic = 'edge-acks'
    await createTopic(topic)
    // Fire-and-forget: the first frame back on the connection must answer the Metadata request behind the produce.
    const w = await connect()
    const silent = w.encode(ApiKeys.Produce, PRODUCE_V, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 5000,
      topicData: [
        { name: topic, partitionData: [{ index: 0, records: encodeRecordBatchSync({ records: [{ value: 'q' }] }) }] },
      ],
    })
    const md = w.encode(ApiKeys.Metadata, METADATA_V, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    w.write(Buffer.concat([silent.frame, md.frame]))
    assert.equal((await w.nextFrame()).readInt32BE(0), md.correlationId)
    w.close()
    assert.equal((await fetchOne(topic, 0, 0n)).highWatermark, 1n, 'the acks=0 record was written')
    assert.equal((await produce(topic, [{ value: 'r' }], 0, {}, 2)).errorCode, ErrorCode.INVALID_REQUIRED_ACKS)
    assert.equal((await fetchOne(topic, 0, 0n)).highWatermark, 1n, 'nothing written with invalid acks')
  })

  test('Produce with more than one batch for a partition: INVALID_RECORD, nothing stored', async () => {
    const topic = 'edge-two-batches'
    await createTopic(topic)
    const plain = encodeRecordBatchSync({ records: [{ value: 'plain' }] })
    const second = encodeRecordBatchSync({ records: [{ value: 'second' }] })
    const res = await produceBatch(topic, Buffer.concat([plain, second]))
    assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
    // A transactional batch behind a plain one must not slip past the transaction checks either.
    const zombie = encodeRecordBatchSync({
      producerId: 999_999,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: true,
      records: [{ value: 'zombie' }],
    })
    const smuggled = await produceBatch(topic, Buffer.concat([plain, zombie]))
    assert.notEqual(smuggled.errorCode, ErrorCode.NONE)
    const fetched = await fetchOne(topic, 0, 0n)
    assert.equal(fetched.highWatermark, 0n, 'nothing was appended')
    assert.equal((await produceBatch(topic, plain)).errorCode, ErrorCode.NONE, 'one batch is fine')
  })

  test('a group member that stops heartbeating is removed after its session timeout', async () => {
    const groupId = 'edge-dead-member'
    const SESSION_MS = 6000 // the broker's group.min.session.timeout.ms
    const join = (via: KafkaWireClient, memberId: string) =>
      via.call(ApiKeys.JoinGroup, 5, {
        groupId,
        sessionTimeoutMs: SESSION_MS,
        rebalanceTimeoutMs: SESSION_MS,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      })
    const joinAsNew = async (via: KafkaWireClient) => {
      // JoinGroup v4+: a new member first learns its id (MEMBER_ID_REQUIRED), then joins with it.
      // Kafka answers COORDINATOR_LOAD_IN_PROGRESS while it loads a new group coordinator; clients retry.
      // biome-ignore lint/suspicious/noExplicitAny: the decoded JoinGroup response
      let first: any
      await until(async () => {
        first = await join(via, '')
        return first.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      }, 'the group coordinator to load')
      assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
      return join(via, first.memberId)
    }
    await findCoordinator(groupId, 0)
    const dead = await connect()
    const d = await joinAsNew(dead)
    assert.equal(d.errorCode, ErrorCode.NONE)
    assert.equal(d.leader, d.memberId)
    const synced = await dead.call(ApiKeys.SyncGroup, 3, {
      groupId,
      generationId: d.generationId,
      memberId: d.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: d.memberId, assignment: Buffer.from('all') }],
    })
    assert.equal(synced.errorCode, ErrorCode.NONE)
    assert.equal(synced.assignment.toString(), 'all')
    // From here the first member is silent. A second member's join completes only once the first is gone.
    const startedAt = Date.now()
    const alive = await connect()
    const a = await joinAsNew(alive)
    assert.equal(a.errorCode, ErrorCode.NONE)
    assert.ok(a.generationId > d.generationId)
    assert.equal(a.leader, a.memberId)
    assert.deepEqual(
      a.members.map((m: { memberId: string }) => m.memberId),
      [a.memberId],
    )
    assert.ok(Date.now() - startedAt < SAFETY_MS)
    const late = await dead.call(ApiKeys.Heartbeat, 3, {
      groupId,
      generationId: d.generationId,
      memberId: d.memberId,
      groupInstanceId: null,
    })
    assert.ok(
      late.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || late.errorCode === ErrorCode.ILLEGAL_GENERATION,
      `the evicted member is told to rejoin (${late.errorCode})`,
    )
  })
})
