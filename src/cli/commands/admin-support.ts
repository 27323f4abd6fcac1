/** What several command implementations need from the admin client: topics that must exist, offsets, parsing. */
import type { Admin } from '@platformatic/kafka'
import { notFoundError, usageError } from '../context.ts'

export const EARLIEST = -2n
export const LATEST = -1n

/**
 * Every topic name (internal ones included) → partition count. The client leaves internal topics
 * (__consumer_offsets, __transaction_state) out of its metadata, so their count is null.
 */
export async function topicPartitionCounts(admin: Admin, includeInternals = true): Promise<Map<string, number | null>> {
  const names = await admin.listTopics({ includeInternals })
  if (names.length === 0) return new Map()
  const md = await admin.metadata({ topics: names, forceUpdate: true })
  return new Map(names.map((n) => [n, md.topics.get(n)?.partitionsCount ?? null]))
}

/** The named topics' partition counts; a missing topic is a not-found error naming it. */
export async function requireTopics(admin: Admin, names: readonly string[]): Promise<Map<string, number>> {
  const all = await topicPartitionCounts(admin)
  const missing = names.filter((n) => !all.has(n))
  if (missing.length > 0) {
    throw notFoundError(
      missing.length === 1 ? `topic '${missing[0]}' does not exist` : `topics do not exist: ${missing.join(', ')}`,
    )
  }
  const internal = names.filter((n) => all.get(n) === null)
  if (internal.length > 0) {
    throw usageError(`${internal.join(', ')}: internal topics are managed by the cluster, not by this command`)
  }
  return new Map(names.map((n) => [n, all.get(n)!]))
}

/** The partitions to act on: all of the topic's, or the given ones (each must exist). */
export function selectPartitions(topic: string, count: number, given?: readonly (string | number)[]): number[] {
  if (!given || given.length === 0) return Array.from({ length: count }, (_, i) => i)
  const out = new Set<number>()
  for (const g of given) {
    const p = parseNonNegativeInt(String(g), 'partition')
    if (p >= count) {
      throw notFoundError(`topic '${topic}' has no partition ${p} (it has ${count}: 0..${count - 1})`)
    }
    out.add(p)
  }
  return [...out].sort((a, b) => a - b)
}

/** ListOffsets for many partitions of one topic: EARLIEST, LATEST or a timestamp (ms). */
export async function listOffsets(
  admin: Admin,
  topic: string,
  partitions: readonly number[],
  timestamp: bigint,
): Promise<Map<number, bigint>> {
  if (partitions.length === 0) return new Map()
  const r = await admin.listOffsets({
    topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
  })
  const out = new Map<number, bigint>()
  for (const t of r) for (const p of t.partitions) out.set(p.partitionIndex, p.offset)
  return out
}

export function parseNonNegativeInt(raw: string, what: string): number {
  if (!/^\d+$/.test(raw.trim())) throw usageError(`${what} must be a non-negative integer, got '${raw}'`)
  const n = Number(raw)
  if (!Number.isSafeInteger(n)) throw usageError(`${what} is too large: ${raw}`)
  return n
}

export function parsePositiveInt(raw: string, what: string): number {
  const n = parseNonNegativeInt(raw, what)
  if (n === 0) throw usageError(`${what} must be at least 1`)
  return n
}

export function parseOffset(raw: string, what = 'offset'): bigint {
  if (!/^\d+$/.test(raw.trim())) throw usageError(`${what} must be a non-negative integer, got '${raw}'`)
  return BigInt(raw.trim())
}

/** `key=value` pairs (the value may contain '='). */
export function parseKeyValues(items: readonly string[] | undefined, what: string): [string, string][] {
  return (items ?? []).map((kv) => {
    const eq = kv.indexOf('=')
    if (eq <= 0) throw usageError(`${what} expects key=value, got '${kv}'`)
    return [kv.slice(0, eq).trim(), kv.slice(eq + 1)]
  })
}
