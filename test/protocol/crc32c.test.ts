import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import * as crc32cModule from '../../src/protocol/crc32c.ts'
import { crc32c } from '../../src/protocol/crc32c.ts'

// Bitwise reference implementation to check the slicing-by-8 tables against.
function crc32cBitwise(buf: Uint8Array): number {
  let crc = ~0
  for (const b of buf) {
    crc ^= b
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return ~crc >>> 0
}

test('crc32c matches the RFC 3720 and well-known test vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa)
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43)
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
  assert.equal(crc32c(ascending), 0x46dd794e)
  const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))
  assert.equal(crc32c(descending), 0x113fdb5c)
  assert.equal(crc32c(Buffer.alloc(0)), 0)
})

test('crc32c over a range and with a seed equals the checksum of the whole', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, cut) => {
      const buf = Buffer.from(bytes)
      const at = buf.length === 0 ? 0 : cut % (buf.length + 1)
      assert.equal(crc32c(buf), crc32cBitwise(buf))
      assert.equal(crc32c(buf, at, buf.length, crc32c(buf, 0, at)), crc32c(buf))
      const padded = Buffer.concat([Buffer.from([1, 2, 3]), buf, Buffer.from([9])])
      assert.equal(crc32c(padded, 3, 3 + buf.length), crc32c(buf))
    }),
  )
})

test('the native and portable implementations agree on sizes, ranges and seeds', () => {
  const { crc32cPortable } = crc32cModule
  for (const size of [0, 1, 7, 255, 256, 257, 4096, 100_003]) {
    const buf = Buffer.alloc(size + 20)
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + size) & 0xff
    const start = Math.min(5, size)
    const end = start + size
    assert.equal(crc32c(buf, start, end), crc32cPortable(buf, start, end), `size ${size}`)
    const seed = crc32cPortable(Buffer.from('prefix'))
    assert.equal(crc32c(buf, start, end, seed), crc32cPortable(buf, start, end, seed), `size ${size} with seed`)
  }
})
