/**
 * Validating a batch as Kafka's LogValidator does before it is stored: magic, length, CRC-32C, and (after
 * decompressing) the framing of every record, without allocating records.
 */
import { decompressSync } from '../compression.ts'
import {
  type BatchHeader,
  BatchOffsets,
  CURRENT_MAGIC,
  computeBatchCrc,
  isBatchCrcValid,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from './header.ts'
import { corrupt, invalidRecord, unsupportedMagic } from './log-error.ts'
import { readVarintAt, skipVarlong, varintEndPos } from './varint.ts'

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
    pos = varintEndPos()
    if (len <= 0 || pos + len > end) throw invalidRecord(`record length ${len} does not fit the batch`)
    const recordEnd = pos + len
    pos += 1 // attributes
    pos = skipVarlong(buf, pos, recordEnd)
    const offsetDelta = readVarintAt(buf, pos, recordEnd)
    pos = varintEndPos()
    if (sequential ? offsetDelta !== count : offsetDelta <= lastDelta) {
      throw invalidRecord(`record ${count} has offset delta ${offsetDelta}`)
    }
    lastDelta = offsetDelta
    const keyLen = readVarintAt(buf, pos, recordEnd)
    pos = varintEndPos()
    if (keyLen < -1 || pos + Math.max(keyLen, 0) > recordEnd)
      throw invalidRecord(`record key length ${keyLen} is invalid`)
    if (keyLen < 0 && requireKeys) throw invalidRecord('compacted topic cannot accept a record without a key')
    pos += Math.max(keyLen, 0)
    const valueLen = readVarintAt(buf, pos, recordEnd)
    pos = varintEndPos()
    if (valueLen < -1 || pos + Math.max(valueLen, 0) > recordEnd) {
      throw invalidRecord(`record value length ${valueLen} is invalid`)
    }
    pos += Math.max(valueLen, 0)
    const headers = readVarintAt(buf, pos, recordEnd)
    pos = varintEndPos()
    if (headers < 0) throw invalidRecord(`record header count ${headers} is negative`)
    for (let h = 0; h < headers; h++) {
      const hk = readVarintAt(buf, pos, recordEnd)
      pos = varintEndPos()
      if (hk < 0 || pos + hk > recordEnd) throw invalidRecord(`record header key length ${hk} is invalid`)
      pos += hk
      const hv = readVarintAt(buf, pos, recordEnd)
      pos = varintEndPos()
      if (hv < -1 || pos + Math.max(hv, 0) > recordEnd)
        throw invalidRecord(`record header value length ${hv} is invalid`)
      pos += Math.max(hv, 0)
    }
    if (pos !== recordEnd) throw invalidRecord(`record ${count} has ${recordEnd - pos} unexpected trailing bytes`)
    count++
  }
  if (count !== expected) throw invalidRecord(`record batch declares ${expected} records but holds ${count}`)
}
