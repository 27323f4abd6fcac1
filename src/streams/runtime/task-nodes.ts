/**
 * The nodes of a task's processor graph (sources, Processor API processors, sinks) and the error-classifying helpers
 * they share with the task: what StreamTask builds from the topology for its sub-topologies.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { SerdeError } from '../../serde/serde.ts'
import { StreamsError, streamsError } from '../errors.ts'
import type { Processor, ProcessorContext, StreamPartitioner, TopicNameExtractor } from '../processor/api.ts'
import { isDefaultsAware } from '../processor/change-serde.ts'
import { Headers, type Record } from '../processor/record.ts'
import type { RecordContext } from '../state/state-store.ts'
import type { StreamsConfig } from './config.ts'
import type { StreamTask } from './stream-task.ts'

export const NO_RECORD_CONTEXT: RecordContext = Object.freeze({
  timestamp: 0,
  topic: null,
  partition: -1,
  offset: -1,
  headers: new Headers(),
})

export function isNotReady(error: unknown): boolean {
  return error instanceof SerdeError && error.code === 'TRB_SERDE_NOT_READY'
}

/** Errors that already went through a handler (or must stop the task as they are): never handled twice. */
export function isFinal(error: unknown): boolean {
  return (
    error instanceof StreamsError &&
    (error.code === 'TRB_STREAMS_PROCESSING_FAILED' ||
      error.code === 'TRB_STREAMS_PRODUCTION_FAILED' ||
      error.code === 'TRB_STREAMS_DESERIALIZATION_FAILED' ||
      error.code === 'TRB_STREAMS_ILLEGAL_STATE')
  )
}

export function withDefaults(
  serde: SyncSerde<unknown> | undefined,
  cfg: StreamsConfig,
): SyncSerde<unknown> | undefined {
  return isDefaultsAware(serde) ? serde.withDefaults({ key: cfg.defaultKeySerde, value: cfg.defaultValueSerde }) : serde
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e))
}

/** A node of the topology as one task runs it: forwards to its children in the task's context. */
export abstract class RuntimeNode {
  readonly name: string
  readonly children: RuntimeNode[] = []
  readonly childByName = new Map<string, RuntimeNode>()
  constructor(name: string) {
    this.name = name
  }
  abstract process(record: Record<unknown, unknown>): void
  init(_task: StreamTask): void {}
  close(): void {}
}

export class SourceRuntimeNode extends RuntimeNode {
  readonly #task: StreamTask
  constructor(name: string, task: StreamTask) {
    super(name)
    this.#task = task
  }
  process(record: Record<unknown, unknown>): void {
    this.#task.context.forward(record)
  }
}

export class ProcessorRuntimeNode extends RuntimeNode {
  readonly processor: Processor<unknown, unknown, unknown, unknown>
  readonly stores: ReadonlySet<string>
  readonly #task: StreamTask
  constructor(
    name: string,
    processor: Processor<unknown, unknown, unknown, unknown>,
    stores: ReadonlySet<string>,
    task: StreamTask,
  ) {
    super(name)
    this.processor = processor
    this.stores = stores
    this.#task = task
  }
  override init(): void {
    this.processor.init?.(this.#task.context as ProcessorContext<unknown, unknown>)
  }
  process(record: Record<unknown, unknown>): void {
    try {
      this.processor.process(record)
    } catch (error) {
      if (isFinal(error) || isNotReady(error)) throw error
      this.#task.handleProcessingError(this.name, record, asError(error))
    }
  }
  override close(): void {
    this.processor.close?.()
  }
}

export class SinkRuntimeNode extends RuntimeNode {
  readonly #task: StreamTask
  readonly topic: string | undefined
  readonly extractor: TopicNameExtractor<unknown, unknown> | undefined
  readonly keySerde: SyncSerde<unknown>
  readonly valueSerde: SyncSerde<unknown>
  readonly partitioner: StreamPartitioner<unknown, unknown> | undefined
  constructor(
    name: string,
    task: StreamTask,
    topic: string | undefined,
    extractor: TopicNameExtractor<unknown, unknown> | undefined,
    keySerde: SyncSerde<unknown>,
    valueSerde: SyncSerde<unknown>,
    partitioner: StreamPartitioner<unknown, unknown> | undefined,
  ) {
    super(name)
    this.#task = task
    this.topic = topic
    this.extractor = extractor
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.partitioner = partitioner
  }
  process(record: Record<unknown, unknown>): void {
    const task = this.#task
    let topic = this.topic
    if (topic === undefined) {
      topic = this.extractor!(record.key, record.value, task.context.recordMetadata())
      if (typeof topic !== 'string' || !topic) {
        throw streamsError(
          'TRB_STREAMS_INVALID_ARGUMENT',
          `topic name extractor of sink ${this.name} returned ${JSON.stringify(topic)}`,
        )
      }
    }
    task.send(this, task.resolveTopic(topic), record)
  }
}
