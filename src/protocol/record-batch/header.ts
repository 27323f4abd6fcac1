/**
 * The v2 batch header (magic 2): field layout, attributes, reading the header straight from the buffer, the length
 * and CRC-32C, and walking concatenated batches, so the log can index and check batches without decoding records.
 * Also the record shapes the encoder and decoder share.
 */
import type { CompressOptions } from '../compression.ts'
import { crc32c } from '../crc32c.ts'
import { corrupt, unsupportedMagic } from './log-error.ts'

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

/** The header of the batch at `pos` and its end, checking the magic and that its length fits `buf`. */
export function batchBounds(buf: Buffer, pos: number): { header: BatchHeader; end: number } {
  const header = readBatchHeader(buf, pos)
  if (header.magic !== CURRENT_MAGIC) throw unsupportedMagic(header.magic)
  const end = pos + LOG_OVERHEAD + header.batchLength
  if (header.batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || end > buf.length) {
    throw corrupt(`record batch length ${header.batchLength} does not fit the ${buf.length - pos} bytes available`)
  }
  return { header, end }
}
