import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import {
  DEFAULT_LOG_CONFIG,
  FlushScheduler,
  type LogConfig,
  LogError,
  PartitionLog,
  parseLogConfig,
} from '../../src/log/index.ts'
import {
  BatchOffsets,
  decodeRecordBatches,
  encodeRecordBatch,
  encodeRecordBatchSync,
  type RecordInput,
} from '../../src/protocol/record-batch.ts'

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-log-test-'))
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))
let dirCounter = 0
const newDir = () => path.join(tmpRoot, `p-${dirCounter++}`)

class FakeClock {
  t = 1_700_000_000_000
  now = () => this.t
}

async function openLog(dir: string, config: Partial<LogConfig> = {}, clock = new FakeClock()) {
  const flusher = new FlushScheduler({ mode: 'group' })
  const log = await PartitionLog.open({ dir, config: { ...DEFAULT_LOG_CONFIG, ...config }, flusher, now: clock.now })
  return {
    log,
    flusher,
    clock,
    async close() {
      await log.close()
      await flusher.close()
    },
  }
}

function batch(records: RecordInput[], extra: Partial<Parameters<typeof encodeRecordBatchSync>[0]> = {}): Buffer {
  return encodeRecordBatchSync({ records, ...extra })
}

async function readAll(log: PartitionLog, from = log.logStartOffset) {
  const out: { offset: number; key: string | null; value: string | null; timestamp: number }[] = []
  let offset = from
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1000)
    if (records.length === 0) break
    for (const b of await decodeRecordBatches(records)) {
      for (const r of b.records) {
        if (r.offset >= offset) {
          out.push({
            offset: r.offset,
            key: r.key?.toString() ?? null,
            value: r.value?.toString() ?? null,
            timestamp: r.timestamp,
          })
        }
      }
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1
    }
  }
  return out
}

function isLogError(code: number) {
  return (e: unknown) => e instanceof LogError && e.errorCode === code
}

test('append/read round trips across segment rolls, reading at any offset inside batches', async () => {
  const dir = newDir()
  const h = await openLog(dir, { segmentBytes: 600, indexIntervalBytes: 150 })
  const expected: string[] = []
  for (let i = 0; i < 120; i++) {
    const n = (i % 3) + 1
    const records = Array.from({ length: n }, (_, j) => ({ key: `k${i}`, value: `v${i}-${j}` }))
    const r = h.log.append(batch(records))
    assert.equal(r.baseOffset, expected.length)
    assert.equal(r.lastOffset, expected.length + n - 1)
    assert.equal(r.recordCount, n)
    assert.equal(r.duplicate, false)
    for (const rec of records) expected.push(rec.value)
  }
  assert.equal(h.log.logEndOffset, expected.length)
  // More segments than the in-memory index cache holds, so index entries are evicted and reloaded.
  assert.ok(h.log.segmentCount > 10, `expected many segments, got ${h.log.segmentCount}`)
  for (let offset = 0; offset < expected.length; offset++) {
    const { records, highWatermark, lastStableOffset } = await h.log.read(offset, 1)
    assert.equal(highWatermark, expected.length)
    assert.equal(lastStableOffset, expected.length)
    const [first] = await decodeRecordBatches(records)
    const hit = first!.records.find((r) => r.offset === offset)
    assert.equal(hit?.value?.toString(), expected[offset], `offset ${offset}`)
  }
  assert.deepEqual(
    (await readAll(h.log)).map((r) => r.value),
    expected,
  )
  // Segment files are named by base offset with 20 digits and come with both indexes.
  const names = fs.readdirSync(dir)
  assert.ok(names.includes('00000000000000000000.log'))
  assert.ok(names.includes('00000000000000000000.index'))
  assert.ok(names.includes('00000000000000000000.timeindex'))
  await h.close()
})

