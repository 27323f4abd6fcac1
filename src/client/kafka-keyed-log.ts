import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, Producer } from '@platformatic/kafka'
import type { KeyedLog, KeyedRecord, LoggedRecord, ReplayOptions } from '../common/keyed-log.ts'
import type { TributaryErrorCode } from '../errors.ts'
import { createAdmin, createConsumer, createProducer, ensureTopic } from './clients.ts'
import { kafkaUnreachable } from './unreachable.ts'

export interface KafkaKeyedLogOptions {
  /** The topic; created on first use with one partition and `topicConfigs` when it does not exist. */
  topic: string
  bootstrap?: string | string[]
  /** Prefix of the client ids of the log's admin, producer and reader. */
  clientId?: string
  /** Configs of the topic when it is created (default `cleanup.policy=compact`). */
  topicConfigs?: Record<string, string>
  /** The code of the error raised when the cluster cannot be reached (default TRB_CLIENT_KAFKA_UNREACHABLE). */
  unreachableCode?: TributaryErrorCode
}

const IS_CONTROL_BATCH = 0x20
const OFFSET_OUT_OF_RANGE = 1
const RETRY_DELAY_MS = 200

/**
 * A KeyedLog on partition 0 of a Kafka topic, through the Kafka client, so it works against Tributary's broker or
 * any Kafka cluster. The log is read with plain Fetch requests to the partition leader: no consumer group (nothing
 * to commit, no rebalance delay at start), so every owner reads the whole log, as Kafka Connect's KafkaBasedLog
 * does. Appends wait for acks=-1.
 */
export class KafkaKeyedLog implements KeyedLog {
  readonly topic: string
  #bootstrap?: string | string[]
  #clientId: string
  #topicConfigs: Record<string, string>
  #unreachableCode?: TributaryErrorCode
  #admin?: Admin
  #producer?: Producer
  #readers = new Set<Consumer>()
  #ready?: Promise<void>
  #closed = false
  #reading = new Set<Promise<void>>()

  constructor(options: KafkaKeyedLogOptions) {
    this.topic = options.topic
    this.#bootstrap = options.bootstrap
    this.#clientId = options.clientId ?? 'tributary-keyed-log'
    this.#topicConfigs = options.topicConfigs ?? { 'cleanup.policy': 'compact' }
    this.#unreachableCode = options.unreachableCode
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      this.#admin = createAdmin({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-admin` })
      try {
        await ensureTopic(this.#admin, this.topic, { partitions: 1, configs: this.#topicConfigs })
      } catch (err) {
        throw kafkaUnreachable(this.#bootstrap, `creating or finding topic ${this.topic}`, err, this.#unreachableCode)
      }
      this.#producer = createProducer({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-producer`, acks: -1 })
    })()
    return this.#ready
  }

  async append(records: readonly KeyedRecord[]): Promise<number> {
    if (this.#closed) throw new Error(`keyed log ${this.topic} is closed`)
    await this.#init()
    const result = await this.#producer!.send({
      messages: records.map((r) => ({
        topic: this.topic,
        partition: 0,
        key: r.key,
        value: r.value as Buffer,
      })),
      acks: -1,
    })
    const base = result.offsets?.find((o) => o.topic === this.topic)?.offset
    if (base === undefined) throw new Error(`no offset returned for ${this.topic}`)
    return Number(base) + records.length - 1
  }

  async replay(onRecord: (record: LoggedRecord) => void, options: ReplayOptions = {}): Promise<void> {
    await this.#init()
    const end = await this.endOffset()
    const reader = createConsumer({
      bootstrap: this.#bootstrap,
      clientId: `${this.#clientId}-reader`,
      // Required by the client's options; never joined, since this reader only issues Fetch requests.
      groupId: `${this.#clientId}-${randomUUID()}`,
    })
    this.#readers.add(reader)
    let caughtUp!: () => void
    const replayed = new Promise<void>((resolve) => {
      caughtUp = resolve
    })
    const from = BigInt(options.from ?? 0)
    const reading = this.#readLoop(reader, from, end, onRecord, caughtUp, options.follow ?? false).finally(async () => {
      this.#readers.delete(reader)
      await (reader.close(true) as unknown as Promise<void>).catch(() => {})
      caughtUp()
    })
    this.#reading.add(reading)
    reading.finally(() => this.#reading.delete(reading))
    await replayed
  }

  async #leader(reader: Consumer): Promise<{ topicId: string; leader: number }> {
    const metadata = await reader.metadata({ topics: [this.topic], forceUpdate: true })
    const topic = metadata.topics.get(this.topic)
    const partition = topic?.partitions[0]
    if (!topic || !partition) throw new Error(`topic ${this.topic} has no partition 0`)
    return { topicId: topic.id, leader: partition.leader }
  }

  async #readLoop(
    reader: Consumer,
    from: bigint,
    end: number,
    onRecord: (record: LoggedRecord) => void,
    caughtUp: () => void,
    follow: boolean,
  ): Promise<void> {
    let offset = from
    let target: { topicId: string; leader: number } | undefined
    while (!this.#closed) {
      if (offset >= BigInt(end)) {
        caughtUp()
        if (!follow) return
      }
      try {
        target ??= await this.#leader(reader)
        const response = await reader.fetch({
          node: target.leader,
          topics: [
            {
              topicId: target.topicId,
              partitions: [
                {
                  partition: 0,
                  fetchOffset: offset,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 4 * 1024 * 1024,
                },
              ],
            },
          ],
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes: 8 * 1024 * 1024,
        })
        const partition = response.responses[0]?.partitions[0]
        if (!partition) continue
        if (partition.errorCode === OFFSET_OUT_OF_RANGE) {
          // Compaction or retention moved the log start past our position: continue from the new start.
          offset = partition.logStartOffset > offset ? partition.logStartOffset : offset
          continue
        }
        if (partition.errorCode !== 0) {
          throw new Error(`fetch from ${this.topic} failed with error ${partition.errorCode}`)
        }
        for (const batch of partition.records ?? []) {
          const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
          if ((batch.attributes & IS_CONTROL_BATCH) === 0) {
            for (const record of batch.records) {
              const at = batch.firstOffset + BigInt(record.offsetDelta)
              if (at < offset || !record.key) continue
              onRecord({ offset: Number(at), key: record.key, value: record.value })
            }
          }
          // Compacted batches have gaps: the position moves past the whole batch, not just its last record.
          if (next > offset) offset = next
        }
      } catch {
        if (this.#closed) break
        // Leader moved, broker restarting, connection dropped: wait, re-resolve the leader and resume at `offset`.
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS))
        target = undefined
      }
    }
  }

  async endOffset(): Promise<number> {
    await this.#init()
    const listed = await this.#admin!.listOffsets({
      topics: [{ name: this.topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    })
    const offset = listed[0]?.partitions[0]?.offset
    return offset === undefined ? 0 : Number(offset)
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#reading)
    await this.#producer?.close().catch(() => {})
    await this.#admin?.close().catch(() => {})
  }
}
