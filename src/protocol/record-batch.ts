/**
 * RecordBatch v2 (magic 2): the unit Kafka stores and ships. Header fields are read straight from the buffer so the
 * log can validate and index batches without decoding their records.
 */
import { TributaryError, type TributaryErrorCode } from '../errors.ts'
import {
  type CompressOptions,
  compress,
  compressSync,
  decompress,
  decompressSync,
  isXerialSnappy,
} from './compression.ts'
import { crc32c } from './crc32c.ts'
import { ErrorCode } from './generated/error-codes.ts'

/** Byte offsets of the v2 batch header fields. */
export const BatchOffsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const

/** Bytes before `batchLength` starts counting (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12
/** Size of a v2 batch with no records. */
export const RECORD_BATCH_OVERHEAD = BatchOffsets.records
export const CURRENT_MAGIC = 2

export const Attributes = {
  COMPRESSION_MASK: 0x07,
  TIMESTAMP_TYPE: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const

export const NO_PRODUCER_ID = -1
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1

/** The Kafka error codes a log rejection carries, each with its declared TRB_LOG_* code (its Kafka name). */
const LOG_ERROR_CODES = {
  [ErrorCode.OFFSET_OUT_OF_RANGE]: 'TRB_LOG_OFFSET_OUT_OF_RANGE',
  [ErrorCode.CORRUPT_MESSAGE]: 'TRB_LOG_CORRUPT_MESSAGE',
  [ErrorCode.INVALID_RECORD]: 'TRB_LOG_INVALID_RECORD',
  [ErrorCode.MESSAGE_TOO_LARGE]: 'TRB_LOG_MESSAGE_TOO_LARGE',
  [ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT]: 'TRB_LOG_UNSUPPORTED_FOR_MESSAGE_FORMAT',
  [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER]: 'TRB_LOG_OUT_OF_ORDER_SEQUENCE_NUMBER',
  [ErrorCode.INVALID_PRODUCER_EPOCH]: 'TRB_LOG_INVALID_PRODUCER_EPOCH',
  [ErrorCode.INVALID_TXN_STATE]: 'TRB_LOG_INVALID_TXN_STATE',
  [ErrorCode.KAFKA_STORAGE_ERROR]: 'TRB_LOG_KAFKA_STORAGE_ERROR',
  [ErrorCode.UNKNOWN_SERVER_ERROR]: 'TRB_LOG_UNKNOWN_SERVER_ERROR',
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 'TRB_LOG_UNKNOWN_TOPIC_OR_PARTITION',
} as const satisfies Record<number, TributaryErrorCode>

/** A Kafka error code the log rejects with. */
export type LogRejection = keyof typeof LOG_ERROR_CODES

/**
 * A rejection the broker turns into a Kafka error code in the response. Defined next to the codec (which is pure)
 * so validation here and in the log share one class; `src/log` re-exports it.
 */
export class LogError extends TributaryError {
  readonly errorCode: LogRejection
  constructor(errorCode: LogRejection, message: string, options?: { cause?: unknown }) {
    super(LOG_ERROR_CODES[errorCode], message, options)
    this.errorCode = errorCode
    this.name = 'LogError'
  }
}

export interface BatchHeader {
  baseOffset: number
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  compression: number
  timestampType: 0 | 1
  isTransactional: boolean
  isControl: boolean
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

export interface RecordHeader {
  key: string
  value: Buffer | null
}

export interface KafkaRecord {
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

export interface RecordInput {
  key?: Buffer | string | null
  value?: Buffer | string | null
  headers?: { key: string; value: Buffer | string | null }[] | Record<string, Buffer | string | null>
  timestamp?: number
}

export interface EncodeBatchOptions {
  baseOffset?: number
  records: RecordInput[]
  compression?: number
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  isTransactional?: boolean
  isControl?: boolean
  partitionLeaderEpoch?: number
  timestampType?: 0 | 1
  /** Used for records without a timestamp; defaults to Date.now(). */
  now?: number
  snappyFraming?: CompressOptions['snappyFraming']
}

// ---------------------------------------------------------------------------------------------------------------
// int64 as JS number (offsets and timestamps are safe integers inside the log)

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 4294967296 + buf.readUInt32BE(pos + 4)
}

export function writeInt64(buf: Buffer, pos: number, v: number): void {
  const hi = Math.floor(v / 4294967296)
  buf.writeInt32BE(hi, pos)
  buf.writeUInt32BE(v - hi * 4294967296, pos + 4)
}

// ---------------------------------------------------------------------------------------------------------------

function corrupt(message: string): LogError {
  return new LogError(ErrorCode.CORRUPT_MESSAGE, message)
}

function invalidRecord(message: string): LogError {
  return new LogError(ErrorCode.INVALID_RECORD, message)
}

/** Reads the fixed v2 header at `pos` without looking at records. Throws LogError if the header does not fit. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos + RECORD_BATCH_OVERHEAD > buf.length) {
    if (pos + BatchOffsets.magic + 1 <= buf.length && buf[pos + BatchOffsets.magic] !== CURRENT_MAGIC) {
      throw unsupportedMagic(buf[pos + BatchOffsets.magic]!)
    }
    throw corrupt(`record batch header truncated: ${buf.length - pos} bytes at position ${pos}`)
  }
  const attributes = buf.readInt16BE(pos + BatchOffsets.attributes)
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + BatchOffsets.batchLength),
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchOffsets.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchOffsets.magic),
    crc: buf.readUInt32BE(pos + BatchOffsets.crc),
    attributes,
    compression: attributes & Attributes.COMPRESSION_MASK,
    timestampType: attributes & Attributes.TIMESTAMP_TYPE ? 1 : 0,
    isTransactional: (attributes & Attributes.TRANSACTIONAL) !== 0,
    isControl: (attributes & Attributes.CONTROL) !== 0,
    lastOffsetDelta: buf.readInt32BE(pos + BatchOffsets.lastOffsetDelta),
    baseTimestamp: readInt64(buf, pos + BatchOffsets.baseTimestamp),
    maxTimestamp: readInt64(buf, pos + BatchOffsets.maxTimestamp),
    producerId: readInt64(buf, pos + BatchOffsets.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchOffsets.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchOffsets.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchOffsets.recordCount),
  }
}

function unsupportedMagic(magic: number): LogError {
  return new LogError(
    ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    `record batch magic ${magic} is not supported (only magic 2 / RecordBatch v2 is stored)`,
  )
}

/** Total size in bytes of the batch at `pos` (from its length field), or -1 if fewer than 12 bytes remain. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  if (pos + LOG_OVERHEAD > buf.length) return -1
  return LOG_OVERHEAD + buf.readInt32BE(pos + BatchOffsets.batchLength)
}

export function computeBatchCrc(buf: Buffer, start: number, end: number): number {
  return crc32c(buf, start + BatchOffsets.attributes, end)
}

/** Recomputes and stores the CRC after a CRC-covered field (attributes, maxTimestamp) was rewritten. */
export function updateBatchCrc(buf: Buffer, start: number, end: number): void {
  buf.writeUInt32BE(computeBatchCrc(buf, start, end), start + BatchOffsets.crc)
}

export function isBatchCrcValid(buf: Buffer, start: number, end: number): boolean {
  return buf.readUInt32BE(start + BatchOffsets.crc) === computeBatchCrc(buf, start, end)
}

export interface ValidateBatchOptions {
  /**
   * Walk every record (decompressing compressed batches first): framing, field lengths, sequential offset deltas,
   * record count. Default true. No records are allocated.
   */
  checkRecords?: boolean
  /** Refuse records without a key (compacted topics). Implies checkRecords. */
  requireKeys?: boolean
  /**
   * A batch straight from a producer: offset deltas must be 0, 1, 2, ... Compacted batches have gaps, so stored
   * batches only need increasing deltas.
   */
  fromProducer?: boolean
}

/**
 * Validates the batch starting at `pos` and extending at most to `limit`: magic, length, CRC-32C, and for
 * uncompressed batches the record framing (record count and records filling the batch exactly) without allocating.
 * Returns the header and the batch end position.
 */
export function validateRecordBatch(
  buf: Buffer,
  pos = 0,
  limit = buf.length,
  opts: ValidateBatchOptions = {},
): { header: BatchHeader; end: number } {
  if (limit - pos < LOG_OVERHEAD + 5) throw corrupt(`record batch truncated at position ${pos}`)
  const magic = buf.readInt8(pos + BatchOffsets.magic)
  if (magic !== CURRENT_MAGIC) throw unsupportedMagic(magic)
  const batchLength = buf.readInt32BE(pos + BatchOffsets.batchLength)
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    throw corrupt(`record batch length ${batchLength} is smaller than the v2 header`)
  }
  const end = pos + LOG_OVERHEAD + batchLength
  if (end > limit) throw corrupt(`record batch length ${batchLength} exceeds the ${limit - pos} bytes available`)
  const header = readBatchHeader(buf, pos)
  if (!isBatchCrcValid(buf, pos, end)) {
    throw corrupt(
      `record batch CRC mismatch at offset ${header.baseOffset}: stored ${header.crc}, computed ${computeBatchCrc(buf, pos, end)}`,
    )
  }
  if (header.recordCount < 0) throw corrupt(`negative record count ${header.recordCount}`)
  if (header.compression > 4) throw corrupt(`unknown compression codec ${header.compression}`)
  if (header.lastOffsetDelta < 0) throw corrupt(`negative lastOffsetDelta ${header.lastOffsetDelta}`)
  if (opts.checkRecords !== false || opts.requireKeys) {
    let data = buf
    let from = pos + BatchOffsets.records
    let to = end
    if (header.compression !== 0) {
      try {
        data = decompressSync(header.compression, buf.subarray(from, end))
      } catch (err) {
        throw corrupt(`record batch payload does not decompress: ${(err as Error).message}`)
      }
      from = 0
      to = data.length
    }
    checkRecords(data, from, to, header.recordCount, opts.requireKeys === true, opts.fromProducer === true)
  }
  return { header, end }
}

/** Reads an unsigned varint at `pos`; returns [value, nextPos] packed as value and sets `varintEnd`. */
let varintEnd = 0
function readVarintAt(buf: Buffer, pos: number, end: number): number {
  let result = 0
  let shift = 0
  for (let i = 0; i < 5; i++) {
    if (pos >= end) throw invalidRecord('record varint runs past the end of the batch')
    const b = buf[pos++]!
    result |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) {
      varintEnd = pos
      return (result >>> 1) ^ -(result & 1)
    }
    shift += 7
  }
  throw invalidRecord('record varint longer than 5 bytes')
}

