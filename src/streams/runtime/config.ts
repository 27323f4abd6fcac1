import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import {
  type DeserializationExceptionHandler,
  ExceptionHandlers,
  type ProcessingExceptionHandler,
  type ProductionExceptionHandler,
} from '../processor/exception-handlers.ts'
import { FailOnInvalidTimestamp, type TimestampExtractor } from '../processor/timestamp-extractor.ts'

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once_v2'
export type DslStoreType = 'lmdb' | 'in_memory'

/**
 * Streams configuration under Kafka Streams' property names. Values may be given as strings (from a properties
 * file) or typed; serdes, extractors and handlers are given as objects (or 'logAndFail' / 'logAndContinue').
 */
export interface StreamsConfigInput {
  'application.id'?: string
  'bootstrap.servers'?: string
  'statestore.cache.max.bytes'?: number | string
  /** The pre-3.4 name of statestore.cache.max.bytes. */
  'cache.max.bytes.buffering'?: number | string
  'commit.interval.ms'?: number | string
  'processing.guarantee'?: ProcessingGuarantee
  'max.task.idle.ms'?: number | string
  'buffered.records.per.partition'?: number | string
  'default.key.serde'?: SyncSerde<unknown>
  'default.value.serde'?: SyncSerde<unknown>
  'default.timestamp.extractor'?: TimestampExtractor
  'deserialization.exception.handler'?: DeserializationExceptionHandler | 'logAndFail' | 'logAndContinue'
  'default.deserialization.exception.handler'?: DeserializationExceptionHandler | 'logAndFail' | 'logAndContinue'
  'processing.exception.handler'?: ProcessingExceptionHandler | 'logAndFail' | 'logAndContinue'
  'production.exception.handler'?: ProductionExceptionHandler | 'fail' | 'logAndContinue'
  'default.production.exception.handler'?: ProductionExceptionHandler | 'fail' | 'logAndContinue'
  'errors.dead.letter.queue.topic.name'?: string
  'state.dir'?: string
  /** Store type of DSL stores without a store supplier: 'lmdb' (persistent, the default) or 'in_memory'. */
  'default.dsl.store'?: DslStoreType | 'rocksDB'
  'num.standby.replicas'?: number | string
  'application.server'?: string
  /** Serve interactive queries over HTTP on this port (0: a free one); off when unset. */
  'interactive.queries.port'?: number | string
  /** The address the query server binds (default 127.0.0.1). */
  'interactive.queries.host'?: string
  [other: string]: unknown
}

export interface StreamsConfig {
  readonly applicationId: string
  readonly cacheMaxBytes: number
  readonly commitIntervalMs: number
  readonly processingGuarantee: ProcessingGuarantee
  readonly maxTaskIdleMs: number
  readonly bufferedRecordsPerPartition: number
  readonly defaultKeySerde: SyncSerde<unknown> | undefined
  readonly defaultValueSerde: SyncSerde<unknown> | undefined
  readonly timestampExtractor: TimestampExtractor
  readonly deserializationExceptionHandler: DeserializationExceptionHandler
  readonly processingExceptionHandler: ProcessingExceptionHandler
  readonly productionExceptionHandler: ProductionExceptionHandler
  readonly deadLetterQueueTopic: string | undefined
  readonly stateDir: string
  readonly dslStore: DslStoreType
  /** The interactive-queries HTTP endpoint (`interactive.queries.port` / `.host`), or undefined when off. */
  readonly interactiveQueries: { readonly port: number; readonly host: string } | undefined
  /** Everything as given, for `context.appConfigs`. */
  readonly originals: Readonly<Record<string, unknown>>
}

function num(input: StreamsConfigInput, key: string, fallback: number): number {
  const raw = input[key]
  if (raw === undefined || raw === null || raw === '') return fallback
  const value = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isFinite(value)) {
    throw streamsError('TRB_STREAMS_INVALID_CONFIG', `${key} must be a number, got ${JSON.stringify(raw)}`)
  }
  return value
}

