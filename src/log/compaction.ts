/**
 * Rewrites one inactive segment keeping only the records the cleaner selected. Offsets are preserved (batches are
 * re-encoded with their original base offset and offset deltas). The result is written to `<segment>.log.cleaned`,
 * synced, then renamed over the original, so a crash leaves either the old or the new segment, never a mix.
 */
import fs from 'node:fs'
import { TributaryError } from '../errors.ts'
import { type BatchHeader, encodeRecordBatchPreserving, type KafkaRecord } from '../protocol/record-batch.ts'
import { LogSegment, scanSegmentFile } from './segment.ts'

export interface CompactSegmentOptions {
  shouldKeep(record: KafkaRecord, header: BatchHeader): boolean
  /** Whether a batch whose records are all removed must stay as an empty batch (a producer's last batch). */
  keepEmptyBatch(header: BatchHeader): boolean
  decode(batch: Buffer, header: BatchHeader): Promise<KafkaRecord[]>
  indexIntervalBytes: number
}

/** Returns the replacement segment, or null when nothing would be removed. */
export async function compactSegment(
  seg: LogSegment,
  opts: CompactSegmentOptions,
): Promise<{ segment: LogSegment; removedRecords: number } | null> {
  const cleanedPath = `${seg.logPath}.cleaned`
  // Streamed to disk batch by batch: memory stays bounded by the largest batch, not the segment.
  const fd = fs.openSync(cleanedPath, 'w', 0o644)
  let position = 0
  const out = {
    push(b: Buffer) {
      fs.writeSync(fd, b, 0, b.length, position)
      position += b.length
    },
  }
  let removedRecords = 0
  let changed = false
  seg.acquire()
  try {
    const { error } = await scanSegmentFile(seg.fd, 0, seg.size, { verifyCrc: false }, async (b) => {
      const h = b.header
      const bytes = b.buf.subarray(b.start, b.end)
      if (h.isControl || h.recordCount === 0) {
        out.push(bytes)
        return
      }
      const records = await opts.decode(bytes, h)
      const kept = records.filter((r) => opts.shouldKeep(r, h))
      if (kept.length === records.length) {
        out.push(bytes)
        return
      }
      changed = true
      removedRecords += records.length - kept.length
      if (kept.length > 0 || opts.keepEmptyBatch(h)) out.push(await encodeRecordBatchPreserving(h, kept, bytes))
    })
    // The rewrite would end where the damage starts and lose everything after it.
    if (error) throw new TributaryError('TRB_LOG_CORRUPT', `cannot compact ${seg.logPath}: ${error}`)
    if (changed) fs.fdatasyncSync(fd)
  } catch (err) {
    fs.closeSync(fd)
    fs.rmSync(cleanedPath, { force: true })
    throw err
  } finally {
    seg.release()
  }
  fs.closeSync(fd)
  if (!changed) {
    fs.rmSync(cleanedPath, { force: true })
    return null
  }
  fs.renameSync(cleanedPath, seg.logPath)
  const fresh = LogSegment.openExisting(seg.dir, seg.baseOffset)
  await fresh.rebuildIndexes(opts.indexIntervalBytes)
  fresh.closeIndexFds()
  return { segment: fresh, removedRecords }
}
