import { TributaryError } from '../errors.ts'

/**
 * Stable codes of the stream-processing module. Callers and tests match on the code, not on the message.
 */
export const StreamsErrorCode = {
  /** A serde is needed (source, sink, store, repartition topic) and none was given nor configured as default. */
  MISSING_SERDE: 'TRB_STREAMS_MISSING_SERDE',
  /** A processor, source, sink or store name is used twice in one topology. */
  NAME_EXISTS: 'TRB_STREAMS_NAME_EXISTS',
  /** A state store name is registered twice. */
  STORE_EXISTS: 'TRB_STREAMS_STORE_EXISTS',
  /** A node, parent or store named in the topology does not exist. */
  UNKNOWN_NODE: 'TRB_STREAMS_UNKNOWN_NODE',
  /** A processor asked for a store it is not connected to, or that does not exist. */
  UNKNOWN_STORE: 'TRB_STREAMS_UNKNOWN_STORE',
  /** A topic is consumed by two sources. */
  TOPIC_EXISTS: 'TRB_STREAMS_TOPIC_EXISTS',
  /** The topology is invalid (empty, a sink with children, a processor without a parent...). */
  INVALID_TOPOLOGY: 'TRB_STREAMS_INVALID_TOPOLOGY',
  /** A DSL operator was called after StreamsBuilder.build(): the topology is immutable once built. */
  TOPOLOGY_BUILT: 'TRB_STREAMS_TOPOLOGY_BUILT',
  /** An argument to a DSL or Processor API call is invalid. */
  INVALID_ARGUMENT: 'TRB_STREAMS_INVALID_ARGUMENT',
  /** A configuration value is invalid. */
  INVALID_CONFIG: 'TRB_STREAMS_INVALID_CONFIG',
  /** A record's timestamp is invalid (negative) and the extractor is configured to fail. */
  INVALID_TIMESTAMP: 'TRB_STREAMS_INVALID_TIMESTAMP',
  /** A record could not be deserialized and the deserialization exception handler said FAIL. */
  DESERIALIZATION_FAILED: 'TRB_STREAMS_DESERIALIZATION_FAILED',
  /** User code threw while processing a record and the processing exception handler said FAIL. */
  PROCESSING_FAILED: 'TRB_STREAMS_PROCESSING_FAILED',
  /** A record could not be serialized or produced and the production exception handler said FAIL. */
  PRODUCTION_FAILED: 'TRB_STREAMS_PRODUCTION_FAILED',
  /** A store was used after close, or before the task initialized it. */
  STORE_CLOSED: 'TRB_STREAMS_STORE_CLOSED',
  /** A serde needs an asynchronous preparation (a schema registry lookup) that a synchronous call cannot wait for. */
  NEEDS_ASYNC: 'TRB_STREAMS_NEEDS_ASYNC',
  /** An operation is not valid in the task's or driver's current state (closed, not initialized...). */
  ILLEGAL_STATE: 'TRB_STREAMS_ILLEGAL_STATE',
  /** The test driver was asked about a topic the topology does not read or write. */
  UNKNOWN_TOPIC: 'TRB_STREAMS_UNKNOWN_TOPIC',
  /** A test output topic was read while empty. */
  NO_SUCH_RECORD: 'TRB_STREAMS_NO_SUCH_RECORD',
  /** A source topic of the topology does not exist (the runtime checks at start and at every rebalance). */
  MISSING_SOURCE_TOPIC: 'TRB_STREAMS_MISSING_SOURCE_TOPIC',
  /** Topics that must be co-partitioned (joined) have different partition counts. */
  COPARTITIONING: 'TRB_STREAMS_COPARTITIONING',
  /** An internal (repartition or changelog) topic exists with a partition count the topology cannot use. */
  INTERNAL_TOPIC_MISMATCH: 'TRB_STREAMS_INTERNAL_TOPIC_MISMATCH',
  /** Another live process uses the same state directory for this application. */
  STATE_DIR_LOCKED: 'TRB_STREAMS_STATE_DIR_LOCKED',
  /** Another member asked the whole application to shut down (uncaught exception handler SHUTDOWN_APPLICATION). */
  APPLICATION_SHUTDOWN: 'TRB_STREAMS_APPLICATION_SHUTDOWN',
  /** close() did not finish within its timeout. */
  CLOSE_TIMEOUT: 'TRB_STREAMS_CLOSE_TIMEOUT',
  /** The reset tool refused to run (the application still has active members) or failed. */
  RESET_FAILED: 'TRB_STREAMS_RESET_FAILED',
  /** Interactive queries: KafkaStreams has not been started yet (Kafka's StreamsNotStartedException). */
  NOT_STARTED: 'TRB_STREAMS_NOT_STARTED',
  /**
   * Interactive queries: the store is on this instance but cannot answer yet — it is being restored, or the
   * application is rebalancing. Retry later on the same instance (or query a standby with stale stores enabled).
   */
  STORE_NOT_YET_AVAILABLE: 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
  /**
   * Interactive queries: the store (or the asked partition of it) is not on this instance any more — it moved to
   * another instance in a rebalance (Kafka's StateStoreMigratedException). Find its host again and retry there.
   */
  STORE_MIGRATED: 'TRB_STREAMS_STORE_MIGRATED',
  /** Interactive queries: KafkaStreams is shutting down, stopped or failed (Kafka's StateStoreNotAvailableException). */
  STORE_NOT_AVAILABLE: 'TRB_STREAMS_STORE_NOT_AVAILABLE',
  /** Interactive queries: the store exists but is not of the asked type (a window query on a key-value store...). */
  STORE_TYPE_MISMATCH: 'TRB_STREAMS_STORE_TYPE_MISMATCH',
  /** Interactive queries: the asked partition of the store does not exist (Kafka's InvalidStateStorePartitionException). */
  INVALID_STORE_PARTITION: 'TRB_STREAMS_INVALID_STORE_PARTITION',
  /** Interactive queries: the store did not reach the asked position (PositionBound) within the timeout. */
  POSITION_NOT_REACHED: 'TRB_STREAMS_POSITION_NOT_REACHED',
  /** Interactive queries over HTTP: the instance holding the data could not be reached or answered badly. */
  QUERY_ROUTING_FAILED: 'TRB_STREAMS_QUERY_ROUTING_FAILED',
  /** Interactive queries over HTTP: the request is malformed (a bad key, position, range or parameter). */
  INVALID_QUERY: 'TRB_STREAMS_INVALID_QUERY',
} as const

