/**
 * Appends written on the thread pool (`writeAsync`, what Produce with acks=1/-1 uses): offsets are assigned at
 * once, readers and the high watermark only move past records whose bytes are written, durability waits for the
 * write, and a failed write stops the partition from taking appends without exposing what was not written.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, mock, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, FlushScheduler, LogError, PartitionLog } from '../../src/log/index.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-async-append-'))
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))
let dirCounter = 0

async function openLog(segmentBytes = DEFAULT_LOG_CONFIG.segmentBytes) {
  const flusher = new FlushScheduler({ mode: 'group' })
  const dir = path.join(tmpRoot, `p-${dirCounter++}`)
  const log = await PartitionLog.open({
    dir,
    config: { ...DEFAULT_LOG_CONFIG, segmentBytes },
    flusher,
    asyncWriteMinBytes: 0,
  })
  return {
    log,
    dir,
    flusher,
    async close() {
      await log.close()
      await flusher.close()
    },
  }
}

const batch = (...values: string[]) =>
  encodeRecordBatchSync({ records: values.map((v) => ({ value: Buffer.from(v) })) })

async function values(log: PartitionLog, from = 0): Promise<string[]> {
  const out: string[] = []
  let offset = from
  for (;;) {
    const { records } = await log.read(offset, 1 << 20)
    if (records.length === 0) return out
    for (const b of await decodeRecordBatches(records)) {
      for (const r of b.records) {
        out.push(r.value!.toString())
        offset = r.offset + 1
      }
    }
  }
}

test('an async append gets its offsets at once and becomes readable once written', async () => {
  const { log, close } = await openLog()
  try {
    log.append(batch('a', 'b'))
    const r = log.append(batch('c', 'd', 'e'), { writeAsync: true })
    // Nothing on the thread pool can have finished while this code runs without yielding.
    assert.equal(r.baseOffset, 2)
    assert.equal(r.lastOffset, 4)
    assert.equal(log.logEndOffset, 5)
    assert.equal(log.highWatermark, 2)
    assert.equal(log.lastStableOffset, 2)
    assert.ok(r.visible, 'an async append reports when it is visible')
    // A fetch at the log end is a valid position, not out of range; it just has nothing yet.
    const early = await log.read(5, 1 << 20)
    assert.equal(early.records.length, 0)
    await r.visible
    assert.equal(log.highWatermark, 5)
    assert.deepEqual(await values(log), ['a', 'b', 'c', 'd', 'e'])
  } finally {
    await close()
  }
})

test('appends behind an unfinished one stay invisible until it is written, then all appear in order', async () => {
  const { log, close } = await openLog()
  try {
    const results = []
    for (let i = 0; i < 20; i++) results.push(log.append(batch(`v${i}`), { writeAsync: i % 3 !== 0 }))
    // A synchronous append queued behind async ones must not make them visible early.
    assert.equal(log.highWatermark, 1)
    // The read takes its bounds when called, before any write can complete.
    const early = log.read(1, 1 << 20)
    assert.equal((await early).records.length, 0)
    await Promise.all(results.map((r) => r.visible))
    assert.equal(log.highWatermark, 20)
    assert.deepEqual(
      await values(log),
      Array.from({ length: 20 }, (_, i) => `v${i}`),
    )
  } finally {
    await close()
  }
})

test('waitDurable waits for the write before syncing, and a roll with writes in flight loses nothing', async () => {
  // Small segments: appends roll while earlier ones are still being written.
  const { log, dir, flusher, close } = await openLog(300)
  const big = 'x'.repeat(120)
  const results = Array.from({ length: 12 }, (_, i) => log.append(batch(`${i}:${big}`), { writeAsync: true }))
  assert.ok(log.segmentCount > 3)
  await log.waitDurable(results.at(-1)!.lastOffset)
  assert.equal(log.highWatermark, 12)
  assert.ok(flusher.fileSyncs > 0)
  await close()
  const reopened = await PartitionLog.open({
    dir,
    config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 300 },
    flusher,
    asyncWriteMinBytes: 0,
  })
  try {
    assert.deepEqual(
      (await values(reopened)).map((v) => v.split(':')[0]),
      Array.from({ length: 12 }, (_, i) => String(i)),
    )
  } finally {
    await reopened.close()
  }
})

test('small appends are written synchronously even when allowed on the thread pool', async () => {
  const flusher = new FlushScheduler({ mode: 'group' })
  const dir = path.join(tmpRoot, `p-${dirCounter++}`)
  const log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG, flusher, asyncWriteMinBytes: 4096 })
  try {
    const small = log.append(batch('tiny'), { writeAsync: true })
    assert.equal(small.visible, undefined)
    assert.equal(log.highWatermark, 1)
    const large = log.append(batch('y'.repeat(8192)), { writeAsync: true })
    assert.ok(large.visible)
    assert.equal(log.highWatermark, 1)
    await large.visible
    assert.equal(log.highWatermark, 2)
  } finally {
    await log.close()
    await flusher.close()
  }
})

test('a failed write fails its produce, hides its records and stops further appends', async (t) => {
  const { log, close } = await openLog()
  try {
    log.append(batch('kept'))
    const realWrite = fs.write
    let calls = 0
    mock.method(fs, 'write', (...args: unknown[]) => {
      calls++
      const cb = args.at(-1) as (err: NodeJS.ErrnoException | null, n: number) => void
      if (calls === 2) {
        const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        setImmediate(() => cb(err, 0))
        return
      }
      return (realWrite as (...a: unknown[]) => void)(...args)
    })
    t.after(() => mock.restoreAll())
    const ok = log.append(batch('first async'), { writeAsync: true })
    const bad = log.append(batch('second async'), { writeAsync: true })
    const behind = log.append(batch('third async'), { writeAsync: true })
    await ok.visible
    await assert.rejects(bad.visible!, (err: unknown) => {
      assert.ok(err instanceof LogError)
      assert.equal(err.errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
      return true
    })
    await assert.rejects(behind.visible!, LogError)
    await assert.rejects(log.waitDurable(bad.lastOffset), LogError)
    assert.equal(log.highWatermark, 2, 'records from the failed write on are never served')
    assert.deepEqual(await values(log), ['kept', 'first async'])
    assert.throws(
      () => log.append(batch('later')),
      (err: unknown) => err instanceof LogError && err.errorCode === ErrorCode.KAFKA_STORAGE_ERROR,
    )
    mock.restoreAll()
  } finally {
    await close()
  }
})
