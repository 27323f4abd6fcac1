/**
 * Timestamp lookups over a partition's segments (ListOffsets): the first offset at or after a timestamp, and the
 * record carrying the largest timestamp. Uses each segment's time index, then decodes the one batch that answers.
 */
import { decompress } from '../protocol/compression.ts'
import {
  type BatchHeader,
  BatchOffsets,
  decodeRecords,
  type KafkaRecord,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../protocol/record-batch.ts'
import type { LocalLog } from './local-log.ts'
import type { LogReader } from './log-reader.ts'
import { framingProblem, readFully, scanSegmentFile } from './segment.ts'

/** The records of one whole batch in `buf` (decompressed when needed). */
export async function decodeBatch(buf: Buffer, header: BatchHeader): Promise<KafkaRecord[]> {
  const body =
    header.compression === 0
      ? buf.subarray(BatchOffsets.records)
      : await decompress(header.compression, buf.subarray(BatchOffsets.records))
  return decodeRecords(header, body)
}

export class OffsetLookup {
  constructor(
    private readonly local: LocalLog,
    private readonly reader: LogReader,
  ) {}

  /** First offset whose timestamp is >= ts (ListOffsets semantics), or null. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const local = this.local
    for (const seg of [...local.segments]) {
      if (seg.size === 0 || seg.maxTimestamp < ts) continue
      if (seg.nextOffset <= local.startOffset) continue
      seg.acquire()
      try {
        await local.ensureIndexes(seg)
        const fromOffset = Math.max(seg.lookupTimestamp(ts), local.startOffset)
        const from = seg.lookupPosition(fromOffset)
        let candidate: { buf: Buffer; header: BatchHeader } | null = null
        await scanSegmentFile(seg.fd, from, this.reader.readableLimit(seg), { verifyCrc: false }, (b) => {
          const h = b.header
          if (h.baseOffset + h.lastOffsetDelta < fromOffset || h.isControl) return
          if (h.maxTimestamp >= ts) {
            candidate = { buf: Buffer.from(b.buf.subarray(b.start, b.end)), header: h }
            return false
          }
        })
        if (candidate) {
          const { buf, header } = candidate as { buf: Buffer; header: BatchHeader }
          const records = await decodeBatch(buf, header)
          for (const r of records) {
            if (r.offset >= local.startOffset && r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp }
          }
          return { offset: Math.max(header.baseOffset, local.startOffset), timestamp: header.maxTimestamp }
        }
      } finally {
        seg.release()
      }
    }
    return null
  }

  /** Largest timestamp in the log and the offset of the record carrying it (ListOffsets MAX_TIMESTAMP). */
  async maxTimestamp(): Promise<{ offset: number; timestamp: number } | null> {
    const local = this.local
    let best: { offset: number; timestamp: number } | null = null
    for (const seg of local.segments) {
      if (seg.size === 0 || seg.maxTimestamp < 0 || seg.nextOffset <= local.startOffset) continue
      if (!best || seg.maxTimestamp > best.timestamp) {
        best = { offset: seg.offsetOfMaxTimestamp, timestamp: seg.maxTimestamp }
      }
    }
    if (!best) return null
    // The segment tracks the batch's last offset; find the exact record carrying the timestamp.
    const seg = local.segments[local.segmentIndexFor(best.offset)]!
    seg.acquire()
    try {
      const pos = await this.reader.locate(seg, best.offset, this.reader.readableLimit(seg))
      if (pos < 0) return best
      const head = Buffer.alloc(RECORD_BATCH_OVERHEAD)
      const limit = this.reader.readableLimit(seg)
      await readFully(seg.fd, head, 0, RECORD_BATCH_OVERHEAD, pos)
      if (framingProblem(head, 0, limit - pos)) return best
      const size = LOG_OVERHEAD + head.readInt32BE(BatchOffsets.batchLength)
      const buf = Buffer.allocUnsafe(size)
      await readFully(seg.fd, buf, 0, size, pos)
      const header = readBatchHeader(buf, 0)
      if (header.timestampType === 1)
        return { offset: header.baseOffset + header.lastOffsetDelta, timestamp: header.maxTimestamp }
      const records = await decodeBatch(buf, header)
      for (const r of records)
        if (r.timestamp === header.maxTimestamp) return { offset: r.offset, timestamp: r.timestamp }
      return best
    } catch {
      return best
    } finally {
      seg.release()
    }
  }
}
