import assert from 'node:assert/strict'
import { test } from 'node:test'
import { murmur2 as libraryMurmur2 } from '@platformatic/kafka'
import { murmur2, partitionForKey } from '../../src/client/partitioner.ts'

test("murmur2 gives Kafka's values (the Java client's UtilsTest vectors)", () => {
  const cases: Array<[string | number[], number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    [[0x61, 0x62, 0x63], 479470107],
  ]
  for (const [input, expected] of cases) {
    const bytes = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input)
    assert.equal(murmur2(bytes), expected, `murmur2(${JSON.stringify(input)})`)
  }
})

test('murmur2 agrees with @platformatic/kafka on every length 0–63 and high bytes', () => {
  let seed = 7
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed >>> 24
  }
  for (let length = 0; length < 64; length++) {
    for (let round = 0; round < 20; round++) {
      const bytes = Buffer.alloc(length)
      for (let i = 0; i < length; i++) bytes[i] = round === 0 ? 0xff : next()
      assert.equal(murmur2(bytes), libraryMurmur2(bytes), `length ${length} round ${round}`)
    }
  }
})

test('partitionForKey is the positive hash modulo the partition count', () => {
  // "foobar" hashes to -790332482: & 0x7fffffff = 1357151166.
  assert.equal(partitionForKey(Buffer.from('foobar'), 7), 1357151166 % 7)
  for (let n = 1; n <= 64; n++) {
    const p = partitionForKey(Buffer.from(`key-${n}`), n)
    assert.ok(p >= 0 && p < n)
  }
})