test('maxBytes is a soft limit: whole batches only, at least one unless minOneMessage is false', async () => {
  const h = await openLog(newDir())
  const sizes: number[] = []
  for (let i = 0; i < 5; i++) {
    const b = batch([{ value: 'x'.repeat(100 + i) }])
    sizes.push(b.length)
    h.log.append(b)
  }
  const one = await h.log.read(0, 10)
  assert.equal(one.records.length, sizes[0])
  assert.equal((await h.log.read(0, 10, { minOneMessage: false })).records.length, 0)
  const two = await h.log.read(0, sizes[0]! + sizes[1]! + 5)
  assert.equal(two.records.length, sizes[0]! + sizes[1]!)
  const all = await h.log.read(1, 1_000_000)
  assert.equal((await decodeRecordBatches(all.records)).length, 4)
  const capped = await h.log.read(0, 1_000_000, { maxOffset: 3 })
  assert.deepEqual(
    (await decodeRecordBatches(capped.records)).map((b) => b.header.baseOffset),
    [0, 1, 2],
  )
  await h.close()
})

test('offsets outside [logStartOffset, logEndOffset] are OFFSET_OUT_OF_RANGE; the end itself reads empty', async () => {
  const h = await openLog(newDir())
  h.log.append(batch([{ value: 'a' }, { value: 'b' }]))
  await assert.rejects(h.log.read(3, 100), isLogError(1))
  await assert.rejects(h.log.read(-1, 100), isLogError(1))
  const atEnd = await h.log.read(2, 100)
  assert.equal(atEnd.records.length, 0)
  assert.equal(atEnd.highWatermark, 2)
  await h.close()
})

test('offsetForTimestamp finds the first record at or after a timestamp; maxTimestamp finds the largest', async () => {
  const h = await openLog(newDir(), { segmentBytes: 400, indexIntervalBytes: 100 })
  for (let i = 0; i < 20; i++) {
    h.log.append(
      batch([
        { value: `a${i}`, timestamp: 1000 + i * 100 },
        { value: `b${i}`, timestamp: 1000 + i * 100 + 50 },
      ]),
    )
  }
  assert.deepEqual(await h.log.offsetForTimestamp(0), { offset: 0, timestamp: 1000 })
  assert.deepEqual(await h.log.offsetForTimestamp(1000), { offset: 0, timestamp: 1000 })
  assert.deepEqual(await h.log.offsetForTimestamp(1001), { offset: 1, timestamp: 1050 })
  assert.deepEqual(await h.log.offsetForTimestamp(1720), { offset: 15, timestamp: 1750 })
  assert.deepEqual(await h.log.offsetForTimestamp(2950), { offset: 39, timestamp: 2950 })
  assert.equal(await h.log.offsetForTimestamp(2951), null)
  assert.deepEqual(await h.log.maxTimestamp(), { offset: 39, timestamp: 2950 })
  await h.close()
})

test('a batch with a bad CRC is rejected and nothing is appended', async () => {
  const dir = newDir()
  const h = await openLog(dir)
  h.log.append(batch([{ value: 'ok' }]))
  const sizeBefore = fs.statSync(path.join(dir, '00000000000000000000.log')).size
  const good = batch([{ value: 'first' }])
  const bad = batch([{ value: 'corrupted' }])
  bad[bad.length - 1]! ^= 0xff
  assert.throws(() => h.log.append(Buffer.concat([good, bad])), isLogError(2))
  const oldMagic = batch([{ value: 'v1' }])
  oldMagic.writeInt8(1, BatchOffsets.magic)
  assert.throws(() => h.log.append(oldMagic), isLogError(43))
  assert.throws(() => h.log.append(Buffer.from([1, 2, 3])), isLogError(2))
  assert.equal(h.log.logEndOffset, 1)
  assert.equal(fs.statSync(path.join(dir, '00000000000000000000.log')).size, sizeBefore)
  await h.close()
})

