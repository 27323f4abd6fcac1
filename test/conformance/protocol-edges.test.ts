/**
 * Protocol edge cases over a raw socket with the generated codecs, where client libraries hide the wire answer:
 * Fetch long polling, out-of-range offsets, ListOffsets special timestamps, Fetch size limits (KIP-74), unknown
 * partitions, Metadata auto-creation and invalid topic names.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import {
  batchSizeAt,
  decodeRecordBatches,
  type EncodeBatchOptions,
  encodeRecordBatch,
  encodeRecordBatchSync,
} from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const SAFETY_MS = 20000

/** Polls another process's state until `ready` holds (there is no event to await across the wire). */
async function until(ready: () => Promise<boolean>, what: string, ms = SAFETY_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function within<T>(promise: Promise<T>, what: string, ms = SAFETY_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

interface PartitionFetch {
  errorCode: number
  highWatermark: bigint
  logStartOffset: bigint
  records: Buffer | null
}

// Produce v9 / Metadata v9 / ListOffsets v7 are flexible or near the top of what real clients send; Fetch v11 is
// the newest non-flexible version (KafkaJS, librdkafka) and addresses topics by name.
const PRODUCE_V = 9
const FETCH_V = 11
const LIST_OFFSETS_V = 7
const METADATA_V = 9

describe('protocol edges over the wire', () => {
  let broker: TestBroker
  let wire: KafkaWireClient
  const opened: KafkaWireClient[] = []

  // An unanswered request fails its connection after SAFETY_MS instead of hanging the suite.
  const connectTo = (bootstrap: string) =>
    KafkaWireClient.connect(bootstrap, { clientId: 'protocol-edges', requestTimeoutMs: SAFETY_MS })
  async function connect(): Promise<KafkaWireClient> {
    const w = await connectTo(broker.bootstrap)
    opened.push(w)
    return w
  }
  async function createTopic(name: string, numPartitions = 1, configs: Record<string, string> = {}): Promise<void> {
    const res = await wire.call(ApiKeys.CreateTopics, 5, {
      topics: [
        {
          name,
          numPartitions,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    })
    assert.equal(res.topics[0].errorCode, ErrorCode.NONE)
    await leadersKnown([name])
  }
  /**
   * Kafka answers CreateTopics once the controller committed the topic; its broker learns the leaders a moment
   * later (NOT_LEADER_OR_FOLLOWER until then), so wait for Metadata to name a leader for every partition, as
   * clients do. Tributary has them at once.
   */
  async function leadersKnown(names: string[]): Promise<void> {
    await until(
      async () => {
        const md = await metadata(names, false)
        if (!md.topics.every((t) => t.errorCode === ErrorCode.NONE && t.partitions.every((p) => p.leaderId >= 0))) {
          return false
        }
        // Kafka's metadata cache names the leader just before its replica manager leads the partition.
        for (const t of md.topics) {
          for (const p of t.partitions) {
            if ((await listOffset(t.name, -1n, p.partitionIndex)).errorCode !== ErrorCode.NONE) return false
          }
        }
        return true
      },
      `leaders of ${names.join(', ')}`,
    )
  }
  /**
   * What every client does before talking to a coordinator: FindCoordinator until it answers. Kafka creates
   * `__consumer_offsets` / `__transaction_state` on the first lookup and answers COORDINATOR_NOT_AVAILABLE meanwhile.
   */
  async function findCoordinator(key: string, keyType: 0 | 1): Promise<void> {
    await until(async () => {
      const res = await wire.call(ApiKeys.FindCoordinator, 3, { key, keyType })
      return res.errorCode === ErrorCode.NONE
    }, `the coordinator of ${key}`)
  }
  /** InitProducerId, retried on the errors Kafka's clients retry (coordinator still loading or moving). */
  // biome-ignore lint/suspicious/noExplicitAny: the decoded InitProducerId response
  async function initProducerId(transactionalId: string | null): Promise<any> {
    if (transactionalId !== null) await findCoordinator(transactionalId, 1)
    const retriable: number[] = [
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      ErrorCode.NOT_COORDINATOR,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    ]
    // biome-ignore lint/suspicious/noExplicitAny: the decoded InitProducerId response
    let res: any
    await until(async () => {
      res = await wire.call(ApiKeys.InitProducerId, 4, {
        transactionalId,
        transactionTimeoutMs: 60000,
        producerId: -1n,
        producerEpoch: -1,
      })
      return !retriable.includes(res.errorCode)
    }, 'InitProducerId')
    return res
  }
  async function produce(
    topic: string,
    records: { key?: string; value: string; timestamp?: number }[],
    partition = 0,
    batchOptions: Partial<EncodeBatchOptions> = {},
    acks = -1,
  ): Promise<{ errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint; batch: Buffer }> {
    const batch = await encodeRecordBatch({ ...batchOptions, records })
    return produceBatch(topic, batch, partition, acks)
  }
  async function produceBatch(topic: string, batch: Buffer, partition = 0, acks = -1) {
    const res = await wire.call(ApiKeys.Produce, PRODUCE_V, {
      transactionalId: null,
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    })
    const p = res.responses[0].partitionResponses[0]
    return { errorCode: p.errorCode, baseOffset: p.baseOffset, logAppendTimeMs: p.logAppendTimeMs, batch }
  }
  function fetchBody(
    partitions: { topic: string; partition: number; offset: bigint; maxBytes?: number }[],
    opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number } = {},
  ) {
    const byTopic = new Map<string, { partition: number; fetchOffset: bigint; partitionMaxBytes: number }[]>()
    for (const p of partitions) {
      const list = byTopic.get(p.topic) ?? []
      list.push({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: p.maxBytes ?? 1048576 })
      byTopic.set(p.topic, list)
    }
    return {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: opts.minBytes ?? 0,
      maxBytes: opts.maxBytes ?? 52428800,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({ ...p, currentLeaderEpoch: -1, logStartOffset: -1n })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    }
  }
  async function fetchOne(
    topic: string,
    partition: number,
    offset: bigint,
    opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {},
    via = wire,
  ): Promise<PartitionFetch> {
    const res = await via.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody([{ topic, partition, offset, maxBytes: opts.partitionMaxBytes }], opts),
    )
    assert.equal(res.errorCode, ErrorCode.NONE)
    return res.responses[0].partitions[0]
  }
  async function listOffset(topic: string, timestamp: bigint, partition = 0) {
    const res = await wire.call(ApiKeys.ListOffsets, LIST_OFFSETS_V, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
    })
    return res.topics[0].partitions[0] as { errorCode: number; offset: bigint; timestamp: bigint }
  }
  async function metadata(names: string[], allowAutoTopicCreation: boolean, via = wire) {
    const res = await via.call(ApiKeys.Metadata, METADATA_V, {
      topics: names.map((name) => ({ name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    return res as {
      brokers: { nodeId: number }[]
      topics: { errorCode: number; name: string; partitions: { partitionIndex: number; leaderId: number }[] }[]
    }
  }

  before(async () => {
    broker = await startTestBroker()
    wire = await connect()
  })
  after(async () => {
    for (const w of opened) w.close()
    await broker?.close()
  })

  test('a long-polling Fetch returns when a record is produced, not at maxWait', async () => {
    const topic = 'edge-long-poll'
    await createTopic(topic)
    await produce(topic, [{ value: 'first' }])
    const poller = await connect()

    // With a local broker, learn the moment the fetch parks instead of guessing it.
    const waiters = broker.broker?.services.replicas.waiters
    let parked: Promise<void> = Promise.resolve()
    if (waiters) {
      const original = waiters.wait.bind(waiters)
      parked = new Promise<void>((resolve) => {
        waiters.wait = (...args) => {
          waiters.wait = original
          resolve()
          return original(...args)
        }
      })
    }
    const maxWaitMs = 15000
    const started = Date.now()
    let answeredAt = 0
    const pending = fetchOne(topic, 0, 1n, { maxWaitMs, minBytes: 1 }, poller).then((r) => {
      answeredAt = Date.now()
      return r
    })
    await within(parked, 'the fetch to park')
    assert.equal(answeredAt, 0, 'the fetch is still waiting: there is nothing past offset 1 yet')
    const produced = await produce(topic, [{ key: 'k', value: 'second' }])
    const producedAt = Date.now()
    assert.equal(produced.baseOffset, 1n)
    const res = await pending
    assert.equal(res.errorCode, ErrorCode.NONE)
    const batches = await decodeRecordBatches(res.records!)
    assert.deepEqual(
      batches.flatMap((b) => b.records.map((r) => [r.offset, r.value?.toString()])),
      [[1, 'second']],
    )
    assert.ok(answeredAt >= producedAt - 1000, 'answered after the produce')
    assert.ok(answeredAt - started < maxWaitMs, `answered before maxWait (${answeredAt - started} ms)`)
  })

  test('Fetch past the log end or before the log start: OFFSET_OUT_OF_RANGE', async () => {
    const topic = 'edge-out-of-range'
    await createTopic(topic)
    await produce(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }])
    const atEnd = await fetchOne(topic, 0, 3n)
    assert.equal(atEnd.errorCode, ErrorCode.NONE, 'fetching exactly at the log end is fine (empty)')
    assert.equal(atEnd.records?.length ?? 0, 0)
    assert.equal(atEnd.highWatermark, 3n)
    const beyond = await fetchOne(topic, 0, 4n)
    assert.equal(beyond.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
    assert.equal(beyond.records?.length ?? 0, 0)

    const deleted = await wire.call(ApiKeys.DeleteRecords, 2, {
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 5000,
    })
    assert.equal(deleted.topics[0].partitions[0].errorCode, ErrorCode.NONE)
    const before = await fetchOne(topic, 0, 1n)
    assert.equal(before.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
    assert.equal((await listOffset(topic, -2n)).offset, 2n, 'earliest follows the new log start')
    const fromStart = await fetchOne(topic, 0, 2n)
    assert.equal(fromStart.errorCode, ErrorCode.NONE)
    assert.equal(fromStart.logStartOffset, 2n)
    const values = (await decodeRecordBatches(fromStart.records!)).flatMap((b) =>
      b.records.filter((r) => r.offset >= 2).map((r) => r.value?.toString()),
    )
    assert.deepEqual(values, ['c'])
  })

  test('ListOffsets earliest (-2), latest (-1), max-timestamp (-3) and by timestamp', async () => {
    const topic = 'edge-list-offsets'
    await createTopic(topic)
    const empty = await listOffset(topic, -1n)
    assert.deepEqual([empty.errorCode, empty.offset], [ErrorCode.NONE, 0n])
    assert.equal((await listOffset(topic, -3n)).offset, -1n, 'no max timestamp in an empty partition')

    const base = Date.now() - 60000
    // The newest timestamp sits in the middle of the log: max-timestamp must find offset 2, not the last one.
    await produce(topic, [
      { value: 'a', timestamp: base },
      { value: 'b', timestamp: base + 10 },
    ])
    await produce(topic, [{ value: 'c', timestamp: base + 500 }])
    await produce(topic, [{ value: 'd', timestamp: base + 20 }])

    assert.equal((await listOffset(topic, -2n)).offset, 0n)
    assert.equal((await listOffset(topic, -1n)).offset, 4n)
    const max = await listOffset(topic, -3n)
    assert.deepEqual([max.errorCode, max.offset, max.timestamp], [ErrorCode.NONE, 2n, BigInt(base + 500)])
    const byTs = await listOffset(topic, BigInt(base + 5))
    assert.deepEqual([byTs.offset, byTs.timestamp], [1n, BigInt(base + 10)])
    // The first record whose timestamp is >= the target, in offset order: c (offset 2) comes before d.
    const mid = await listOffset(topic, BigInt(base + 15))
    assert.deepEqual([mid.offset, mid.timestamp], [2n, BigInt(base + 500)])
    const none = await listOffset(topic, BigInt(base + 501))
    assert.deepEqual([none.errorCode, none.offset, none.timestamp], [ErrorCode.NONE, -1n, -1n])

    const unknown = await listOffset(topic, -1n, 7)
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  test('Fetch size limits return whole batches, and always the first one', async () => {
    const topic = 'edge-max-bytes'
    await createTopic(topic, 2)
    const sizes: number[] = []
    for (let i = 0; i < 3; i++) {
      const { batch, errorCode } = await produce(topic, [{ value: `${i}`.repeat(1000) }])
      assert.equal(errorCode, ErrorCode.NONE)
      sizes.push(batch.length)
    }
    const [s0, s1] = sizes as [number, number, number]

    const tiny = await fetchOne(topic, 0, 0n, { partitionMaxBytes: 10 })
    assert.equal(tiny.records!.length, s0, 'the first batch is returned whole even past partitionMaxBytes')
    assert.equal(batchSizeAt(tiny.records!, 0), s0)

    const tinyResponse = await fetchOne(topic, 0, 0n, { maxBytes: 1 })
    assert.equal(tinyResponse.records!.length, s0, 'and past the response maxBytes')

    // Room for one and a half batches: the first whole batch, and at most the allowance of the limit.
    const limit = s0 + Math.floor(s1 / 2)
    const partial = await fetchOne(topic, 0, 0n, { partitionMaxBytes: limit })
    assert.ok(partial.records!.length <= limit, `${partial.records!.length} <= ${limit}`)
    assert.equal(batchSizeAt(partial.records!, 0), s0)
    const two = await fetchOne(topic, 0, 0n, { partitionMaxBytes: s0 + s1 })
    assert.equal(two.records!.length, s0 + s1)
    const values = (await decodeRecordBatches(two.records!)).flatMap((b) => b.records.map((r) => r.value?.toString()))
    assert.deepEqual(values, ['0'.repeat(1000), '1'.repeat(1000)])

    // Response maxBytes spans partitions: once the first partition filled it, the second gets nothing.
    const { batch: p1Batch } = await produce(topic, [{ value: 'p1' }], 1)
    const res = await wire.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody(
        [
          { topic, partition: 0, offset: 0n },
          { topic, partition: 1, offset: 0n },
        ],
        { maxBytes: s0 },
      ),
    )
    const [p0, p1] = res.responses[0].partitions as [PartitionFetch, PartitionFetch]
    assert.equal(p0.records!.length, s0)
    assert.equal(p1.errorCode, ErrorCode.NONE)
    assert.equal(p1.records?.length ?? 0, 0)
    const both = await wire.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody([
        { topic, partition: 0, offset: 0n },
        { topic, partition: 1, offset: 0n },
      ]),
    )
    assert.equal(both.responses[0].partitions[1].records.length, p1Batch.length)
  })

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
    if (broker.local) assert.equal(t.errorCode, ErrorCode.NONE, 'Tributary creates the topic before answering')
    await leadersKnown(['edge-auto-yes'])
    const again = await metadata(['edge-auto-yes', 'edge-auto-no'], false)
    assert.equal(again.topics[0]!.errorCode, ErrorCode.NONE)
    if (broker.local) {
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
    if (!broker.local) {
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

  test('stored batches carry leader epoch 0; OffsetForLeaderEpoch answers the log end for epoch 0', async () => {
    const topic = 'edge-epochs'
    await createTopic(topic)
    // Clients send partitionLeaderEpoch -1; the leader stamps its own epoch on append.
    await produce(topic, [{ value: 'a' }, { value: 'b' }], 0, { partitionLeaderEpoch: -1 })
    const [batch] = await decodeRecordBatches((await fetchOne(topic, 0, 0n)).records!)
    assert.equal(batch!.header.partitionLeaderEpoch, 0)
    const res = await wire.call(ApiKeys.OffsetForLeaderEpoch, 3, {
      replicaId: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
            { partition: 1, currentLeaderEpoch: 0, leaderEpoch: 0 },
          ],
        },
      ],
    })
    const [p0, p1] = res.topics[0].partitions
    assert.deepEqual([p0.errorCode, p0.leaderEpoch, p0.endOffset], [ErrorCode.NONE, 0, 2n])
    assert.equal(p1.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  test('message.timestamp.type=LogAppendTime: the broker stamps append time on produce, fetch and lookups', async () => {
    const topic = 'edge-append-time'
    await createTopic(topic, 1, { 'message.timestamp.type': 'LogAppendTime' })
    const old = Date.now() - 86_400_000
    const before = Date.now()
    const res = await produce(topic, [
      { value: 'a', timestamp: old },
      { value: 'b', timestamp: old + 1 },
    ])
    assert.equal(res.errorCode, ErrorCode.NONE)
    assert.ok(res.logAppendTimeMs >= BigInt(before), `logAppendTimeMs ${res.logAppendTimeMs} is the append time`)
    const [batch] = await decodeRecordBatches((await fetchOne(topic, 0, 0n)).records!)
    assert.equal(batch!.header.timestampType, 1)
    assert.equal(BigInt(batch!.header.maxTimestamp), res.logAppendTimeMs)
    const found = await listOffset(topic, BigInt(old + 1))
    assert.deepEqual([found.offset, found.timestamp], [0n, res.logAppendTimeMs])
  })
  for (const [name, compression] of [
    ['gzip', 1],
    ['snappy', 2],
    ['lz4', 3],
  ] as const) {
    test(`ListOffsets by timestamp and max-timestamp look inside ${name}-compressed batches`, async () => {
      const topic = `edge-ts-${name}`
      await createTopic(topic)
      const base = Date.now() - 60000
      await produce(
        topic,
        [0, 10, 30, 20].map((d, i) => ({ value: `v${i}`, timestamp: base + d })),
        0,
        { compression },
      )
      const [stored] = await decodeRecordBatches((await fetchOne(topic, 0, 0n)).records!)
      assert.equal(stored!.header.compression, compression, 'the batch is stored compressed')
      const byTs = await listOffset(topic, BigInt(base + 5))
      assert.deepEqual([byTs.offset, byTs.timestamp], [1n, BigInt(base + 10)])
      const later = await listOffset(topic, BigInt(base + 15))
      assert.deepEqual([later.offset, later.timestamp], [2n, BigInt(base + 30)])
      const max = await listOffset(topic, -3n)
      assert.deepEqual([max.offset, max.timestamp], [2n, BigInt(base + 30)])
    })
  }
  test('a long-polling Fetch keeps waiting until minBytes have accumulated over several appends', async (t) => {
    const waiters = broker.broker?.services.replicas.waiters
    if (!waiters) {
      t.skip('needs the in-process broker to observe the parked fetch')
      return
    }
    const topic = 'edge-min-bytes'
    await createTopic(topic)
    const poller = await connect()
    const original = waiters.wait.bind(waiters)
    let parkedTimes = 0
    const parkedChanged: (() => void)[] = []
    waiters.wait = (...args) => {
      parkedTimes++
      for (const f of parkedChanged.splice(0)) f()
      return original(...args)
    }
    const parkedAtLeast = (n: number) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => (parkedTimes >= n ? resolve() : parkedChanged.push(check))
          check()
        }),
        `the fetch to park ${n} times`,
      )
    try {
      const one = await encodeRecordBatch({ records: [{ value: 'one' }] })
      let answered = false
      const pending = fetchOne(topic, 0, 0n, { maxWaitMs: 15000, minBytes: one.length + 1 }, poller).then((r) => {
        answered = true
        return r
      })
      await parkedAtLeast(1)
      await produceBatch(topic, one)
      // Woken by the first append, the fetch finds fewer than minBytes and parks again.
      await parkedAtLeast(2)
      assert.equal(answered, false, 'one batch is below minBytes')
      await produce(topic, [{ value: 'two' }])
      const res = await pending
      const values = (await decodeRecordBatches(res.records!)).flatMap((b) => b.records.map((r) => r.value?.toString()))
      assert.deepEqual(values, ['one', 'two'])
    } finally {
      waiters.wait = original
    }
  })

  test('responses on one connection come back in request order, even behind a parked Fetch', async () => {
    const topic = 'edge-ordering'
    await createTopic(topic)
    const w = await connect()
    // The Fetch waits up to maxWait for data that never comes; the Metadata behind it must not overtake it.
    const fetched = w.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody([{ topic, partition: 0, offset: 0n }], { maxWaitMs: 300, minBytes: 1 }),
    )
    const md = metadata([topic], false, w)
    const [f, m] = await Promise.all([fetched, md])
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.NONE)
    assert.equal(m.topics[0]!.name, topic)
  })

  test('Fetch v13+ addresses topics by id: UNKNOWN_TOPIC_ID for an id that does not exist', async () => {
    const topic = 'edge-topic-id'
    await createTopic(topic)
    await produce(topic, [{ value: 'by-id' }])
    const md = await wire.call(ApiKeys.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    const topicId: string = md.topics[0].topicId
    assert.notEqual(topicId, '00000000-0000-0000-0000-000000000000')
    const byId = (id: string) =>
      wire.call(ApiKeys.Fetch, 16, {
        ...fetchBody([{ topic: '', partition: 0, offset: 0n }]),
        topics: [
          {
            topicId: id,
            partitions: [
              {
                partition: 0,
                fetchOffset: 0n,
                partitionMaxBytes: 1048576,
                currentLeaderEpoch: -1,
                logStartOffset: -1n,
              },
            ],
          },
        ],
      })
    const ok = await byId(topicId)
    assert.equal(ok.responses[0].topicId, topicId)
    const values = (await decodeRecordBatches(ok.responses[0].partitions[0].records)).flatMap((b) =>
      b.records.map((r) => r.value?.toString()),
    )
    assert.deepEqual(values, ['by-id'])
    const missing = await byId('0f0e0d0c-0b0a-0908-0706-050403020100')
    assert.equal(missing.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID)
    // Metadata v12 looks a topic up by id when the name is null.
    const named = await wire.call(ApiKeys.Metadata, 12, {
      topics: [{ name: null, topicId }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    assert.deepEqual([named.topics[0].errorCode, named.topics[0].name], [ErrorCode.NONE, topic])
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
