/** Reading and damaging segment files by hand, for tests of what the broker does with on-disk damage. */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { BatchOffsets } from '../../src/protocol/record-batch.ts'

export interface DiskBatch {
  file: string
  position: number
  size: number
  baseOffset: number
}

/** Every batch of a partition directory, read from the segment files. */
export function batchesOnDisk(partitionDir: string): DiskBatch[] {
  const out: DiskBatch[] = []
  for (const name of fs
    .readdirSync(partitionDir)
    .filter((n) => n.endsWith('.log'))
    .sort()) {
    const file = path.join(partitionDir, name)
    const buf = fs.readFileSync(file)
    for (let pos = 0; pos < buf.length; ) {
      const size = 12 + buf.readInt32BE(pos + BatchOffsets.batchLength)
      out.push({ file, position: pos, size, baseOffset: Number(buf.readBigInt64BE(pos)) })
      pos += size
    }
  }
  return out
}

/** A batch in the middle of the second segment file: a rolled segment, with batches before and after it. */
export function middleOfSecondSegment(partitionDir: string): DiskBatch {
  const all = batchesOnDisk(partitionDir)
  const files = [...new Set(all.map((b) => b.file))]
  assert.ok(files.length >= 3, `expected several segments, got ${files.length}`)
  const second = all.filter((b) => b.file === files[1])
  return second[Math.floor(second.length / 2)]!
}

export function overwriteInt32(file: string, position: number, value: number): void {
  const fd = fs.openSync(file, 'r+')
  const b = Buffer.alloc(4)
  b.writeInt32BE(value)
  fs.writeSync(fd, b, 0, 4, position)
  fs.closeSync(fd)
}
