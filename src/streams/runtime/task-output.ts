/**
 * A task's output: sink records serialized and partitioned, changelog writes and dead-letter records handed to the
 * RecordCollector in the order the task produced them. A serde that must prepare first (a registry lookup) defers
 * the record, and every later one, until the preparation is done; the task processes nothing meanwhile.
 */
import { streamsError } from '../errors.ts'
import type { HandlerResponse } from '../processor/exception-handlers.ts'
import type { Record } from '../processor/record.ts'
import type { ProducedRecord, RecordCollector } from '../processor/record-collector.ts'
import type { StreamTask } from './stream-task.ts'
import { asError, isNotReady, type SinkRuntimeNode } from './task-nodes.ts'

const KEY = Object.freeze({ isKey: true })
const VALUE = Object.freeze({ isKey: false })

export class TaskOutput {
  readonly #task: StreamTask
  readonly #collector: RecordCollector
  readonly #pending: Promise<void>[] = []
  /** Output waiting behind a serde preparation, in send order (thunks that send or retry serializing). */
  readonly #deferred: Array<() => boolean> = []

  constructor(task: StreamTask, collector: RecordCollector) {
    this.#task = task
    this.#collector = collector
  }

  /** Whether a preparation or deferred output is pending: the task must not process until it is done. */
  get blocked(): boolean {
    return this.#pending.length > 0 || this.#deferred.length > 0
  }

  /** The origin of a node's records, made once per node (one is passed with every record). */
  readonly #origins = new Map<string | null, { taskId: string; processorNodeId: string | null }>()

  #origin(node: string | null) {
    let origin = this.#origins.get(node)
    if (!origin) {
      origin = { taskId: this.#task.id, processorNodeId: node }
      this.#origins.set(node, origin)
    }
    return origin
  }

  emit(record: ProducedRecord, node: string | null): void {
    if (this.#deferred.length > 0) {
      this.#deferred.push(() => {
        this.#collector.send(record, this.#origin(node))
        return true
      })
    } else {
      this.#collector.send(record, this.#origin(node))
    }
  }

  /** Serializes and sends a record from a sink; serdes that need preparation defer it, keeping send order. */
  send(sink: SinkRuntimeNode, topic: string, record: Record<unknown, unknown>): void {
    if (this.#deferred.length > 0 || !this.#trySend(sink, topic, record)) {
      this.#deferred.push(() => this.#trySend(sink, topic, record))
    }
  }

  /** Serializes and sends; false when a serde must prepare first (nothing was sent). */
  #trySend(sink: SinkRuntimeNode, topic: string, record: Record<unknown, unknown>): boolean {
    let key: Buffer | null
    let value: Buffer | null
    let origin: 'key' | 'value' = 'key'
    try {
      key = record.key === null || record.key === undefined ? null : sink.keySerde.serializeSync(topic, record.key, KEY)
      origin = 'value'
      value =
        record.value === null || record.value === undefined
          ? null
          : sink.valueSerde.serializeSync(topic, record.value, VALUE)
    } catch (error) {
      if (isNotReady(error)) {
        const serde = origin === 'key' ? sink.keySerde : sink.valueSerde
        this.#pending.push(serde.prepareSerialize(topic, { isKey: origin === 'key' }))
        return false
      }
      const response = this.#task.config.productionExceptionHandler.handleSerializationException(
        this.#task.errorContext(sink.name),
        { topic, key: record.key, value: record.value },
        asError(error),
        origin,
      )
      this.applyResponse(response, sink.name, () =>
        streamsError(
          'TRB_STREAMS_PRODUCTION_FAILED',
          `sink ${sink.name} cannot serialize the record's ${origin} for topic ${topic}: ${asError(error).message}`,
          error,
        ),
      )
      return true
    }
    if (!sink.partitioner) {
      this.#collector.send(
        { topic, partition: undefined, key, value, timestamp: record.timestamp, headers: record.headers },
        this.#origin(sink.name),
      )
      return true
    }
    const count = this.#collector.partitionsFor(topic)
    if (count === undefined) {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `sink ${sink.name}: the partition count of ${topic} is not known`)
    }
    const chosen = sink.partitioner(topic, record.key, record.value, count)
    const partitions = chosen === undefined ? [undefined] : typeof chosen === 'number' ? [chosen] : chosen
    for (const p of partitions) {
      if (p !== undefined && (!Number.isInteger(p) || p < 0 || p >= count)) {
        throw streamsError(
          'TRB_STREAMS_INVALID_ARGUMENT',
          `partitioner of sink ${sink.name} chose partition ${p} of ${topic}, which has ${count}`,
        )
      }
    }
    for (const partition of partitions) {
      const out: ProducedRecord = {
        topic,
        partition,
        key,
        value,
        timestamp: record.timestamp,
        headers: record.headers,
      }
      this.#collector.send(out, this.#origin(sink.name))
    }
    return true
  }

  applyResponse(response: HandlerResponse, node: string | null, fail: () => Error): void {
    for (const r of response?.deadLetterRecords ?? []) this.emit(r, node)
    if (response?.action !== 'continue') throw fail()
    this.#task.droppedRecords++
  }

  /** A serde preparation the task waits for before going on; undefined when nothing is pending. */
  pendingPreparation(): Promise<void> | undefined {
    if (this.#pending.length === 0 && this.#deferred.length === 0) return undefined
    return this.#drain()
  }

  deferPreparation(p: Promise<void>): void {
    this.#pending.push(p)
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#deferred.length > 0) {
      const pending = this.#pending.splice(0)
      await Promise.all(pending)
      while (this.#deferred.length > 0) {
        const next = this.#deferred[0]
        if (!next()) break
        this.#deferred.shift()
      }
    }
  }
}
