import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { Reader, readRecordsBatches } from '@platformatic/kafka'
import fc from 'fast-check'
import { TributaryError } from '../../src/errors.ts'
import {
  compress,
  compressSync,
  decompress,
  decompressSync,
  initCompression,
  isXerialSnappy,
} from '../../src/protocol/compression.ts'
import {
  BatchOffsets,
  decodeControlRecordType,
  decodeRecordBatch,
  decodeRecordBatchSync,
  encodeControlBatch,
  encodeControlRecord,
  encodeRecordBatch,
  encodeRecordBatchPreserving,
  encodeRecordBatchSync,
  iterateBatches,
  LogError,
  readBatchHeader,
  updateBatchCrc,
  validateRecordBatch,
  writeInt64,
} from '../../src/protocol/record-batch.ts'

const require = createRequire(import.meta.url)

const recordArb = fc
  .record({
    key: fc.option(
      fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    value: fc.option(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    headers: fc.array(
      fc.record({
        key: fc.string({ maxLength: 10 }),
        value: fc.option(
          fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
          { nil: null },
        ),
      }),
      { maxLength: 3 },
    ),
    timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  })
  .map((r) => ({ ...r, headers: r.headers.map((h) => ({ ...h })) }))

test('encode/decode round trip for arbitrary records, offsets and codecs (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(recordArb, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 2 ** 50 }),
      fc.constantFrom(0, 1, 2, 3),
      fc.integer({ min: -1, max: 2 ** 40 }),
      async (records, baseOffset, compression, producerId) => {
        const buf = await encodeRecordBatch({
          baseOffset,
          records,
          compression,
          producerId,
          producerEpoch: 3,
          baseSequence: 7,
        })
        const { header } = validateRecordBatch(buf)
        assert.equal(header.baseOffset, baseOffset)
        assert.equal(header.compression, compression)
        assert.equal(header.recordCount, records.length)
        assert.equal(header.lastOffsetDelta, records.length - 1)
        assert.equal(header.producerId, producerId)
        assert.equal(header.baseSequence, 7)
        assert.equal(header.maxTimestamp, Math.max(...records.map((r) => r.timestamp)))
        const decoded = await decodeRecordBatch(buf)
        assert.deepEqual(
          decoded.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
          records,
        )
        assert.deepEqual(
          decoded.records.map((r) => r.offset),
          records.map((_, i) => baseOffset + i),
        )
      },
    ),
    { numRuns: 60 },
  )
})

test('null keys and values, headers, and negative timestamp deltas survive the round trip', () => {
  const buf = encodeRecordBatchSync({
    baseOffset: 10,
    records: [
      { key: null, value: 'v', timestamp: 5000 },
      {
        key: 'k',
        value: null,
        timestamp: 1000,
        headers: [
          { key: 'h1', value: 'x' },
          { key: 'h2', value: null },
        ],
      },
      { timestamp: 4000, headers: { single: 'y' } },
    ],
  })
  const { header, records } = decodeRecordBatchSync(buf)
  assert.equal(header.baseTimestamp, 5000)
  assert.equal(header.maxTimestamp, 5000)
  assert.deepEqual(
    records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]),
    [
      [10, 5000, null, 'v'],
      [11, 1000, 'k', null],
      [12, 4000, null, null],
    ],
  )
  assert.deepEqual(records[1]!.headers, [
    { key: 'h1', value: Buffer.from('x') },
    { key: 'h2', value: null },
  ])
  assert.deepEqual(records[2]!.headers, [{ key: 'single', value: Buffer.from('y') }])
})

test('readBatchHeader reads flags without decoding records', () => {
  const buf = encodeRecordBatchSync({
    records: [{ value: 'a', timestamp: 1 }],
    isTransactional: true,
    producerId: 42,
    producerEpoch: 2,
    baseSequence: 0,
    timestampType: 1,
    partitionLeaderEpoch: 9,
  })
  const h = readBatchHeader(buf, 0)
  assert.equal(h.magic, 2)
  assert.equal(h.isTransactional, true)
  assert.equal(h.isControl, false)
  assert.equal(h.timestampType, 1)
  assert.equal(h.partitionLeaderEpoch, 9)
  assert.equal(h.producerEpoch, 2)
  assert.equal(h.batchLength, buf.length - 12)
})