export function streamsConfig(
  input: StreamsConfigInput = {},
  defaults: Partial<StreamsConfigInput> = {},
): StreamsConfig {
  const all: StreamsConfigInput = { ...defaults, ...input }
  const applicationId = all['application.id']
  if (!applicationId || !/^[a-zA-Z0-9._-]+$/.test(applicationId)) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `application.id must be set to a name of [a-zA-Z0-9._-] (it prefixes internal topics), got ${JSON.stringify(applicationId)}`,
    )
  }
  const guarantee = all['processing.guarantee'] ?? 'at_least_once'
  if (guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `processing.guarantee must be at_least_once or exactly_once_v2, got ${guarantee}`,
    )
  }
  const dlq = all['errors.dead.letter.queue.topic.name']
  const deser =
    all['deserialization.exception.handler'] ?? all['default.deserialization.exception.handler'] ?? 'logAndFail'
  const proc = all['processing.exception.handler'] ?? 'logAndFail'
  const prod = all['production.exception.handler'] ?? all['default.production.exception.handler'] ?? 'fail'
  const dslRaw = all['default.dsl.store'] ?? 'lmdb'
  const dslStore: DslStoreType = dslRaw === 'in_memory' ? 'in_memory' : 'lmdb'
  if (dslRaw !== 'in_memory' && dslRaw !== 'lmdb' && dslRaw !== 'rocksDB') {
    throw streamsError('TRB_STREAMS_INVALID_CONFIG', `default.dsl.store must be lmdb or in_memory, got ${dslRaw}`)
  }
  const iqPortRaw = all['interactive.queries.port']
  let interactiveQueries: StreamsConfig['interactiveQueries']
  if (iqPortRaw !== undefined && iqPortRaw !== null && iqPortRaw !== '') {
    const port = Number(iqPortRaw)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw streamsError(
        'TRB_STREAMS_INVALID_CONFIG',
        `interactive.queries.port must be a port number (0..65535; 0: a free one), got ${JSON.stringify(iqPortRaw)}`,
      )
    }
    const host = all['interactive.queries.host'] ?? '127.0.0.1'
    if (typeof host !== 'string' || host.trim() === '') {
      throw streamsError(
        'TRB_STREAMS_INVALID_CONFIG',
        `interactive.queries.host must be a host name or address, got ${JSON.stringify(host)}`,
      )
    }
    interactiveQueries = { port, host }
  }
  const cacheMax =
    all['statestore.cache.max.bytes'] !== undefined
      ? num(all, 'statestore.cache.max.bytes', 10485760)
      : num(all, 'cache.max.bytes.buffering', 10485760)
  return {
    applicationId,
    cacheMaxBytes: Math.max(0, cacheMax),
    commitIntervalMs: num(all, 'commit.interval.ms', guarantee === 'exactly_once_v2' ? 100 : 30000),
    processingGuarantee: guarantee,
    maxTaskIdleMs: num(all, 'max.task.idle.ms', 0),
    bufferedRecordsPerPartition: num(all, 'buffered.records.per.partition', 1000),
    defaultKeySerde: all['default.key.serde'],
    defaultValueSerde: all['default.value.serde'],
    timestampExtractor: all['default.timestamp.extractor'] ?? FailOnInvalidTimestamp,
    deserializationExceptionHandler:
      typeof deser === 'object'
        ? deser
        : deser === 'logAndContinue'
          ? ExceptionHandlers.deserializationLogAndContinue(dlq)
          : ExceptionHandlers.deserializationLogAndFail(),
    processingExceptionHandler:
      typeof proc === 'object'
        ? proc
        : proc === 'logAndContinue'
          ? ExceptionHandlers.processingLogAndContinue(dlq)
          : ExceptionHandlers.processingLogAndFail(),
    productionExceptionHandler:
      typeof prod === 'object'
        ? prod
        : prod === 'logAndContinue'
          ? ExceptionHandlers.productionLogAndContinue(dlq)
          : ExceptionHandlers.productionFail(),
    deadLetterQueueTopic: dlq,
    stateDir: all['state.dir'] ?? join(tmpdir(), 'tributary-streams'),
    dslStore,
    interactiveQueries,
    originals: Object.freeze({ ...all }),
  }
}
