/**
 * Partition operations have one owner (ReplicaManager): every append wakes the fetches waiting on its partition,
 * internal topics' appends included.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { decodeKey } from '../../src/broker/group/state-store.ts'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatch, encodeRecordBatchSync, iterateBatches } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const OFFSETS_TOPIC = '__consumer_offsets'

describe('replica manager', () => {
  let broker: TestBroker
  let wire: KafkaWireClient
  let poller: KafkaWireClient

  before(async () => {
    broker = await startTestBroker()
    wire = await KafkaWireClient.connect(broker.bootstrap)
    poller = await KafkaWireClient.connect(broker.bootstrap)
    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'rm-test', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic: 'rm-commits', numPartitions: 1 }], waitForLeaders: true })
    } finally {
      await admin.disconnect()
    }
  })
  after(async () => {
    wire?.socket.destroy()
    poller?.socket.destroy()
    await broker?.close()
  })

  // The fetch may wait 30 s; the test fails well before that if the commit does not wake it.
  test('a long-polling fetch on __consumer_offsets returns once an offset commit appends to it', {
    timeout: 10000,
  }, async () => {
    const end = await wire.call(ApiKeys.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    const endPartition = end.topics[0].partitions[0]
    assert.equal(endPartition.errorCode, ErrorCode.NONE)
    const fetchOffset: bigint = endPartition.offset

    const longPoll = (offset: bigint) =>
      poller.call(ApiKeys.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 30000,
        minBytes: 1,
        maxBytes: 1048576,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: OFFSETS_TOPIC,
            partitions: [
              {
                partition: 0,
                fetchOffset: offset,
                partitionMaxBytes: 1048576,
                currentLeaderEpoch: -1,
                logStartOffset: -1n,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      })
    let pending = longPoll(fetchOffset)
    // Should the broker write other records (the group's) before the offset, each append wakes the fetch waiting at
    // the end of the log, so the poller follows the log until the committed offset arrives.
    const committed = wire.call(ApiKeys.OffsetCommit, 8, {
      groupId: 'rm-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 'rm-commits',
          partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: null }],
        },
      ],
    })
    const seen: string[] = []
    let found = false
    while (!found) {
      const res = await pending
      assert.equal(res.errorCode, ErrorCode.NONE)
      const p = res.responses[0].partitions[0]
      assert.equal(p.errorCode, ErrorCode.NONE)
      const records: Buffer = p.records
      assert.ok(records && records.length > 0, 'a woken fetch carries the appended records')
      let next = fetchOffset
      for (const { start } of iterateBatches(records)) {
        const batch = await decodeRecordBatch(records, start)
        for (const r of batch.records) {
          next = BigInt(r.offset) + 1n
          if (!r.key) continue
          const key = decodeKey(r.key)
          seen.push(JSON.stringify(key))
          if (key.kind === 'offset' && key.group === 'rm-group' && key.topic === 'rm-commits') found = true
        }
      }
      if (!found) pending = longPoll(next)
    }
    const commit = await committed
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.NONE)
    assert.ok(found, `the committed offset's record (seen ${seen.join(', ')})`)
  })

  test('clients may not append to an internal topic or an unknown partition, whatever the records', async () => {
    const produce = async (topic: string, partition: number, records: Buffer) => {
      const res = await wire.call(ApiKeys.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      })
      return res.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint }
    }
    const valid = encodeRecordBatchSync({ records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 }] })
    // A record set of magic 1 is refused with INVALID_RECORD where appending is allowed at all.
    const oldMagic = Buffer.from(valid)
    oldMagic[16] = 1
    const before = await offsetsEnd()
    assert.equal((await produce(OFFSETS_TOPIC, 0, valid)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
    assert.equal((await produce(OFFSETS_TOPIC, 0, oldMagic)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
    assert.equal(await offsetsEnd(), before, 'nothing was appended to the internal topic')
    assert.equal((await produce('rm-commits', 7, oldMagic)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.equal((await produce('rm-commits', 0, oldMagic)).errorCode, ErrorCode.INVALID_RECORD)
  })

  test('offset operations: lookups by position and time, epoch end offsets, DeleteRecords bounds', async () => {
    const topic = 'rm-offsets'
    const created = await wire.call(ApiKeys.CreateTopics, 5, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE)
    const base = Date.now() - 60_000
    const produced = await wire.call(ApiKeys.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: topic,
          partitionData: [
            {
              index: 0,
              records: encodeRecordBatchSync({
                records: [0, 1, 2, 3].map((i) => ({ value: Buffer.from(`v${i}`), timestamp: base + i * 10 })),
              }),
            },
          ],
        },
      ],
    })
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE)

    const list = async (timestamp: bigint, currentLeaderEpoch = -1, isolationLevel = 0) => {
      const res = await wire.call(ApiKeys.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp }] }],
      })
      const p = res.topics[0].partitions[0]
      return [p.errorCode, p.offset, p.timestamp, p.leaderEpoch]
    }
    assert.deepEqual(await list(-1n), [ErrorCode.NONE, 4n, -1n, 0], 'latest')
    assert.deepEqual(await list(-1n, -1, 1), [ErrorCode.NONE, 4n, -1n, 0], 'latest, read_committed (nothing open)')
    assert.deepEqual(await list(-2n), [ErrorCode.NONE, 0n, -1n, 0], 'earliest')
    assert.deepEqual(await list(-5n), [ErrorCode.NONE, -1n, -1n, -1], 'latest tiered: nothing is tiered')
    assert.deepEqual(await list(BigInt(base + 15)), [ErrorCode.NONE, 2n, BigInt(base + 20), 0], 'by time')
    assert.deepEqual(await list(BigInt(base + 31)), [ErrorCode.NONE, -1n, -1n, -1], 'after the newest record')
    assert.equal((await list(-6n))[0], ErrorCode.INVALID_REQUEST, 'an unknown negative timestamp')
    assert.equal((await list(-1n, 1))[0], ErrorCode.UNKNOWN_LEADER_EPOCH, 'a leader epoch beyond ours')

    const epochEnd = async (leaderEpoch: number, currentLeaderEpoch: number) => {
      const res = await wire.call(ApiKeys.OffsetForLeaderEpoch, 3, {
        replicaId: -1,
        topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      })
      const p = res.topics[0].partitions[0]
      return [p.errorCode, p.leaderEpoch, p.endOffset]
    }
    assert.deepEqual(await epochEnd(0, 0), [ErrorCode.NONE, 0, 4n])
    assert.deepEqual(await epochEnd(1, 0), [ErrorCode.NONE, -1, -1n], 'an epoch this log never had')
    assert.deepEqual(await epochEnd(0, 1), [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n])

    const deleteTo = async (name: string, offset: bigint) => {
      const res = await wire.call(ApiKeys.DeleteRecords, 2, {
        topics: [{ name, partitions: [{ partitionIndex: 0, offset }] }],
        timeoutMs: 5000,
      })
      const p = res.topics[0].partitions[0]
      return [p.errorCode, p.lowWatermark]
    }
    assert.deepEqual(await deleteTo(topic, 5n), [ErrorCode.OFFSET_OUT_OF_RANGE, -1n], 'beyond the high watermark')
    assert.deepEqual(await deleteTo(topic, 2n), [ErrorCode.NONE, 2n])
    assert.deepEqual(await list(-2n), [ErrorCode.NONE, 2n, -1n, 0], 'earliest follows the new log start')
    assert.deepEqual(await deleteTo(topic, -1n), [ErrorCode.NONE, 4n], '-1: up to the high watermark')
    assert.deepEqual(await deleteTo(OFFSETS_TOPIC, -1n), [ErrorCode.INVALID_TOPIC_EXCEPTION, -1n], 'internal topic')
    assert.deepEqual(await deleteTo('rm-no-such-topic', 0n), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n])
  })

  async function offsetsEnd(): Promise<bigint> {
    const end = await wire.call(ApiKeys.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    return end.topics[0].partitions[0].offset
  }
})
