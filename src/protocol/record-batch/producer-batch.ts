/**
 * The records section of a v2 batch, written in one pass into a buffer of its exact size (the size of every record
 * is computed first, so nothing is copied twice and no buffer is allocated per record); every encoder here uses it.
 * And one producer's batch for a Produce request (a client producing tens of thousands of small records per
 * request spends its time here).
 */
import { compressSync } from '../compression.ts'
import {
  Attributes,
  BatchOffsets,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  updateBatchCrc,
  writeInt64,
} from './header.ts'

/** A record as a producer sends it: bytes, a timestamp (ms) and headers with string keys. */
export interface OutgoingRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: Iterable<{ readonly key: string; readonly value: Buffer | null }> & { readonly size?: number }
}

export interface ProducerBatchOptions {
  readonly producerId: number
  readonly producerEpoch: number
  /** The sequence of the first record (-1 for a producer that is not idempotent). */
  readonly baseSequence: number
  readonly transactional: boolean
  /** The codec of the records section (attribute id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd; default 0). */
  readonly compression?: number
}

/** Bytes of an unsigned varint of `v` (0 ≤ v < 2^53). */
function uvarintSize(v: number): number {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1)

function writeUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80
    v = Math.floor(v / 128)
  }
  buf[pos++] = v
  return pos
}

/** Header keys as UTF-8 bytes, cached: a stream application writes the same few header names over and over. */
const headerKeyBytes = new Map<string, Buffer>()
function keyBytes(key: string): Buffer {
  let b = headerKeyBytes.get(key)
  if (b === undefined) {
    b = Buffer.from(key, 'utf8')
    if (headerKeyBytes.size < 1024) headerKeyBytes.set(key, b)
  }
  return b
}

function headerCount(r: OutgoingRecord): number {
  const h = r.headers
  if (typeof h.size === 'number') return h.size
  let n = 0
  for (const _ of h) n++
  return n
}

/**
 * The records section of a batch: `records[start, end)` with timestamps relative to `baseTimestamp` and offset
 * deltas `offsetDeltas[i]` (default 0, 1, 2, ...), sized first, then written into `buf` from `pos` (a buffer of at
 * least `pos + size` bytes: pass none to get just the size). Shared by every encoder of src/protocol.
 */
export function recordsSection(
  records: readonly OutgoingRecord[],
  start: number,
  end: number,
  baseTimestamp: number,
  offsetDeltas?: readonly number[],
): { size: number; write(buf: Buffer, pos: number): number } {
  const count = end - start
  const sizes = new Array<number>(count)
  let total = 0
  for (let i = 0; i < count; i++) {
    const r = records[start + i]!
    const delta = offsetDeltas ? offsetDeltas[i]! : i
    let size = 1 + uvarintSize(zigzag(r.timestamp - baseTimestamp)) + uvarintSize(zigzag(delta))
    size += r.key === null ? 1 : uvarintSize(zigzag(r.key.length)) + r.key.length
    size += r.value === null ? 1 : uvarintSize(zigzag(r.value.length)) + r.value.length
    const hc = headerCount(r)
    size += uvarintSize(zigzag(hc))
    if (hc > 0) {
      for (const h of r.headers) {
        const k = keyBytes(h.key)
        size += uvarintSize(zigzag(k.length)) + k.length
        size += h.value === null ? 1 : uvarintSize(zigzag(h.value.length)) + h.value.length
      }
    }
    sizes[i] = size
    total += uvarintSize(zigzag(size)) + size
  }
  const write = (buf: Buffer, at: number): number => {
    let pos = at
    for (let i = 0; i < count; i++) {
      const r = records[start + i]!
      pos = writeUvarint(buf, pos, zigzag(sizes[i]!))
      buf[pos++] = 0 // record attributes: unused
      pos = writeUvarint(buf, pos, zigzag(r.timestamp - baseTimestamp))
      pos = writeUvarint(buf, pos, zigzag(offsetDeltas ? offsetDeltas[i]! : i))
      if (r.key === null) buf[pos++] = 1
      else {
        pos = writeUvarint(buf, pos, zigzag(r.key.length))
        pos += r.key.copy(buf, pos)
      }
      if (r.value === null) buf[pos++] = 1
      else {
        pos = writeUvarint(buf, pos, zigzag(r.value.length))
        pos += r.value.copy(buf, pos)
      }
      const hc = headerCount(r)
      pos = writeUvarint(buf, pos, zigzag(hc))
      if (hc > 0) {
        for (const h of r.headers) {
          const k = keyBytes(h.key)
          pos = writeUvarint(buf, pos, zigzag(k.length))
          pos += k.copy(buf, pos)
          if (h.value === null) buf[pos++] = 1
          else {
            pos = writeUvarint(buf, pos, zigzag(h.value.length))
            pos += h.value.copy(buf, pos)
          }
        }
      }
    }
    return pos
  }
  return { size: total, write }
}

/**
 * Encodes `records[start, end)` as one v2 batch (base offset 0, offset deltas 0..n-1, CreateTime timestamps),
 * compressed when `options.compression` names a codec (the Java client's framing for snappy). The
 * batch's base timestamp is the first record's; timestamps may go backwards inside it (deltas are signed).
 */
export function encodeProducerBatch(
  records: readonly OutgoingRecord[],
  start: number,
  end: number,
  options: ProducerBatchOptions,
): Buffer {
  const count = end - start
  if (count <= 0) throw new RangeError('a record batch needs at least one record')
  const baseTimestamp = records[start]!.timestamp
  let maxTimestamp = baseTimestamp
  for (let i = start; i < end; i++) if (records[i]!.timestamp > maxTimestamp) maxTimestamp = records[i]!.timestamp
  const section = recordsSection(records, start, end, baseTimestamp)
  let total: number = RECORD_BATCH_OVERHEAD + section.size
  let buf = Buffer.allocUnsafe(total)
  section.write(buf, RECORD_BATCH_OVERHEAD)
  // Compressed: the records section is replaced by its compressed form (zstd needs initCompression() first).
  const codec = options.compression ?? 0
  if (codec !== 0) {
    const payload = compressSync(codec, buf.subarray(RECORD_BATCH_OVERHEAD, total))
    total = RECORD_BATCH_OVERHEAD + payload.length
    buf = Buffer.allocUnsafe(total)
    payload.copy(buf, RECORD_BATCH_OVERHEAD)
  }
  // The header, then the CRC over everything from the attributes on.
  writeInt64(buf, BatchOffsets.baseOffset, 0)
  buf.writeInt32BE(total - LOG_OVERHEAD, BatchOffsets.batchLength)
  buf.writeInt32BE(-1, BatchOffsets.partitionLeaderEpoch)
  buf.writeInt8(CURRENT_MAGIC, BatchOffsets.magic)
  buf.writeInt16BE(
    (options.transactional ? Attributes.TRANSACTIONAL : 0) | (codec & Attributes.COMPRESSION_MASK),
    BatchOffsets.attributes,
  )
  buf.writeInt32BE(count - 1, BatchOffsets.lastOffsetDelta)
  writeInt64(buf, BatchOffsets.baseTimestamp, baseTimestamp)
  writeInt64(buf, BatchOffsets.maxTimestamp, maxTimestamp)
  writeInt64(buf, BatchOffsets.producerId, options.producerId)
  buf.writeInt16BE(options.producerEpoch, BatchOffsets.producerEpoch)
  buf.writeInt32BE(options.baseSequence, BatchOffsets.baseSequence)
  buf.writeInt32BE(count, BatchOffsets.recordCount)
  updateBatchCrc(buf, 0, total)
  return buf
}
