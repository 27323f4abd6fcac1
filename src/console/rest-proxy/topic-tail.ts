/**
 * Reading partitions without joining a consumer group: Fetch requests straight to each partition's leader through
 * the client's low-level `fetch`. `PartitionFetcher` reads given partitions from given offsets (v2 consumers with a
 * manual assignment); `TopicTail` follows a whole topic from its earliest or latest offset (the SSE tail). No group
 * means no group ACL is needed and nothing is committed.
 */
import type { Consumer } from '@platformatic/kafka'
import { fromKafkaError } from './errors.ts'
import type { PrincipalClients } from './kafka-clients.ts'

const IS_CONTROL = 0x20

export interface TailedRecord {
  topic: string
  partition: number
  offset: bigint
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  headers: [Buffer | null, Buffer | null][]
}

export interface PartitionPosition {
  topic: string
  partition: number
  offset: bigint
}

export interface FetcherOptions {
  /** Longest a Fetch waits at the broker for new records. */
  maxWaitMs?: number
  onRecord(record: TailedRecord): void
  onError(error: Error): void
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class PartitionFetcher {
  readonly #consumer: Consumer
  readonly #options: FetcherOptions
  readonly #offsets = new Map<string, bigint>()
  /** Bumped by every seek, so an answer to a Fetch sent before the seek is dropped. */
  readonly #epochs = new Map<string, number>()
  readonly #partitions: PartitionPosition[]
  #stopped = false
  #paused = false
  #resume?: () => void
  #loops: Promise<void>[] = []

  constructor(consumer: Consumer, partitions: PartitionPosition[], options: FetcherOptions) {
    this.#consumer = consumer
    this.#options = options
    this.#partitions = partitions
    for (const p of partitions) this.#offsets.set(key(p.topic, p.partition), p.offset)
  }

  get partitions(): { topic: string; partition: number }[] {
    return this.#partitions.map(({ topic, partition }) => ({ topic, partition }))
  }

  async start(): Promise<void> {
    const topics = [...new Set(this.#partitions.map((p) => p.topic))]
    const metadata = await this.#consumer.metadata({ topics, forceUpdate: true })
    const byLeader = new Map<number, { topicId: string; topic: string; partition: number }[]>()
    for (const p of this.#partitions) {
      const t = metadata.topics.get(p.topic)
      if (!t) throw new Error(`Unknown topic ${p.topic}`)
      const leader = t.partitions[p.partition]?.leader ?? -1
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), { topicId: t.id, topic: p.topic, partition: p.partition }])
    }
    for (const [leader, owned] of byLeader) this.#loops.push(this.#run(leader, owned))
  }

  /** Next offset to read for a partition, or undefined when it is not one of ours. */
  position(topic: string, partition: number): bigint | undefined {
    return this.#offsets.get(key(topic, partition))
  }

  seek(topic: string, partition: number, offset: bigint): void {
    const k = key(topic, partition)
    this.#offsets.set(k, offset)
    this.#epochs.set(k, (this.#epochs.get(k) ?? 0) + 1)
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#resume?.()
  }

  async #run(node: number, partitions: { topicId: string; topic: string; partition: number }[]): Promise<void> {
    const byTopicId = new Map<string, { topic: string; partitions: number[] }>()
    for (const p of partitions) {
      const entry = byTopicId.get(p.topicId) ?? { topic: p.topic, partitions: [] }
      entry.partitions.push(p.partition)
      byTopicId.set(p.topicId, entry)
    }
    while (!this.#stopped) {
      if (this.#paused) {
        await new Promise<void>((resolve) => (this.#resume = resolve))
        continue
      }
      const epochs = new Map(
        partitions.map((p) => [key(p.topic, p.partition), this.#epochs.get(key(p.topic, p.partition)) ?? 0]),
      )
      let response: Awaited<ReturnType<Consumer['fetch']>>
      try {
        response = await this.#consumer.fetch({
          node,
          maxWaitTime: this.#options.maxWaitMs ?? 500,
          minBytes: 1,
          maxBytes: 4 * 1024 * 1024,
          topics: [...byTopicId].map(([topicId, t]) => ({
            topicId,
            partitions: t.partitions.map((partition) => ({
              partition,
              fetchOffset: this.#offsets.get(key(t.topic, partition)) ?? 0n,
              partitionMaxBytes: 1024 * 1024,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          })),
        })
      } catch (error) {
        if (!this.#stopped) this.#options.onError(fromKafkaError(error))
        return
      }
      for (const topicResponse of response.responses) {
        const topic = byTopicId.get(topicResponse.topicId)?.topic
        if (topic === undefined) continue
        for (const part of topicResponse.partitions) {
          const k = key(topic, part.partitionIndex)
          if ((this.#epochs.get(k) ?? 0) !== epochs.get(k)) continue
          let next = this.#offsets.get(k) ?? 0n
          for (const batch of part.records ?? []) {
            if (batch.attributes & IS_CONTROL) {
              next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
              continue
            }
            for (const r of batch.records) {
              const offset = batch.firstOffset + BigInt(r.offsetDelta)
              if (offset < next) continue
              next = offset + 1n
              if (this.#stopped) return
              this.#options.onRecord({
                topic,
                partition: part.partitionIndex,
                offset,
                timestamp: batch.firstTimestamp + r.timestampDelta,
                key: r.key,
                value: r.value,
                headers: r.headers,
              })
            }
          }
          this.#offsets.set(k, next)
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#resume?.()
    await Promise.allSettled(this.#loops)
  }
}

export interface TopicTailOptions extends FetcherOptions {
  from: 'earliest' | 'latest'
}

/** Follows every partition of a topic from its earliest or latest offset. */
export class TopicTail {
  readonly topic: string
  readonly #clients: PrincipalClients
  readonly #options: TopicTailOptions
  readonly #consumer: Consumer
  #fetcher?: PartitionFetcher

  constructor(clients: PrincipalClients, topic: string, options: TopicTailOptions) {
    this.topic = topic
    this.#clients = clients
    this.#options = options
    // Only used for its low-level fetch: it never joins the group named here.
    this.#consumer = clients.consumer('tributary-rest-proxy-tail', { retries: 1 })
  }

  /** Resolves once the start offsets are known (records produced after that are sure to be seen). */
  async start(): Promise<void> {
    try {
      const metadata = await this.#consumer.metadata({ topics: [this.topic], forceUpdate: true })
      const t = metadata.topics.get(this.topic)
      if (!t) throw new Error(`Unknown topic ${this.topic}`)
      const listed = await this.#clients.admin.listOffsets({
        topics: [
          {
            name: this.topic,
            partitions: Array.from({ length: t.partitionsCount }, (_, partitionIndex) => ({
              partitionIndex,
              timestamp: this.#options.from === 'earliest' ? -2n : -1n,
            })),
          },
        ],
      })
      const positions = (listed[0]?.partitions ?? []).map((p) => ({
        topic: this.topic,
        partition: p.partitionIndex,
        offset: p.offset,
      }))
      this.#fetcher = new PartitionFetcher(this.#consumer, positions, this.#options)
      await this.#fetcher.start()
    } catch (error) {
      throw fromKafkaError(error)
    }
  }

  async stop(): Promise<void> {
    await this.#fetcher?.stop()
    await Promise.resolve(this.#consumer.close(true)).catch(() => {})
  }
}
