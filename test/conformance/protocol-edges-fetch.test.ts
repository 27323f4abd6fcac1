/**
 * Protocol edge cases of reading, over a raw socket with the generated codecs, where client libraries hide the
 * wire answer: Fetch long polling (maxWait, minBytes), out-of-range offsets, ListOffsets special timestamps, Fetch
 * size limits (KIP-74), leader epochs, LogAppendTime, response ordering and topic ids. Producing, topics and
 * groups: protocol-edges-produce.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { batchSizeAt, decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/record-batch.ts'
import { edgesOverTheWire, FETCH_V, type PartitionFetch, within } from '../helpers/protocol-edges.ts'

describe('protocol edges over the wire: Fetch, ListOffsets, epochs and timestamps', () => {
  const edges = edgesOverTheWire()
  const { connect, createTopic, produce, produceBatch, fetchBody, fetchOne, listOffset, metadata } = edges

  test('a long-polling Fetch returns when a record is produced, not at maxWait', async () => {
    const topic = 'edge-long-poll'
    await createTopic(topic)
    await produce(topic, [{ value: 'first' }])
    const poller = await connect()

    // With a local broker, learn the moment the fetch parks instead of guessing it.
    const waiters = edges.broker.broker?.services.replicas.waiters
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

    const deleted = await edges.wire.call(ApiKeys.DeleteRecords, 2, {
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
    const res = await edges.wire.call(
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
    const both = await edges.wire.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody([
        { topic, partition: 0, offset: 0n },
        { topic, partition: 1, offset: 0n },
      ]),
    )
    assert.equal(both.responses[0].partitions[1].records.length, p1Batch.length)
  })

  test('stored batches carry leader epoch 0; OffsetForLeaderEpoch answers the log end for epoch 0', async () => {
    const topic = 'edge-epochs'
    await createTopic(topic)
    // Clients send partitionLeaderEpoch -1; the leader stamps its own epoch on append.
    await produce(topic, [{ value: 'a' }, { value: 'b' }], 0, { partitionLeaderEpoch: -1 })
    const [batch] = await decodeRecordBatches((await fetchOne(topic, 0, 0n)).records!)
    assert.equal(batch!.header.partitionLeaderEpoch, 0)
    const res = await edges.wire.call(ApiKeys.OffsetForLeaderEpoch, 3, {
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
    const waiters = edges.broker.broker?.services.replicas.waiters
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
    const md = await edges.wire.call(ApiKeys.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    const topicId: string = md.topics[0].topicId
    assert.notEqual(topicId, '00000000-0000-0000-0000-000000000000')
    const byId = (id: string) =>
      edges.wire.call(ApiKeys.Fetch, 16, {
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
    const named = await edges.wire.call(ApiKeys.Metadata, 12, {
      topics: [{ name: null, topicId }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    assert.deepEqual([named.topics[0].errorCode, named.topics[0].name], [ErrorCode.NONE, topic])
  })
})
