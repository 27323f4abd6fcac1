/**
 * Encoding v2 batches: records into a batch (optionally compressed), rebuilding a batch with another codec (the
 * validator's recompression), re-encoding a compacted batch with its header kept, and transaction markers.
 */
import { compress, compressSync, decompressSync, isXerialSnappy } from '../compression.ts'
import { decodeRecords } from './decode.ts'
import {
  Attributes,
  type BatchHeader,
  BatchOffsets,
  CURRENT_MAGIC,
  type EncodeBatchOptions,
  type KafkaRecord,
  LOG_OVERHEAD,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RECORD_BATCH_OVERHEAD,
  type RecordInput,
  readBatchHeader,
  updateBatchCrc,
  writeInt64,
} from './header.ts'
import { type OutgoingRecord, recordsSection } from './producer-batch.ts'

const toBuf = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v

function normalizeHeaders(h: RecordInput['headers']): { key: string; value: Buffer | null }[] {
  if (!h) return []
  if (Array.isArray(h)) return h.map((x) => ({ key: x.key, value: toBuf(x.value) }))
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuf(value) }))
}

interface EncodedRecords {
  body: Buffer
  baseTimestamp: number
  maxTimestamp: number
  count: number
}

function encodeRecords(
  records: RecordInput[],
  now: number,
  fixed?: { baseOffset: number; baseTimestamp: number; maxTimestamp: number; offsets: number[] },
): EncodedRecords {
  const count = records.length
  let baseTimestamp = -1
  let maxTimestamp = -1
  if (fixed) {
    baseTimestamp = fixed.baseTimestamp
    maxTimestamp = fixed.maxTimestamp
  } else if (count > 0) {
    baseTimestamp = records[0]!.timestamp ?? now
    maxTimestamp = baseTimestamp
    for (const r of records) {
      const ts = r.timestamp ?? now
      if (ts > maxTimestamp) maxTimestamp = ts
    }
  }
  const normalized: OutgoingRecord[] = records.map((r) => ({
    key: toBuf(r.key),
    value: toBuf(r.value),
    timestamp: r.timestamp ?? now,
    headers: normalizeHeaders(r.headers),
  }))
  const section = recordsSection(
    normalized,
    0,
    count,
    baseTimestamp,
    fixed ? fixed.offsets.map((o) => o - fixed.baseOffset) : undefined,
  )
  const body = Buffer.allocUnsafe(section.size)
  section.write(body, 0)
  return { body, baseTimestamp, maxTimestamp, count }
}

function assembleBatch(opts: EncodeBatchOptions, enc: EncodedRecords, payload: Buffer, codec: number): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + payload.length)
  let attributes = codec & Attributes.COMPRESSION_MASK
  if (opts.timestampType === 1) attributes |= Attributes.TIMESTAMP_TYPE
  if (opts.isTransactional) attributes |= Attributes.TRANSACTIONAL
  if (opts.isControl) attributes |= Attributes.CONTROL
  writeInt64(buf, BatchOffsets.baseOffset, opts.baseOffset ?? 0)
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BatchOffsets.batchLength)
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, BatchOffsets.partitionLeaderEpoch)
  buf.writeInt8(CURRENT_MAGIC, BatchOffsets.magic)
  buf.writeInt16BE(attributes, BatchOffsets.attributes)
  buf.writeInt32BE(Math.max(enc.count - 1, 0), BatchOffsets.lastOffsetDelta)
  writeInt64(buf, BatchOffsets.baseTimestamp, enc.baseTimestamp)
  writeInt64(buf, BatchOffsets.maxTimestamp, enc.maxTimestamp)
  writeInt64(buf, BatchOffsets.producerId, opts.producerId ?? NO_PRODUCER_ID)
  buf.writeInt16BE(opts.producerEpoch ?? NO_PRODUCER_EPOCH, BatchOffsets.producerEpoch)
  buf.writeInt32BE(opts.baseSequence ?? NO_SEQUENCE, BatchOffsets.baseSequence)
  buf.writeInt32BE(enc.count, BatchOffsets.recordCount)
  payload.copy(buf, BatchOffsets.records)
  updateBatchCrc(buf, 0, buf.length)
  return buf
}

/** Encodes a v2 batch, compressing the records with `compression` (attribute codec id). */
export async function encodeRecordBatch(opts: EncodeBatchOptions): Promise<Buffer> {
  const enc = encodeRecords(opts.records, opts.now ?? Date.now())
  const codec = opts.compression ?? 0
  const payload = codec === 0 ? enc.body : await compress(codec, enc.body, { snappyFraming: opts.snappyFraming })
  return assembleBatch(opts, enc, payload, codec)
}

/** Uncompressed variant of encodeRecordBatch (the `compression` option is ignored). */
export function encodeRecordBatchSync(opts: EncodeBatchOptions): Buffer {
  const enc = encodeRecords(opts.records, opts.now ?? Date.now())
  return assembleBatch(opts, enc, enc.body, 0)
}

