import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, LogManager, parseLogConfig } from '../../src/log/index.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-logmanager-test-'))
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))

test('LogManager lists partitions found on disk after reopen and reopens their data', async () => {
  const dataDir = path.join(tmpRoot, 'reopen')
  let m = await LogManager.open({ dataDir, flushPolicy: { mode: 'group' }, cleanerIntervalMs: 0 })
  assert.deepEqual(m.listOnDisk(), [])
  const orders = await m.getOrCreate('orders-v1', 0, DEFAULT_LOG_CONFIG)
  await m.getOrCreate('orders-v1', 1, DEFAULT_LOG_CONFIG)
  await m.getOrCreate('inventory', 0, DEFAULT_LOG_CONFIG)
  assert.equal(await m.getOrCreate('orders-v1', 0, DEFAULT_LOG_CONFIG), orders)
  const r = orders.append(encodeRecordBatchSync({ records: [{ value: 'o1' }, { value: 'o2' }] }))
  await orders.waitDurable(r.lastOffset)
  fs.writeFileSync(path.join(dataDir, 'junk.txt'), 'x')
  fs.mkdirSync(path.join(dataDir, 'not-a-partition'))
  await m.close()

  m = await LogManager.open({ dataDir, flushPolicy: { mode: 'group' }, cleanerIntervalMs: 0 })
  const sorted = m.listOnDisk().sort((a, b) => `${a.topic}${a.partition}`.localeCompare(`${b.topic}${b.partition}`))
  assert.deepEqual(sorted, [
    { topic: 'inventory', partition: 0 },
    { topic: 'orders-v1', partition: 0 },
    { topic: 'orders-v1', partition: 1 },
  ])
  assert.equal(m.get('orders-v1', 0), undefined)
  const reopened = await m.getOrCreate('orders-v1', 0, DEFAULT_LOG_CONFIG)
  assert.equal(reopened.logEndOffset, 2)
  assert.equal(m.get('orders-v1', 0), reopened)

  await m.deleteTopic('orders-v1')
  assert.deepEqual(m.listOnDisk(), [{ topic: 'inventory', partition: 0 }])
  assert.equal(fs.existsSync(path.join(dataDir, 'orders-v1-0')), false)
  assert.equal(fs.existsSync(path.join(dataDir, 'orders-v1-1')), false)
  assert.equal(fs.existsSync(path.join(dataDir, 'inventory-0')), true)
  await m.close()
})

test('runCleanerOnce applies retention and compaction per topic config', async () => {
  let now = 1_700_000_000_000
  const dataDir = path.join(tmpRoot, 'cleaner')
  const m = await LogManager.open({ dataDir, flushPolicy: { mode: 'none' }, now: () => now, cleanerIntervalMs: 0 })
  const del = await m.getOrCreate('events', 0, parseLogConfig({ 'segment.bytes': '300', 'retention.ms': '1000' }))
  const compacted = await m.getOrCreate(
    'table',
    0,
    parseLogConfig({ 'segment.bytes': '300', 'cleanup.policy': 'compact' }),
  )
  for (let i = 0; i < 20; i++) {
    del.append(encodeRecordBatchSync({ records: [{ value: `e${i}`, timestamp: now }] }))
    compacted.append(encodeRecordBatchSync({ records: [{ key: 'k', value: `v${i}`, timestamp: now }] }))
  }
  now += 5000
  const segs = del.segmentCount
  await m.runCleanerOnce()
  assert.equal(del.segmentCount, 1)
  assert.ok(segs > 1)
  assert.ok(del.logStartOffset > 0)
  assert.equal(compacted.logStartOffset, 0)
  const { records } = await compacted.read(0, 1_000_000)
  assert.ok(records.length > 0)
  assert.ok(compacted.size < 20 * 70, `compacted size ${compacted.size}`)
  await m.close()
})
