/**
 * v2 consumer instances: a group member that lives in the proxy between HTTP calls. Records are fetched in the
 * background into a bounded buffer (the stream pauses when it is full) and handed out by `GET .../records`;
 * positions advance as records are handed out, and commits send those positions (or the given offsets + 1, as
 * Confluent's proxy does). Idle instances are closed after `instanceTimeoutMs`.
 *
 * A subscribed instance is a group member (the group assigns its partitions); an instance given a manual
 * assignment reads its partitions with plain Fetch requests and never joins. Seeking a subscribed member restarts
 * its stream from explicit offsets for every partition it holds.
 */
import { randomUUID } from 'node:crypto'
import type { Consumer, MessagesStream } from '@platformatic/kafka'
import {
  consumerAlreadyExists,
  consumerInstanceNotFound,
  fromKafkaError,
  illegalState,
  invalidConsumerConfig,
} from './errors.ts'
import type { PrincipalClients } from './kafka-clients.ts'
import { PartitionFetcher, type PartitionPosition } from './topic-tail.ts'

export const V2_FORMATS = ['binary', 'json', 'avro', 'jsonschema', 'protobuf'] as const
export type V2Format = (typeof V2_FORMATS)[number]

const BUFFER_BYTES = 8 * 1024 * 1024

export interface InstanceConfig {
  name?: string
  format: V2Format
  offsetReset: 'earliest' | 'latest'
  autoCommit: boolean
  requestTimeoutMs: number
  minBytes: number
}