/**
 * Rebuilds the batch at [start, end) of `buf` compressed with `codec`, as Kafka's LogValidator rebuilds a batch whose
 * codec differs from the topic's `compression.type`: the records keep their keys, values, headers and timestamps and
 * get offset deltas 0, 1, 2, ...; the base offset, producer id, epoch, base sequence, transactional flag, timestamp
 * type and leader epoch are kept; the base and max timestamps are recomputed from the records. Snappy is written as
 * raw blocks, which every client reads. Synchronous, for the append path (zstd needs `initCompression()` first).
 */
export function recompressBatchSync(buf: Buffer, start: number, end: number, codec: number): Buffer {
  const header = readBatchHeader(buf, start)
  const body =
    header.compression === 0
      ? buf.subarray(start + BatchOffsets.records, end)
      : decompressSync(header.compression, buf.subarray(start + BatchOffsets.records, end))
  const records = decodeRecords(header, body)
  const enc = encodeRecords(
    records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    0,
  )
  const payload = codec === 0 ? enc.body : compressSync(codec, enc.body, { snappyFraming: 'raw' })
  return assembleBatch(
    {
      baseOffset: header.baseOffset,
      records: [],
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      isTransactional: header.isTransactional,
      isControl: header.isControl,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      timestampType: header.timestampType,
    },
    enc,
    payload,
    codec,
  )
}

/**
 * Re-encodes a batch keeping its header (offsets, timestamps, producer fields, attributes) but only `records`,
 * which keep their offsets. Used by compaction.
 * `original` (the batch being rewritten) lets snappy keep the framing its producer chose, so its consumers can read it.
 */
export async function encodeRecordBatchPreserving(
  header: BatchHeader,
  records: KafkaRecord[],
  original?: Buffer,
): Promise<Buffer> {
  const enc = encodeRecords(
    records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    0,
    {
      baseOffset: header.baseOffset,
      baseTimestamp: header.baseTimestamp,
      maxTimestamp: header.maxTimestamp,
      offsets: records.map((r) => r.offset),
    },
  )
  const codec = records.length === 0 ? 0 : header.compression
  const snappyFraming =
    original && codec === 2 && !isXerialSnappy(original.subarray(BatchOffsets.records)) ? 'raw' : 'xerial'
  const payload = codec === 0 ? enc.body : await compress(codec, enc.body, { snappyFraming })
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + payload.length)
  writeInt64(buf, BatchOffsets.baseOffset, header.baseOffset)
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BatchOffsets.batchLength)
  buf.writeInt32BE(header.partitionLeaderEpoch, BatchOffsets.partitionLeaderEpoch)
  buf.writeInt8(CURRENT_MAGIC, BatchOffsets.magic)
  buf.writeInt16BE((header.attributes & ~Attributes.COMPRESSION_MASK) | codec, BatchOffsets.attributes)
  buf.writeInt32BE(header.lastOffsetDelta, BatchOffsets.lastOffsetDelta)
  writeInt64(buf, BatchOffsets.baseTimestamp, header.baseTimestamp)
  writeInt64(buf, BatchOffsets.maxTimestamp, header.maxTimestamp)
  writeInt64(buf, BatchOffsets.producerId, header.producerId)
  buf.writeInt16BE(header.producerEpoch, BatchOffsets.producerEpoch)
  buf.writeInt32BE(header.baseSequence, BatchOffsets.baseSequence)
  buf.writeInt32BE(records.length, BatchOffsets.recordCount)
  payload.copy(buf, BatchOffsets.records)
  updateBatchCrc(buf, 0, buf.length)
  return buf
}

/** Key and value of a transaction marker: type 0 = abort, 1 = commit. */
export function encodeControlRecord(type: 0 | 1, coordinatorEpoch = 0): { key: Buffer; value: Buffer } {
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type, 2)
  const value = Buffer.alloc(6)
  value.writeInt16BE(0, 0)
  value.writeInt32BE(coordinatorEpoch, 2)
  return { key, value }
}

/** Decodes a control record key: returns the marker type (0 abort, 1 commit) or -1 when unknown. */
export function decodeControlRecordType(key: Buffer | null): number {
  if (!key || key.length < 4) return -1
  return key.readInt16BE(2)
}

export function encodeControlBatch(opts: {
  baseOffset?: number
  producerId: number
  producerEpoch: number
  commit: boolean
  coordinatorEpoch?: number
  timestamp?: number
  partitionLeaderEpoch?: number
}): Buffer {
  const rec = encodeControlRecord(opts.commit ? 1 : 0, opts.coordinatorEpoch ?? 0)
  return encodeRecordBatchSync({
    baseOffset: opts.baseOffset,
    records: [{ key: rec.key, value: rec.value, timestamp: opts.timestamp }],
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: NO_SEQUENCE,
    isTransactional: true,
    isControl: true,
    partitionLeaderEpoch: opts.partitionLeaderEpoch,
    now: opts.timestamp,
  })
}
