/**
 * Zigzag varints inside records, read in place without allocating. `readVarintAt` returns the value; the position
 * after it is `varintEndPos()` (one module-level cursor, so the hot loops allocate nothing).
 */
import { invalidRecord } from './log-error.ts'

let varintEnd = 0

/** Reads a zigzag varint (up to 5 bytes) at `pos`, not past `end`; the next position is then `varintEndPos()`. */
export function readVarintAt(buf: Buffer, pos: number, end: number): number {
  let result = 0
  let shift = 0
  for (let i = 0; i < 5; i++) {
    if (pos >= end) throw invalidRecord('record varint runs past the end of the batch')
    const b = buf[pos++]!
    result |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) {
      varintEnd = pos
      return (result >>> 1) ^ -(result & 1)
    }
    shift += 7
  }
  throw invalidRecord('record varint longer than 5 bytes')
}

/** The position after the varint `readVarintAt` read last. */
export function varintEndPos(): number {
  return varintEnd
}

/** Skips a varlong (up to 10 bytes) and returns the position after it. */
export function skipVarlong(buf: Buffer, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw invalidRecord('record varlong runs past the end of the record')
    if ((buf[pos++]! & 0x80) === 0) return pos
  }
  throw invalidRecord('record varlong longer than 10 bytes')
}
