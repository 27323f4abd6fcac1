/**
 * Topic creation is all or nothing. A broker process started under a low `ulimit -n` runs out of file descriptors
 * in the middle of creating a topic's partitions: CreateTopics must answer an error naming the cause, the topic must
 * not appear in Metadata (half-created, it used to look healthy while produce failed until a restart), its partition
 * directories must be gone, and the broker must go on creating smaller topics and serving them, before and after a
 * restart, without losing a record.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { ZERO_UUID } from '../../../src/protocol/primitives.ts'
import { encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'
import { tempDir } from '../../helpers/broker.ts'
import { type FaultBroker, limitFds, MiB, openFds, peakRss, resetPeakRss, rss, spawnFaultBroker } from './child.ts'

/** Descriptors left to the broker: enough for a few small topics (a new partition takes 3), not for 40 partitions. */
const SPARE_FDS = 30

function createTopic(name: string, numPartitions: number) {
  return {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  }
}

describe('topic creation when file descriptors run out', () => {
  const dir = tempDir()
  let broker: FaultBroker

  before(async () => {
    broker = await spawnFaultBroker(dir.path, ['--set', 'group.initial.rebalance.delay.ms=0'])
  })
  after(async () => {
    await broker?.stop()
    dir.remove()
  })

  it('rolls the topic back, answers an error, and goes on serving', async () => {
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    limitFds(broker.pid, SPARE_FDS)
    const fdsBefore = openFds(broker.pid)
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)

    const res = await wire.call(ApiKeys.CreateTopics, 5, createTopic('wide', 40))
    const result = res.topics[0]
    assert.equal(result.name, 'wide')
    assert.notEqual(result.errorCode, ErrorCode.NONE, 'creating 40 partitions under the fd limit fails')
    assert.match(result.errorMessage ?? '', /file descriptors|EMFILE/i)

    // Nothing of it is left: not in Metadata, not producible, no directories, no descriptors held.
    const meta = await wire.call(ApiKeys.Metadata, 12, {
      topics: [{ name: 'wide', topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
    })
    assert.equal(meta.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const all = await wire.call(ApiKeys.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
    assert.ok(!all.topics.some((t: { name: string }) => t.name === 'wide'))
    const produced = await wire.call(ApiKeys.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'wide', partitionData: [{ index: 0, records: encodeRecordBatchSync({ records: [{ value: 'x' }] }) }] },
      ],
    })
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.deepEqual(
      readdirSync(dir.path).filter((d) => d.startsWith('wide-')),
      [],
    )
    // The broker's own background work (a checkpoint, a /proc read) may hold a descriptor for a moment: what the
    // failed creation opened must be gone, so the count must come back down, not stay up.
    const deadline = Date.now() + 5000
    while (openFds(broker.pid) > fdsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.ok(openFds(broker.pid) <= fdsBefore, `descriptors: ${fdsBefore} before, ${openFds(broker.pid)} after`)
    assert.ok(broker.output().includes('wide'), 'the failure is logged')
    wire.close()

    // A topic that fits is created and works end to end.
    const small = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    const ok = await small.call(ApiKeys.CreateTopics, 5, createTopic('narrow', 2))
    assert.equal(ok.topics[0].errorCode, ErrorCode.NONE)
    small.close()
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`)
    await producer.send({ topic: 'narrow', acks: -1, messages: values.map((value) => ({ value, partition: 0 })) })
    await producer.disconnect()
    assert.ok(peakRss(broker.pid) - rssBefore < 64 * MiB)

    // After a restart (with descriptors to spare) the failed topic is still absent and the records are all there.
    await broker.stop()
    broker = await spawnFaultBroker(dir.path, ['--set', 'group.initial.rebalance.delay.ms=0'])
    const again = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    const all2 = await again.call(ApiKeys.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
    again.close()
    assert.ok(!all2.topics.some((t: { name: string }) => t.name === 'wide'))
    assert.ok(all2.topics.some((t: { name: string }) => t.name === 'narrow'))
    const consumer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: 'g' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'narrow', fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString())
            if (seen.length === values.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    assert.deepEqual(seen, values)
  })
})
