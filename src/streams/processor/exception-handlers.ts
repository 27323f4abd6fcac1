import { Headers } from './record.ts'
import type { ProducedRecord } from './record-collector.ts'

/** Where a failure happened, for the handlers (Kafka Streams' ErrorHandlerContext). */
export interface ErrorHandlerContext {
  readonly topic: string | null
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly headers: Headers
  readonly processorNodeId: string | null
  readonly taskId: string
  /** The bytes of the input record being processed when the failure happened (what goes to a dead-letter topic). */
  readonly sourceRawKey: Buffer | null
  readonly sourceRawValue: Buffer | null
}

/** What a handler decides: go on (dropping the record) or stop the task; plus records for a dead-letter topic. */
export interface HandlerResponse {
  readonly action: 'continue' | 'fail'
  readonly deadLetterRecords?: readonly ProducedRecord[]
}

export interface DeserializationExceptionHandler {
  handle(
    context: ErrorHandlerContext,
    record: { key: Buffer | null; value: Buffer | null },
    error: Error,
  ): HandlerResponse
}

export interface ProcessingExceptionHandler {
  handle(context: ErrorHandlerContext, record: { key: unknown; value: unknown }, error: Error): HandlerResponse
}

export type SerializationExceptionOrigin = 'key' | 'value'

export interface ProductionExceptionHandler {
  /** A record could not be sent (called by the runtime's collector when the broker refuses it). */
  handle(context: ErrorHandlerContext, record: ProducedRecord, error: Error): HandlerResponse
  /** A record could not be serialized by the sink's serdes. */
  handleSerializationException(
    context: ErrorHandlerContext,
    record: { topic: string; key: unknown; value: unknown },
    error: Error,
    origin: SerializationExceptionOrigin,
  ): HandlerResponse
}

/** Kafka Streams' dead-letter header names (KIP-1034). */
export const DeadLetterHeaders = {
  EXCEPTION: '__streams.errors.exception',
  MESSAGE: '__streams.errors.message',
  STACKTRACE: '__streams.errors.stacktrace',
  TOPIC: '__streams.errors.topic',
  PARTITION: '__streams.errors.partition',
  OFFSET: '__streams.errors.offset',
} as const

/**
 * The dead-letter record for a failure: the input record's key and value bytes, with the error and the source
 * position in headers, as Kafka Streams builds it when `errors.dead.letter.queue.topic.name` is set.
 */
export function deadLetterRecord(
  topic: string,
  key: Buffer | null,
  value: Buffer | null,
  context: ErrorHandlerContext,
  error: Error,
): ProducedRecord {
  const headers = new Headers()
    .add(DeadLetterHeaders.EXCEPTION, `${error.name}: ${error.message}`)
    .add(DeadLetterHeaders.MESSAGE, error.message)
    .add(DeadLetterHeaders.STACKTRACE, error.stack ?? String(error))
    .add(DeadLetterHeaders.TOPIC, context.topic ?? '')
    .add(DeadLetterHeaders.PARTITION, String(context.partition))
    .add(DeadLetterHeaders.OFFSET, String(context.offset))
  return { topic, key, value, timestamp: context.timestamp, headers }
}

export type HandlerLogger = (message: string, error: Error) => void

const defaultLogger: HandlerLogger = (message, error) => {
  process.emitWarning(`${message}: ${error.message}`, { code: 'TRB_STREAMS_HANDLER' })
}

function where(context: ErrorHandlerContext): string {
  return context.topic === null
    ? `task ${context.taskId}`
    : `${context.topic}-${context.partition} offset ${context.offset} (task ${context.taskId})`
}

/**
 * The built-in handlers. `logAndContinue` skips the record, logs it and, when a dead-letter topic is given (or
 * configured with `errors.dead.letter.queue.topic.name`), sends the input record there with the error in headers.
 */
export const ExceptionHandlers = {
  deserializationLogAndFail(): DeserializationExceptionHandler {
    return { handle: () => ({ action: 'fail' }) }
  },
  deserializationLogAndContinue(
    deadLetterTopic?: string,
    log: HandlerLogger = defaultLogger,
  ): DeserializationExceptionHandler {
    return {
      handle(context, record, error) {
        log(`skipping record that cannot be deserialized at ${where(context)}`, error)
        return {
          action: 'continue',
          deadLetterRecords: deadLetterTopic
            ? [deadLetterRecord(deadLetterTopic, record.key, record.value, context, error)]
            : undefined,
        }
      },
    }
  },
  processingLogAndFail(): ProcessingExceptionHandler {
    return { handle: () => ({ action: 'fail' }) }
  },
  processingLogAndContinue(deadLetterTopic?: string, log: HandlerLogger = defaultLogger): ProcessingExceptionHandler {
    return {
      handle(context, _record, error) {
        log(`skipping record whose processing failed in ${context.processorNodeId} at ${where(context)}`, error)
        return {
          action: 'continue',
          deadLetterRecords: deadLetterTopic
            ? [deadLetterRecord(deadLetterTopic, context.sourceRawKey, context.sourceRawValue, context, error)]
            : undefined,
        }
      },
    }
  },
  productionFail(): ProductionExceptionHandler {
    return { handle: () => ({ action: 'fail' }), handleSerializationException: () => ({ action: 'fail' }) }
  },
  productionLogAndContinue(deadLetterTopic?: string, log: HandlerLogger = defaultLogger): ProductionExceptionHandler {
    const dlq = (context: ErrorHandlerContext, error: Error) =>
      deadLetterTopic
        ? [deadLetterRecord(deadLetterTopic, context.sourceRawKey, context.sourceRawValue, context, error)]
        : undefined
    return {
      handle(context, record, error) {
        log(`dropping record for ${record.topic} that could not be produced (from ${where(context)})`, error)
        return { action: 'continue', deadLetterRecords: dlq(context, error) }
      },
      handleSerializationException(context, record, error, origin) {
        log(`dropping record for ${record.topic} whose ${origin} cannot be serialized (from ${where(context)})`, error)
        return { action: 'continue', deadLetterRecords: dlq(context, error) }
      },
    }
  },
}