test('batches over max.message.bytes are MESSAGE_TOO_LARGE', async () => {
  const h = await openLog(newDir(), { maxMessageBytes: 200 })
  assert.throws(() => h.log.append(batch([{ value: 'x'.repeat(300) }])), isLogError(10))
  assert.equal(h.log.append(batch([{ value: 'x'.repeat(50) }])).baseOffset, 0)
  await h.close()
})

test('compacted topics reject records without a key (INVALID_RECORD), compressed batches included', async () => {
  const h = await openLog(newDir(), { cleanupPolicy: { delete: false, compact: true } })
  assert.throws(() => h.log.append(batch([{ key: 'k', value: 'v' }, { value: 'no key' }])), isLogError(87))
  const gz = await encodeRecordBatch({ records: [{ value: 'no key' }], compression: 1 })
  assert.throws(() => h.log.append(gz), isLogError(87))
  assert.equal(h.log.logEndOffset, 0)
  await h.close()
})

test('idempotent producer: duplicates return the original offsets, gaps and stale epochs are rejected', async () => {
  const h = await openLog(newDir())
  const p = (seq: number, n: number, epoch = 0) =>
    batch(
      Array.from({ length: n }, (_, i) => ({ value: `s${seq + i}` })),
      { producerId: 1000, producerEpoch: epoch, baseSequence: seq },
    )
  h.log.append(batch([{ value: 'other' }]))
  const first = h.log.append(p(0, 2))
  const second = h.log.append(p(2, 3))
  assert.deepEqual([first.baseOffset, first.lastOffset, second.baseOffset, second.lastOffset], [1, 2, 3, 5])
  const dup = h.log.append(p(0, 2))
  assert.equal(dup.duplicate, true)
  assert.deepEqual([dup.baseOffset, dup.lastOffset], [1, 2])
  assert.equal(h.log.logEndOffset, 6)
  assert.throws(() => h.log.append(p(7, 1)), isLogError(45))
  assert.throws(() => h.log.append(p(4, 1)), isLogError(45))
  assert.equal(h.log.append(p(5, 1)).baseOffset, 6)
  // A new epoch must restart at sequence 0; afterwards the old epoch is fenced.
  assert.throws(() => h.log.append(p(6, 1, 1)), isLogError(45))
  assert.equal(h.log.append(p(0, 1, 1)).baseOffset, 7)
  assert.throws(() => h.log.append(p(6, 1, 0)), isLogError(47))
  // A producer the log has never seen may start at any sequence (Kafka 2.5+).
  const fresh = batch([{ value: 'late' }], { producerId: 2000, producerEpoch: 0, baseSequence: 42 })
  assert.equal(h.log.append(fresh).baseOffset, 8)
  assert.equal(h.log.logEndOffset, 9)
  await h.close()
})

test('recovery truncates a torn tail; earlier batches stay and appends continue at the right offset', async () => {
  const dir = newDir()
  let h = await openLog(dir)
  for (let i = 0; i < 10; i++) h.log.append(batch([{ value: `v${i}` }]))
  await h.log.waitDurable(9)
  // Simulate a crash: no clean close, last batch torn in the middle.
  const file = path.join(dir, '00000000000000000000.log')
  const size = fs.statSync(file).size
  fs.truncateSync(file, size - 7)
  h.flusher.close()
  const lines: string[] = []
  const flusher = new FlushScheduler({ mode: 'group' })
  const log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG, flusher, log: (l) => lines.push(l) })
  assert.equal(log.logEndOffset, 9)
  assert.ok(lines.some((l) => l.includes('truncating')))
  assert.deepEqual(
    (await readAll(log)).map((r) => r.value),
    Array.from({ length: 9 }, (_, i) => `v${i}`),
  )
  assert.equal(log.append(batch([{ value: 'after' }])).baseOffset, 9)
  await log.close()
  await flusher.close()
  h = await openLog(dir)
  assert.equal(h.log.logEndOffset, 10)
  assert.equal((await readAll(h.log)).at(-1)?.value, 'after')
  await h.close()
})

