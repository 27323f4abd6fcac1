/**
 * The runtime's RecordCollector (Kafka Streams' RecordCollectorImpl + StreamsProducer): everything the tasks of an
 * instance produce (outputs, repartition and changelog records, dead letters) goes through one producer. Sends are
 * buffered and shipped in batches, one request in flight at a time (so the order per partition holds and the
 * idempotent producer's sequences stay right), written by the client's BatchProducer (one record batch per partition,
 * encoded in one pass); the @platformatic/kafka Producer runs the transactions (begin, add partitions, offsets,
 * commit, abort). Under exactly_once_v2 every batch goes into the open transaction,
 * which `commitTransaction` closes together with the input offsets. A record the broker refuses goes to the
 * production exception handler (continue: dropped, dead-lettered; fail: the flush rejects).
 */
import type { Producer } from '@platformatic/kafka'
import {
  type BatchProducer,
  describeKafkaError,
  GroupFencedError,
  type GroupGeneration,
  hasKafkaError,
  type KafkaCluster,
  type PartitionBatch,
  type PartitionOffset,
  PRODUCER_FENCING_ERRORS,
  ProducerFencedError,
  type ProducerIdentity,
  partitionForKey,
  sendOffsetsToTransaction,
  type Transaction,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { StreamsError, streamsError } from '../errors.ts'
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
  /** Set when the record is shipped if the topic's partition count was not known at send(). */
  partition: number | undefined
  readonly size: number
  /** A dead-letter record from the handler: if the broker refuses it too, it is dropped (no handler loop). */
  readonly deadLetter?: boolean
}

export interface KafkaRecordCollectorOptions {
  /** Runs the transactions under exactly_once_v2 (its producer id and epoch are the batches' identity). */
  readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>
  /** Writes the record batches. */
  readonly batchProducer: BatchProducer
  /** Partition counts of topics the runtime does not know (a sink's topic chosen per record). */
  readonly cluster: KafkaCluster
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
  readonly #batches: BatchProducer
  readonly #cluster: KafkaCluster
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
  /** Partitions (`topic:partition`) added to the open transaction. */
  readonly #inTransaction = new Set<string>()
  #roundRobin = 0
  /** Records dropped because the broker refused them and the handler said continue. */
  droppedRecords = 0

  constructor(options: KafkaRecordCollectorOptions) {
    this.#producer = options.producer
    this.#batches = options.batchProducer
    this.#cluster = options.cluster
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
        partition = record.key === null ? this.#roundRobin++ % count : partitionForKey(record.key, count)
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
        this.#inTransaction.clear()
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

  /** Partitions for records sent before their topic's partition count was known (Kafka's default partitioner). */
  async #placeAll(batch: readonly Pending[]): Promise<void> {
    const unknown = [...new Set(batch.filter((p) => p.partition === undefined).map((p) => p.record.topic))]
    if (unknown.length === 0) return
    const metadata = await this.#cluster.metadata(unknown)
    for (const p of batch) {
      if (p.partition !== undefined) continue
      const { record } = p
      const count = metadata.topics.get(record.topic)?.partitionsCount
      if (!count) {
        throw streamsError('TRB_STREAMS_PRODUCTION_FAILED', `topic ${record.topic} is not in the cluster metadata`)
      }
      p.partition = record.key === null ? this.#roundRobin++ % count : partitionForKey(record.key, count)
    }
  }

  /**
   * Writes the records, one batch per partition in send order. Resolves with the partitions whose batch the broker
   * refused (each with its error); throws when the producer was fenced or a failure is not about the records.
   */
  async #produce(batch: readonly Pending[]): Promise<Map<string, Error>> {
    await this.#placeAll(batch)
    const byPartition = new Map<string, { topic: string; partition: number; records: ProducedRecord[] }>()
    for (const { record, partition } of batch) {
      const k = `${record.topic}:${partition}`
      const entry = byPartition.get(k)
      if (entry) entry.records.push(record)
      else byPartition.set(k, { topic: record.topic, partition: partition!, records: [record] })
    }
    const batches: PartitionBatch[] = [...byPartition.values()]
    let identity: ProducerIdentity | undefined
    if (this.#eos) {
      const transaction = await this.#transactionNow()
      const added = batches.filter((b) => !this.#inTransaction.has(`${b.topic}:${b.partition}`))
      if (added.length > 0) {
        try {
          const metadata = await this.#producer.metadata({ topics: [...new Set(added.map((b) => b.topic))] })
          await transaction.addPartitions(
            metadata,
            added.map((b) => ({ topic: b.topic, partition: b.partition }) as never),
          )
        } catch (error) {
          throw this.#wrapFencing(error) ?? error
        }
        for (const b of added) this.#inTransaction.add(`${b.topic}:${b.partition}`)
      }
      identity = {
        producerId: Number(this.#producer.producerId),
        producerEpoch: Number(this.#producer.producerEpoch),
        transactionalId: transaction.id,
      }
    }
    const outcome = await this.#batches.produce(batches, identity)
    for (const [k, error] of outcome.failures) {
      const fenced = this.#wrapFencing(error)
      if (fenced) throw fenced
      if (!hasKafkaError(error, ...RECORD_ERRORS)) {
        throw streamsError(
          'TRB_STREAMS_PRODUCTION_FAILED',
          `producing to ${k} failed: ${describeKafkaError(error)}`,
          error,
        )
      }
    }
    let sent = 0
    for (const [k, base] of outcome.baseOffsets) {
      const n = byPartition.get(k)!.records.length
      this.#offsets.set(k, base + n - 1)
      sent += n
    }
    if (sent > 0) this.#onSent?.(sent)
    return outcome.failures
  }

  async #ship(batch: Pending[]): Promise<void> {
    const failures = await this.#produceOrThrow(batch)
    if (failures.size === 0) return
    // A partition's batch was refused: send its records one by one to find which, and ask the handler about each.
    for (const p of batch) {
      if (!failures.has(`${p.record.topic}:${p.partition}`)) continue
      const error = (await this.#produceOrThrow([p])).values().next().value
      if (error) {
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

  async #produceOrThrow(batch: readonly Pending[]): Promise<Map<string, Error>> {
    try {
      return await this.#produce(batch)
    } catch (error) {
      const fenced = this.#wrapFencing(error)
      if (fenced) throw fenced
      if (error instanceof ProducerFencedError || error instanceof StreamsError) throw error
      throw streamsError(
        'TRB_STREAMS_PRODUCTION_FAILED',
        `producing ${batch.length} record(s) failed: ${describeKafkaError(error)}`,
        error,
      )
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
