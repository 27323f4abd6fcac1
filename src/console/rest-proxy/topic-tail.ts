/**
 * Follows a topic without joining a consumer group: Fetch requests straight to each partition's leader through
 * the client's low-level `fetch`, from the earliest or the latest offset. No group means no group ACL is needed and
 * nothing is committed — what a live view in a browser wants.
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

export interface TopicTailOptions {
  from: 'earliest' | 'latest'
  /** Longest a Fetch waits at the broker for new records. */
  maxWaitMs?: number
  onRecord(record: TailedRecord): void
  onError(error: Error): void
}

export class TopicTail {
  readonly topic: string
  readonly #clients: PrincipalClients
  readonly #options: TopicTailOptions
  readonly #consumer: Consumer
  #stopped = false
  #loops: Promise<void>[] = []

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
      if (!t) throw new Error(`no metadata for ${this.topic}`)
      const partitions = Array.from({ length: t.partitionsCount }, (_, i) => i)
      const listed = await this.#clients.admin.listOffsets({
        topics: [
          {
            name: this.topic,
            partitions: partitions.map((partitionIndex) => ({
              partitionIndex,
              timestamp: this.#options.from === 'earliest' ? -2n : -1n,
            })),
          },
        ],
      })
      const offsets = new Map<number, bigint>()
      for (const p of listed[0]?.partitions ?? []) offsets.set(p.partitionIndex, p.offset)
      const byLeader = new Map<number, number[]>()
      for (const partition of partitions) {
        const leader = t.partitions[partition]?.leader ?? -1
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition])
      }
      for (const [leader, owned] of byLeader) this.#loops.push(this.#run(t.id, leader, owned, offsets))
    } catch (error) {
      throw fromKafkaError(error)
    }
  }

  async #run(topicId: string, node: number, partitions: number[], offsets: Map<number, bigint>): Promise<void> {
    while (!this.#stopped) {
      let response: Awaited<ReturnType<Consumer['fetch']>>
      try {
        response = await this.#consumer.fetch({
          node,
          maxWaitTime: this.#options.maxWaitMs ?? 500,
          minBytes: 1,
          maxBytes: 4 * 1024 * 1024,
          topics: [
            {
              topicId,
              partitions: partitions.map((partition) => ({
                partition,
                fetchOffset: offsets.get(partition) ?? 0n,
                partitionMaxBytes: 1024 * 1024,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              })),
            },
          ],
        })
      } catch (error) {
        if (!this.#stopped) this.#options.onError(fromKafkaError(error))
        return
      }
      for (const topic of response.responses) {
        for (const part of topic.partitions) {
          let next = offsets.get(part.partitionIndex) ?? 0n
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
                topic: this.topic,
                partition: part.partitionIndex,
                offset,
                timestamp: batch.firstTimestamp + r.timestampDelta,
                key: r.key,
                value: r.value,
                headers: r.headers,
              })
            }
          }
          offsets.set(part.partitionIndex, next)
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.allSettled(this.#loops)
    await Promise.resolve(this.#consumer.close(true)).catch(() => {})
  }
}
