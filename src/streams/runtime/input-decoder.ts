/**
 * Turns a task's input records into keys and values with their source's serdes (Kafka Streams' RecordDeserializer):
 * an undecodable record goes to the deserialization exception handler (fail, or skip and maybe dead-letter it); a
 * serde that must prepare first (a registry lookup) makes the queue wait for it.
 */
import { streamsError } from '../errors.ts'
import type { ErrorHandlerContext } from '../processor/exception-handlers.ts'
import { Headers } from '../processor/record.ts'
import type { ConsumerRecordLike, RecordQueue } from './partition-group.ts'
import type { StreamTask } from './stream-task.ts'
import { asError, isNotReady } from './task-nodes.ts'
import type { TaskOutput } from './task-output.ts'

export class InputDecoder {
  readonly #task: StreamTask
  readonly #output: TaskOutput
  readonly #log: (message: string) => void
  /** Rewritten per record: serdes read the location during the call (a SerdeError copies it). */
  readonly #keyWhere = { topic: '', partition: 0, offset: 0, isKey: true }
  readonly #valueWhere = { topic: '', partition: 0, offset: 0, isKey: false }

  constructor(task: StreamTask, output: TaskOutput, log: (message: string) => void) {
    this.#task = task
    this.#output = output
    this.#log = log
  }

  decode(queue: RecordQueue, raw: ConsumerRecordLike): { key: unknown; value: unknown } | undefined | 'not-ready' {
    let part: 'key' | 'value' = 'key'
    try {
      const kw = this.#keyWhere
      kw.topic = raw.topic
      kw.partition = raw.partition
      kw.offset = raw.offset
      const key = raw.key === null ? null : queue.source.keySerde.deserializeSync(raw.key, kw)
      part = 'value'
      const vw = this.#valueWhere
      vw.topic = raw.topic
      vw.partition = raw.partition
      vw.offset = raw.offset
      const value = raw.value === null ? null : queue.source.valueSerde.deserializeSync(raw.value, vw)
      return { key, value }
    } catch (error) {
      if (isNotReady(error)) {
        const serde = part === 'key' ? queue.source.keySerde : queue.source.valueSerde
        const where = { topic: raw.topic, partition: raw.partition, offset: raw.offset, isKey: part === 'key' }
        const p = serde.prepareDeserialize((part === 'key' ? raw.key : raw.value)!, where)
        this.#output.deferPreparation(p.then(() => queue.updateHead()))
        return 'not-ready'
      }
      const headers = raw.headers instanceof Headers ? raw.headers : new Headers(raw.headers ?? [])
      const context: ErrorHandlerContext = {
        topic: raw.topic,
        partition: raw.partition,
        offset: raw.offset,
        timestamp: raw.timestamp,
        headers,
        processorNodeId: queue.source.name,
        taskId: this.#task.id,
        sourceRawKey: raw.key,
        sourceRawValue: raw.value,
      }
      const response = this.#task.config.deserializationExceptionHandler.handle(
        context,
        { key: raw.key, value: raw.value },
        asError(error),
      )
      this.#output.applyResponse(response, queue.source.name, () =>
        streamsError(
          'TRB_STREAMS_DESERIALIZATION_FAILED',
          `cannot deserialize the ${part} of the record at ${raw.topic}-${raw.partition} offset ${raw.offset}: ` +
            `${asError(error).message} (set deserialization.exception.handler to logAndContinue to skip such records)`,
          error,
        ),
      )
      this.#log(`task ${this.#task.id}: skipped undecodable record ${raw.topic}-${raw.partition}@${raw.offset}`)
      return undefined
    }
  }
}
