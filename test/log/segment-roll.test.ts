/** Segment rolling by age follows Kafka: age is measured in record time, from the segment's first batch. */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { DEFAULT_LOG_CONFIG, FlushScheduler, PartitionLog } from '../../src/log/index.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'

test('batches with old record timestamps do not roll a segment per batch (segment age is in record time)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-roll-'))
  after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const flusher = new FlushScheduler({ mode: 'none' })
  const config = { ...DEFAULT_LOG_CONFIG, segmentMs: 3600_000 }
  let log = await PartitionLog.open({ dir, config, flusher })
  const year2001 = 978307200000
  const batch = (ts: number) =>
    encodeRecordBatchSync({ records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: ts }] })
  for (let i = 0; i < 20; i++) log.append(batch(year2001 + i * 1000))
  assert.equal(log.segmentCount, 1)
  await log.close()
  log = await PartitionLog.open({ dir, config, flusher })
  after(() => log.close())
  for (let i = 20; i < 40; i++) log.append(batch(year2001 + i * 1000))
  assert.equal(log.segmentCount, 1)
  // Two hours later in record time: the segment is older than segment.ms and rolls once.
  log.append(batch(year2001 + 2 * 3600_000))
  log.append(batch(year2001 + 2 * 3600_000 + 1))
  assert.equal(log.segmentCount, 2)
})
