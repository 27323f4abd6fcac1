/**
 * The runtime's part of the configuration, under Kafka Streams' property names (client properties also with
 * Kafka Streams' `consumer.` / `main.consumer.` / `producer.` prefixes), read from the same object as the task
 * configuration (config.ts).
 */
import { resolveBootstrap } from '../../client/index.ts'
import { streamsError } from '../errors.ts'
import type { StreamsConfig } from './config.ts'

export interface RuntimeSettings {
  readonly bootstrap: string[]
  readonly clientId: string
  readonly numStandbyReplicas: number
  readonly applicationServer: string | null
  readonly replicationFactor: number
  readonly pollMs: number
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  /** max.poll.interval.ms: how long the group waits for members to rejoin. */
  readonly rebalanceTimeoutMs: number
  readonly groupInstanceId: string | null
  readonly transactionTimeoutMs: number
  readonly producerRequestTimeoutMs: number
  readonly deliveryTimeoutMs: number
  readonly fetchMaxWaitMs: number
  readonly maxPartitionFetchBytes: number
  readonly restorePartitionFetchBytes: number
  /** Bytes one restore fetch may return in all (what bounds the memory a restore takes at once). */
  readonly restoreFetchMaxBytes: number
  readonly autoOffsetReset: 'earliest' | 'latest' | 'none'
  /** Standby checkpoints are written at most this often. */
  readonly standbyCheckpointIntervalMs: number
  /** Processing pauses (waiting for acknowledgements) when this much produced data is not yet sent. */
  readonly maxProducerBacklogBytes: number
  /** How long one loop iteration may process records before it polls, commits and checks for rebalances. */
  readonly processBudgetMs: number
  /** How often committed records of repartition topics are deleted. */
  readonly repartitionPurgeIntervalMs: number
  /** Extra @platformatic/kafka connection options (sasl, tls), given as `tributary.connection`. */
  readonly connection: Record<string, unknown> | undefined
  /** The output's compression codec (`compression.type`): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  readonly compression: number
}

/** Kafka's `compression.type` names, at their record batch attribute ids. */
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

function pick(o: Readonly<Record<string, unknown>>, names: string[]): unknown {
  for (const n of names) {
    const v = o[n]
    if (v !== undefined && v !== null && v !== '') return v
  }
  return undefined
}

function int(o: Readonly<Record<string, unknown>>, names: string[], fallback: number, min = 0): number {
  const raw = pick(o, names)
  if (raw === undefined) return fallback
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isFinite(n) || n < min) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `${names[0]} must be a number >= ${min}, got ${JSON.stringify(raw)}`,
    )
  }
  return Math.floor(n)
}

function consumer(name: string): string[] {
  return [`main.consumer.${name}`, `consumer.${name}`, name]
}

export function runtimeSettings(config: StreamsConfig): RuntimeSettings {
  const o = config.originals
  const bootstrapRaw = pick(o, ['bootstrap.servers'])
  let bootstrap: string[]
  try {
    bootstrap = resolveBootstrap(bootstrapRaw as string | string[] | undefined)
  } catch (error) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `bootstrap.servers must be set (host:port[,host:port...]) or TRIBUTARY_BOOTSTRAP: ${(error as Error).message}`,
    )
  }
  const server = pick(o, ['application.server'])
  if (server !== undefined && !/^[^:\s]+:\d+$/.test(String(server))) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `application.server must be host:port, got ${JSON.stringify(server)}`,
    )
  }
  const reset = String(pick(o, consumer('auto.offset.reset')) ?? 'earliest')
  if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') {
    throw streamsError('TRB_STREAMS_INVALID_CONFIG', `auto.offset.reset must be earliest, latest or none, got ${reset}`)
  }
  const compressionName = String(pick(o, ['producer.compression.type', 'compression.type']) ?? 'none')
  const compression = CODECS.indexOf(compressionName)
  if (compression < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `compression.type must be one of ${CODECS.join(', ')}, got ${JSON.stringify(compressionName)}`,
    )
  }
  const sessionTimeoutMs = int(o, consumer('session.timeout.ms'), 45000, 1)
  const instance = pick(o, consumer('group.instance.id'))
  return {
    bootstrap,
    clientId: String(pick(o, ['client.id']) ?? `${config.applicationId}-client`),
    numStandbyReplicas: int(o, ['num.standby.replicas'], 0),
    applicationServer: server === undefined ? null : String(server),
    replicationFactor: int(o, ['replication.factor'], -1, -1),
    pollMs: int(o, ['poll.ms'], 100, 0),
    sessionTimeoutMs,
    heartbeatIntervalMs: int(o, consumer('heartbeat.interval.ms'), Math.min(3000, Math.floor(sessionTimeoutMs / 3)), 1),
    rebalanceTimeoutMs: int(o, consumer('max.poll.interval.ms'), 300000, 1),
    groupInstanceId: instance === undefined ? null : String(instance),
    transactionTimeoutMs: int(o, ['producer.transaction.timeout.ms', 'transaction.timeout.ms'], 10000, 1),
    producerRequestTimeoutMs: int(o, ['producer.request.timeout.ms', 'request.timeout.ms'], 30000, 1),
    deliveryTimeoutMs: int(o, ['producer.delivery.timeout.ms', 'delivery.timeout.ms'], 120000, 1),
    fetchMaxWaitMs: int(o, consumer('fetch.max.wait.ms'), 500, 0),
    maxPartitionFetchBytes: int(o, consumer('max.partition.fetch.bytes'), 1048576, 1),
    restorePartitionFetchBytes: int(o, ['restore.consumer.max.partition.fetch.bytes'], 1048576, 1),
    // 64 KiB per restore fetch (~2,000 small records): each response's decoded records die in V8's young
    // generation before the next scavenge instead of being promoted, so restoring 1M keys leaves the old space
    // (and the process's RSS) where it was; 1 MiB fetches promoted ~400 B per record. Raise it for changelogs
    // read over high-latency links (one fetch in flight per broker), at that memory cost.
    restoreFetchMaxBytes: int(o, ['restore.consumer.fetch.max.bytes'], 65536, 1),
    autoOffsetReset: reset,
    standbyCheckpointIntervalMs: int(o, ['tributary.standby.checkpoint.interval.ms'], 5000, 0),
    maxProducerBacklogBytes: int(o, ['tributary.producer.backlog.bytes'], 16 * 1024 * 1024, 1),
    processBudgetMs: int(o, ['tributary.process.budget.ms'], 50, 1),
    repartitionPurgeIntervalMs: int(o, ['repartition.purge.interval.ms'], 30000, 0),
    compression,
    connection: (o['tributary.connection'] as Record<string, unknown> | undefined) ?? undefined,
  }
}