test('recovery drops junk and corrupt batches appended after the last good batch', async () => {
  const dir = newDir()
  let h = await openLog(dir)
  for (let i = 0; i < 5; i++) h.log.append(batch([{ value: `v${i}` }]))
  await h.close()
  const file = path.join(dir, '00000000000000000000.log')
  const corrupt = batch([{ value: 'bad' }], { baseOffset: 5 })
  corrupt[corrupt.length - 1]! ^= 0x55
  fs.appendFileSync(
    file,
    Buffer.concat([corrupt, Buffer.from('garbage garbage garbage garbage garbage garbage garbage')]),
  )
  h = await openLog(dir)
  assert.equal(h.log.logEndOffset, 5)
  assert.equal(h.log.append(batch([{ value: 'next' }])).baseOffset, 5)
  assert.deepEqual(
    (await readAll(h.log)).map((r) => r.value),
    ['v0', 'v1', 'v2', 'v3', 'v4', 'next'],
  )
  await h.close()
})

test('missing or damaged index files and junk files in the partition dir are handled', async () => {
  const dir = newDir()
  let h = await openLog(dir, { segmentBytes: 500, indexIntervalBytes: 100 })
  for (let i = 0; i < 40; i++) h.log.append(batch([{ value: `value-${i}` }]))
  await h.close()
  const names = fs.readdirSync(dir)
  const indexes = names.filter((n) => n.endsWith('.index')).sort()
  fs.rmSync(path.join(dir, indexes[0]!))
  fs.writeFileSync(path.join(dir, indexes[1]!), Buffer.from([1, 2, 3]))
  fs.writeFileSync(path.join(dir, names.find((n) => n.endsWith('.timeindex'))!), Buffer.alloc(0))
  fs.writeFileSync(path.join(dir, 'README.txt'), 'not a segment')
  fs.writeFileSync(path.join(dir, '123.log'), 'short name, not a segment')
  fs.mkdirSync(path.join(dir, 'subdir'))
  fs.writeFileSync(path.join(dir, `${'0'.repeat(19)}9.log.cleaned`), 'leftover of a crashed compaction')
  h = await openLog(dir, { segmentBytes: 500, indexIntervalBytes: 100 })
  assert.equal(h.log.logEndOffset, 40)
  assert.deepEqual(
    (await readAll(h.log)).map((r) => r.value),
    Array.from({ length: 40 }, (_, i) => `value-${i}`),
  )
  for (let offset = 0; offset < 40; offset += 7) {
    const [b] = await decodeRecordBatches((await h.log.read(offset, 1)).records)
    assert.equal(b!.header.baseOffset, offset)
  }
  assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.cleaned')))
  await h.close()
})

test('an empty active segment and an empty partition dir reopen cleanly', async () => {
  const dir = newDir()
  let h = await openLog(dir, { segmentBytes: 100 })
  await h.close()
  h = await openLog(dir, { segmentBytes: 100 })
  assert.equal(h.log.logEndOffset, 0)
  h.log.append(batch([{ value: 'x'.repeat(60) }]))
  h.log.append(batch([{ value: 'y'.repeat(60) }])) // rolls: the new active segment stays empty
  h.log.roll()
  await h.close()
  h = await openLog(dir, { segmentBytes: 100 })
  assert.equal(h.log.logEndOffset, 2)
  assert.equal(h.log.append(batch([{ value: 'z' }])).baseOffset, 2)
  await h.close()
})

