/**
 * Decoding v2 batches into records: one batch (decompressing it), every batch of a Fetch response, and the
 * validator's variants that map codec failures to CORRUPT_MESSAGE.
 */
import { decompress, decompressSync } from '../compression.ts'
import {
  type BatchHeader,
  BatchOffsets,
  batchBounds,
  iterateBatches,
  type KafkaRecord,
  type RecordHeader,
} from './header.ts'
import { corrupt, invalidRecord } from './log-error.ts'
import { readVarintAt, varintEndPos } from './varint.ts'

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
    this.pos = varintEndPos()
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
