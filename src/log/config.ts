/**
 * Topic-level log configuration, parsed from Kafka's string configs (CreateTopics / AlterConfigs / DescribeConfigs).
 */
import { TributaryError } from '../errors.ts'

export interface LogConfig {
  /** segment.bytes */
  segmentBytes: number
  /** segment.ms */
  segmentMs: number
  /** retention.ms (-1 = forever) */
  retentionMs: number
  /** retention.bytes (-1 = unlimited) */
  retentionBytes: number
  /** cleanup.policy */
  cleanupPolicy: { delete: boolean; compact: boolean }
  /** delete.retention.ms: how long tombstones survive compaction */
  deleteRetentionMs: number
  /** min.compaction.lag.ms */
  minCompactionLagMs: number
  /** max.message.bytes: the largest record batch accepted */
  maxMessageBytes: number
  /** message.timestamp.type */
  messageTimestampType: 'CreateTime' | 'LogAppendTime'
  /** index.interval.bytes: bytes between offset index entries */
  indexIntervalBytes: number
  /** compression.type: 'producer' keeps each batch as produced; any other codec recompresses batches to it */
  compressionType: CompressionType
}

export type CompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

/** The batch codec id (attributes bits 0-2) a topic's compression.type asks for, or null for 'producer'. */
export function targetCodec(type: CompressionType): number | null {
  switch (type) {
    case 'producer':
      return null
    case 'uncompressed':
      return 0
    case 'gzip':
      return 1
    case 'snappy':
      return 2
    case 'lz4':
      return 3
    case 'zstd':
      return 4
  }
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1073741824,
  segmentMs: 604800000,
  retentionMs: 604800000,
  retentionBytes: -1,
  cleanupPolicy: Object.freeze({ delete: true, compact: false }),
  deleteRetentionMs: 86400000,
  minCompactionLagMs: 0,
  maxMessageBytes: 1048588,
  messageTimestampType: 'CreateTime',
  indexIntervalBytes: 4096,
  compressionType: 'producer',
}) as LogConfig

export type TopicConfigType = 'int' | 'long' | 'string' | 'list' | 'boolean'

export interface TopicConfigDefinition {
  default: string
  type: TopicConfigType
  validate(v: string): void
}

const INT_MAX = 2147483647

function invalid(key: string, value: string, why: string): TributaryError {
  return new TributaryError('TRB_CONFIG_INVALID', `invalid value '${value}' for topic config ${key}: ${why}`)
}

function integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => void {
  return (v) => {
    if (!/^-?\d+$/.test(v.trim())) throw invalid(key, v, 'not an integer')
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(key, v, `must be between ${min} and ${max}`)
  }
}

function oneOf(key: string, values: string[]): (v: string) => void {
  return (v) => {
    if (!values.includes(v.trim())) throw invalid(key, v, `must be one of ${values.join(', ')}`)
  }
}

function cleanupPolicyValidator(v: string): void {
  const parts = v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
  if (parts.length === 0) throw invalid('cleanup.policy', v, 'must list delete and/or compact')
  for (const p of parts)
    if (p !== 'delete' && p !== 'compact') throw invalid('cleanup.policy', v, `unknown policy ${p}`)
}

function boolean(key: string): (v: string) => void {
  return (v) => {
    if (!/^(true|false)$/i.test(v.trim())) throw invalid(key, v, 'must be true or false')
  }
}

function def(type: TopicConfigType, dflt: string, validate: (v: string) => void): TopicConfigDefinition {
  return { default: dflt, type, validate }
}

/**
 * Kafka topic configs Tributary knows, with Kafka's defaults. Keys below the first block are accepted and described
 * for compatibility with tools that set them, but have no effect on a single-node log.
 */