test('producer state survives reopen, with and without a snapshot', async () => {
  const dir = newDir()
  let h = await openLog(dir, { segmentBytes: 300 })
  const p = (seq: number) => batch([{ value: `s${seq}` }], { producerId: 7, producerEpoch: 3, baseSequence: seq })
  for (let seq = 0; seq < 12; seq++) h.log.append(p(seq))
  await h.close()
  assert.ok(fs.readdirSync(dir).some((n) => n.endsWith('.snapshot')))
  h = await openLog(dir, { segmentBytes: 300 })
  const dup = h.log.append(p(11))
  assert.equal(dup.duplicate, true)
  assert.equal(dup.baseOffset, 11)
  assert.throws(() => h.log.append(p(13)), isLogError(45))
  assert.equal(h.log.append(p(12)).baseOffset, 12)
  await h.close()
  // Without snapshots the state is rebuilt from batch headers.
  for (const n of fs.readdirSync(dir)) if (n.endsWith('.snapshot')) fs.rmSync(path.join(dir, n))
  h = await openLog(dir, { segmentBytes: 300 })
  assert.equal(h.log.append(p(12)).duplicate, true)
  assert.throws(
    () => h.log.append(batch([{ value: 'old' }], { producerId: 7, producerEpoch: 2, baseSequence: 13 })),
    isLogError(47),
  )
  assert.equal(h.log.append(p(13)).baseOffset, 13)
  await h.close()
})

test('transactions: last stable offset, aborted transaction index and markers', async () => {
  const dir = newDir()
  let h = await openLog(dir)
  const tx = (pid: number, seq: number, value: string) =>
    batch([{ value }], { producerId: pid, producerEpoch: 0, baseSequence: seq, isTransactional: true })
  h.log.append(batch([{ value: 'plain' }]))
  h.log.append(tx(1, 0, 'a1'))
  h.log.append(tx(2, 0, 'b1'))
  assert.equal(h.log.lastStableOffset, 1)
  h.log.append(tx(1, 1, 'a2'))
  const abort = h.log.appendControl(1, 0, false, 5)
  assert.equal(abort.baseOffset, 4)
  assert.equal(h.log.lastStableOffset, 2)
  assert.deepEqual(h.log.abortedTransactions(0, 100), [{ producerId: 1, firstOffset: 1, lastOffset: 4 }])
  assert.deepEqual(h.log.abortedTransactions(5, 100), [])
  // read_committed readers stop at the LSO.
  const upToLso = await h.log.read(0, 10000, { maxOffset: h.log.lastStableOffset })
  assert.deepEqual(
    (await decodeRecordBatches(upToLso.records)).map((b) => b.header.baseOffset),
    [0, 1],
  )
  assert.throws(
    () => h.log.append(batch([{ value: 'x' }], { producerId: 2, producerEpoch: 0, baseSequence: 1 })),
    isLogError(48),
  )
  h.log.appendControl(2, 0, true, 5)
  assert.equal(h.log.lastStableOffset, h.log.logEndOffset)
  assert.throws(() => h.log.appendControl(1, -1, true, 5), isLogError(47))
  assert.throws(
    () => h.log.append(encodeRecordBatchSync({ records: [{ value: 'x' }], isControl: true })),
    isLogError(87),
  )
  await h.close()
  h = await openLog(dir)
  assert.deepEqual(h.log.abortedTransactions(0, 100), [{ producerId: 1, firstOffset: 1, lastOffset: 4 }])
  assert.equal(h.log.lastStableOffset, h.log.logEndOffset)
  await h.close()
})

test('LogAppendTime: the broker stamps maxTimestamp and the timestamp type, with a valid CRC', async () => {
  const clock = new FakeClock()
  const h = await openLog(newDir(), { messageTimestampType: 'LogAppendTime' }, clock)
  const r = h.log.append(
    batch([
      { value: 'a', timestamp: 5 },
      { value: 'b', timestamp: 6 },
    ]),
  )
  assert.equal(r.logAppendTime, clock.t)
  const [b] = await decodeRecordBatches((await h.log.read(0, 1000)).records)
  assert.equal(b!.header.timestampType, 1)
  assert.deepEqual(
    b!.records.map((x) => x.timestamp),
    [clock.t, clock.t],
  )
  await h.close()
})