/** Skips a varlong (up to 10 bytes) and returns the position after it. */
function skipVarlong(buf: Buffer, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw invalidRecord('record varlong runs past the end of the record')
    if ((buf[pos++]! & 0x80) === 0) return pos
  }
  throw invalidRecord('record varlong longer than 10 bytes')
}

/**
 * Walks records as Kafka's validator does, without allocating: each record's length, attributes, timestamp delta,
 * offset delta (must be the record's index), key, value and headers must fit exactly; the count must match.
 */
function checkRecords(
  buf: Buffer,
  pos: number,
  end: number,
  expected: number,
  requireKeys: boolean,
  sequential: boolean,
): void {
  let count = 0
  let lastDelta = -1
  while (pos < end) {
    const len = readVarintAt(buf, pos, end)
    pos = varintEnd
    if (len <= 0 || pos + len > end) throw invalidRecord(`record length ${len} does not fit the batch`)
    const recordEnd = pos + len
    pos += 1 // attributes
    pos = skipVarlong(buf, pos, recordEnd)
    const offsetDelta = readVarintAt(buf, pos, recordEnd)
    pos = varintEnd
    if (sequential ? offsetDelta !== count : offsetDelta <= lastDelta) {
      throw invalidRecord(`record ${count} has offset delta ${offsetDelta}`)
    }
    lastDelta = offsetDelta
    const keyLen = readVarintAt(buf, pos, recordEnd)
    pos = varintEnd
    if (keyLen < -1 || pos + Math.max(keyLen, 0) > recordEnd)
      throw invalidRecord(`record key length ${keyLen} is invalid`)
    if (keyLen < 0 && requireKeys) throw invalidRecord('compacted topic cannot accept a record without a key')
    pos += Math.max(keyLen, 0)
    const valueLen = readVarintAt(buf, pos, recordEnd)
    pos = varintEnd
    if (valueLen < -1 || pos + Math.max(valueLen, 0) > recordEnd) {
      throw invalidRecord(`record value length ${valueLen} is invalid`)
    }
    pos += Math.max(valueLen, 0)
    const headers = readVarintAt(buf, pos, recordEnd)
    pos = varintEnd
    if (headers < 0) throw invalidRecord(`record header count ${headers} is negative`)
    for (let h = 0; h < headers; h++) {
      const hk = readVarintAt(buf, pos, recordEnd)
      pos = varintEnd
      if (hk < 0 || pos + hk > recordEnd) throw invalidRecord(`record header key length ${hk} is invalid`)
      pos += hk
      const hv = readVarintAt(buf, pos, recordEnd)
      pos = varintEnd
      if (hv < -1 || pos + Math.max(hv, 0) > recordEnd)
        throw invalidRecord(`record header value length ${hv} is invalid`)
      pos += Math.max(hv, 0)
    }
    if (pos !== recordEnd) throw invalidRecord(`record ${count} has ${recordEnd - pos} unexpected trailing bytes`)
    count++
  }
  if (count !== expected) throw invalidRecord(`record batch declares ${expected} records but holds ${count}`)
}

