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
  /** A record arrived after its window closed (window end + grace): dropped (see late.records.dead.letter.topic). */
  LATE_RECORD: 'TRB_STREAMS_LATE_RECORD',
  /** A suppress() buffer configured with shutDownWhenFull() went over its limit. */
  BUFFER_FULL: 'TRB_STREAMS_BUFFER_FULL',
} as const

export type StreamsErrorCode = (typeof StreamsErrorCode)[keyof typeof StreamsErrorCode]

export class StreamsError extends TributaryError {
  constructor(code: StreamsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'StreamsError'
  }
}

export function streamsError(code: StreamsErrorCode, message: string, cause?: unknown): StreamsError {
  return new StreamsError(code, message, cause === undefined ? undefined : { cause })
}
