/**
 * Offline check of a data directory, in the spirit of `kafka-dump-log --verify`: every batch of every segment is
 * framed, its CRC-32C checked and its records walked (decompressed if need be); offsets must increase within and
 * across segments; offset index entries must point at the batches they name. Nothing is modified. Where a batch
 * cannot be framed, the walk looks for the next batch that checks, so the report says which offsets are unreadable
 * and where reading could resume.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  BatchOffsets,
  CURRENT_MAGIC,
  isBatchCrcValid,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readInt64,
  validateRecordBatch,
} from '../protocol/record-batch.ts'
import { framingProblem, OFFSET_INDEX_ENTRY, readFully } from './segment.ts'

const SEGMENT_RE = /^(\d{20})\.log$/
const PARTITION_DIR_RE = /^(.+)-(\d+)$/
const WINDOW = 1024 * 1024

export interface VerifyProblem {
  /** File position of the batch (or index entry) at fault. */
  position: number
  message: string
  /** Offsets that cannot be read because of it, when known: [from, to]. */
  lostOffsets?: [number, number | null]
  /** Where reading could resume: the next batch that checks, if any. */
  resumesAt?: { position: number; offset: number }
}

export interface SegmentVerification {
  partition: string
  /** Path of the .log file relative to the data directory. */
  file: string
  bytes: number
  batches: number
  records: number
  firstOffset: number | null
  lastOffset: number | null
  problems: VerifyProblem[]
  /** Remarks that are not damage (a missing index the broker rebuilds, an offset gap compaction may leave). */
  notes: string[]
}

export interface VerifyReport {
  dataDir: string
  partitions: number
  segments: SegmentVerification[]
  batches: number
  bytes: number
  damagedSegments: number
}

/** Reads a segment file through a window, so walking it costs sequential reads and bounded memory. */
class SegmentReader {
  private buf = Buffer.allocUnsafe(WINDOW)
  private at = -1
  private len = 0
  constructor(
    readonly fd: number,
    readonly size: number,
  ) {}

  /** `length` bytes at `position` (fewer at the end of the file); valid until the next call. */
  async bytes(position: number, length: number): Promise<Buffer> {
    if (this.at < 0 || position < this.at || position + length > this.at + this.len) {
      // Never more than the file holds: a length read from the file cannot make this allocate more.
      const want = Math.min(Math.max(length, WINDOW), this.size - position)
      if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want)
      this.len = await readFully(this.fd, this.buf, 0, want, position)
      this.at = position
    }
    const from = position - this.at
    return this.buf.subarray(from, Math.min(from + length, this.len))
  }
}

/** Why the batch at `position` does not check (framing, CRC, records), or null; with its size and offsets. */
async function checkBatch(
  r: SegmentReader,
  position: number,
): Promise<{ problem: string | null; size: number; base: number; last: number; records: number }> {
  const none = { size: 0, base: -1, last: -1, records: 0 }
  const remaining = r.size - position
  if (remaining < RECORD_BATCH_OVERHEAD) return { problem: `torn batch (${remaining} bytes left)`, ...none }
  const head = await r.bytes(position, RECORD_BATCH_OVERHEAD)
  const framing = framingProblem(head, 0, remaining)
  const base = readInt64(head, 0)
  const last = base + head.readInt32BE(BatchOffsets.lastOffsetDelta)
  if (framing) return { problem: framing, ...none, base, last }
  const size = LOG_OVERHEAD + head.readInt32BE(BatchOffsets.batchLength)
  const batch = await r.bytes(position, size)
  if (!isBatchCrcValid(batch, 0, size)) return { problem: 'CRC-32C mismatch', size, base, last, records: 0 }
  try {
    const { header } = validateRecordBatch(batch, 0, size, { checkRecords: true })
    return { problem: null, size, base, last, records: header.recordCount }
  } catch (err) {
    return { problem: (err as Error).message, size, base, last, records: 0 }
  }
}

/** The next position after `from` where a batch checks and continues the offsets, or null. */
async function resync(r: SegmentReader, from: number, afterOffset: number): Promise<number | null> {
  for (let p = from; p + RECORD_BATCH_OVERHEAD <= r.size; p++) {
    const head = await r.bytes(p, RECORD_BATCH_OVERHEAD)
    if (head[BatchOffsets.magic] !== CURRENT_MAGIC || readInt64(head, 0) <= afterOffset) continue
    const c = await checkBatch(r, p)
    if (!c.problem) return p
  }
  return null
}

