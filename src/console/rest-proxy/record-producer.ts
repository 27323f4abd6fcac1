/**
 * Sends REST records through one principal's @platformatic/kafka producer. Records that arrive while a send is in
 * flight are gathered into the next send (no timer: an idle proxy sends at once, a busy one sends big batches),
 * and partitions are chosen here — Kafka's default partitioner: murmur2 of the key, round robin without one — so
 * each record's own offset is known from its partition's base offset in the answer.
 */
import type { Producer } from '@platformatic/kafka'
import { partitionForKey } from '../../client/partitioner.ts'
import { fromKafkaError, partitionNotFound, payloadTooLarge, RestProxyError } from './errors.ts'

const unknownTopic = () =>
  new RestProxyError(404, 40403, 'This server does not host this topic-partition.', 'TRB_REST_UNKNOWN_TOPIC')

export interface OutgoingRecord {
  topic: string
  partition?: number | null
  key: Buffer | null
  value: Buffer | null
  headers: [string, Buffer | null][]
  timestamp: number
}

export interface Delivery {
  topic: string
  partition: number
  offset: bigint
  timestamp: number
}

interface Pending {
  record: OutgoingRecord & { partition: number }
  resolve(d: Delivery): void
  reject(e: RestProxyError): void
}

const MAX_BATCH_RECORDS = 5000
const MAX_BATCH_BYTES = 4 * 1024 * 1024

export function recordSize(record: Pick<OutgoingRecord, 'key' | 'value' | 'headers'>): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0)
  for (const [name, value] of record.headers) size += Buffer.byteLength(name) + (value?.length ?? 0)
  return size
}

export class RecordProducer {
  readonly #producer: Producer
  readonly #maxRecordBytes: number
  #queue: Pending[] = []
  #inFlight = false
  readonly #roundRobin = new Map<string, number>()

  constructor(producer: Producer, options: { maxRecordBytes: number }) {
    this.#producer = producer
    this.#maxRecordBytes = options.maxRecordBytes
  }

  /** Partition count of a topic (404 40403 when it does not exist). */
  async partitions(topic: string): Promise<number> {
    try {
      const metadata = await this.#producer.metadata({ topics: [topic], autocreateTopics: false })
      const t = metadata.topics.get(topic)
      if (!t) throw unknownTopic()
      return t.partitionsCount
    } catch (error) {
      const mapped = fromKafkaError(error)
      if (mapped.status === 404 || /unknown topic/i.test((error as Error).message ?? '')) throw unknownTopic()
      throw mapped
    }
  }

  /** Checks and places a record; the returned promise settles when the broker has acknowledged it. */
  async send(record: OutgoingRecord): Promise<Delivery> {
    if (recordSize(record) > this.#maxRecordBytes) throw payloadTooLarge()
    const count = await this.partitions(record.topic)
    let partition: number
    if (record.partition !== undefined && record.partition !== null) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw partitionNotFound()
      }
      partition = record.partition
    } else if (record.key) {
      partition = partitionForKey(record.key, count)
    } else {
      const next = this.#roundRobin.get(record.topic) ?? 0
      this.#roundRobin.set(record.topic, next + 1)
      partition = next % count
    }
    return new Promise<Delivery>((resolve, reject) => {
      this.#queue.push({ record: { ...record, partition }, resolve, reject })
      if (!this.#inFlight) this.#flush()
    })
  }

  #flush(): void {
    if (this.#queue.length === 0) {
      this.#inFlight = false
      return
    }
    this.#inFlight = true
    let bytes = 0
    let n = 0
    while (n < this.#queue.length && n < MAX_BATCH_RECORDS) {
      bytes += recordSize(this.#queue[n].record) + 64
      if (n > 0 && bytes > MAX_BATCH_BYTES) break
      n++
    }
    const batch = this.#queue.splice(0, n)
    const messages = batch.map(({ record }) => ({
      topic: record.topic,
      partition: record.partition,
      key: record.key ?? undefined,
      value: record.value ?? undefined,
      headers: new Map(record.headers.map(([k, v]) => [Buffer.from(k), v ?? Buffer.alloc(0)])),
      timestamp: BigInt(record.timestamp),
    }))
    this.#producer.send({ messages: messages as never, acks: -1 }).then(
      (result) => {
        const base = new Map<string, bigint>()
        for (const o of result.offsets ?? []) base.set(`${o.topic}\u0000${o.partition}`, o.offset)
        const seen = new Map<string, bigint>()
        for (const p of batch) {
          const key = `${p.record.topic}\u0000${p.record.partition}`
          const index = seen.get(key) ?? 0n
          seen.set(key, index + 1n)
          const start = base.get(key)
          if (start === undefined) p.reject(fromKafkaError(new Error('the broker did not acknowledge the record')))
          else
            p.resolve({
              topic: p.record.topic,
              partition: p.record.partition,
              offset: start + index,
              timestamp: p.record.timestamp,
            })
        }
        this.#flush()
      },
      (error) => {
        const mapped = fromKafkaError(error)
        for (const p of batch) p.reject(mapped)
        this.#flush()
      },
    )
  }
}
