/**
 * Kafka's embedded consumer protocol (ConsumerProtocolSubscription / ConsumerProtocolAssignment, version 1): the
 * bytes a member of a `consumer` group puts in JoinGroup metadata and the leader puts in SyncGroup assignments.
 * Tools that describe groups (kafka-consumer-groups, `tributary groups`) decode them; the user data inside is the
 * assignor's own (Kafka Streams puts its task assignment there).
 */
import { TributaryError } from '../errors.ts'

export interface TopicPartitions {
  readonly topic: string
  readonly partitions: readonly number[]
}

export interface ConsumerSubscription {
  readonly topics: readonly string[]
  readonly userData: Buffer | null
  readonly ownedPartitions: readonly TopicPartitions[]
}

export interface ConsumerAssignment {
  readonly partitions: readonly TopicPartitions[]
  readonly userData: Buffer | null
}

class Out {
  readonly parts: Buffer[] = []
  int16(v: number): this {
    const b = Buffer.allocUnsafe(2)
    b.writeInt16BE(v)
    this.parts.push(b)
    return this
  }
  int32(v: number): this {
    const b = Buffer.allocUnsafe(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }
  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8')
    this.int16(bytes.length)
    this.parts.push(bytes)
    return this
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1)
    this.int32(b.length)
    this.parts.push(b)
    return this
  }
  topicPartitions(list: readonly TopicPartitions[]): this {
    this.int32(list.length)
    for (const tp of list) {
      this.string(tp.topic)
      this.int32(tp.partitions.length)
      for (const p of tp.partitions) this.int32(p)
    }
    return this
  }
  done(): Buffer {
    return Buffer.concat(this.parts)
  }
}

class In {
  #pos = 0
  readonly #buf: Buffer
  constructor(buf: Buffer) {
    this.#buf = buf
  }
  get remaining(): number {
    return this.#buf.length - this.#pos
  }
  #need(n: number) {
    if (this.#pos + n > this.#buf.length) {
      throw new TributaryError('TRB_CLIENT_BAD_GROUP_METADATA', 'consumer protocol data is truncated')
    }
  }
  int16(): number {
    this.#need(2)
    const v = this.#buf.readInt16BE(this.#pos)
    this.#pos += 2
    return v
  }
  int32(): number {
    this.#need(4)
    const v = this.#buf.readInt32BE(this.#pos)
    this.#pos += 4
    return v
  }
  string(): string {
    const n = this.int16()
    if (n < 0) return ''
    this.#need(n)
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + n)
    this.#pos += n
    return s
  }
  bytes(): Buffer | null {
    const n = this.int32()
    if (n < 0) return null
    this.#need(n)
    const b = this.#buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return Buffer.from(b)
  }
  topicPartitions(): TopicPartitions[] {
    const n = this.int32()
    const out: TopicPartitions[] = []
    for (let i = 0; i < n; i++) {
      const topic = this.string()
      const count = this.int32()
      const partitions: number[] = []
      for (let j = 0; j < count; j++) partitions.push(this.int32())
      out.push({ topic, partitions })
    }
    return out
  }
}

export function encodeSubscription(s: ConsumerSubscription): Buffer {
  const out = new Out().int16(1).int32(s.topics.length)
  for (const t of s.topics) out.string(t)
  return out.bytes(s.userData).topicPartitions(s.ownedPartitions).done()
}

export function decodeSubscription(buf: Buffer): ConsumerSubscription {
  const r = new In(buf)
  const version = r.int16()
  const n = r.int32()
  const topics: string[] = []
  for (let i = 0; i < n; i++) topics.push(r.string())
  const userData = r.bytes()
  const ownedPartitions = version >= 1 && r.remaining > 0 ? r.topicPartitions() : []
  return { topics, userData, ownedPartitions }
}

export function encodeAssignment(a: ConsumerAssignment): Buffer {
  return new Out().int16(1).topicPartitions(a.partitions).bytes(a.userData).done()
}

export function decodeAssignment(buf: Buffer): ConsumerAssignment {
  if (buf.length === 0) return { partitions: [], userData: null }
  const r = new In(buf)
  r.int16()
  const partitions = r.topicPartitions()
  const userData = r.remaining > 0 ? r.bytes() : null
  return { partitions, userData }
}
