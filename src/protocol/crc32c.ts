/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2. Slicing-by-8: eight 256-entry tables let the inner loop
 * consume 8 bytes per iteration, which matters because every produced batch is checked on the append path.
 */

import { createRequire } from 'node:module'

/**
 * The produce path checks the CRC of every batch, and in JavaScript that was over half of the broker's CPU per
 * produced GiB. @node-rs/crc32 uses the CPU's CRC32 instructions (about 6x faster here); below a few hundred bytes
 * the call overhead outweighs that.
 */
const NATIVE_THRESHOLD = 256
const nativeCrc32c: ((input: Uint8Array, initialState?: number | null) => number) | null = (() => {
  try {
    return (
      createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: (b: Uint8Array, s?: number | null) => number }
    ).crc32c
  } catch {
    return null
  }
})()

const POLY = 0x82f63b78 // reflected Castagnoli polynomial

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = []
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256))
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[0]![n] = c >>> 0
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!
    for (let k = 1; k < 8; k++) {
      c = (t[0]![c & 0xff]! ^ (c >>> 8)) >>> 0
      t[k]![n] = c
    }
  }
  return t
})()

const T0 = TABLES[0]!
const T1 = TABLES[1]!
const T2 = TABLES[2]!
const T3 = TABLES[3]!
const T4 = TABLES[4]!
const T5 = TABLES[5]!
const T6 = TABLES[6]!
const T7 = TABLES[7]!

/**
 * CRC-32C of `buf[start, end)`. `seed` is a previous result, so a checksum can be computed over several pieces:
 * `crc32c(b, 0, n, crc32c(a))` equals the checksum of `a` followed by `b`.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  if (nativeCrc32c && end - start >= NATIVE_THRESHOLD) {
    return nativeCrc32c(start === 0 && end === buf.length ? buf : buf.subarray(start, end), seed) >>> 0
  }
  return crc32cPortable(buf, start, end, seed)
}

/** The table-driven implementation: the reference for tests, and the fallback where no native build loads. */
export function crc32cPortable(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  let crc = ~seed
  let i = start
  const end8 = end - ((end - start) & 7)
  while (i < end8) {
    const a = (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) ^ crc
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[buf[i + 4]!]! ^
      T2[buf[i + 5]!]! ^
      T1[buf[i + 6]!]! ^
      T0[buf[i + 7]!]!
    i += 8
  }
  while (i < end) crc = T0[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}
