/**
 * Damage in rolled segments: a batch that cannot be framed is answered CORRUPT_MESSAGE and logged with its file
 * and position (never served, never skipped, never used to size a buffer); a rolled segment truncated in the middle
 * of a batch is found when the log opens, logged, and left as it is; compaction never rewrites a damaged segment.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, FlushScheduler, type LogConfig, LogError, PartitionLog } from '../../src/log/index.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { BatchOffsets, decodeRecordBatches, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

const BATCHES = 60
const RECORDS_PER_BATCH = 10
/** Small segments so the log has several rolled ones; every batch is indexed. */
const CONFIG: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 16 * 1024, indexIntervalBytes: 1 }

function batch(i: number): Buffer {
  const records = []
  for (let r = 0; r < RECORDS_PER_BATCH; r++) {
    records.push({ key: Buffer.from(`k${i}`), value: Buffer.from(`batch ${i} record ${r} ${'x'.repeat(100)}`) })
  }
  return encodeRecordBatchSync({ records })
}

interface Batch {
  file: string
  position: number
  size: number
  baseOffset: number
}

/** Every batch of every segment file, walked from the files themselves. */
function batchesOnDisk(dir: string): Batch[] {
  const out: Batch[] = []
  for (const name of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()) {
    const file = path.join(dir, name)
    const buf = fs.readFileSync(file)
    for (let pos = 0; pos < buf.length; ) {
      const size = 12 + buf.readInt32BE(pos + BatchOffsets.batchLength)
      out.push({ file, position: pos, size, baseOffset: Number(buf.readBigInt64BE(pos)) })
      pos += size
    }
  }
  return out
}

async function values(records: Buffer): Promise<string[]> {
  return (await decodeRecordBatches(records)).flatMap((b) => b.records.map((r) => String(r.value)))
}

