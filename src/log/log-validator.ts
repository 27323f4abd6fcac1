/**
 * Validation of incoming batches before they reach the log (Kafka's LogValidator): framing, CRC and size limits,
 * what clients may not write, recompression to the topic's codec, and assignment of offsets and append-time
 * fields. Works on the request's buffer; knows nothing of segments.
 */
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import {
  Attributes,
  type BatchHeader,
  BatchOffsets,
  decodeControlRecordType,
  decodeRecords,
  LOG_OVERHEAD,
  LogError,
  readBatchHeader,
  recompressBatchSync,
  updateBatchCrc,
  validateRecordBatch,
  writeInt64,
} from '../protocol/record-batch.ts'
import { type LogConfig, targetCodec } from './config.ts'

/** One batch of an incoming buffer: where it is and its header. */
export interface PendingBatch {
  start: number
  end: number
  header: BatchHeader
}

/** Splits `records` into batches and checks each one; throws LogError for the first that may not be appended. */
export function validateBatches(records: Buffer, cfg: LogConfig, fromClient: boolean): PendingBatch[] {
  const batches: PendingBatch[] = []
  let pos = 0
  while (pos < records.length) {
    if (records.length - pos > LOG_OVERHEAD) {
      const size = LOG_OVERHEAD + records.readInt32BE(pos + BatchOffsets.batchLength)
      if (size > cfg.maxMessageBytes && size <= records.length - pos) {
        throw new LogError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `record batch of ${size} bytes exceeds max.message.bytes ${cfg.maxMessageBytes}`,
        )
      }
    }
    const { header, end } = validateRecordBatch(records, pos, records.length, {
      requireKeys: cfg.cleanupPolicy.compact && fromClient,
      fromProducer: fromClient,
    })
    if (fromClient && header.isControl) {
      throw new LogError(ErrorCode.INVALID_RECORD, 'clients may not write control batches')
    }
    if (header.recordCount === 0 && fromClient) {
      throw new LogError(ErrorCode.INVALID_RECORD, 'record batch has no records')
    }
    if (header.lastOffsetDelta !== header.recordCount - 1 && fromClient) {
      throw new LogError(
        ErrorCode.INVALID_RECORD,
        `lastOffsetDelta ${header.lastOffsetDelta} does not match ${header.recordCount} records`,
      )
    }
    batches.push({ start: pos, end, header })
    pos = end
  }
  if (batches.length === 0) throw new LogError(ErrorCode.CORRUPT_MESSAGE, 'produce request holds no record batch')
  return batches
}

/**
 * A topic whose compression.type names a codec stores every batch with that codec, as Kafka does: a batch produced
 * with another one is rebuilt (see recompressBatchSync) and `toWrite` is pointed at the rebuilt bytes. Control
 * batches are never compressed. Returns the buffer the batches are now in.
 */
export function recompress(records: Buffer, toWrite: PendingBatch[], cfg: LogConfig): Buffer {
  const target = targetCodec(cfg.compressionType)
  if (target === null || toWrite.every((b) => b.header.isControl || b.header.compression === target)) return records
  const parts: Buffer[] = []
  let pos = 0
  for (const b of toWrite) {
    let bytes = records.subarray(b.start, b.end)
    if (!b.header.isControl && b.header.compression !== target) {
      try {
        bytes = recompressBatchSync(records, b.start, b.end, target)
      } catch (err) {
        if (err instanceof LogError) throw err
        throw new LogError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `cannot recompress a batch to ${cfg.compressionType}: ${(err as Error).message}`,
          { cause: err },
        )
      }
      // As Kafka: the size limit applies to what is stored.
      if (bytes.length > cfg.maxMessageBytes) {
        throw new LogError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `record batch of ${bytes.length} bytes after recompression to ${cfg.compressionType} exceeds max.message.bytes ${cfg.maxMessageBytes}`,
        )
      }
    }
    parts.push(bytes)
    b.start = pos
    pos += bytes.length
    b.end = pos
  }
  const out = Buffer.concat(parts, pos)
  for (const b of toWrite) b.header = readBatchHeader(out, b.start)
  return out
}

/**
 * Assigns offsets from `next` and rewrites the header fields the log owns (base offset, leader epoch, and with
 * LogAppendTime the timestamp type and max timestamp). Returns the next offset after them, the bytes and records.
 */
export function assignOffsets(
  records: Buffer,
  toWrite: PendingBatch[],
  next: number,
  appendTime: number,
  logAppendTime: boolean,
): { next: number; bytes: number; recordCount: number; maxTimestamp: number } {
  let bytes = 0
  let recordCount = 0
  let maxTimestamp = -1
  for (const b of toWrite) {
    const h = b.header
    writeInt64(records, b.start + BatchOffsets.baseOffset, next)
    records.writeInt32BE(0, b.start + BatchOffsets.partitionLeaderEpoch)
    if (logAppendTime) {
      records.writeInt16BE(h.attributes | Attributes.TIMESTAMP_TYPE, b.start + BatchOffsets.attributes)
      writeInt64(records, b.start + BatchOffsets.maxTimestamp, appendTime)
      updateBatchCrc(records, b.start, b.end)
    }
    b.header = readBatchHeader(records, b.start)
    if (b.header.maxTimestamp > maxTimestamp) maxTimestamp = b.header.maxTimestamp
    next += h.lastOffsetDelta + 1
    bytes += b.end - b.start
    recordCount += h.recordCount
  }
  return { next, bytes, recordCount, maxTimestamp }
}

/** The control type and coordinator epoch of a control batch (uncompressed by definition); -1 when unknown. */
export function controlInfo(
  header: BatchHeader,
  buf: Buffer,
  start: number,
  end: number,
): { controlType: number; coordinatorEpoch: number } {
  const rec = decodeRecords(header, buf, start + BatchOffsets.records, end)[0]
  const controlType = decodeControlRecordType(rec?.key ?? null)
  const coordinatorEpoch = rec?.value && rec.value.length >= 6 ? rec.value.readInt32BE(2) : -1
  return { controlType, coordinatorEpoch }
}