test('retention by time deletes whole old segments, never the active one (injected clock)', async () => {
  const clock = new FakeClock()
  const h = await openLog(newDir(), { segmentBytes: 300, retentionMs: 10_000 }, clock)
  for (let i = 0; i < 20; i++) {
    h.log.append(batch([{ value: `old-${i}`, timestamp: clock.t }]))
  }
  clock.t += 20_000
  for (let i = 0; i < 3; i++) h.log.append(batch([{ value: `new-${i}`, timestamp: clock.t }]))
  const before = h.log.segmentCount
  const { deletedSegments } = await h.log.enforceRetention()
  assert.ok(deletedSegments > 0 && deletedSegments < before)
  assert.ok(h.log.logStartOffset > 0)
  const remaining = await readAll(h.log)
  assert.ok(remaining.every((r) => r.value!.startsWith('new-') || r.offset >= h.log.logStartOffset))
  assert.ok(remaining.some((r) => r.value === 'new-2'))
  await assert.rejects(h.log.read(0, 100), isLogError(1))
  // Everything expired: the active segment still stays.
  clock.t += 100_000
  await h.log.enforceRetention()
  assert.equal(h.log.segmentCount, 1)
  assert.equal(h.log.logEndOffset, 23)
  await h.close()
})

test('retention by size keeps the newest segments within retention.bytes', async () => {
  const h = await openLog(newDir(), { segmentBytes: 300, retentionBytes: 700, retentionMs: -1 })
  for (let i = 0; i < 40; i++) h.log.append(batch([{ value: `v${i}` }]))
  assert.ok(h.log.size > 700)
  await h.log.enforceRetention()
  assert.ok(h.log.size <= 700 + 300, `size ${h.log.size}`)
  assert.ok(h.log.logStartOffset > 0)
  assert.equal(h.log.logEndOffset, 40)
  await h.close()
})

test('segment.ms rolls the active segment on append and during retention', async () => {
  const clock = new FakeClock()
  const h = await openLog(newDir(), { segmentMs: 1000 }, clock)
  h.log.append(batch([{ value: 'a', timestamp: clock.t }]))
  clock.t += 1500
  h.log.append(batch([{ value: 'b', timestamp: clock.t }]))
  assert.deepEqual(h.log.segmentBaseOffsets(), [0, 1])
  clock.t += 1500
  await h.log.enforceRetention()
  assert.deepEqual(h.log.segmentBaseOffsets(), [0, 1, 2])
  await h.close()
})

test('deleteRecordsBefore moves the log start offset, deletes segments below it and persists it', async () => {
  const dir = newDir()
  let h = await openLog(dir, { segmentBytes: 300 })
  for (let i = 0; i < 30; i++) h.log.append(batch([{ value: `v${i}` }]))
  const segsBefore = h.log.segmentCount
  assert.equal(await h.log.deleteRecordsBefore(17), 17)
  assert.equal(h.log.logStartOffset, 17)
  assert.ok(h.log.segmentCount < segsBefore)
  await assert.rejects(h.log.read(16, 100), isLogError(1))
  assert.equal((await readAll(h.log))[0]!.offset, 17)
  await assert.rejects(h.log.deleteRecordsBefore(31), isLogError(1))
  assert.equal(await h.log.deleteRecordsBefore(5), 17)
  await h.close()
  h = await openLog(dir, { segmentBytes: 300 })
  assert.equal(h.log.logStartOffset, 17)
  assert.equal(h.log.logEndOffset, 30)
  await h.close()
})