/**
 * Walks concatenated batches. Stops silently at a partial trailing batch (Fetch responses may end with one).
 * Does not verify CRCs.
 */
export function* iterateBatches(buf: Buffer): Generator<{ header: BatchHeader; start: number; end: number }> {
  let pos = 0
  while (pos + RECORD_BATCH_OVERHEAD <= buf.length) {
    const size = batchSizeAt(buf, pos)
    if (size < RECORD_BATCH_OVERHEAD || pos + size > buf.length) return
    yield { header: readBatchHeader(buf, pos), start: pos, end: pos + size }
    pos += size
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Record encoding

class ByteSink {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  uvarint(v: number): void {
    this.ensure(10)
    // Division instead of bit operations so 53-bit values (zigzagged varlongs) encode correctly.
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80
      v = Math.floor(v / 128)
    }
    this.buf[this.pos++] = v
  }
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1)
  }
  bytes(b: Buffer): void {
    this.ensure(b.length)
    b.copy(this.buf, this.pos)
    this.pos += b.length
  }
  nullableBytes(b: Buffer | null): void {
    if (b === null) {
      this.varint(-1)
      return
    }
    this.varint(b.length)
    this.bytes(b)
  }
}

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
  const out = new ByteSink(256)
  const rec = new ByteSink(128)
  for (let i = 0; i < count; i++) {
    const r = records[i]!
    rec.pos = 0
    rec.buf[rec.pos++] = 0 // record attributes: unused
    rec.varint((r.timestamp ?? now) - baseTimestamp)
    rec.varint(fixed ? fixed.offsets[i]! - fixed.baseOffset : i)
    rec.nullableBytes(toBuf(r.key))
    rec.nullableBytes(toBuf(r.value))
    const headers = normalizeHeaders(r.headers)
    rec.varint(headers.length)
    for (const h of headers) {
      const k = Buffer.from(h.key, 'utf8')
      rec.varint(k.length)
      rec.bytes(k)
      rec.nullableBytes(h.value)
    }
    out.varint(rec.pos)
    out.bytes(rec.buf.subarray(0, rec.pos))
  }
  return { body: out.buf.subarray(0, out.pos), baseTimestamp, maxTimestamp, count }
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