describe('corrupt rolled segments', () => {
  let dir: string
  let lines: { message: string; level: string }[]
  const flusher = new FlushScheduler({ mode: 'none' })
  const open = () =>
    PartitionLog.open({
      dir,
      config: CONFIG,
      flusher,
      log: (message, level = 'info') => void lines.push({ message, level }),
    })

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-corrupt-'))
    lines = []
    const log = await open()
    for (let i = 0; i < BATCHES; i++) log.append(batch(i))
    assert.ok(log.segmentCount >= 4, `expected several segments, got ${log.segmentCount}`)
    await log.close()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  /** A batch in the middle of the second segment (a rolled one). */
  function victim(): Batch {
    const files = [...new Set(batchesOnDisk(dir).map((b) => b.file))]
    const inSecond = batchesOnDisk(dir).filter((b) => b.file === files[1])
    return inSecond[Math.floor(inSecond.length / 2)]!
  }

  function writeInt32At(file: string, position: number, value: number) {
    const fd = fs.openSync(file, 'r+')
    const b = Buffer.alloc(4)
    b.writeInt32BE(value)
    fs.writeSync(fd, b, 0, 4, position)
    fs.closeSync(fd)
  }

  for (const [what, length] of [
    ['a huge length (0x7fff0000)', 0x7fff0000],
    ['a negative length', -5],
    ['a length shorter than a header', 10],
    ['a length that runs into the middle of the next batch', -1],
  ] as const) {
    test(`${what}: CORRUPT_MESSAGE naming the file and position, earlier records still served`, async () => {
      const v = victim()
      const bad = length === -1 ? v.size - 12 + 40 : length
      writeInt32At(v.file, v.position + BatchOffsets.batchLength, bad)
      const log = await open()
      try {
        // Reads before the damage are unaffected.
        const before = await log.read(0, 1 << 20)
        assert.ok((await values(before.records)).length > 0)
        // Every allocation while reading the damaged batch stays within the segment's size.
        const segmentSize = fs.statSync(v.file).size
        const original = Buffer.allocUnsafe
        let largest = 0
        Buffer.allocUnsafe = ((n: number) => {
          largest = Math.max(largest, n)
          return original(n)
        }) as typeof Buffer.allocUnsafe
        let err: unknown
        try {
          // A small byte limit: the reader must decide about the damaged batch before sizing a buffer for it.
          await log.read(v.baseOffset, 100)
        } catch (e) {
          err = e
        } finally {
          Buffer.allocUnsafe = original
        }
        assert.ok(err instanceof LogError, `expected a LogError, got ${err}`)
        assert.equal(err.errorCode, ErrorCode.CORRUPT_MESSAGE)
        assert.ok(largest <= Math.max(segmentSize, 64 * 1024), `allocated ${largest} bytes`)
        // The offsets of the batch before stay readable, whole, up to the damage.
        const upTo = await log.read(v.baseOffset - RECORDS_PER_BATCH, 1 << 20)
        const got = await values(upTo.records)
        assert.ok(got.length >= RECORDS_PER_BATCH)
        assert.ok(got.every((x) => !x.startsWith(`batch ${v.baseOffset / RECORDS_PER_BATCH} `)))
        const line = lines.find((l) => l.message.includes('corrupt batch'))
        assert.ok(line, `no log line in ${JSON.stringify(lines)}`)
        assert.equal(line.level, 'error')
        assert.ok(line.message.includes(v.file) && line.message.includes(`position ${v.position}`), line.message)
        // Retries are not logged again and again.
        await assert.rejects(log.read(v.baseOffset, 100))
        assert.equal(lines.filter((l) => l.message.includes('corrupt batch')).length, 1)
      } finally {
        await log.close()
      }
    })
  }

  test('a rolled segment truncated mid-batch is reported at open, kept as it is, and not skipped by reads', async () => {
    const v = victim()
    const cut = v.position + Math.floor(v.size / 2)
    fs.truncateSync(v.file, cut)
    const log = await open()
    try {
      assert.equal(fs.statSync(v.file).size, cut, 'the damaged file is left as it is')
      assert.equal(log.recovery.damaged.length, 1)
      const d = log.recovery.damaged[0]!
      assert.equal(d.file, v.file)
      assert.equal(d.position, v.position)
      assert.equal(d.firstLostOffset, v.baseOffset)
      const line = lines.find((l) => l.message.includes('damaged segment'))
      assert.ok(line && line.level === 'error', JSON.stringify(lines))
      assert.ok(line.message.includes(v.file) && line.message.includes(`position ${v.position}`), line.message)
      assert.ok(line.message.includes(`offsets ${v.baseOffset} to ${d.nextOffset - 1}`), line.message)
      // Offsets in the lost range are an error, not a silent jump to the next segment.
      await assert.rejects(log.read(v.baseOffset, 1 << 20), (e: LogError) => e.errorCode === ErrorCode.CORRUPT_MESSAGE)
      await assert.rejects(
        log.read(d.nextOffset - 1, 1 << 20),
        (e: LogError) => e.errorCode === ErrorCode.CORRUPT_MESSAGE,
      )
      // Before and after the damage, everything reads.
      assert.ok((await values((await log.read(v.baseOffset - 1, 1 << 20)).records)).length > 0)
      assert.ok((await values((await log.read(d.nextOffset, 1 << 20)).records)).length > 0)
    } finally {
      await log.close()
    }
  })

  test('with its index files gone too, the rebuilt indexes stop at the damage and the file keeps its bytes', async () => {
    const v = victim()
    writeInt32At(v.file, v.position + BatchOffsets.batchLength, 0x7fff0000)
    fs.rmSync(v.file.replace(/\.log$/, '.index'))
    const size = fs.statSync(v.file).size
    const log = await open()
    try {
      assert.equal(fs.statSync(v.file).size, size)
      assert.equal(log.recovery.damaged.length, 1)
      assert.equal(log.recovery.damaged[0]!.position, v.position)
      await assert.rejects(log.read(v.baseOffset, 1 << 20), (e: LogError) => e.errorCode === ErrorCode.CORRUPT_MESSAGE)
    } finally {
      await log.close()
    }
    // Repaired by hand (the length put back), the same file serves every record again.
    const fd = fs.openSync(v.file, 'r+')
    const b = Buffer.alloc(4)
    b.writeInt32BE(v.size - 12)
    fs.writeSync(fd, b, 0, 4, v.position + BatchOffsets.batchLength)
    fs.closeSync(fd)
    const again = await open()
    try {
      assert.equal(again.recovery.damaged.length, 0)
      const got = await values((await again.read(v.baseOffset, 1 << 20)).records)
      assert.ok(got[0]!.startsWith(`batch ${v.baseOffset / RECORDS_PER_BATCH} record 0`))
    } finally {
      await again.close()
    }
  })

  test('compaction never rewrites a damaged segment', async () => {
    const v = victim()
    writeInt32At(v.file, v.position + BatchOffsets.batchLength, 0x7fff0000)
    const size = fs.statSync(v.file).size
    const log = await PartitionLog.open({
      dir,
      config: { ...CONFIG, cleanupPolicy: { delete: false, compact: true } },
      flusher,
      log: (message, level = 'info') => void lines.push({ message, level }),
    })
    try {
      await log.compact()
      assert.equal(fs.statSync(v.file).size, size, 'the damaged segment was rewritten')
      assert.ok(lines.some((l) => l.message.includes('compaction stops before damaged segment')))
    } finally {
      await log.close()
    }
  })
})