export const TOPIC_CONFIG_DEFINITIONS: ReadonlyMap<string, TopicConfigDefinition> = new Map([
  ['segment.bytes', def('int', '1073741824', integer('segment.bytes', 14, INT_MAX))],
  ['segment.ms', def('long', '604800000', integer('segment.ms', 1))],
  ['retention.ms', def('long', '604800000', integer('retention.ms', -1))],
  ['retention.bytes', def('long', '-1', integer('retention.bytes', -1))],
  ['cleanup.policy', def('list', 'delete', cleanupPolicyValidator)],
  ['delete.retention.ms', def('long', '86400000', integer('delete.retention.ms', 0))],
  ['min.compaction.lag.ms', def('long', '0', integer('min.compaction.lag.ms', 0))],
  ['max.message.bytes', def('int', '1048588', integer('max.message.bytes', 0, INT_MAX))],
  [
    'message.timestamp.type',
    def('string', 'CreateTime', oneOf('message.timestamp.type', ['CreateTime', 'LogAppendTime'])),
  ],
  ['index.interval.bytes', def('int', '4096', integer('index.interval.bytes', 0, INT_MAX))],
  [
    'compression.type',
    def('string', 'producer', oneOf('compression.type', ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'])),
  ],
  // Accepted for compatibility; no effect on the log itself.
  ['min.insync.replicas', def('int', '1', integer('min.insync.replicas', 1, INT_MAX))],
  ['max.compaction.lag.ms', def('long', '9223372036854775807', () => {})],
  ['min.cleanable.dirty.ratio', def('string', '0.5', () => {})],
  ['segment.index.bytes', def('int', '10485760', integer('segment.index.bytes', 4, INT_MAX))],
  ['segment.jitter.ms', def('long', '0', integer('segment.jitter.ms', 0))],
  ['flush.messages', def('long', '9223372036854775807', () => {})],
  ['flush.ms', def('long', '9223372036854775807', () => {})],
  ['file.delete.delay.ms', def('long', '60000', integer('file.delete.delay.ms', 0))],
  ['preallocate', def('boolean', 'false', boolean('preallocate'))],
  ['unclean.leader.election.enable', def('boolean', 'false', boolean('unclean.leader.election.enable'))],
  ['message.timestamp.difference.max.ms', def('long', '9223372036854775807', () => {})],
  ['message.timestamp.before.max.ms', def('long', '9223372036854775807', () => {})],
  ['message.timestamp.after.max.ms', def('long', '9223372036854775807', () => {})],
  ['message.downconversion.enable', def('boolean', 'true', boolean('message.downconversion.enable'))],
  ['local.retention.ms', def('long', '-2', () => {})],
  ['local.retention.bytes', def('long', '-2', () => {})],
])

/**
 * Applies Kafka-style string overrides on top of `base` (default: Kafka defaults). Unknown keys are ignored (the
 * broker decides whether to reject them); known keys with bad values throw TRB_CONFIG_INVALID naming the key.
 */
export function parseLogConfig(overrides: Record<string, string>, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  const c: LogConfig = { ...base, cleanupPolicy: { ...base.cleanupPolicy } }
  for (const [key, raw] of Object.entries(overrides)) {
    const d = TOPIC_CONFIG_DEFINITIONS.get(key)
    if (!d || raw === undefined || raw === null) continue
    const value = String(raw)
    d.validate(value)
    const n = () => Number(value.trim())
    switch (key) {
      case 'segment.bytes':
        c.segmentBytes = n()
        break
      case 'segment.ms':
        c.segmentMs = n()
        break
      case 'retention.ms':
        c.retentionMs = n()
        break
      case 'retention.bytes':
        c.retentionBytes = n()
        break
      case 'cleanup.policy': {
        const parts = value.split(',').map((p) => p.trim())
        c.cleanupPolicy = { delete: parts.includes('delete'), compact: parts.includes('compact') }
        break
      }
      case 'delete.retention.ms':
        c.deleteRetentionMs = n()
        break
      case 'min.compaction.lag.ms':
        c.minCompactionLagMs = n()
        break
      case 'max.message.bytes':
        c.maxMessageBytes = n()
        break
      case 'message.timestamp.type':
        c.messageTimestampType = value.trim() as LogConfig['messageTimestampType']
        break
      case 'index.interval.bytes':
        c.indexIntervalBytes = n()
        break
      case 'compression.type':
        c.compressionType = value.trim() as CompressionType
        break
    }
  }
  return c
}

/** The Kafka string form of a LogConfig (for DescribeConfigs). */
export function logConfigToStrings(c: LogConfig): Record<string, string> {
  const policy = [c.cleanupPolicy.compact ? 'compact' : '', c.cleanupPolicy.delete ? 'delete' : ''].filter(Boolean)
  return {
    'segment.bytes': String(c.segmentBytes),
    'segment.ms': String(c.segmentMs),
    'retention.ms': String(c.retentionMs),
    'retention.bytes': String(c.retentionBytes),
    'cleanup.policy': policy.join(','),
    'delete.retention.ms': String(c.deleteRetentionMs),
    'min.compaction.lag.ms': String(c.minCompactionLagMs),
    'max.message.bytes': String(c.maxMessageBytes),
    'message.timestamp.type': c.messageTimestampType,
    'index.interval.bytes': String(c.indexIntervalBytes),
    'compression.type': c.compressionType,
  }
}
