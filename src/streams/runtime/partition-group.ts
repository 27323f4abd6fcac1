import type { SyncSerde } from '../../serde/serde.ts'
import type { Header } from '../processor/record.ts'
import { Headers } from '../processor/record.ts'
import { FailOnInvalidTimestamp, type TimestampExtractor } from '../processor/timestamp-extractor.ts'

/** A record as the consumer hands it to a task: bytes, position, timestamp, headers. */
export interface ConsumerRecordLike {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers?: Headers | readonly Header[]
}

/** A deserialized input record with its extracted timestamp, ready to process. */
export interface StampedRecord {
  readonly raw: ConsumerRecordLike
  readonly key: unknown
  readonly value: unknown
  readonly timestamp: number
  readonly headers: Headers
}

export interface QueueSource {
  readonly name: string
  readonly keySerde: SyncSerde<unknown>
  readonly valueSerde: SyncSerde<unknown>
  readonly extractor: TimestampExtractor
}

/** What the queue reports back while decoding heads: skipped records and serdes that need preparation. */
export interface QueueHooks {
  /** Returns the decoded record, or undefined to skip it (the handler said CONTINUE). Throws to fail. */
  deserialize(queue: RecordQueue, raw: ConsumerRecordLike): { key: unknown; value: unknown } | undefined | 'not-ready'
  /** A record dropped for a negative timestamp. */
  dropped(raw: ConsumerRecordLike, reason: string): void
}

/**
 * The buffered records of one input partition (Kafka Streams' RecordQueue). Only the head is deserialized, so that
 * its timestamp can be compared with the other partitions' heads.
 */
export class RecordQueue {
  readonly topic: string
  readonly partition: number
  readonly source: QueueSource
  readonly #fifo: ConsumerRecordLike[] = []
  #fifoStart = 0
  #head: StampedRecord | undefined
  /** The highest timestamp of a record taken from this queue (-1 before any). */
  partitionTime = -1
  /** The offset of the last record taken or skipped (what a commit covers), -1 before any. */
  lastOffset = -1
  /** Set while the head's serde waits for an asynchronous preparation. */
  blocked = false
  readonly #hooks: QueueHooks

  constructor(topic: string, partition: number, source: QueueSource, hooks: QueueHooks) {
    this.topic = topic
    this.partition = partition
    this.source = source
    this.#hooks = hooks
  }

  get size(): number {
    return this.#fifo.length - this.#fifoStart + (this.#head ? 1 : 0)
  }

  isEmpty(): boolean {
    return this.size === 0
  }

  add(records: Iterable<ConsumerRecordLike>): void {
    for (const r of records) this.#fifo.push(r)
    this.updateHead()
  }

  headTimestamp(): number {
    return this.#head ? this.#head.timestamp : -1
  }

  hasHead(): boolean {
    return this.#head !== undefined
  }

  poll(): StampedRecord | undefined {
    const head = this.#head
    if (!head) return undefined
    this.#head = undefined
    this.partitionTime = Math.max(this.partitionTime, head.timestamp)
    this.lastOffset = head.raw.offset
    this.updateHead()
    return head
  }

  updateHead(): void {
    this.blocked = false
    while (!this.#head && this.#fifoStart < this.#fifo.length) {
      const raw = this.#fifo[this.#fifoStart]
      const decoded = this.#hooks.deserialize(this, raw)
      if (decoded === 'not-ready') {
        this.blocked = true
        return
      }
      this.#fifoStart++
      if (decoded === undefined) {
        this.lastOffset = raw.offset
        continue
      }
      const headers =
        raw.headers instanceof Headers
          ? raw.headers
          : raw.headers === undefined || raw.headers.length === 0
            ? new Headers()
            : new Headers(raw.headers)
      // The default extractor takes the record's own timestamp: no need to build its view of the record for that.
      const timestamp =
        this.source.extractor === FailOnInvalidTimestamp && raw.timestamp >= 0
          ? raw.timestamp
          : this.source.extractor.extract(
              {
                topic: raw.topic,
                partition: raw.partition,
                offset: raw.offset,
                timestamp: raw.timestamp,
                key: decoded.key,
                value: decoded.value,
                headers,
              },
              this.partitionTime,
            )
      if (!(timestamp >= 0)) {
        this.#hooks.dropped(raw, `negative extracted timestamp ${timestamp} (extractor ${this.source.extractor.name})`)
        this.lastOffset = raw.offset
        continue
      }
      this.#head = { raw, key: decoded.key, value: decoded.value, timestamp, headers }
    }
    if (this.#fifoStart > 1024 && this.#fifoStart * 2 > this.#fifo.length) {
      this.#fifo.splice(0, this.#fifoStart)
      this.#fifoStart = 0
    }
  }

  clear(): void {
    this.#fifo.length = 0
    this.#fifoStart = 0
    this.#head = undefined
  }
}

/**
 * The input partitions of a task (Kafka Streams' PartitionGroup): picks the next record as the head with the lowest
 * timestamp, and keeps the task's stream time (the highest timestamp processed).
 */
export class PartitionGroup {
  readonly queues = new Map<string, RecordQueue>()
  streamTime = -1

  static key(topic: string, partition: number): string {
    return `${topic}:${partition}`
  }

  add(queue: RecordQueue): void {
    this.queues.set(PartitionGroup.key(queue.topic, queue.partition), queue)
  }

  queue(topic: string, partition: number): RecordQueue | undefined {
    return this.queues.get(PartitionGroup.key(topic, partition))
  }

  /** Whether every partition has a decoded head (what makes the choice deterministic). */
  allBuffered(): boolean {
    for (const q of this.queues.values()) if (!q.hasHead()) return false
    return true
  }

  anyBuffered(): boolean {
    for (const q of this.queues.values()) if (q.hasHead()) return true
    return false
  }

  numBuffered(): number {
    let n = 0
    for (const q of this.queues.values()) n += q.size
    return n
  }

  /** The head with the lowest timestamp (ties: the partition added first). */
  nextQueue(): RecordQueue | undefined {
    let best: RecordQueue | undefined
    for (const q of this.queues.values()) {
      if (!q.hasHead()) continue
      if (!best || q.headTimestamp() < best.headTimestamp()) best = q
    }
    return best
  }
}
