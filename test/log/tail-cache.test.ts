/**
 * The tail cache answers reads at the end of the log from memory. It must answer exactly what the segment files
 * answer: the same batches for every offset, byte limit, minOneMessage and maxOffset.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, FlushScheduler, PartitionLog, TailCacheBudget } from '../../src/log/index.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-tail-cache-'))
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))

const batch = (n: number, size: number, tag: string) =>
  encodeRecordBatchSync({
    records: Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`${tag}-${i}`), value: Buffer.alloc(size, tag) })),
  })

type Query = { offset: number; maxBytes: number; minOneMessage: boolean; maxOffset?: number }

async function answers(log: PartitionLog, queries: Query[]): Promise<string[]> {
  const out: string[] = []
  for (const q of queries) {
    const r = await log.read(q.offset, q.maxBytes, { minOneMessage: q.minOneMessage, maxOffset: q.maxOffset })
    out.push(r.records.toString('base64'))
  }
  return out
}

test('reads served from the tail cache equal reads from the segment files', async () => {
  const dir = path.join(tmpRoot, 'equal')
  const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 40_000 }
  const flusher = new FlushScheduler({ mode: 'group' })
  const log = await PartitionLog.open({ dir, config, flusher, asyncWriteMinBytes: 16_000 })
  // Small batches (cached), one large one (written on the thread pool: clears the cache), then small ones again,
  // enough to roll a segment (which clears it too).
  const results = []
  for (let i = 0; i < 30; i++) {
    const large = i === 12
    results.push(log.append(batch(large ? 3 : 1 + (i % 4), large ? 7000 : 200 + i * 10, `t${i}`), { writeAsync: true }))
  }
  await Promise.all(results.map((r) => r.visible))
  assert.ok(log.segmentCount >= 2)
  const end = log.logEndOffset
  const queries: Query[] = []
  for (let offset = 0; offset <= end; offset++) {
    for (const maxBytes of [0, 100, 1000, 5000, 1 << 20]) {
      for (const minOneMessage of [true, false]) {
        queries.push({ offset, maxBytes, minOneMessage })
        queries.push({ offset, maxBytes, minOneMessage, maxOffset: Math.max(0, end - 3) })
      }
    }
  }
  const fromCache = await answers(log, queries)
  await log.close()
  // Reopened: the cache is empty, every answer comes from the files.
  const reopened = await PartitionLog.open({ dir, config, flusher })
  try {
    const fromFiles = await answers(reopened, queries)
    assert.equal(fromCache.length, fromFiles.length)
    for (let i = 0; i < queries.length; i++) {
      assert.equal(fromCache[i], fromFiles[i], `read ${JSON.stringify(queries[i])}`)
    }
    assert.ok(
      fromFiles.some((a) => a.length > 0),
      'the queries return data',
    )
  } finally {
    await reopened.close()
    await flusher.close()
  }
})

test('partitions sharing a budget never hold more than it together, and still read correctly', async () => {
  const budget = new TailCacheBudget(4000)
  const flusher = new FlushScheduler({ mode: 'group' })
  const open = (name: string) =>
    PartitionLog.open({ dir: path.join(tmpRoot, name), config: DEFAULT_LOG_CONFIG, flusher, tailCacheBudget: budget })
  const a = await open('budget-a')
  const b = await open('budget-b')
  try {
    let peak = 0
    for (let i = 0; i < 40; i++) {
      ;(i % 3 === 0 ? a : b).append(batch(1, 300 + (i % 5) * 100, `b${i}`))
      peak = Math.max(peak, budget.used)
      assert.ok(budget.used <= budget.maxBytes, `budget exceeded after append ${i}: ${budget.used}`)
    }
    assert.ok(peak > 2000, 'the caches were used')
    // Every offset of both logs still reads back whole and in order.
    for (const log of [a, b]) {
      let offset = 0
      while (offset < log.logEndOffset) {
        const r = await log.read(offset, 1)
        assert.ok(r.records.length > 0, `offset ${offset} reads`)
        offset++
      }
    }
  } finally {
    await a.close()
    await b.close()
    await flusher.close()
  }
  assert.equal(budget.used, 0, 'closed logs give their share back')
})