test('compaction keeps the latest record per key, removes old tombstones, preserves offsets and producer state', async () => {
  const clock = new FakeClock()
  const dir = newDir()
  const config = {
    segmentBytes: 400,
    cleanupPolicy: { delete: false, compact: true },
    deleteRetentionMs: 60_000,
  }
  let h = await openLog(dir, config, clock)
  const t0 = clock.t
  let seq = 0
  const put = (key: string, value: string | null, ts = clock.t) =>
    h.log.append(batch([{ key, value, timestamp: ts }], { producerId: 77, producerEpoch: 0, baseSequence: seq++ }))
  for (let round = 0; round < 5; round++) for (const k of ['a', 'b', 'c']) put(k, `${k}${round}`)
  put('b', null, t0) // tombstone, old
  put('c', null) // tombstone, recent
  clock.t += 30_000
  for (let i = 0; i < 6; i++) put('d', `d${i}`)
  const activeBase = h.log.segmentBaseOffsets().at(-1)!
  const activeBefore = (await readAll(h.log, activeBase)).map((r) => `${r.offset}:${r.value}`)
  const leo = h.log.logEndOffset

  const { removedRecords } = await h.log.compact()
  assert.ok(removedRecords > 0)
  assert.equal(h.log.logEndOffset, leo)
  const after = await readAll(h.log)
  const byKey = new Map<string, { offset: number; value: string | null }[]>()
  for (const r of after) byKey.set(r.key!, [...(byKey.get(r.key!) ?? []), r])
  // Latest per key in the cleaned range, offsets unchanged.
  assert.deepEqual(byKey.get('a'), [{ offset: 12, key: 'a', value: 'a4', timestamp: t0 }])
  // Tombstones younger than delete.retention.ms stay.
  assert.ok(after.some((r) => r.key === 'c' && r.value === null))
  assert.ok(after.every((r) => r.key !== 'c' || r.value === null))
  // The active segment is untouched.
  assert.deepEqual(
    (await readAll(h.log, activeBase)).map((r) => `${r.offset}:${r.value}`),
    activeBefore,
  )
  // Offsets still increase and reads at removed offsets land on the next surviving batch.
  const offsets = after.map((r) => r.offset)
  assert.deepEqual(
    offsets,
    [...offsets].sort((x, y) => x - y),
  )
  const [next] = await decodeRecordBatches((await h.log.read(1, 1)).records)
  assert.ok(next!.header.baseOffset + next!.header.lastOffsetDelta >= 1)

  // Once delete.retention.ms has passed, the tombstones go too.
  clock.t += 120_000
  h.log.roll()
  await h.log.compact()
  const later = await readAll(h.log)
  assert.ok(!later.some((r) => r.key === 'b'))
  assert.ok(!later.some((r) => r.key === 'c'))
  assert.deepEqual(
    later.filter((r) => r.key === 'd').map((r) => r.value),
    ['d5'],
  )
  // Producer state survived compaction: the next sequence is still required, duplicates still detected.
  assert.throws(
    () => h.log.append(batch([{ key: 'e', value: 'x' }], { producerId: 77, producerEpoch: 0, baseSequence: seq + 1 })),
    isLogError(45),
  )
  await h.close()
  for (const n of fs.readdirSync(dir)) if (n.endsWith('.snapshot')) fs.rmSync(path.join(dir, n))
  h = await openLog(dir, config, clock)
  // Rebuilt from headers alone: the empty batch kept for the producer carries its last sequence.
  assert.throws(
    () => h.log.append(batch([{ key: 'e', value: 'x' }], { producerId: 77, producerEpoch: 0, baseSequence: seq + 1 })),
    isLogError(45),
  )
  assert.equal(
    h.log.append(batch([{ key: 'e', value: 'x' }], { producerId: 77, producerEpoch: 0, baseSequence: seq })).baseOffset,
    leo,
  )
  await h.close()
})

test('compaction respects min.compaction.lag.ms', async () => {
  const clock = new FakeClock()
  const h = await openLog(
    newDir(),
    { segmentBytes: 200, cleanupPolicy: { delete: false, compact: true }, minCompactionLagMs: 10_000 },
    clock,
  )
  for (let i = 0; i < 20; i++) h.log.append(batch([{ key: 'k', value: `v${i}`, timestamp: clock.t }]))
  assert.deepEqual(await h.log.compact(), { removedRecords: 0 })
  clock.t += 20_000
  const { removedRecords } = await h.log.compact()
  assert.ok(removedRecords > 0)
  await h.close()
})