test('LogAppendTime batches report maxTimestamp for every record', () => {
  const buf = encodeRecordBatchSync({
    records: [
      { value: 'a', timestamp: 1 },
      { value: 'b', timestamp: 2 },
    ],
  })
  buf.writeInt16BE(buf.readInt16BE(BatchOffsets.attributes) | 0x08, BatchOffsets.attributes)
  writeInt64(buf, BatchOffsets.maxTimestamp, 99)
  updateBatchCrc(buf, 0, buf.length)
  validateRecordBatch(buf)
  assert.deepEqual(
    decodeRecordBatchSync(buf).records.map((r) => r.timestamp),
    [99, 99],
  )
})

function expectLogError(fn: () => unknown, errorCode: number): void {
  assert.throws(fn, (err: unknown) => err instanceof LogError && err.errorCode === errorCode)
}

test('validation: CRC corruption, wrong magic, bad lengths and record count mismatches are rejected', () => {
  const good = encodeRecordBatchSync({ records: [{ key: 'k', value: 'value' }, { value: 'second' }] })
  validateRecordBatch(good)

  const flipped = Buffer.from(good)
  flipped[flipped.length - 2]! ^= 0x01
  expectLogError(() => validateRecordBatch(flipped), 2)

  const badCrc = Buffer.from(good)
  badCrc.writeUInt32BE((badCrc.readUInt32BE(BatchOffsets.crc) + 1) >>> 0, BatchOffsets.crc)
  expectLogError(() => validateRecordBatch(badCrc), 2)

  const oldMagic = Buffer.from(good)
  oldMagic.writeInt8(1, BatchOffsets.magic)
  expectLogError(() => validateRecordBatch(oldMagic), 43)

  const tooLong = Buffer.from(good)
  tooLong.writeInt32BE(good.length, BatchOffsets.batchLength)
  expectLogError(() => validateRecordBatch(tooLong), 2)

  const tooShort = Buffer.from(good)
  tooShort.writeInt32BE(10, BatchOffsets.batchLength)
  expectLogError(() => validateRecordBatch(tooShort), 2)

  expectLogError(() => validateRecordBatch(good.subarray(0, 30)), 2)

  // Valid CRC but the declared count lies about the records inside.
  const countMismatch = Buffer.from(good)
  countMismatch.writeInt32BE(3, BatchOffsets.recordCount)
  updateBatchCrc(countMismatch, 0, countMismatch.length)
  expectLogError(() => validateRecordBatch(countMismatch), 87)

  // Valid CRC but a record length runs past the batch.
  const badRecordLength = Buffer.from(good)
  badRecordLength[BatchOffsets.records] = 0x7e // zigzag 63: longer than the batch
  updateBatchCrc(badRecordLength, 0, badRecordLength.length)
  expectLogError(() => validateRecordBatch(badRecordLength), 87)
})

test('iterateBatches walks concatenated batches and stops at a partial trailing batch', () => {
  const a = encodeRecordBatchSync({ baseOffset: 0, records: [{ value: 'a' }] })
  const b = encodeRecordBatchSync({ baseOffset: 1, records: [{ value: 'b' }, { value: 'c' }] })
  const c = encodeRecordBatchSync({ baseOffset: 3, records: [{ value: 'd' }] })
  const all = Buffer.concat([a, b, c.subarray(0, c.length - 5)])
  const seen = [...iterateBatches(all)]
  assert.deepEqual(
    seen.map((s) => [s.header.baseOffset, s.start, s.end]),
    [
      [0, 0, a.length],
      [1, a.length, a.length + b.length],
    ],
  )
  assert.deepEqual([...iterateBatches(Buffer.alloc(0))], [])
})

