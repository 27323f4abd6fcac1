/**
 * Kafka's default partitioner for keyed records: murmur2 of the key bytes (Kafka's `Utils.murmur2`, seed
 * 0x9747b28c), made positive, modulo the partition count. Records with the same key land on the same partition as
 * with the Java client, so Tributary and Kafka Streams applications can share co-partitioned topics.
 * 32-bit integer arithmetic (`Math.imul`): this runs once per produced record.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's murmur2 hash of `data` (a signed 32-bit integer, as Java's). */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const whole = length & ~3
  let i = 0
  for (; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  // The 1–3 bytes left over, mixed in as Kafka's switch with fall-through does.
  const rest = length & 3
  if (rest === 3) h ^= data[i + 2]! << 16
  if (rest >= 2) h ^= data[i + 1]! << 8
  if (rest >= 1) {
    h ^= data[i]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** The partition Kafka's default partitioner gives a record with these key bytes. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions
}
