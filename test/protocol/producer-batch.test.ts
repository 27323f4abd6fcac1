import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { initCompression } from '../../src/protocol/compression.ts'
import {
  decodeRecordBatchSync,
  encodeProducerBatch,
  encodeRecordBatchSync,
  isBatchCrcValid,
  type OutgoingRecord,
  readBatchHeader,
} from '../../src/protocol/record-batch.ts'

const bytes = fc.option(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  { nil: null },
)
const record: fc.Arbitrary<OutgoingRecord> = fc.record({
  key: bytes,
  value: bytes,
  timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: bytes }), { maxLength: 3 }),
})

test('encodeProducerBatch writes the same bytes as the general encoder', () => {
  fc.assert(
    fc.property(
      fc.array(record, { minLength: 1, maxLength: 30 }),
      fc.integer({ min: -1, max: 2 ** 40 }),
      fc.integer({ min: -1, max: 32767 }),
      fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      fc.boolean(),
      (records, producerId, producerEpoch, baseSequence, transactional) => {
        const ours = encodeProducerBatch(records, 0, records.length, {
          producerId,
          producerEpoch,
          baseSequence,
          transactional,
        })
        const general = encodeRecordBatchSync({
          records: records.map((r) => ({ ...r, headers: [...r.headers] })),
          producerId,
          producerEpoch,
          baseSequence,
          isTransactional: transactional,
        })
        assert.deepEqual(ours, general)
      },
    ),
    { numRuns: 300 },
  )
})

test('encodeProducerBatch encodes a slice; the batch decodes with its CRC, header and records', () => {
  const r = (i: number): OutgoingRecord => ({
    key: Buffer.from(`k${i}`),
    value: i === 2 ? null : Buffer.from(`v${i}`),
    timestamp: 1_700_000_000_000 + (i === 3 ? -10 : i),
    headers: i === 1 ? [{ key: 'h', value: Buffer.from('x') }] : [],
  })
  const records = [0, 1, 2, 3, 4].map(r)
  const batch = encodeProducerBatch(records, 1, 4, {
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 7,
    transactional: true,
  })
  assert.ok(isBatchCrcValid(batch, 0, batch.length))
  const header = readBatchHeader(batch)
  assert.deepEqual(
    [header.recordCount, header.lastOffsetDelta, header.producerId, header.producerEpoch, header.baseSequence],
    [3, 2, 42, 3, 7],
  )
  assert.equal(header.isTransactional, true)
  assert.equal(header.baseTimestamp, 1_700_000_000_001)
  assert.equal(header.maxTimestamp, 1_700_000_000_002)
  const decoded = decodeRecordBatchSync(batch).records
  assert.deepEqual(
    decoded.map((d) => [d.offset, d.key?.toString(), d.value?.toString() ?? null, d.timestamp, d.headers.length]),
    [
      [0, 'k1', 'v1', 1_700_000_000_001, 1],
      [1, 'k2', null, 1_700_000_000_002, 0],
      [2, 'k3', 'v3', 1_699_999_999_990, 0],
    ],
  )
  assert.throws(
    () =>
      encodeProducerBatch(records, 2, 2, { producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false }),
    RangeError,
  )
})

test('encodeProducerBatch compresses the records section with each codec, flagged in the attributes', async () => {
  await initCompression()
  const records: OutgoingRecord[] = [0, 1, 2, 3].map((i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.from('value '.repeat(50 + i)),
    timestamp: 1_700_000_000_000 + i,
    headers: i === 2 ? [{ key: 'h', value: Buffer.from('x') }] : [],
  }))
  const plain = encodeProducerBatch(records, 0, records.length, {
    producerId: 5,
    producerEpoch: 1,
    baseSequence: 0,
    transactional: false,
  })
  for (const codec of [1, 2, 3, 4]) {
    const batch = encodeProducerBatch(records, 0, records.length, {
      producerId: 5,
      producerEpoch: 1,
      baseSequence: 0,
      transactional: true,
      compression: codec,
    })
    const header = readBatchHeader(batch)
    assert.equal(header.compression, codec)
    assert.equal(header.isTransactional, true)
    assert.ok(isBatchCrcValid(batch, 0, batch.length))
    assert.ok(batch.length < plain.length, `codec ${codec} makes the batch smaller`)
    assert.deepEqual(
      decodeRecordBatchSync(batch).records,
      decodeRecordBatchSync(plain).records,
      `codec ${codec} decodes to the same records`,
    )
  }
})