async function verifySegment(
  dataDir: string,
  partition: string,
  name: string,
  baseOffset: number,
): Promise<SegmentVerification> {
  const file = path.join(dataDir, partition, name)
  const fd = fs.openSync(file, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const r = new SegmentReader(fd, size)
    const v: SegmentVerification = {
      partition,
      file: path.join(partition, name),
      bytes: size,
      batches: 0,
      records: 0,
      firstOffset: null,
      lastOffset: null,
      problems: [],
      notes: [],
    }
    const starts = new Map<number, number>()
    let last = baseOffset - 1
    let pos = 0
    while (pos < size) {
      const c = await checkBatch(r, pos)
      const problem = c.problem ?? (c.base <= last ? `base offset ${c.base} does not follow offset ${last}` : null)
      if (problem) {
        const next = await resync(r, pos + 1, last)
        const p: VerifyProblem = { position: pos, message: problem }
        if (next === null) {
          p.lostOffsets = [last + 1, null]
          v.problems.push(p)
          break
        }
        const nextBase = readInt64(await r.bytes(next, 8), 0)
        p.resumesAt = { position: next, offset: nextBase }
        if (nextBase > last + 1) p.lostOffsets = [last + 1, nextBase - 1]
        v.problems.push(p)
        pos = next
        continue
      }
      starts.set(pos, c.base)
      v.batches++
      v.records += c.records
      v.firstOffset ??= c.base
      v.lastOffset = c.last
      last = c.last
      pos += c.size
    }
    verifyIndex(file.replace(/\.log$/, '.index'), baseOffset, starts, v)
    return v
  } finally {
    fs.closeSync(fd)
  }
}

/** Every offset index entry must name a batch start and that batch's base offset. */
function verifyIndex(indexPath: string, baseOffset: number, starts: Map<number, number>, v: SegmentVerification) {
  let idx: Buffer
  try {
    idx = fs.readFileSync(indexPath)
  } catch {
    v.notes.push('no offset index (the broker rebuilds it at start)')
    return
  }
  if (idx.length % OFFSET_INDEX_ENTRY !== 0) {
    v.problems.push({ position: 0, message: `offset index ${path.basename(indexPath)} has a partial entry` })
    return
  }
  for (let p = 0; p < idx.length; p += OFFSET_INDEX_ENTRY) {
    const offset = baseOffset + idx.readInt32BE(p)
    const position = idx.readInt32BE(p + 4)
    if (starts.get(position) !== offset) {
      v.problems.push({
        position,
        message: `offset index entry ${p / OFFSET_INDEX_ENTRY} names offset ${offset} at position ${position}, where no batch with that base offset starts (delete ${path.basename(indexPath)}: the broker rebuilds it at start)`,
      })
      return
    }
  }
}

/** Checks every segment of every partition under `dataDir`. Throws only if the directory cannot be read. */
export async function verifyDataDir(
  dataDir: string,
  onSegment?: (s: SegmentVerification) => void,
): Promise<VerifyReport> {
  const report: VerifyReport = { dataDir, partitions: 0, segments: [], batches: 0, bytes: 0, damagedSegments: 0 }
  const partitions = fs
    .readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && PARTITION_DIR_RE.test(e.name))
    .map((e) => e.name)
    .sort()
  for (const partition of partitions) {
    const names = fs
      .readdirSync(path.join(dataDir, partition))
      .filter((n) => SEGMENT_RE.test(n))
      .sort()
    if (names.length === 0) continue
    report.partitions++
    let previous: SegmentVerification | null = null
    for (const name of names) {
      const base = Number(SEGMENT_RE.exec(name)![1])
      const s = await verifySegment(dataDir, partition, name, base)
      if (previous?.lastOffset != null && s.firstOffset !== null) {
        if (previous.lastOffset >= base) {
          s.problems.unshift({
            position: 0,
            message: `the previous segment ends at offset ${previous.lastOffset}, at or past this segment's base offset ${base}`,
          })
        } else if (previous.lastOffset + 1 < base && previous.problems.length === 0) {
          previous.notes.push(
            `offsets ${previous.lastOffset + 1} to ${base - 1} are in no batch (compaction, or a tail cut by recovery)`,
          )
        }
      }
      report.segments.push(s)
      report.batches += s.batches
      report.bytes += s.bytes
      if (s.problems.length > 0) report.damagedSegments++
      onSegment?.(s)
      previous = s
    }
  }
  return report
}

/** The report as text: one line per segment, details under damaged ones, a summary line. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = []
  for (const s of report.segments) lines.push(...formatSegment(s))
  lines.push(formatSummary(report))
  return `${lines.join('\n')}\n`
}

export function formatSegment(s: SegmentVerification): string[] {
  const offsets = s.firstOffset === null ? 'no batches' : `offsets ${s.firstOffset}-${s.lastOffset}`
  const head = `${s.problems.length > 0 ? 'DAMAGED' : 'ok     '} ${s.file}: ${s.batches} batches, ${s.records} records, ${offsets}, ${s.bytes} bytes`
  const out = [head]
  for (const p of s.problems) {
    let line = `  position ${p.position}: ${p.message}`
    if (p.lostOffsets) {
      const [from, to] = p.lostOffsets
      if (to === null) line += `; offsets from ${from} cannot be read`
      else line += from === to ? `; offset ${from} cannot be read` : `; offsets ${from}-${to} cannot be read`
    }
    if (p.resumesAt)
      line += `; the next valid batch is at position ${p.resumesAt.position} (offset ${p.resumesAt.offset})`
    else if (p.lostOffsets) line += '; no valid batch follows in this segment'
    out.push(line)
  }
  for (const n of s.notes) out.push(`  note: ${n}`)
  return out
}

export function formatSummary(r: VerifyReport): string {
  const what = `${r.partitions} partitions, ${r.segments.length} segments, ${r.batches} batches, ${r.bytes} bytes`
  return r.damagedSegments === 0
    ? `checked ${what} in ${r.dataDir}: no damage found`
    : `checked ${what} in ${r.dataDir}: ${r.damagedSegments} damaged segment(s)`
}
