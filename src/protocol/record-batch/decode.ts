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
    public end: number,
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
  return decodeRecordsWith(header, body, start, end, (offset, timestamp, key, value, headers) => ({
    offset,
    timestamp,
    key,
    value,
    headers,
  }))
}

const NO_HEADERS = Object.freeze([]) as unknown as RecordHeader[]

/**
 * Decodes the records of a (decompressed) record section into what `make` builds of each (a reader's own record
 * type, without an intermediate object). Keys, values and header values are views of `body`. Records without
 * headers share one frozen empty array.
 */
export function decodeRecordsWith<T>(
  header: BatchHeader,
  body: Buffer,
  start: number,
  end: number,
  make: (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]) => T,
): T[] {
  const records: T[] = []
  const c = new RecordCursor(body, start, end)
  const logAppendTime = header.timestampType === 1
  while (c.pos < end) {
    const len = c.varint()
    const recEnd = c.pos + len
    if (len <= 0 || recEnd > end) throw invalidRecord(`record length ${len} does not fit the batch`)
    c.end = recEnd
    c.byte() // attributes, unused in v2
    const tsDelta = c.varlong()
    const offsetDelta = c.varint()
    const key = c.nullableBytes()
    const value = c.nullableBytes()
    const headerCount = c.varint()
    if (headerCount < 0) throw invalidRecord(`negative header count ${headerCount}`)
    let headers = NO_HEADERS
    if (headerCount > 0) {
      headers = []
      for (let i = 0; i < headerCount; i++) {
        const k = c.nullableBytes()
        if (k === null) throw invalidRecord('null header key')
        headers.push({ key: k.toString('utf8'), value: c.nullableBytes() })
      }
    }
    if (c.pos !== recEnd) throw invalidRecord('record length does not match its fields')
    records.push(
      make(
        header.baseOffset + offsetDelta,
        logAppendTime ? header.maxTimestamp : header.baseTimestamp + tsDelta,
        key,
        value,
        headers,
      ),
    )
    c.end = end
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