test('control records: key = version 0 + type, value = version 0 + coordinator epoch', () => {
  const commit = encodeControlRecord(1, 7)
  assert.deepEqual([...commit.key], [0, 0, 0, 1])
  assert.deepEqual([...commit.value], [0, 0, 0, 0, 0, 7])
  assert.equal(decodeControlRecordType(encodeControlRecord(0).key), 0)
  const batch = encodeControlBatch({ producerId: 5, producerEpoch: 1, commit: false, coordinatorEpoch: 3 })
  const { header, records } = decodeRecordBatchSync(batch)
  assert.equal(header.isControl, true)
  assert.equal(header.isTransactional, true)
  assert.equal(decodeControlRecordType(records[0]!.key), 0)
})

test('every codec round-trips; snappy accepts xerial and raw framing', async () => {
  const data = Buffer.from('tributary '.repeat(10000)) // > 32 KiB: several xerial blocks
  for (const codec of [0, 1, 2, 3]) {
    const c = await compress(codec, data)
    assert.deepEqual(await decompress(codec, c), data, `codec ${codec}`)
    assert.deepEqual(decompressSync(codec, compressSync(codec, data)), data, `codec ${codec} sync`)
  }
  const xerial = await compress(2, data)
  assert.equal(isXerialSnappy(xerial), true)
  assert.equal(xerial.readInt32BE(8), 1)
  const raw = await compress(2, data, { snappyFraming: 'raw' })
  assert.equal(isXerialSnappy(raw), false)
  assert.deepEqual(await decompress(2, raw), data)
  assert.deepEqual(decompressSync(2, raw), data)
})

test('zstd: decompression works; compression at level 3 once the WebAssembly compressor is loaded', async () => {
  const content = encodeRecordBatchSync({ baseOffset: 0, records: [{ key: 'z', value: 'std', timestamp: 10 }] })
  const body = content.subarray(BatchOffsets.records)
  // A zstd frame holding one raw (stored) block: magic, single-segment header with 1-byte content size, block.
  const frame = Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, body.length]),
    Buffer.from([(1 | (body.length << 3)) & 0xff, ((body.length << 3) >> 8) & 0xff, ((body.length << 3) >> 16) & 0xff]),
    body,
  ])
  assert.deepEqual(await decompress(4, frame), body)
  const batch = Buffer.concat([content.subarray(0, BatchOffsets.records), frame])
  batch.writeInt32BE(batch.length - 12, BatchOffsets.batchLength)
  batch.writeInt16BE(4, BatchOffsets.attributes)
  updateBatchCrc(batch, 0, batch.length)
  const decoded = await decodeRecordBatch(batch)
  assert.equal(decoded.records[0]!.value!.toString(), 'std')
  // Synchronous compression needs the compressor loaded first (the log loads it when it opens).
  assert.throws(
    () => compressSync(4, body),
    (e: unknown) => (e as TributaryError).code === 'TRB_COMPRESSION_UNSUPPORTED',
  )
  const compressed = await compress(4, body)
  assert.deepEqual(compressed.subarray(0, 4), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
  assert.deepEqual(await decompress(4, compressed), body)
  await initCompression()
  assert.deepEqual(decompressSync(4, compressSync(4, body)), body)
  const encoded = await encodeRecordBatch({ records: [{ key: 'z', value: 'x'.repeat(500) }], compression: 4 })
  assert.equal(encoded.readInt16BE(BatchOffsets.attributes) & 7, 4)
  assert.equal((await decodeRecordBatch(encoded)).records[0]!.value!.toString(), 'x'.repeat(500))
})

test('undecodable compressed data fails with TRB_COMPRESSION_FAILED, never a crash', async () => {
  const junk = Buffer.from('definitely not compressed data at all')
  for (const codec of [1, 2, 3, 4, 9]) {
    await assert.rejects(decompress(codec, junk), (e: unknown) => {
      return e instanceof TributaryError && e.code === 'TRB_COMPRESSION_FAILED'
    })
    assert.throws(
      () => decompressSync(codec, junk),
      (e: unknown) => (e as TributaryError).code === 'TRB_COMPRESSION_FAILED',
    )
  }
})

