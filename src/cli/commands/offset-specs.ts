/**
 * Offset specifications, parsed before anything is sent: where `groups reset-offsets` moves a group and where
 * `consume` starts. Pure functions, so every spec and its edge cases are tested without a broker.
 */
import { usageError } from '../context.ts'

export type ResetSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'timestamp'; timestamp: number }
  | { kind: 'shift'; by: bigint }

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/**
 * A duration: ISO-8601 (`PT15M`, `P1DT2H`, as Kafka's --by-duration takes) or a short form (`15m`, `1h30m`,
 * `2d`, `500ms`). Returns milliseconds.
 */
export function parseDuration(raw: string): number {
  const s = raw.trim()
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(s)
  if (iso && s.length > 1 && !/T$/i.test(s)) {
    const [, w, d, h, m, sec] = iso
    return (
      Number(w ?? 0) * UNIT_MS.w! +
      Number(d ?? 0) * UNIT_MS.d! +
      Number(h ?? 0) * UNIT_MS.h! +
      Number(m ?? 0) * UNIT_MS.m! +
      Math.round(Number(sec ?? 0) * 1000)
    )
  }
  if (/^(\d+(ms|s|m|h|d|w))+$/i.test(s)) {
    let total = 0
    for (const [, n, unit] of s.toLowerCase().matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * UNIT_MS[unit!]!
    return total
  }
  throw usageError(`'${raw}' is not a duration: use e.g. 15m, 1h30m, 2d or ISO-8601 PT15M, P1DT2H`)
}

/** A point in time: ISO-8601 (`2026-01-31T12:00:00Z`; without a zone, local time) or epoch milliseconds. */
export function parseDateTime(raw: string): number {
  const s = raw.trim()
  if (/^\d+$/.test(s)) return Number(s)
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) {
    throw usageError(`'${raw}' is not a date-time: use ISO-8601 (2026-01-31T12:00:00Z) or epoch milliseconds`)
  }
  const t = Date.parse(s)
  if (Number.isNaN(t)) {
    throw usageError(`'${raw}' is not a date-time: use ISO-8601 (2026-01-31T12:00:00Z) or epoch milliseconds`)
  }
  return t
}

function parseBigInt(raw: string, what: string, signed: boolean): bigint {
  const s = raw.trim()
  if (!(signed ? /^[+-]?\d+$/ : /^\d+$/).test(s)) {
    throw usageError(`${what} must be ${signed ? 'an integer' : 'a non-negative integer'}, got '${raw}'`)
  }
  return BigInt(s)
}

export interface ResetFlags {
  toEarliest?: boolean
  toLatest?: boolean
  toCurrent?: boolean
  toOffset?: string
  toDatetime?: string
  byDuration?: string
  shiftBy?: string
}

/** Exactly one of Kafka's reset options (kafka-consumer-groups.sh names them the same). */
export function resetSpecFromFlags(flags: ResetFlags, now: number = Date.now()): ResetSpec {
  const given: ResetSpec[] = []
  if (flags.toEarliest) given.push({ kind: 'earliest' })
  if (flags.toLatest) given.push({ kind: 'latest' })
  if (flags.toCurrent) given.push({ kind: 'current' })
  if (flags.toOffset !== undefined)
    given.push({ kind: 'offset', offset: parseBigInt(flags.toOffset, '--to-offset', false) })
  if (flags.toDatetime !== undefined) given.push({ kind: 'timestamp', timestamp: parseDateTime(flags.toDatetime) })
  if (flags.byDuration !== undefined)
    given.push({ kind: 'timestamp', timestamp: now - parseDuration(flags.byDuration) })
  if (flags.shiftBy !== undefined) given.push({ kind: 'shift', by: parseBigInt(flags.shiftBy, '--shift-by', true) })
  if (given.length !== 1) {
    throw usageError(
      `give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --to-datetime, --by-duration, --shift-by${given.length > 1 ? ` (got ${given.length})` : ''}`,
    )
  }
  return given[0]!
}

