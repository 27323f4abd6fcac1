/**
 * `tributary log verify --data-dir DIR`, run as a command on data directories written by the log and then damaged by
 * hand: a clean report and status 0 on healthy data; the file, position, reason, unreadable offsets and where
 * reading could resume, and status 1, for each kind of damage.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { DEFAULT_LOG_CONFIG, FlushScheduler, type LogConfig, PartitionLog } from '../../src/log/index.ts'
import { CompressionCodec } from '../../src/protocol/compression.ts'
import { BatchOffsets, encodeRecordBatch } from '../../src/protocol/record-batch.ts'
import { tempDir } from '../helpers/broker.ts'
import { batchesOnDisk, middleOfSecondSegment, overwriteInt32 } from '../helpers/segments.ts'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const CONFIG: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 8 * 1024, indexIntervalBytes: 1 }
const BATCHES = 40
const PER_BATCH = 5

function tributary(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('tributary log verify', () => {
  let data: { path: string; remove(): void }
  const partition = () => path.join(data.path, 'orders-0')
  const pristine = new Map<string, Buffer>()

  before(async () => {
    data = tempDir('tributary-verify-')
    const flusher = new FlushScheduler({ mode: 'none' })
    for (const name of ['orders-0', 'payments-0']) {
      const log = await PartitionLog.open({ dir: path.join(data.path, name), config: CONFIG, flusher })
      for (let i = 0; i < BATCHES; i++) {
        const records = Array.from({ length: PER_BATCH }, (_, r) => ({
          key: `k${r}`,
          value: `${name} batch ${i} record ${r} ${'y'.repeat(60)}`,
        }))
        // Every third batch gzip-compressed: the check walks compressed records too.
        log.append(await encodeRecordBatch({ records, compression: i % 3 === 0 ? CompressionCodec.GZIP : 0 }))
      }
      await log.close()
    }
    for (const name of fs.readdirSync(partition())) pristine.set(name, fs.readFileSync(path.join(partition(), name)))
  })
  after(() => data?.remove())

  function restore() {
    for (const [name, bytes] of pristine) fs.writeFileSync(path.join(partition(), name), bytes)
  }

  test('healthy data: one ok line per segment, a summary, status 0', async () => {
    restore()
    const r = await tributary(['log', 'verify', '--data-dir', data.path])
    assert.equal(r.code, 0, r.stderr)
    const segments = fs.readdirSync(partition()).filter((n) => n.endsWith('.log')).length * 2
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length, segments, r.stdout)
    assert.match(
      r.stdout,
      new RegExp(`checked 2 partitions, ${segments} segments, ${BATCHES * 2} batches, .*: no damage found`),
    )
    assert.doesNotMatch(r.stdout, /DAMAGED/)
  })

  test('a damaged length field: file, position, unreadable offsets and where reading resumes; status 1', async () => {
    restore()
    const v = middleOfSecondSegment(partition())
    const next = batchesOnDisk(partition()).find((b) => b.file === v.file && b.position > v.position)!
    overwriteInt32(v.file, v.position + BatchOffsets.batchLength, 0x7fff0000)
    const r = await tributary(['log', 'verify', '--data-dir', data.path])
    assert.equal(r.code, 1)
    const rel = path.relative(data.path, v.file)
    assert.match(r.stdout, new RegExp(`DAMAGED ${rel}:`))
    assert.match(
      r.stdout,
      new RegExp(
        `position ${v.position}: batch length 2147418112 runs past the end of the segment .*; offsets ${v.baseOffset}-${next.baseOffset - 1} cannot be read; the next valid batch is at position ${next.position} \\(offset ${next.baseOffset}\\)`,
      ),
    )
    assert.match(r.stderr, /tributary: checked 2 partitions, .*: 1 damaged segment\(s\) \(TRB_LOG_DAMAGED\)/)
  })

  test('a flipped byte inside a record: CRC-32C mismatch at that batch', async () => {
    restore()
    const v = middleOfSecondSegment(partition())
    const fd = fs.openSync(v.file, 'r+')
    const b = Buffer.alloc(1)
    fs.readSync(fd, b, 0, 1, v.position + v.size - 3)
    b[0]! ^= 0xff
    fs.writeSync(fd, b, 0, 1, v.position + v.size - 3)
    fs.closeSync(fd)
    const r = await tributary(['log', 'verify', '--data-dir', data.path])
    assert.equal(r.code, 1)
    assert.match(
      r.stdout,
      new RegExp(
        `position ${v.position}: CRC-32C mismatch; offsets ${v.baseOffset}-${v.baseOffset + PER_BATCH - 1} cannot be read`,
      ),
    )
  })

  test('a rolled segment cut in the middle of a batch, and an index entry pointing nowhere', async () => {
    restore()
    const v = middleOfSecondSegment(partition())
    fs.truncateSync(v.file, v.position + 30)
    const r = await tributary(['log', 'verify', '--data-dir', data.path, '--json'])
    assert.equal(r.code, 1)
    const report = JSON.parse(r.stdout)
    const damaged = report.segments.filter((s: { problems: unknown[] }) => s.problems.length > 0)
    assert.equal(damaged.length, 1)
    assert.equal(damaged[0].file, path.relative(data.path, v.file))
    assert.deepEqual(damaged[0].problems[0], {
      position: v.position,
      message: 'torn batch (30 bytes left)',
      lostOffsets: [v.baseOffset, null],
    })

    restore()
    const index = v.file.replace(/\.log$/, '.index')
    overwriteInt32(index, 4, 12345)
    const i = await tributary(['log', 'verify', '--data-dir', data.path])
    assert.equal(i.code, 1)
    assert.match(
      i.stdout,
      /offset index entry 0 names offset \d+ at position 12345, where no batch with that base offset starts/,
    )
  })

  test('a directory that does not exist is a clear error', async () => {
    const r = await tributary(['log', 'verify', '--data-dir', path.join(data.path, 'nope')])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /data directory .*nope does not exist/)
  })
})