// ---------------------------------------------------------------------------------------------------------------
// Record decoding

class RecordCursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}
  byte(): number {
    if (this.pos >= this.end) throw invalidRecord('record truncated')
    return this.buf[this.pos++]!
  }
  uvarlong(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    throw invalidRecord('varlong longer than 10 bytes')
  }
  varlong(): number {
    const u = this.uvarlong()
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2
  }
  varint(): number {
    const v = readVarintAt(this.buf, this.pos, this.end)
    this.pos = varintEnd
    return v
  }
  nullableBytes(): Buffer | null {
    const len = this.varint()
    if (len < 0) return null
    if (this.pos + len > this.end) throw invalidRecord(`record field of ${len} bytes runs past the record`)
    const b = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return b
  }
}

/** Decodes the records of a (decompressed) record section. */
export function decodeRecords(header: BatchHeader, body: Buffer, start = 0, end = body.length): KafkaRecord[] {
  const records: KafkaRecord[] = []
  const c = new RecordCursor(body, start, end)
  const logAppendTime = header.timestampType === 1
  while (c.pos < end) {
    const len = c.varint()
    const recEnd = c.pos + len
    if (len <= 0 || recEnd > end) throw invalidRecord(`record length ${len} does not fit the batch`)
    const r = new RecordCursor(body, c.pos, recEnd)
    r.byte() // attributes, unused in v2
    const tsDelta = r.varlong()
    const offsetDelta = r.varint()
    const key = r.nullableBytes()
    const value = r.nullableBytes()
    const headerCount = r.varint()
    if (headerCount < 0) throw invalidRecord(`negative header count ${headerCount}`)
    const headers: RecordHeader[] = []
    for (let i = 0; i < headerCount; i++) {
      const k = r.nullableBytes()
      if (k === null) throw invalidRecord('null header key')
      headers.push({ key: k.toString('utf8'), value: r.nullableBytes() })
    }
    if (r.pos !== recEnd) throw invalidRecord('record length does not match its fields')
    records.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + tsDelta,
      key,
      value,
      headers,
    })
    c.pos = recEnd
  }
  if (records.length !== header.recordCount) {
    throw invalidRecord(`record batch declares ${header.recordCount} records but holds ${records.length}`)
  }
  return records
}

