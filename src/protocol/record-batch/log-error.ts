/**
 * The rejection a record batch (or the log) fails with: a Kafka error code the broker puts in the response, each
 * with its declared TRB_LOG_* code. Defined next to the codec (which is pure) so validation here and in the log
 * share one class; `src/log` re-exports it.
 */
import { TributaryError, type TributaryErrorCode } from '../../errors.ts'
import { ErrorCode } from '../generated/error-codes.ts'

/** The Kafka error codes a log rejection carries, each with its declared TRB_LOG_* code (its Kafka name). */
const LOG_ERROR_CODES = {
  [ErrorCode.OFFSET_OUT_OF_RANGE]: 'TRB_LOG_OFFSET_OUT_OF_RANGE',
  [ErrorCode.CORRUPT_MESSAGE]: 'TRB_LOG_CORRUPT_MESSAGE',
  [ErrorCode.INVALID_RECORD]: 'TRB_LOG_INVALID_RECORD',
  [ErrorCode.MESSAGE_TOO_LARGE]: 'TRB_LOG_MESSAGE_TOO_LARGE',
  [ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT]: 'TRB_LOG_UNSUPPORTED_FOR_MESSAGE_FORMAT',
  [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER]: 'TRB_LOG_OUT_OF_ORDER_SEQUENCE_NUMBER',
  [ErrorCode.INVALID_PRODUCER_EPOCH]: 'TRB_LOG_INVALID_PRODUCER_EPOCH',
  [ErrorCode.INVALID_TXN_STATE]: 'TRB_LOG_INVALID_TXN_STATE',
  [ErrorCode.KAFKA_STORAGE_ERROR]: 'TRB_LOG_KAFKA_STORAGE_ERROR',
  [ErrorCode.UNKNOWN_SERVER_ERROR]: 'TRB_LOG_UNKNOWN_SERVER_ERROR',
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 'TRB_LOG_UNKNOWN_TOPIC_OR_PARTITION',
} as const satisfies Record<number, TributaryErrorCode>

/** A Kafka error code the log rejects with. */
export type LogRejection = keyof typeof LOG_ERROR_CODES

/** A rejection the broker turns into a Kafka error code in the response. */
export class LogError extends TributaryError {
  readonly errorCode: LogRejection
  constructor(errorCode: LogRejection, message: string, options?: { cause?: unknown }) {
    super(LOG_ERROR_CODES[errorCode], message, options)
    this.errorCode = errorCode
    this.name = 'LogError'
  }
}

export function corrupt(message: string): LogError {
  return new LogError(ErrorCode.CORRUPT_MESSAGE, message)
}

export function invalidRecord(message: string): LogError {
  return new LogError(ErrorCode.INVALID_RECORD, message)
}

export function unsupportedMagic(magic: number): LogError {
  return new LogError(
    ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    `record batch magic ${magic} is not supported (only magic 2 / RecordBatch v2 is stored)`,
  )
}
