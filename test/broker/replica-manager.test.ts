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

  async function offsetsEnd(): Promise<bigint> {
    const end = await wire.call(ApiKeys.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: OFFSETS_TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    return end.topics[0].partitions[0].offset
  }
})