function batchBounds(buf: Buffer, pos: number): { header: BatchHeader; end: number } {
  const header = readBatchHeader(buf, pos)
  if (header.magic !== CURRENT_MAGIC) throw unsupportedMagic(header.magic)
  const end = pos + LOG_OVERHEAD + header.batchLength
  if (header.batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || end > buf.length) {
    throw corrupt(`record batch length ${header.batchLength} does not fit the ${buf.length - pos} bytes available`)
  }
  return { header, end }
}

/** Decodes (and decompresses) the batch at `pos`. Does not verify the CRC: use validateRecordBatch for that. */
export async function decodeRecordBatch(
  buf: Buffer,
  pos = 0,
): Promise<{ header: BatchHeader; records: KafkaRecord[]; end: number }> {
  const { header, end } = batchBounds(buf, pos)
  const start = pos + BatchOffsets.records
  if (header.compression === 0) return { header, records: decodeRecords(header, buf, start, end), end }
  const body = await decompressOrThrow(header.compression, buf.subarray(start, end), false)
  return { header, records: decodeRecords(header, body), end }
}

export function decodeRecordBatchSync(
  buf: Buffer,
  pos = 0,
): { header: BatchHeader; records: KafkaRecord[]; end: number } {
  const { header, end } = batchBounds(buf, pos)
  const start = pos + BatchOffsets.records
  if (header.compression === 0) return { header, records: decodeRecords(header, buf, start, end), end }
  const body = decompressSync(header.compression, buf.subarray(start, end))
  return { header, records: decodeRecords(header, body), end }
}

async function decompressOrThrow(codec: number, data: Buffer, asLogError: boolean): Promise<Buffer> {
  try {
    return await decompress(codec, data)
  } catch (err) {
    if (!asLogError) throw err
    throw corrupt(`cannot decompress record batch: ${(err as Error).message}`)
  }
}

/** Decodes every complete batch in `buf` (e.g. a Fetch response's records). */
export async function decodeRecordBatches(buf: Buffer): Promise<{ header: BatchHeader; records: KafkaRecord[] }[]> {
  const out: { header: BatchHeader; records: KafkaRecord[] }[] = []
  for (const { start } of iterateBatches(buf)) {
    const { header, records } = await decodeRecordBatch(buf, start)
    out.push({ header, records })
  }
  return out
}

/** Decompresses the batch at `pos` and decodes its records, mapping codec failures to CORRUPT_MESSAGE. */
export async function decodeRecordBatchForValidation(buf: Buffer, pos: number): Promise<KafkaRecord[]> {
  const { header, end } = batchBounds(buf, pos)
  const start = pos + BatchOffsets.records
  const body =
    header.compression === 0
      ? buf.subarray(start, end)
      : await decompressOrThrow(header.compression, buf.subarray(start, end), true)
  return decodeRecords(header, body)
}

/** Synchronous variant used on the append path for compacted topics (needs each record's key). */
export function decodeRecordBatchForValidationSync(buf: Buffer, pos: number): KafkaRecord[] {
  const { header, end } = batchBounds(buf, pos)
  const start = pos + BatchOffsets.records
  let body: Buffer
  if (header.compression === 0) body = buf.subarray(start, end)
  else {
    try {
      body = decompressSync(header.compression, buf.subarray(start, end))
    } catch (err) {
      throw corrupt(`cannot decompress record batch: ${(err as Error).message}`)
    }
  }
  return decodeRecords(header, body)
}
