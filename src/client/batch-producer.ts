/**
 * Produces records already serialized and partitioned, straight with the Produce API: one v2 batch per partition,
 * encoded in one pass (src/protocol's encodeProducerBatch), one request per partition leader, all leaders at once.
 * The producer's identity (id, epoch, transactional or not) comes from the caller, who runs the transaction's
 * control requests (InitProducerId, AddPartitionsToTxn, EndTxn) with @platformatic/kafka's Producer; this class
 * keeps the per-partition sequence numbers of that identity, retries what Kafka says may be retried (after a
 * metadata refresh when the leader moved), and reports, per partition, the base offset or the error.
 *
 * Used by the streams runtime for its output (throughput: @platformatic/kafka's Producer builds each record with a
 * growable writer and hashes keys with BigInt arithmetic; see docs/decisions/0008-streams-record-batches.md).
 */
import { createAPI, ProtocolError, produceV11, Writer } from '@platformatic/kafka'
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import { initCompression } from '../protocol/compression.ts'
import { encodeProducerBatch, NO_SEQUENCE, type OutgoingRecord } from '../protocol/record-batch.ts'
import { describeKafkaError, hasKafkaError, isNetworkError, type KafkaCluster, responseOf } from './kafka-cluster.ts'

/** The records of one partition, in the order they are to be appended. */
export interface PartitionBatch {
  readonly topic: string
  readonly partition: number
  readonly records: readonly OutgoingRecord[]
}

/** Who produces: a non-idempotent producer has no identity (producer id -1, no sequences). */
export interface ProducerIdentity {
  readonly producerId: number
  readonly producerEpoch: number
  readonly transactionalId?: string
}

