import type { Producer } from '@platformatic/kafka'
import { createAdmin, createProducer, ensureTopic, KafkaKeyedLog, kafkaUnreachable } from '../client/index.ts'
import type { SchemaChangeEvent, SchemaChangeSink } from './change-events.ts'

export const SCHEMAS_TOPIC = '_schemas'
export const SCHEMA_CHANGES_TOPIC = '_schemas_changes'
const UNREACHABLE = 'TRB_REGISTRY_KAFKA_UNREACHABLE' as const

export interface KafkaSchemaLogOptions {
  bootstrap?: string | string[]
  topic?: string
  clientId?: string
}

/**
 * The schema log on a compacted, single-partition Kafka topic (`_schemas`). Every instance reads it from the
 * beginning and keeps following it, so each instance rebuilds the whole state on start and sees the others' writes.
 */
export class KafkaSchemaLog extends KafkaKeyedLog {
  constructor(options: KafkaSchemaLogOptions = {}) {
    super({
      topic: options.topic ?? SCHEMAS_TOPIC,
      bootstrap: options.bootstrap,
      clientId: options.clientId ?? 'tributary-registry',
      unreachableCode: UNREACHABLE,
    })
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
      } catch (err) {
        throw kafkaUnreachable(this.#bootstrap, `creating or finding topic ${this.topic}`, err, UNREACHABLE)
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
