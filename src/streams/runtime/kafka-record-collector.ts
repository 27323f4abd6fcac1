/**
 * The runtime's RecordCollector (Kafka Streams' RecordCollectorImpl + StreamsProducer): everything the tasks of an
 * instance produce (outputs, repartition and changelog records, dead letters) goes through one producer. Sends are
 * buffered and shipped in batches, one request in flight at a time (so the order per partition holds and the
 * idempotent producer's sequences stay right); under exactly_once_v2 every batch goes into the open transaction,
 * which `commitTransaction` closes together with the input offsets. A record the broker refuses goes to the
 * production exception handler (continue: dropped, dead-lettered; fail: the flush rejects).
 */
import type { Producer } from '@platformatic/kafka'
import { murmur2 } from '@platformatic/kafka'
import {
  describeKafkaError,
  GroupFencedError,
  type GroupGeneration,
  hasKafkaError,
  type KafkaCluster,
  type PartitionOffset,
  PRODUCER_FENCING_ERRORS,
  ProducerFencedError,
  sendOffsetsToTransaction,
  type Transaction,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { streamsError } from '../errors.ts'
import type { ErrorHandlerContext, ProductionExceptionHandler } from '../processor/exception-handlers.ts'
import { Headers } from '../processor/record.ts'
import type { ProducedRecord, RecordCollector } from '../processor/record-collector.ts'
import type { RecordContext } from '../state/state-store.ts'

/** Errors about the records themselves: the broker refuses them, a retry cannot help, the handler decides. */
const RECORD_ERRORS = [
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_REQUIRED_ACKS',
]

/** What one request carries at most (below the brokers' default 1 MiB batch limit, with room for overhead). */
const MAX_REQUEST_BYTES = 512 * 1024
const MAX_REQUEST_RECORDS = 20000

interface Pending {
  readonly record: ProducedRecord
  readonly taskId: string
  readonly node: string | null
  /** The input record being processed when this was sent (for the handler's context), by reference. */
  readonly source: RecordContext | undefined
  readonly partition: number | undefined
  readonly size: number
  /** A dead-letter record from the handler: if the broker refuses it too, it is dropped (no handler loop). */
  readonly deadLetter?: boolean
}

type Message = {
  topic: string
  partition?: number
  key?: Buffer
  value?: Buffer
  timestamp: bigint
  headers?: Map<Buffer, Buffer>
}

export interface KafkaRecordCollectorOptions {
  readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly exactlyOnce: boolean
  readonly productionExceptionHandler: ProductionExceptionHandler
  /** Partition counts of topics known to the runtime (sinks, repartition and changelog topics). */
  readonly partitionCount: (topic: string) => number | undefined
  /** The input record a task is processing right now (for the production exception handler's context). */
  readonly recordContextOf?: (taskId: string) => RecordContext | undefined
  readonly log?: Logger
  readonly onSent?: (records: number) => void
}

export class KafkaRecordCollector implements RecordCollector {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #eos: boolean
  readonly #handler: ProductionExceptionHandler
  readonly #partitionCount: (topic: string) => number | undefined
  readonly #recordContextOf: (taskId: string) => RecordContext | undefined
  readonly #log: Logger | undefined
  readonly #onSent: ((records: number) => void) | undefined
  readonly #offsets = new Map<string, number>()
  #pending: Pending[] = []
  #pendingBytes = 0
  #inflight: Promise<void> | undefined
  #fatal: Error | undefined
  #transaction: Transaction | undefined
  #roundRobin = 0
  /** Records dropped because the broker refused them and the handler said continue. */
  droppedRecords = 0

  constructor(options: KafkaRecordCollectorOptions) {
    this.#producer = options.producer
    this.#eos = options.exactlyOnce
    this.#handler = options.productionExceptionHandler
    this.#partitionCount = options.partitionCount
    this.#recordContextOf = options.recordContextOf ?? (() => undefined)
    this.#log = options.log
    this.#onSent = options.onSent
  }

  get producer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    return this.#producer
  }

  /** Bytes waiting to be shipped (the runtime stops processing while this is too high). */
  get backlogBytes(): number {
    return this.#pendingBytes
  }

  get inTransaction(): boolean {
    return this.#transaction !== undefined
  }

  send(record: ProducedRecord, origin: { taskId: string; processorNodeId: string | null }, deadLetter = false): void {
    let partition = record.partition
    if (partition === undefined) {
      const count = this.#partitionCount(record.topic)
      if (count !== undefined) {
        partition = record.key === null ? this.#roundRobin++ % count : (murmur2(record.key) & 0x7fffffff) % count
      }
    }
    const size = (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64
    this.#pending.push({
      record,
      taskId: origin.taskId,
      node: origin.processorNodeId,
      source: this.#recordContextOf(origin.taskId),
      partition,
      size,
      deadLetter,
    })
    this.#pendingBytes += size
  }

  partitionsFor(topic: string): number | undefined {
    return this.#partitionCount(topic)
  }

  offsets(): ReadonlyMap<string, number> {
    return this.#offsets
  }

  /** Starts shipping what is buffered (if no request is in flight); returns at once. */
  sendPending(): void {
    if (this.#inflight || this.#pending.length === 0 || this.#fatal) return
    let bytes = 0
    let n = 0
    while (
      n < this.#pending.length &&
      n < MAX_REQUEST_RECORDS &&
      (n === 0 || bytes + this.#pending[n].size <= MAX_REQUEST_BYTES)
    ) {
      bytes += this.#pending[n].size
      n++
    }
    const batch = n === this.#pending.length ? this.#pending : this.#pending.slice(0, n)
    this.#pending = n === this.#pending.length ? [] : this.#pending.slice(n)
    this.#pendingBytes -= bytes
    this.#inflight = this.#ship(batch)
      .catch((error) => {
        this.#fatal ??= error instanceof Error ? error : new Error(String(error))
      })
      .finally(() => {
        this.#inflight = undefined
        this.sendPending()
      })
  }

  /** Waits until everything sent so far is acknowledged (or in the transaction); rejects on a fatal failure. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.#fatal) throw this.#fatal
      this.sendPending()
      if (!this.#inflight) break
      await this.#inflight
    }
    if (this.#fatal) throw this.#fatal
  }

  async #transactionNow(): Promise<Transaction> {
    if (!this.#transaction) {
      try {
        this.#transaction = (await this.#producer.beginTransaction()) as Transaction
      } catch (error) {
        throw this.#wrapFencing(error) ?? error
      }
    }
    return this.#transaction
  }

  #wrapFencing(error: unknown): Error | undefined {
    if (hasKafkaError(error, ...PRODUCER_FENCING_ERRORS)) {
      return new ProducerFencedError(`the producer was fenced: ${describeKafkaError(error)}`, { cause: error })
    }
    return undefined
  }

  async #produce(batch: readonly Pending[]): Promise<void> {
    const messages: Message[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const { record, partition } = batch[i]
      const m: Message = { topic: record.topic, timestamp: BigInt(record.timestamp) }
      if (partition !== undefined) m.partition = partition
      if (record.key !== null) m.key = record.key
      if (record.value !== null) m.value = record.value
      if (record.headers.size > 0) {
        const headers = new Map<Buffer, Buffer>()
        for (const h of record.headers) headers.set(Buffer.from(h.key, 'utf8'), h.value ?? Buffer.alloc(0))
        m.headers = headers
      }
      messages[i] = m
    }
    const result = this.#eos
      ? await (await this.#transactionNow()).send({ messages: messages as never })
      : await this.#producer.send({ messages: messages as never, acks: -1 })
    // One batch per partition per request: the last record's offset is the base offset + count - 1.
    const counts = new Map<string, number>()
    for (const m of messages) {
      if (m.partition === undefined) continue
      const k = `${m.topic}:${m.partition}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    for (const o of result.offsets ?? []) {
      const k = `${o.topic}:${o.partition}`
      const n = counts.get(k)
      if (n !== undefined) this.#offsets.set(k, Number(o.offset) + n - 1)
    }
    this.#onSent?.(messages.length)
  }

  async #ship(batch: Pending[]): Promise<void> {
    try {
      await this.#produce(batch)
      return
    } catch (error) {
      const fenced = this.#wrapFencing(error)
      if (fenced) throw fenced
      if (!hasKafkaError(error, ...RECORD_ERRORS)) {
        throw streamsError(
          'TRB_STREAMS_PRODUCTION_FAILED',
          `producing ${batch.length} record(s) failed: ${describeKafkaError(error)}`,
          error,
        )
      }
    }
    // Some record was refused: send them one by one to find which, and ask the handler about each.
    for (const p of batch) {
      try {
        await this.#produce([p])
      } catch (error) {
        const fenced = this.#wrapFencing(error)
        if (fenced) throw fenced
        if (!hasKafkaError(error, ...RECORD_ERRORS)) {
          throw streamsError(
            'TRB_STREAMS_PRODUCTION_FAILED',
            `producing to ${p.record.topic} failed: ${describeKafkaError(error)}`,
            error,
          )
        }
        if (p.deadLetter) {
          this.droppedRecords++
          this.#log?.error('dead-letter record refused by the broker, dropped', {
            topic: p.record.topic,
            task: p.taskId,
            error: describeKafkaError(error),
          })
          continue
        }
        const cause = new Error(describeKafkaError(error), { cause: error })
        const response = this.#handler.handle(this.#context(p), p.record, cause)
        if (response?.action !== 'continue') {
          throw streamsError(
            'TRB_STREAMS_PRODUCTION_FAILED',
            `the broker refused a record for ${p.record.topic} (task ${p.taskId}): ${describeKafkaError(error)} ` +
              '(set production.exception.handler to logAndContinue to skip such records)',
            error,
          )
        }
        this.droppedRecords++
        this.#log?.warn('record refused by the broker, skipped', {
          topic: p.record.topic,
          task: p.taskId,
          error: describeKafkaError(error),
        })
        for (const dead of response.deadLetterRecords ?? []) {
          this.send(dead, { taskId: p.taskId, processorNodeId: p.node }, true)
        }
      }
    }
  }

  #context(p: Pending): ErrorHandlerContext {
    const rc = p.source as (RecordContext & { rawKey?: Buffer | null; rawValue?: Buffer | null }) | undefined
    return {
      topic: rc?.topic ?? null,
      partition: rc?.partition ?? -1,
      offset: rc?.offset ?? -1,
      timestamp: rc?.timestamp ?? p.record.timestamp,
      headers: rc?.headers ?? new Headers(),
      processorNodeId: p.node,
      taskId: p.taskId,
      sourceRawKey: rc?.rawKey ?? null,
      sourceRawValue: rc?.rawValue ?? null,
    }
  }

  /**
   * exactly_once_v2: flushes, adds the input offsets to the transaction (fenced by the group generation) and
   * commits it. Opens a transaction first when nothing was produced, so the offsets still commit.
   */
  async commitTransaction(
    cluster: KafkaCluster,
    group: GroupGeneration,
    offsets: readonly PartitionOffset[],
  ): Promise<void> {
    await this.flush()
    if (!this.#transaction && offsets.length === 0) return
    const transaction = await this.#transactionNow()
    try {
      await sendOffsetsToTransaction({ producer: this.#producer, transaction, cluster, group, offsets })
      await transaction.commit()
    } catch (error) {
      if (error instanceof GroupFencedError || error instanceof ProducerFencedError) throw error
      throw this.#wrapFencing(error) ?? error
    } finally {
      if (transaction.completed) this.#transaction = undefined
    }
  }

  /** Aborts the open transaction (if any) and drops what was not shipped yet. */
  async abortTransaction(): Promise<void> {
    this.#pending = []
    this.#pendingBytes = 0
    if (this.#inflight) await this.#inflight.catch(() => {})
    const transaction = this.#transaction
    this.#transaction = undefined
    this.#fatal = undefined
    if (!transaction || transaction.completed) return
    try {
      await transaction.abort()
    } catch (error) {
      this.#log?.warn('aborting the transaction failed (it times out on the broker)', {
        error: describeKafkaError(error),
      })
      try {
        await transaction.cancel()
      } catch {
        // the producer is replaced after a failed abort
      }
    }
  }

  /** Drops everything unshipped and any failure (after tasks were closed dirty). */
  reset(): void {
    this.#pending = []
    this.#pendingBytes = 0
    this.#fatal = undefined
  }

  forgetOffsets(topicPartitions: Iterable<string>): void {
    for (const tp of topicPartitions) this.#offsets.delete(tp)
  }
}