export interface BatchProducerOptions {
  readonly cluster: KafkaCluster
  /** -1 (all in-sync replicas, the default) or 1 (the leader). */
  readonly acks?: -1 | 1
  /** How long the broker may wait for replication before answering (the Produce request's timeout), ms. */
  readonly timeoutMs?: number
  /** Attempts after the first for a partition the broker refused with an error Kafka marks retriable (default 5). */
  readonly retries?: number
  /**
   * How long a call keeps retrying while the cluster cannot be reached (a lost connection, a broker restarting, no
   * leader), as Kafka's `delivery.timeout.ms` (default 120000); the partitions still unwritten then fail.
   */
  readonly deliveryTimeoutMs?: number
  /** The first pause between attempts; it doubles up to 1 s (Kafka's retry.backoff.ms / retry.backoff.max.ms). */
  readonly retryBackoffMs?: number
  /** Codec of the batches (`compression.type`): 0 none (default), 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  readonly compression?: number
  readonly log?: Logger
}

/** Per partition (`topic:partition`): the offset of its first record, or why it was not written. */
export interface ProduceOutcome {
  readonly baseOffsets: Map<string, number>
  readonly failures: Map<string, Error>
}

interface ProducePartitionResponse {
  index: number
  errorCode: number
  baseOffset: bigint
  errorMessage: string | null
}

interface ProduceResponse {
  responses: Array<{ name: string; partitionResponses: ProducePartitionResponse[] }>
}

interface Encoded {
  readonly topic: string
  readonly partition: number
  readonly batch: Buffer
  readonly count: number
  readonly baseSequence: number
}

const DUPLICATE_SEQUENCE_NUMBER = 46
const MAX_BACKOFF_MS = 1000

/** A lost connection, a timeout or a partition without a leader: the cluster, not the records, is the problem. */
function isUnreachable(error: Error | undefined): boolean {
  return (
    error !== undefined &&
    (isNetworkError(error) ||
      (error as { code?: string }).code === 'TRB_CLIENT_UNKNOWN_PARTITION' ||
      hasKafkaError(error, 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE'))
  )
}
const MIN_VERSION = 9
const MAX_VERSION = 11

/**
 * Produce v9–v11 requests (flexible versions; the same layout) whose record batches are already encoded.
 * The response is @platformatic/kafka's v11 parser (v9 and v10 answers read the same).
 */
function createRequest(transactionalId: string | null, acks: number, timeoutMs: number, batches: Encoded[]) {
  const byTopic = new Map<string, Encoded[]>()
  for (const b of batches) {
    const list = byTopic.get(b.topic)
    if (list) list.push(b)
    else byTopic.set(b.topic, [b])
  }
  return Writer.create()
    .appendString(transactionalId)
    .appendInt16(acks)
    .appendInt32(timeoutMs)
    .appendArray([...byTopic], (w, [topic, list]) => {
      w.appendString(topic).appendArray(list, (w, b) => {
        w.appendInt32(b.partition)
          .appendUnsignedVarInt(b.batch.length + 1)
          .append(b.batch)
      })
    })
    .appendTaggedFields()
}

/** Sequences wrap from 2^31 - 1 to 0, as Kafka's. */
function nextSequence(sequence: number, increment: number): number {
  const max = 0x7fffffff
  return sequence > max - increment ? increment - (max - sequence) - 1 : sequence + increment
}

export class BatchProducer {
  readonly #cluster: KafkaCluster
  readonly #acks: -1 | 1
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #backoffMs: number
  readonly #deliveryTimeoutMs: number
  readonly #compression: number
  readonly #log: Logger | undefined
  /** Next sequence per partition, valid for the identity in #sequencesOf. */
  readonly #sequences = new Map<string, number>()
  #sequencesOf = ''
  #apis = new Map<number, ReturnType<typeof createAPI>>()

  constructor(options: BatchProducerOptions) {
    this.#cluster = options.cluster
    this.#acks = options.acks ?? -1
    this.#timeoutMs = options.timeoutMs ?? 30000
    this.#retries = options.retries ?? 5
    this.#backoffMs = options.retryBackoffMs ?? 100
    this.#deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120000
    this.#compression = options.compression ?? 0
    this.#log = options.log
  }

  /**
   * Writes each partition's records as one batch. Resolves when every partition has a result: its base offset, or
   * the error that stopped it (a retriable one after the retries ran out). Rejects only when no request could be
   * sent at all (no metadata, an API version the broker lacks).
   */
  async produce(batches: readonly PartitionBatch[], identity?: ProducerIdentity): Promise<ProduceOutcome> {
    const id = identity ? `${identity.producerId}:${identity.producerEpoch}` : ''
    if (id !== this.#sequencesOf) {
      // A new producer id or epoch starts every partition's sequence at 0 (Kafka's idempotence rules).
      this.#sequences.clear()
      this.#sequencesOf = id
    }
    if (this.#compression !== 0) await initCompression()
    const outcome: ProduceOutcome = { baseOffsets: new Map(), failures: new Map() }
    let todo: Encoded[] = batches
      .filter((b) => b.records.length > 0)
      .map((b) => {
        const key = `${b.topic}:${b.partition}`
        const baseSequence = identity ? (this.#sequences.get(key) ?? 0) : NO_SEQUENCE
        return {
          topic: b.topic,
          partition: b.partition,
          count: b.records.length,
          baseSequence,
          batch: encodeProducerBatch(b.records, 0, b.records.length, {
            producerId: identity ? identity.producerId : -1,
            producerEpoch: identity ? identity.producerEpoch : -1,
            baseSequence,
            transactional: identity?.transactionalId !== undefined,
            compression: this.#compression,
          }),
        }
      })
    const deadline = Date.now() + this.#deliveryTimeoutMs
    let refusals = 0
    for (let attempt = 0; todo.length > 0; attempt++) {
      const retry: Encoded[] = []
      const lastErrors = new Map<string, Error>()
      const stale = await this.#sendAll(todo, identity, outcome, retry, lastErrors)
      if (retry.length === 0) break
      // A broker's retriable refusal counts against `retries`; an unreachable cluster only against the deadline.
      const unreachable = retry.every((b) => isUnreachable(lastErrors.get(`${b.topic}:${b.partition}`)))
      if (!unreachable) refusals++
      const backoff = Math.min(this.#backoffMs * 2 ** attempt, MAX_BACKOFF_MS)
      if (refusals > this.#retries || Date.now() + backoff > deadline) {
        for (const b of retry) {
          const key = `${b.topic}:${b.partition}`
          outcome.failures.set(key, lastErrors.get(key) ?? new Error('produce failed'))
        }
        break
      }
      this.#log?.debug('produce: retrying partitions', { partitions: retry.length, attempt: attempt + 1 })
      await new Promise((resolve) => setTimeout(resolve, backoff))
      if (stale) await this.#cluster.metadata([...new Set(retry.map((b) => b.topic))], true).catch(() => {})
      todo = retry
    }
    return outcome
  }

  /** One round: a request per leader. Returns whether metadata looked stale. */
  async #sendAll(
    todo: Encoded[],
    identity: ProducerIdentity | undefined,
    outcome: ProduceOutcome,
    retry: Encoded[],
    lastErrors: Map<string, Error>,
  ): Promise<boolean> {
    const topics = [...new Set(todo.map((b) => b.topic))]
    let metadata: Awaited<ReturnType<KafkaCluster['metadata']>>
    let api: ReturnType<typeof createAPI>
    try {
      metadata = await this.#cluster.metadata(topics)
      api = await this.#api()
    } catch (error) {
      if (!isNetworkError(error)) throw error
      // The cluster cannot be reached right now: everything waits for the next round.
      for (const b of todo) {
        lastErrors.set(`${b.topic}:${b.partition}`, error as Error)
        retry.push(b)
      }
      return true
    }
    const byLeader = new Map<number, Encoded[]>()
    let stale = false
    for (const b of todo) {
      const leader = metadata.topics.get(b.topic)?.partitions[b.partition]?.leader
      if (leader === undefined || leader < 0) {
        stale = true
        retry.push(b)
        lastErrors.set(
          `${b.topic}:${b.partition}`,
          new TributaryError('TRB_CLIENT_UNKNOWN_PARTITION', `${b.topic}-${b.partition} has no leader in the metadata`),
        )
        continue
      }
      const list = byLeader.get(leader)
      if (list) list.push(b)
      else byLeader.set(leader, [b])
    }
    const rounds = [...byLeader].map(async ([leader, list]) => {
      let response: ProduceResponse
      try {
        const connection = await this.#cluster.connection(leader)
        response = (await api.async(
          connection,
          identity?.transactionalId ?? null,
          this.#acks,
          this.#timeoutMs,
          list,
        )) as ProduceResponse
      } catch (error) {
        const partial = responseOf<ProduceResponse>(error)
        if (!partial?.responses) {
          // The request as a whole failed: a lost connection or a timeout is retried (same sequences, so an
          // idempotent producer's broker drops what it already has); anything else is this request's answer.
          const retriable = isNetworkError(error)
          if (retriable) stale = true
          for (const b of list) {
            lastErrors.set(`${b.topic}:${b.partition}`, error as Error)
            if (retriable) retry.push(b)
            else outcome.failures.set(`${b.topic}:${b.partition}`, error as Error)
          }
          this.#log?.debug('produce request failed', { leader, error: describeKafkaError(error) })
          return
        }
        response = partial
      }
      const sent = new Map(list.map((b) => [`${b.topic}:${b.partition}`, b]))
      for (const t of response.responses) {
        for (const p of t.partitionResponses) {
          const key = `${t.name}:${p.index}`
          const b = sent.get(key)
          if (!b) continue
          sent.delete(key)
          if (p.errorCode === 0 || p.errorCode === DUPLICATE_SEQUENCE_NUMBER) {
            outcome.baseOffsets.set(key, Number(p.baseOffset))
            if (identity) this.#sequences.set(key, nextSequence(b.baseSequence, b.count))
            continue
          }
          const error = new ProtocolError(p.errorCode, p.errorMessage)
          lastErrors.set(key, error)
          if (error.canRetry) {
            if (error.hasStaleMetadata) stale = true
            retry.push(b)
          } else {
            outcome.failures.set(key, error)
          }
        }
      }
      for (const [key, b] of sent) {
        lastErrors.set(key, new Error(`the broker did not answer for ${key}`))
        retry.push(b)
      }
    })
    await Promise.all(rounds)
    return stale
  }

  /** Closes the cluster connections this producer was given. */
  close(): Promise<void> {
    return this.#cluster.close()
  }

  /** The Produce API at the version the broker and this class share (v9–v11). */
  async #api(): Promise<ReturnType<typeof createAPI>> {
    const negotiated = await this.#cluster.api('Produce')
    const version = Math.min(negotiated.version, MAX_VERSION)
    if (version < MIN_VERSION) {
      throw new TributaryError(
        'TRB_CLIENT_UNSUPPORTED_VERSION',
        `the broker supports Produce up to v${negotiated.version}; the streams runtime needs v${MIN_VERSION} or later (Kafka 2.4+)`,
      )
    }
    let api = this.#apis.get(version)
    if (!api) {
      api = createAPI(0, version, createRequest, produceV11.parseResponse)
      this.#apis.set(version, api)
    }
    return api
  }
}
