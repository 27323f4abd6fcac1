/** Byte-level helpers shared by the stores: key order is unsigned lexicographic, as Kafka's `Bytes`. */

export function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b)
}

/** The smallest key greater than every key starting with `prefix`, or undefined when there is none (all 0xff). */
export function prefixUpperBound(prefix: Buffer): Buffer | undefined {
  const out = Buffer.from(prefix)
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++
      return out.subarray(0, i + 1)
    }
  }
  return undefined
}

/**
 * Timestamped values are stored as Kafka Streams stores them: an 8-byte big-endian timestamp, then the value
 * bytes. The changelog holds the plain value with the timestamp as the record's timestamp.
 */
export function encodeTimestamped(timestamp: number, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + value.length)
  if (Number.isSafeInteger(timestamp) && timestamp >= -(2 ** 47) && timestamp < 2 ** 47) {
    // Without a BigInt per value (restoring or flushing a million values made a million of them): the sign in
    // the two high bytes, then the 48-bit value (every millisecond timestamp of the next 4,000 years).
    out.writeInt16BE(timestamp < 0 ? -1 : 0, 0)
    out.writeIntBE(timestamp, 2, 6)
  } else out.writeBigInt64BE(BigInt(timestamp), 0)
  value.copy(out, 8)
  return out
}

export function timestampOf(raw: Buffer): number {
  return Number(raw.readBigInt64BE(0))
}

export function rawValueOf(raw: Buffer): Buffer {
  return raw.subarray(8)
}