/** A record waiting to be handed out, from either a group stream or a manual-assignment fetcher. */
export interface RawMessage {
  topic: string
  partition: number
  offset: bigint
  key: Buffer | null | undefined
  value: Buffer | null | undefined
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`
const size = (m: RawMessage) => (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64

export class ConsumerInstance {
  readonly id: string
  readonly group: string
  readonly config: InstanceConfig
  readonly owner: PrincipalClients
  lastUsed = Date.now()
  topics: string[] = []
  readonly #consumer: Consumer
  #stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>
  #fetcher?: PartitionFetcher
  #buffer: RawMessage[] = []
  #bufferBytes = 0
  #waiters: (() => void)[] = []
  #error?: Error
  /** Next offset to hand out per `topic\0partition`: what an empty commit commits. */
  readonly positions = new Map<string, { topic: string; partition: number; offset: bigint }>()

  constructor(owner: PrincipalClients, group: string, id: string, config: InstanceConfig) {
    this.owner = owner
    this.group = group
    this.id = id
    this.config = config
    this.#consumer = owner.consumer(group, { autocommit: false, sessionTimeout: 30_000, heartbeatInterval: 3000 })
  }

  get mode(): 'none' | 'subscribed' | 'assigned' {
    return this.#fetcher ? 'assigned' : this.#stream ? 'subscribed' : 'none'
  }

  #push(m: RawMessage): void {
    this.#buffer.push(m)
    this.#bufferBytes += size(m)
    if (this.#bufferBytes > BUFFER_BYTES) {
      this.#stream?.pause()
      this.#fetcher?.pause()
    }
    this.#wake()
  }

  #fail(error: Error): void {
    this.#error = error
    this.#wake()
  }

  async #startStream(options: { mode: 'committed' } | { mode: 'manual'; offsets: PartitionPosition[] }) {
    const stream = await this.#consumer.consume({
      topics: this.topics,
      ...options,
      fallbackMode: this.config.offsetReset,
      autocommit: false,
      maxWaitTime: 500,
    })
    this.#stream = stream
    stream.on('data', (m) => this.#push(m))
    stream.on('error', (error: Error) => this.#fail(error))
  }

  async subscribe(topics: string[]): Promise<void> {
    if (this.#fetcher) {
      throw illegalState('Subscription to topics, partitions and pattern are mutually exclusive')
    }
    await this.#closeStream()
    this.topics = topics
    this.#error = undefined
    this.positions.clear()
    if (topics.length === 0) return
    try {
      await this.#startStream({ mode: 'committed' })
    } catch (error) {
      this.topics = []
      throw fromKafkaError(error)
    }
  }

  async unsubscribe(): Promise<void> {
    await this.#closeStream()
    await this.#fetcher?.stop()
    this.#fetcher = undefined
    this.topics = []
    this.positions.clear()
  }

  /** Manual assignment: read these partitions (from the group's committed offsets, else auto.offset.reset). */
  async assign(partitions: { topic: string; partition: number }[]): Promise<void> {
    if (this.#stream) {
      throw illegalState('Subscription to topics, partitions and pattern are mutually exclusive')
    }
    await this.#fetcher?.stop()
    this.#fetcher = undefined
    this.#buffer = []
    this.#bufferBytes = 0
    this.positions.clear()
    if (partitions.length === 0) return
    const start = await this.#startOffsets(partitions)
    const fetcher = new PartitionFetcher(this.#consumer, start, {
      onRecord: (r) => this.#push(r),
      onError: (error) => this.#fail(error),
    })
    try {
      await fetcher.start()
    } catch (error) {
      await fetcher.stop()
      throw fromKafkaError(error)
    }
    this.#fetcher = fetcher
    this.topics = [...new Set(partitions.map((p) => p.topic))]
  }

  /** Committed offset of each partition, else the auto.offset.reset end. */
  async #startOffsets(partitions: { topic: string; partition: number }[]): Promise<PartitionPosition[]> {
    const committed = await this.committed(partitions)
    const known = new Map(
      committed.filter((c) => c.offset >= 0).map((c) => [partitionKey(c.topic, c.partition), c.offset]),
    )
    const missing = partitions.filter((p) => !known.has(partitionKey(p.topic, p.partition)))
    const ends = await this.#listOffsets(missing, this.config.offsetReset === 'earliest' ? -2n : -1n)
    return partitions.map((p) => {
      const k = partitionKey(p.topic, p.partition)
      return { ...p, offset: known.has(k) ? BigInt(known.get(k)!) : (ends.get(k) ?? 0n) }
    })
  }

  async #listOffsets(
    partitions: { topic: string; partition: number }[],
    timestamp: bigint,
  ): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>()
    if (partitions.length === 0) return out
    const byTopic = new Map<string, number[]>()
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
    try {
      const listed = await this.owner.admin.listOffsets({
        topics: [...byTopic].map(([name, ps]) => ({
          name,
          partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })),
        })),
      })
      for (const t of listed) for (const p of t.partitions) out.set(partitionKey(t.name, p.partitionIndex), p.offset)
    } catch (error) {
      throw fromKafkaError(error)
    }
    return out
  }

  /** Partitions this instance reads now: its manual assignment, or what the group gave it. */
  assignment(): { topic: string; partition: number }[] {
    if (this.#fetcher) return this.#fetcher.partitions
    const out: { topic: string; partition: number }[] = []
    if (!this.#stream) return out
    for (const a of this.#consumer.assignments ?? [])
      for (const partition of a.partitions) out.push({ topic: a.topic, partition })
    return out
  }

  /** Moves the position of partitions this instance holds; records already buffered for them are dropped. */
  async seek(targets: { topic: string; partition: number; offset: bigint }[]): Promise<void> {
    const held = new Set(this.assignment().map((p) => partitionKey(p.topic, p.partition)))
    for (const t of targets) {
      if (!held.has(partitionKey(t.topic, t.partition))) {
        throw illegalState(`No current assignment for partition ${t.topic}-${t.partition}`)
      }
    }
    const moved = new Set(targets.map((t) => partitionKey(t.topic, t.partition)))
    this.#buffer = this.#buffer.filter((m) => !moved.has(partitionKey(m.topic, m.partition)))
    this.#bufferBytes = this.#buffer.reduce((n, m) => n + size(m), 0)
    for (const t of targets) this.positions.set(partitionKey(t.topic, t.partition), t)
    if (this.#fetcher) {
      for (const t of targets) this.#fetcher.seek(t.topic, t.partition, t.offset)
      return
    }
    // A group stream cannot seek: restart it from explicit offsets for every partition held, the sought ones at
    // their targets, the others where this instance stands (handed-out position, else committed, else reset).
    const held2 = this.assignment()
    const standing = new Map<string, bigint>()
    for (const m of this.#buffer) {
      const k = partitionKey(m.topic, m.partition)
      if (!standing.has(k)) standing.set(k, m.offset)
    }
    const others = held2.filter((p) => !moved.has(partitionKey(p.topic, p.partition)))
    const fromPositions = others.filter((p) => {
      const k = partitionKey(p.topic, p.partition)
      return standing.has(k) || this.positions.has(k)
    })
    const rest = await this.#startOffsets(others.filter((p) => !fromPositions.includes(p)))
    const offsets: PartitionPosition[] = [
      ...targets,
      ...fromPositions.map((p) => {
        const k = partitionKey(p.topic, p.partition)
        return { ...p, offset: standing.get(k) ?? this.positions.get(k)!.offset }
      }),
      ...rest,
    ]
    await this.#closeStream()
    try {
      await this.#startStream({ mode: 'manual', offsets })
    } catch (error) {
      throw fromKafkaError(error)
    }
  }

  /** Seek to the earliest (-2) or latest (-1) offset. */
  async seekTo(partitions: { topic: string; partition: number }[], end: 'beginning' | 'end'): Promise<void> {
    const offsets = await this.#listOffsets(partitions, end === 'beginning' ? -2n : -1n)
    await this.seek(partitions.map((p) => ({ ...p, offset: offsets.get(partitionKey(p.topic, p.partition)) ?? 0n })))
  }

  #wake() {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  /** Records buffered now, or the first ones to arrive within `timeoutMs`, up to `maxBytes`. */
  async read(timeoutMs: number, maxBytes: number): Promise<RawMessage[]> {
    if (!this.#stream && !this.#fetcher) {
      throw illegalState('Consumer is not subscribed to any topics or assigned any partitions')
    }
    const wait = timeoutMs < 0 ? this.config.requestTimeoutMs : timeoutMs
    const deadline = Date.now() + wait
    while (this.#buffer.length === 0 && !this.#error && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    if (this.#buffer.length === 0 && this.#error) {
      const error = this.#error
      this.#error = undefined
      throw fromKafkaError(error)
    }
    const out: RawMessage[] = []
    let bytes = 0
    while (this.#buffer.length > 0) {
      const m = this.#buffer[0]
      const n = size(m)
      if (out.length > 0 && bytes + n > maxBytes) break
      this.#buffer.shift()
      this.#bufferBytes -= n
      bytes += n
      out.push(m)
    }
    if (this.#bufferBytes < BUFFER_BYTES / 2) {
      if (this.#stream?.isPaused()) this.#stream.resume()
      this.#fetcher?.resume()
    }
    return out
  }

  /** Records taken by `read` that could not be answered go back to the front: nothing read is lost. */
  putBack(messages: RawMessage[]): void {
    for (const m of messages) this.#bufferBytes += size(m)
    this.#buffer.unshift(...messages)
  }

  /** Records answered to the caller: positions advance (and are committed with auto.commit.enable). */
  async delivered(messages: RawMessage[]): Promise<void> {
    for (const m of messages) {
      this.positions.set(partitionKey(m.topic, m.partition), {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset + 1n,
      })
    }
    if (this.config.autoCommit && messages.length > 0) await this.commit()
  }

  /** Commits `offsets` (each + 1) or, without them, the positions of everything handed out so far. */
  async commit(offsets?: { topic: string; partition: number; offset: number }[]) {
    const list = offsets
      ? offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset) + 1n }))
      : [...this.positions.values()]
    if (list.length === 0) return []
    try {
      if (this.#fetcher) {
        // Not a group member: commit as a "simple" consumer, which Kafka accepts for a group without members.
        await this.owner.admin.alterConsumerGroupOffsets({
          groupId: this.group,
          topics: [...new Set(list.map((o) => o.topic))].map((name) => ({
            name,
            partitionOffsets: list
              .filter((o) => o.topic === name)
              .map((o) => ({ partition: o.partition, offset: o.offset })),
          })),
        })
      } else {
        await this.#consumer.commit({ offsets: list.map((o) => ({ ...o, leaderEpoch: -1 })) })
      }
    } catch (error) {
      throw fromKafkaError(error)
    }
    return list
  }

  async committed(partitions: { topic: string; partition: number }[]) {
    const byTopic = new Map<string, number[]>()
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
    const out: { topic: string; partition: number; offset: number; metadata: string }[] = []
    if (byTopic.size === 0) return out
    try {
      const offsets = await this.owner.admin.listConsumerGroupOffsets({
        groups: [
          { groupId: this.group, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) },
        ],
      })
      for (const t of offsets[0]?.topics ?? []) {
        for (const p of t.partitions) {
          out.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: Number(p.committedOffset),
            metadata: p.metadata ?? '',
          })
        }
      }
    } catch (error) {
      throw fromKafkaError(error)
    }
    return out
  }

  async #closeStream() {
    const stream = this.#stream
    this.#stream = undefined
    this.#buffer = []
    this.#bufferBytes = 0
    this.#wake()
    if (stream) await stream.close().catch(() => {})
  }

  async close(): Promise<void> {
    await this.#closeStream()
    await this.#fetcher?.stop()
    this.#fetcher = undefined
    await Promise.resolve(this.#consumer.close(true)).catch(() => {})
  }
}

export class ConsumerInstances {
  readonly #instances = new Map<string, ConsumerInstance>()
  readonly #sweeper: NodeJS.Timeout
  readonly #timeoutMs: number

  constructor(options: { instanceTimeoutMs?: number } = {}) {
    this.#timeoutMs = options.instanceTimeoutMs ?? 300_000
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(this.#timeoutMs, 10_000))
    this.#sweeper.unref()
  }

  get size(): number {
    return this.#instances.size
  }

  create(owner: PrincipalClients, group: string, raw: Record<string, unknown>): ConsumerInstance {
    const name = raw.name ?? raw.id
    if (name !== undefined && name !== null && (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(name))) {
      throw invalidConsumerConfig(`name '${String(name)}' may only contain letters, digits, '.', '_' and '-'`)
    }
    const format = String(raw.format ?? 'binary').toLowerCase() as V2Format
    if (!V2_FORMATS.includes(format)) throw invalidConsumerConfig(`unknown format '${raw.format}'`)
    const reset = String(raw['auto.offset.reset'] ?? 'latest').toLowerCase()
    const offsetReset =
      reset === 'earliest' || reset === 'smallest'
        ? 'earliest'
        : reset === 'latest' || reset === 'largest'
          ? 'latest'
          : undefined
    if (!offsetReset) throw invalidConsumerConfig(`auto.offset.reset must be earliest or latest, not '${reset}'`)
    const autoCommitRaw = String(raw['auto.commit.enable'] ?? 'false').toLowerCase()
    if (autoCommitRaw !== 'true' && autoCommitRaw !== 'false') {
      throw invalidConsumerConfig(`auto.commit.enable must be true or false, not '${autoCommitRaw}'`)
    }
    const timeout = Number(raw['consumer.request.timeout.ms'] ?? raw.requestWaitMs ?? 1000)
    if (!Number.isFinite(timeout) || timeout < 0)
      throw invalidConsumerConfig('consumer.request.timeout.ms must be >= 0')
    const minBytes = Number(raw['fetch.min.bytes'] ?? raw.responseMinBytes ?? -1)
    const id = (name as string | undefined) ?? `rest-consumer-${randomUUID()}`
    const key = `${group}\u0000${id}`
    if (this.#instances.has(key)) throw consumerAlreadyExists()
    const instance = new ConsumerInstance(owner, group, id, {
      name: name as string | undefined,
      format,
      offsetReset,
      autoCommit: autoCommitRaw === 'true',
      requestTimeoutMs: timeout,
      minBytes,
    })
    owner.leases++
    this.#instances.set(key, instance)
    return instance
  }

  /** The instance, only for the principal that created it (others get 40403 as if it did not exist). */
  get(owner: PrincipalClients, group: string, id: string): ConsumerInstance {
    const instance = this.#instances.get(`${group}\u0000${id}`)
    if (!instance || instance.owner.principal !== owner.principal) throw consumerInstanceNotFound()
    instance.lastUsed = Date.now()
    return instance
  }

  async delete(owner: PrincipalClients, group: string, id: string): Promise<void> {
    const instance = this.get(owner, group, id)
    this.#instances.delete(`${group}\u0000${id}`)
    instance.owner.leases--
    await instance.close()
  }

  #sweep() {
    const now = Date.now()
    for (const [key, instance] of this.#instances) {
      if (now - instance.lastUsed > this.#timeoutMs) {
        this.#instances.delete(key)
        instance.owner.leases--
        instance.close().catch(() => {})
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    const all = [...this.#instances.values()]
    this.#instances.clear()
    await Promise.allSettled(all.map((i) => i.close()))
  }
}