export type StreamsErrorCode = (typeof StreamsErrorCode)[keyof typeof StreamsErrorCode]

export class StreamsError extends TributaryError {
  constructor(code: StreamsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'StreamsError'
  }
}

/**
 * A state store cannot be queried right now (Kafka Streams' InvalidStateStoreException and its kinds). The code
 * says which kind: TRB_STREAMS_STORE_NOT_YET_AVAILABLE (restoring, rebalancing: retry here), TRB_STREAMS_STORE_MIGRATED
 * (moved: look the host up again), TRB_STREAMS_STORE_NOT_AVAILABLE (shutting down), TRB_STREAMS_NOT_STARTED,
 * TRB_STREAMS_INVALID_STORE_PARTITION.
 */
export class InvalidStateStoreError extends StreamsError {
  constructor(code: StreamsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'InvalidStateStoreError'
  }

  /** Whether retrying may succeed (after a rebalance or restoration settles). */
  get retriable(): boolean {
    return this.code === StreamsErrorCode.STORE_NOT_YET_AVAILABLE || this.code === StreamsErrorCode.STORE_MIGRATED
  }
}

export function streamsError(code: StreamsErrorCode, message: string, cause?: unknown): StreamsError {
  return new StreamsError(code, message, cause === undefined ? undefined : { cause })
}
