import { TributaryError, type TributaryErrorCode } from '../errors.ts'

/**
 * Stable codes of the stream-processing module, by short name. Each is declared, with its meaning, in the one list
 * of src/errors.ts (docs/errors.md). Callers and tests match on the code, not on the message.
 */
export const StreamsErrorCode = {
  MISSING_SERDE: 'TRB_STREAMS_MISSING_SERDE',
  NAME_EXISTS: 'TRB_STREAMS_NAME_EXISTS',
  STORE_EXISTS: 'TRB_STREAMS_STORE_EXISTS',
  UNKNOWN_NODE: 'TRB_STREAMS_UNKNOWN_NODE',
  UNKNOWN_STORE: 'TRB_STREAMS_UNKNOWN_STORE',
  TOPIC_EXISTS: 'TRB_STREAMS_TOPIC_EXISTS',
  INVALID_TOPOLOGY: 'TRB_STREAMS_INVALID_TOPOLOGY',
  TOPOLOGY_BUILT: 'TRB_STREAMS_TOPOLOGY_BUILT',
  INVALID_ARGUMENT: 'TRB_STREAMS_INVALID_ARGUMENT',
  INVALID_CONFIG: 'TRB_STREAMS_INVALID_CONFIG',
  INVALID_TIMESTAMP: 'TRB_STREAMS_INVALID_TIMESTAMP',
  DESERIALIZATION_FAILED: 'TRB_STREAMS_DESERIALIZATION_FAILED',
  PROCESSING_FAILED: 'TRB_STREAMS_PROCESSING_FAILED',
  PRODUCTION_FAILED: 'TRB_STREAMS_PRODUCTION_FAILED',
  STORE_CLOSED: 'TRB_STREAMS_STORE_CLOSED',
  NEEDS_ASYNC: 'TRB_STREAMS_NEEDS_ASYNC',
  ILLEGAL_STATE: 'TRB_STREAMS_ILLEGAL_STATE',
  UNKNOWN_TOPIC: 'TRB_STREAMS_UNKNOWN_TOPIC',
  NO_SUCH_RECORD: 'TRB_STREAMS_NO_SUCH_RECORD',
  MISSING_SOURCE_TOPIC: 'TRB_STREAMS_MISSING_SOURCE_TOPIC',
  COPARTITIONING: 'TRB_STREAMS_COPARTITIONING',
  INTERNAL_TOPIC_MISMATCH: 'TRB_STREAMS_INTERNAL_TOPIC_MISMATCH',
  STATE_DIR_LOCKED: 'TRB_STREAMS_STATE_DIR_LOCKED',
  APPLICATION_SHUTDOWN: 'TRB_STREAMS_APPLICATION_SHUTDOWN',
  CLOSE_TIMEOUT: 'TRB_STREAMS_CLOSE_TIMEOUT',
  RESET_FAILED: 'TRB_STREAMS_RESET_FAILED',
  LATE_RECORD: 'TRB_STREAMS_LATE_RECORD',
  BUFFER_FULL: 'TRB_STREAMS_BUFFER_FULL',
  NOT_STARTED: 'TRB_STREAMS_NOT_STARTED',
  STORE_NOT_YET_AVAILABLE: 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
  STORE_MIGRATED: 'TRB_STREAMS_STORE_MIGRATED',
  STORE_NOT_AVAILABLE: 'TRB_STREAMS_STORE_NOT_AVAILABLE',
  STORE_TYPE_MISMATCH: 'TRB_STREAMS_STORE_TYPE_MISMATCH',
  INVALID_STORE_PARTITION: 'TRB_STREAMS_INVALID_STORE_PARTITION',
  POSITION_NOT_REACHED: 'TRB_STREAMS_POSITION_NOT_REACHED',
  QUERY_ROUTING_FAILED: 'TRB_STREAMS_QUERY_ROUTING_FAILED',
  INVALID_QUERY: 'TRB_STREAMS_INVALID_QUERY',
} as const satisfies Record<string, TributaryErrorCode>

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
}

export function streamsError(code: StreamsErrorCode, message: string, cause?: unknown): StreamsError {
  return new StreamsError(code, message, cause === undefined ? undefined : { cause })
}
