import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, MessagesStream, Producer } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer, ensureTopic } from '../client/index.ts'
import type { SchemaChangeEvent, SchemaChangeSink } from './change-events.ts'
import type { SchemaLog, SchemaLogRecord } from './schema-log.ts'

export const SCHEMAS_TOPIC = '_schemas'
export const SCHEMA_CHANGES_TOPIC = '_schemas_changes'

export interface KafkaSchemaLogOptions {
  bootstrap?: string | string[]
  topic?: string
  clientId?: string
}

/**
 * The schema log on a compacted, single-partition Kafka topic. Every instance reads it from the beginning with
 * its own consumer (a unique group that never commits), so each one rebuilds the whole state on start.
 */
export class KafkaSchemaLog implements SchemaLog {
  readonly topic: string
  #bootstrap?: string | string[]
  #clientId: string
  #admin?: Admin
  #producer?: Producer
  #consumer?: Consumer
  #stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>
  #ready?: Promise<void>

  constructor(options: KafkaSchemaLogOptions = {}) {
    this.topic = options.topic ?? SCHEMAS_TOPIC
    this.#bootstrap = options.bootstrap
    this.#clientId = options.clientId ?? 'tributary-registry'
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      this.#admin = createAdmin({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-admin` })
      await ensureTopic(this.#admin, this.topic, {
        partitions: 1,
        configs: { 'cleanup.policy': 'compact' },
      })
      this.#producer = createProducer({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-producer`, acks: -1 })
    })()
    return this.#ready
  }

  async subscribe(onRecord: (record: SchemaLogRecord) => void): Promise<void> {
    await this.#init()
    this.#consumer = createConsumer({
      bootstrap: this.#bootstrap,
      clientId: `${this.#clientId}-reader`,
      // A private group: every instance must see every record, and nothing is ever committed.
      groupId: `${this.#clientId}-${randomUUID()}`,
      autocommit: false,
      maxWaitTime: 200,
    })
    const stream = await this.#consumer.consume({ topics: [this.topic], mode: 'earliest', autocommit: false })
    this.#stream = stream
    stream.on('data', (message) => {
      onRecord({
        offset: Number(message.offset),
        key: message.key ? message.key.toString('utf8') : '',
        value: message.value && message.value.length > 0 ? message.value.toString('utf8') : null,
      })
    })
    stream.on('error', () => {
      // Transient fetch errors are retried by the client; a failing read surfaces as a write timeout (50002).
    })
  }

  async append(key: string, value: string | null): Promise<number> {
    await this.#init()
    const result = await this.#producer!.send({
      messages: [
        {
          topic: this.topic,
          partition: 0,
          key: Buffer.from(key),
          value: value === null ? (null as unknown as Buffer) : Buffer.from(value),
        },
      ],
      acks: -1,
    })
    const offset = result.offsets?.find((o) => o.topic === this.topic)?.offset
    if (offset === undefined) throw new Error(`no offset returned for ${this.topic}`)
    return Number(offset)
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
    await this.#stream?.close().catch(() => {})
    await (this.#consumer?.close(true) as Promise<void> | undefined)?.catch(() => {})
    await this.#producer?.close().catch(() => {})
    await this.#admin?.close().catch(() => {})
  }
}

/** Publishes schema change events as JSON to a topic (key: subject) for anyone to subscribe to. */
export class KafkaChangeSink implements SchemaChangeSink {
  readonly topic: string
  #bootstrap?: string | string[]
  #producer?: Producer
  #ready?: Promise<void>

  constructor(options: { bootstrap?: string | string[]; topic?: string } = {}) {
    this.topic = options.topic ?? SCHEMA_CHANGES_TOPIC
    this.#bootstrap = options.bootstrap
  }

  async publish(event: SchemaChangeEvent): Promise<void> {
    this.#ready ??= (async () => {
      const admin = createAdmin({ bootstrap: this.#bootstrap, clientId: 'tributary-registry-changes-admin' })
      try {
        await ensureTopic(admin, this.topic, { partitions: 1 })
      } finally {
        await admin.close()
      }
      this.#producer = createProducer({ bootstrap: this.#bootstrap, clientId: 'tributary-registry-changes', acks: -1 })
    })()
    await this.#ready
    await this.#producer!.send({
      messages: [
        {
          topic: this.topic,
          partition: 0,
          key: Buffer.from(event.subject ?? ''),
          value: Buffer.from(JSON.stringify(event)),
        },
      ],
    })
  }

  async close(): Promise<void> {
    await this.#ready?.catch(() => {})
    await this.#producer?.close().catch(() => {})
  }
}
