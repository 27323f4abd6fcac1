import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, type Flushable, FlushScheduler, PartitionLog } from '../../src/log/index.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-flush-test-'))
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))

test('group commit: many concurrent waitDurable calls across partitions share few fdatasync rounds', async () => {
  const flusher = new FlushScheduler({ mode: 'group' })
  const logs = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      PartitionLog.open({ dir: path.join(tmpRoot, `group-${i}`), config: DEFAULT_LOG_CONFIG, flusher }),
    ),
  )
  const waiters: Promise<void>[] = []
  for (let round = 0; round < 25; round++) {
    for (const log of logs) {
      const r = log.append(encodeRecordBatchSync({ records: [{ value: `r${round}` }] }))
      waiters.push(log.waitDurable(r.lastOffset))
    }
  }
  await Promise.all(waiters)
  assert.equal(waiters.length, 200)
  assert.ok(flusher.syncRounds >= 1)
  // Each round syncs each dirty partition's segment once: far fewer fdatasyncs than acknowledgements.
  assert.ok(flusher.fileSyncs >= logs.length)
  assert.ok(flusher.fileSyncs < waiters.length / 2, `${flusher.fileSyncs} fdatasyncs for ${waiters.length} waiters`)
  assert.ok(flusher.syncRounds < waiters.length / 10, `${flusher.syncRounds} sync rounds for ${waiters.length} waiters`)
  // Already durable: resolves without another round.
  const rounds = flusher.syncRounds
  await logs[0]!.waitDurable(0)
  assert.equal(flusher.syncRounds, rounds)
  await Promise.all(logs.map((l) => l.close()))
  await flusher.close()
})

test('group commit: waiters arriving while a sync is in flight join the next round', async () => {
  const flusher = new FlushScheduler({ mode: 'group' })
  const releases: (() => void)[] = []
  let flushes = 0
  // A controllable target: each flush blocks until the test releases it.
  const target: Flushable = {
    flush: () =>
      new Promise<void>((resolve) => {
        flushes++
        releases.push(resolve)
      }),
  }
  const first = flusher.waitDurable(target)
  while (releases.length === 0) await new Promise((r) => setImmediate(r))
  const late = Array.from({ length: 10 }, () => flusher.waitDurable(target))
  releases.shift()!()
  await first
  while (releases.length === 0) await new Promise((r) => setImmediate(r))
  assert.equal(flushes, 2)
  releases.shift()!()
  await Promise.all(late)
  assert.equal(flushes, 2)
  assert.equal(flusher.syncRounds, 2)
  await flusher.close()
})

test('a failing fdatasync rejects its waiters with TRB_LOG_FLUSH_FAILED', async () => {
  const flusher = new FlushScheduler({ mode: 'group' })
  const target: Flushable = { flush: () => Promise.reject(new Error('EIO')) }
  await assert.rejects(
    flusher.waitDurable(target),
    (e: unknown) => (e as { code: string }).code === 'TRB_LOG_FLUSH_FAILED',
  )
  await flusher.close().catch(() => {})
})

test("'interval' and 'none' policies acknowledge without waiting for the disk", async () => {
  for (const policy of [{ mode: 'interval', intervalMs: 60_000 }, { mode: 'none' }] as const) {
    const flusher = new FlushScheduler(policy)
    const log = await PartitionLog.open({
      dir: path.join(tmpRoot, `p-${policy.mode}`),
      config: DEFAULT_LOG_CONFIG,
      flusher,
    })
    const r = log.append(encodeRecordBatchSync({ records: [{ value: 'x' }] }))
    await log.waitDurable(r.lastOffset)
    assert.equal(flusher.syncRounds, 0)
    await log.close()
    await flusher.close()
  }
})
