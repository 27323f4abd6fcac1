/**
 * v2 consumer instances: a group member that lives in the proxy between HTTP calls. Records are fetched in the
 * background into a bounded buffer (the stream pauses when it is full) and handed out by `GET .../records`;
 * positions advance as records are handed out, and commits send those positions (or the given offsets + 1, as
 * Confluent's proxy does). Idle instances are closed after `instanceTimeoutMs`.
 */
import { randomUUID } from 'node:crypto'
import type { Consumer, Message, MessagesStream } from '@platformatic/kafka'
import {
  consumerAlreadyExists,
  consumerInstanceNotFound,
  fromKafkaError,
  illegalState,
  invalidConsumerConfig,
} from './errors.ts'
import type { PrincipalClients } from './kafka-clients.ts'

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

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>

export class ConsumerInstance {
  readonly id: string
  readonly group: string
  readonly config: InstanceConfig
  readonly owner: PrincipalClients
  lastUsed = Date.now()
  topics: string[] = []
  readonly #consumer: Consumer
  #stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>
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

  async subscribe(topics: string[]): Promise<void> {
    await this.#closeStream()
    this.topics = topics
    this.#error = undefined
    if (topics.length === 0) return
    try {
      const stream = await this.#consumer.consume({
        topics,
        mode: 'committed',
        fallbackMode: this.config.offsetReset,
        autocommit: false,
        maxWaitTime: 500,
      })
      this.#stream = stream
      stream.on('data', (m: RawMessage) => {
        this.#buffer.push(m)
        this.#bufferBytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64
        if (this.#bufferBytes > BUFFER_BYTES) stream.pause()
        this.#wake()
      })
      stream.on('error', (error: Error) => {
        this.#error = error
        this.#wake()
      })
    } catch (error) {
      this.topics = []
      throw fromKafkaError(error)
    }
  }

  async unsubscribe(): Promise<void> {
    await this.#closeStream()
    this.topics = []
  }

  #wake() {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  /** Records buffered now, or the first ones to arrive within `timeoutMs`, up to `maxBytes`. */
  async read(timeoutMs: number, maxBytes: number): Promise<RawMessage[]> {
    if (!this.#stream) throw illegalState('Consumer is not subscribed to any topics or assigned any partitions')
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
      const size = (m.key?.length ?? 0) + (m.value?.length ?? 0)
      if (out.length > 0 && bytes + size > maxBytes) break
      this.#buffer.shift()
      this.#bufferBytes -= size + 64
      bytes += size
      out.push(m)
    }
    if (this.#stream.isPaused() && this.#bufferBytes < BUFFER_BYTES / 2) this.#stream.resume()
    return out
  }

  /** Records taken by `read` that could not be answered go back to the front: nothing read is lost. */
  putBack(messages: RawMessage[]): void {
    for (const m of messages) this.#bufferBytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64
    this.#buffer.unshift(...messages)
  }

  /** Records answered to the caller: positions advance (and are committed with auto.commit.enable). */
  async delivered(messages: RawMessage[]): Promise<void> {
    for (const m of messages) {
      this.positions.set(`${m.topic}\u0000${m.partition}`, {
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
      await this.#consumer.commit({ offsets: list.map((o) => ({ ...o, leaderEpoch: -1 })) })
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

  /** Partitions this member holds now. */
  assignment(): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = []
    for (const a of this.#consumer.assignments ?? [])
      for (const partition of a.partitions) out.push({ topic: a.topic, partition })
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