test('parseLogConfig maps Kafka keys and names the key in errors', () => {
  const c = parseLogConfig({ 'cleanup.policy': 'compact,delete', 'retention.ms': '-1', 'segment.bytes': '1024' })
  assert.deepEqual(c.cleanupPolicy, { delete: true, compact: true })
  assert.equal(c.retentionMs, -1)
  assert.equal(c.segmentBytes, 1024)
  assert.equal(c.maxMessageBytes, DEFAULT_LOG_CONFIG.maxMessageBytes)
  assert.throws(() => parseLogConfig({ 'retention.ms': 'soon' }), /retention\.ms/)
  assert.throws(() => parseLogConfig({ 'cleanup.policy': 'forever' }), /cleanup\.policy/)
  assert.throws(
    () => parseLogConfig({ 'message.timestamp.type': 'Now' }),
    (e: unknown) => (e as { code: string }).code === 'TRB_CONFIG_INVALID',
  )
})

test('after a crash (no clean close) acknowledged data and producer state are intact; a torn rolled segment is repaired', async () => {
  const dir = newDir()
  const flusher = new FlushScheduler({ mode: 'group' })
  const log = await PartitionLog.open({ dir, config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 300 }, flusher })
  const p = (seq: number) => batch([{ value: `s${seq}` }], { producerId: 5, producerEpoch: 0, baseSequence: seq })
  for (let seq = 0; seq < 15; seq++) await log.waitDurable(log.append(p(seq)).lastOffset)
  await flusher.close()
  // Crash: the log is never closed. Damage the tail of the segment rolled last, as an unsynced write would.
  const segs = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()
  assert.ok(segs.length >= 3)
  const penultimate = path.join(dir, segs.at(-2)!)
  const data = fs.readFileSync(penultimate)
  data[data.length - 3]! ^= 0xff
  fs.writeFileSync(penultimate, data)
  const h = await openLog(dir, { segmentBytes: 300 })
  const values = (await readAll(h.log)).map((r) => r.value)
  assert.equal(values.length, 14)
  assert.ok(!values.includes(`s${Number(segs.at(-1)!.slice(0, 20)) - 1}`))
  assert.equal(h.log.logEndOffset, 15)
  assert.equal(h.log.append(p(14)).duplicate, true)
  assert.equal(h.log.append(p(15)).baseOffset, 15)
  await h.close()
})

test('compaction never cleans past an open transaction and drops aborted transactional records', async () => {
  const h = await openLog(newDir(), { segmentBytes: 250, cleanupPolicy: { delete: false, compact: true } })
  const ts = h.clock.t
  const tx = (pid: number, seq: number, key: string, value: string) =>
    batch([{ key, value, timestamp: ts }], {
      producerId: pid,
      producerEpoch: 0,
      baseSequence: seq,
      isTransactional: true,
    })
  h.log.append(tx(1, 0, 'k', 'aborted-1'))
  h.log.append(tx(1, 1, 'k', 'aborted-2'))
  h.log.appendControl(1, 0, false, 0)
  h.log.append(tx(2, 0, 'k', 'open-1')) // stays open
  for (let i = 0; i < 8; i++) h.log.append(batch([{ key: 'k', value: `plain-${i}`, timestamp: ts }]))
  h.log.roll()
  assert.equal(h.log.lastStableOffset, 3)
  await h.log.compact()
  let values = (await readAll(h.log)).map((r) => r.value)
  assert.ok(!values.includes('aborted-1') && !values.includes('aborted-2'))
  assert.ok(values.includes('open-1'))
  assert.ok(values.includes('plain-0'), 'records after the open transaction are not cleaned yet')
  h.log.appendControl(2, 0, true, 0)
  h.log.roll()
  await h.log.compact()
  values = (await readAll(h.log)).map((r) => r.value)
  // Left: the abort marker (control record values are not null), the latest plain record, the commit marker.
  const kept = (await readAll(h.log)).filter((r) => r.key === 'k').map((r) => r.value)
  assert.deepEqual(kept, ['plain-7'])
  assert.equal(values.length, 3)
  await h.close()
})
