/**
 * Fetch responses whose records are sent from the segment files as the socket drains (see src/broker/file-region.ts):
 * every byte must be the log's, whatever mix of in-memory and streamed partitions a response has, and the broker's
 * fetch.max.bytes caps a response whatever the request asks for (KIP-74: a first batch larger than the cap is still
 * returned whole, so a consumer always makes progress).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const PARTITIONS = 24
const FETCH_MAX_BYTES = 4 * 1024 * 1024
/** 40 partitions of ~40 KiB: the first ~25 fill the 1 MiB in-memory budget, the rest are streamed. */
const SMALL_PARTITIONS = 40

/** Distinct bytes per partition, batch and record, so a misplaced or zero-filled range is detected. */
function valueAt(partition: number, batch: number, record: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = (partition * 31 + batch * 7 + record * 3 + i) & 0xff
  return b
}

function fetchAll(topic: string, maxBytes: number, partitionMaxBytes: number, partitions: number[]) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: partitions.map((partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 0n,
          logStartOffset: -1n,
          partitionMaxBytes,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  }
}

describe('fetch responses streamed from the segment files', () => {
  let tb: TestBroker
  let wire: KafkaWireClient
  /** Bytes of each partition's log in the "mixed" topic (they differ so some are read, some streamed). */
  const sizes: number[] = []

  before(async () => {
    tb = await startTestBroker({ fetchMaxBytes: FETCH_MAX_BYTES })
    wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: tb.broker!.port })
    for (const [name, n, configs] of [
      ['mixed', PARTITIONS, []],
      ['capped', 1, []],
      ['many-small', SMALL_PARTITIONS, []],
      ['huge-first', 1, [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }]],
    ] as const) {
      const res = await wire.call(ApiKeys.CreateTopics, 5, {
        topics: [{ name, numPartitions: n, replicationFactor: 1, assignments: [], configs }],
        timeoutMs: 5000,
        validateOnly: false,
      })
      assert.equal(res.topics[0].errorCode, ErrorCode.NONE)
    }
    // Partition p holds 1 + p batches of 20 records of (p * 20 + 50) bytes: from ~1 KiB to ~240 KiB, ~2.2 MB in all,
    // so the first partitions are read into memory and the later ones (past 1 MiB) are streamed.
    for (let p = 0; p < PARTITIONS; p++) {
      let size = 0
      for (let b = 0; b <= p; b++) {
        const records = Array.from({ length: 20 }, (_, r) => ({ value: valueAt(p, b, r, p * 20 + 50) }))
        const batch = encodeRecordBatchSync({ records })
        size += batch.length
        await produce('mixed', p, batch)
      }
      sizes.push(size)
    }
    // Two batches each, so the first is no longer in the partition's 64 KiB tail cache (hits there are served
    // from memory).
    for (let p = 0; p < SMALL_PARTITIONS; p++) {
      for (const b of [100, 101]) {
        const records = Array.from({ length: 20 }, (_, r) => ({ value: valueAt(p, b, r, 2000) }))
        await produce('many-small', p, encodeRecordBatchSync({ records }))
      }
    }
    for (let b = 0; b < 16; b++) {
      await produce('capped', 0, encodeRecordBatchSync({ records: [{ value: valueAt(0, b, 0, 400 * 1024) }] }))
    }
    await produce('huge-first', 0, encodeRecordBatchSync({ records: [{ value: valueAt(1, 0, 0, 5 * 1024 * 1024) }] }))
    await produce('huge-first', 0, encodeRecordBatchSync({ records: [{ value: valueAt(1, 1, 0, 1024) }] }))
  })
  after(async () => {
    wire.close()
    await tb.close()
  })

  async function produce(topic: string, partition: number, records: Buffer): Promise<void> {
    const res = await wire.call(ApiKeys.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    })
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE)
  }

  it('returns every byte of many partitions, in memory and streamed, on flexible and older versions', async () => {
    for (const version of [11, 12]) {
      // Two requests pipelined, so a streamed response is followed by another on the same connection. In the
      // second the largest partitions come first: they use up the in-memory budget, so even partitions of a few
      // KiB are streamed.
      const ascending = [...Array(PARTITIONS).keys()]
      const descending = [...ascending].reverse()
      const answers = [
        wire.call(ApiKeys.Fetch, version, fetchAll('mixed', FETCH_MAX_BYTES, FETCH_MAX_BYTES, ascending)),
        wire.call(ApiKeys.Fetch, version, fetchAll('mixed', FETCH_MAX_BYTES, FETCH_MAX_BYTES, descending)),
      ]
      for (const [i, partitions] of [ascending, descending].entries()) {
        const res = await answers[i]!
        const parts = res.responses[0].partitions as { partitionIndex: number; errorCode: number; records: Buffer }[]
        assert.deepEqual(
          parts.map((x) => x.partitionIndex),
          partitions,
        )
        for (const part of parts) {
          const p = part.partitionIndex
          assert.equal(part.errorCode, ErrorCode.NONE)
          assert.equal(part.records.length, sizes[p], `partition ${p} returns its whole log`)
          const batches = await decodeRecordBatches(part.records)
          assert.equal(batches.length, p + 1)
          batches.forEach(({ records }, b) => {
            records.forEach((rec, r) => {
              assert.ok(rec.value!.equals(valueAt(p, b, r, p * 20 + 50)), `p${p} b${b} r${r}`)
            })
          })
        }
      }
    }
  })

  it('streams partitions of a few KiB once the in-memory budget is used', async () => {
    const all = [...Array(SMALL_PARTITIONS).keys()]
    // 50,000 bytes per partition: the first batch (~40 KiB) of each.
    const res = await wire.call(ApiKeys.Fetch, 12, fetchAll('many-small', FETCH_MAX_BYTES, 50_000, all))
    const parts = res.responses[0].partitions as { partitionIndex: number; records: Buffer }[]
    assert.equal(parts.length, SMALL_PARTITIONS)
    for (const part of parts) {
      const batches = await decodeRecordBatches(part.records)
      assert.equal(batches.length, 1)
      batches[0]!.records.forEach((rec, r) => {
        assert.ok(rec.value!.equals(valueAt(part.partitionIndex, 100, r, 2000)))
      })
    }
  })

  it('caps a response at fetch.max.bytes whatever the request asks for', async () => {
    const res = await wire.call(ApiKeys.Fetch, 11, fetchAll('capped', 100_000_000, 100_000_000, [0]))
    const batches = await decodeRecordBatches(res.responses[0].partitions[0].records)
    const bytes = res.responses[0].partitions[0].records.length
    assert.ok(bytes <= FETCH_MAX_BYTES, `${bytes} bytes`)
    assert.equal(batches.length, Math.floor(FETCH_MAX_BYTES / (400 * 1024 + 100)))
    batches.forEach(({ records }, b) => {
      assert.ok(records[0]!.value!.equals(valueAt(0, b, 0, 400 * 1024)))
    })
  })

  it('returns a first batch larger than fetch.max.bytes whole (KIP-74), and nothing after it', async () => {
    const res = await wire.call(ApiKeys.Fetch, 11, fetchAll('huge-first', 100_000_000, 100_000_000, [0]))
    const batches = await decodeRecordBatches(res.responses[0].partitions[0].records)
    assert.equal(batches.length, 1)
    assert.ok(batches[0]!.records[0]!.value!.equals(valueAt(1, 0, 0, 5 * 1024 * 1024)))
  })
})