export interface PartitionState {
  topic: string
  partition: number
  /** The group's committed offset, null when it has none. */
  current: bigint | null
  earliest: bigint
  latest: bigint
  /** For timestamp specs: the first offset at or after the timestamp, or -1 when every record is older. */
  atTimestamp?: bigint
}

export interface PlannedReset extends PartitionState {
  target: bigint
  /** Why the target differs from what was asked (clamped into the log's range). */
  note?: string
}

function clamp(s: PartitionState, wanted: bigint): { target: bigint; note?: string } {
  if (wanted < s.earliest) return { target: s.earliest, note: `${wanted} is before the log start` }
  if (wanted > s.latest) return { target: s.latest, note: `${wanted} is past the log end` }
  return { target: wanted }
}

/** The new offset of each partition, clamped into [log start, log end] as Kafka's tool does. */
export function planReset(spec: ResetSpec, partitions: readonly PartitionState[]): PlannedReset[] {
  return partitions.map((s) => planOne(spec, s))
}

function planOne(spec: ResetSpec, s: PartitionState): PlannedReset {
  switch (spec.kind) {
    case 'earliest':
      return { ...s, target: s.earliest }
    case 'latest':
      return { ...s, target: s.latest }
    case 'current':
      if (s.current === null) {
        throw usageError(
          `${s.topic}:${s.partition} has no committed offset to keep (--to-current); pick another reset option`,
        )
      }
      return { ...s, ...clamp(s, s.current) }
    case 'offset':
      return { ...s, ...clamp(s, spec.offset) }
    case 'timestamp': {
      if (s.atTimestamp === undefined) throw new Error('planReset: offsets by timestamp were not looked up')
      return s.atTimestamp < 0n
        ? { ...s, target: s.latest, note: 'no record at or after the time: the log end' }
        : { ...s, ...clamp(s, s.atTimestamp) }
    }
    case 'shift': {
      if (s.current === null) {
        throw usageError(`${s.topic}:${s.partition} has no committed offset to shift from (--shift-by)`)
      }
      return { ...s, ...clamp(s, s.current + spec.by) }
    }
  }
}

/** `topic` or `topic:0,2,5` (Kafka's --topic syntax). */
export function parseTopicPartitions(raw: string): { topic: string; partitions?: number[] } {
  const colon = raw.lastIndexOf(':')
  if (colon < 0) return { topic: raw }
  const topic = raw.slice(0, colon)
  const list = raw.slice(colon + 1)
  if (!topic || !/^\d+(,\d+)*$/.test(list)) {
    throw usageError(`'${raw}' is not topic or topic:partition[,partition...]`)
  }
  return { topic, partitions: list.split(',').map(Number) }
}

export type StartSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'timestamp'; timestamp: number }

/**
 * Where `consume` starts: `earliest` (also `beginning`), `latest` (also `end`: only new records), an offset
 * (`42`), a time (`2026-01-31T12:00:00Z`, `@1767182400000` in epoch ms), or a duration ago (`-15m`, `-PT1H`).
 */
export function parseStartSpec(raw: string, now: number = Date.now()): StartSpec {
  const s = raw.trim()
  const lower = s.toLowerCase()
  if (lower === 'earliest' || lower === 'beginning' || lower === 'start') return { kind: 'earliest' }
  if (lower === 'latest' || lower === 'end') return { kind: 'latest' }
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: BigInt(s) }
  if (s.startsWith('@')) return { kind: 'timestamp', timestamp: parseDateTime(s.slice(1)) }
  if (s.startsWith('-')) return { kind: 'timestamp', timestamp: now - parseDuration(s.slice(1)) }
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) return { kind: 'timestamp', timestamp: parseDateTime(s) }
  throw usageError(
    `'${raw}' is not a start position: use earliest, latest, an offset (42), a time (2026-01-31T12:00:00Z or @epoch-ms) or a duration ago (-15m)`,
  )
}