test('a batch produced by KafkaJS own encoder decodes', async () => {
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0')
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0')
  for (const compression of [0, 1]) {
    const records = [
      Record({
        offsetDelta: 0,
        timestampDelta: 0,
        key: Buffer.from('k1'),
        value: Buffer.from('v1'),
        headers: { a: 'b' },
      }),
      Record({ offsetDelta: 1, timestampDelta: -5, key: null, value: Buffer.from('v2') }),
    ]
    const enc = await RecordBatch({
      compression,
      firstTimestamp: 1000,
      maxTimestamp: 1000,
      lastOffsetDelta: 1,
      records,
    })
    const buf: Buffer = enc.buffer
    const { header } = validateRecordBatch(buf)
    assert.equal(header.compression, compression)
    const decoded = await decodeRecordBatch(buf)
    assert.deepEqual(
      decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString()]),
      [
        [0, 1000, 'k1', 'v1'],
        [1, 995, null, 'v2'],
      ],
    )
    assert.deepEqual(decoded.records[0]!.headers, [{ key: 'a', value: Buffer.from('b') }])
  }
})

test('KafkaJS and @platformatic/kafka decode batches we encode', async () => {
  const Decoder = require('kafkajs/src/protocol/decoder')
  const decodeKafkaJS = require('kafkajs/src/protocol/recordBatch/v0/decoder')
  const records = [
    { key: 'k', value: 'v'.repeat(300), headers: [{ key: 'h', value: 'x' }], timestamp: 2000 },
    { key: null, value: null, timestamp: 1500 },
  ]
  for (const compression of [0, 1]) {
    const buf = await encodeRecordBatch({ baseOffset: 5, records, compression })
    const batch = await decodeKafkaJS(new Decoder(buf))
    assert.deepEqual(
      batch.records.map((r: { offset: string; key: Buffer | null; timestamp: string }) => [
        r.offset,
        r.key?.toString() ?? null,
        r.timestamp,
      ]),
      [
        ['5', 'k', '2000'],
        ['6', null, '1500'],
      ],
    )
  }
  // @platformatic/kafka reads raw snappy only, so it gets the raw framing here (Java and librdkafka read both).
  for (const [compression, snappyFraming] of [
    [0, undefined],
    [1, undefined],
    [2, 'raw'],
    [3, undefined],
  ] as const) {
    const buf = await encodeRecordBatch({ baseOffset: 5, records, compression, snappyFraming })
    const [batch] = readRecordsBatches(Reader.from(buf))
    assert.equal(batch!.records.length, 2, `codec ${compression}`)
    assert.equal(batch!.records[0]!.value?.toString(), 'v'.repeat(300))
    assert.equal(batch!.records[1]!.key, null)
  }
})

test('encodeRecordBatchPreserving keeps offsets, header fields and snappy framing', async () => {
  for (const snappyFraming of ['raw', 'xerial'] as const) {
    const original = await encodeRecordBatch({
      baseOffset: 100,
      records: [
        { key: 'a', value: '1', timestamp: 10 },
        { key: 'b', value: '2', timestamp: 5 },
        { key: 'c', value: '3', timestamp: 20 },
      ],
      compression: 2,
      producerId: 9,
      producerEpoch: 1,
      baseSequence: 4,
      snappyFraming,
    })
    const { header, records } = await decodeRecordBatch(original)
    const rewritten = await encodeRecordBatchPreserving(header, [records[1]!], original)
    const v = validateRecordBatch(rewritten).header
    assert.equal(isXerialSnappy(rewritten.subarray(BatchOffsets.records)), snappyFraming === 'xerial')
    assert.equal(v.baseOffset, 100)
    assert.equal(v.lastOffsetDelta, 2)
    assert.equal(v.baseSequence, 4)
    assert.equal(v.recordCount, 1)
    const again = await decodeRecordBatch(rewritten)
    assert.deepEqual(
      again.records.map((r) => [r.offset, r.timestamp, r.key?.toString()]),
      [[101, 5, 'b']],
    )
  }
})
