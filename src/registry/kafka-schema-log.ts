import { randomUUID } from 'node:crypto'
import type { Admin, Consumer, Producer } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer, ensureTopic, resolveBootstrap } from '../client/index.ts'
import { TributaryError } from '../errors.ts'
import type { SchemaChangeEvent, SchemaChangeSink } from './change-events.ts'
import type { SchemaLog, SchemaLogRecord } from './schema-log.ts'

export const SCHEMAS_TOPIC = '_schemas'
export const SCHEMA_CHANGES_TOPIC = '_schemas_changes'

export interface KafkaSchemaLogOptions {
  bootstrap?: string | string[]
  topic?: string
  clientId?: string
}

const IS_CONTROL_BATCH = 0x20
const OFFSET_OUT_OF_RANGE = 1
const RETRY_DELAY_MS = 200

/**
 * The schema log on a compacted, single-partition Kafka topic. Every instance reads it from the beginning and
 * keeps tailing it with plain Fetch requests to the partition leader: no consumer group (nothing to commit, no
 * rebalance delay at start), so each instance rebuilds the whole state on start.
 */
export class KafkaSchemaLog implements SchemaLog {
  readonly topic: string
  #bootstrap?: string | string[]
  #clientId: string
  #admin?: Admin
  #producer?: Producer
  #consumer?: Consumer
  #ready?: Promise<void>
  #closed = false
  #reading?: Promise<void>

  constructor(options: KafkaSchemaLogOptions = {}) {
    this.topic = options.topic ?? SCHEMAS_TOPIC
    this.#bootstrap = options.bootstrap
    this.#clientId = options.clientId ?? 'tributary-registry'
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      this.#admin = createAdmin({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-admin` })
      try {
        await ensureTopic(this.#admin, this.topic, {
          partitions: 1,
          configs: { 'cleanup.policy': 'compact' },
        })
      } catch (err) {
        throw unreachable(this.#bootstrap, `creating or finding topic ${this.topic}`, err)
      }
      this.#producer = createProducer({ bootstrap: this.#bootstrap, clientId: `${this.#clientId}-producer`, acks: -1 })
    })()
    return this.#ready
  }

  async subscribe(onRecord: (record: SchemaLogRecord) => void): Promise<void> {
    await this.#init()
    this.#consumer = createConsumer({
      bootstrap: this.#bootstrap,
      clientId: `${this.#clientId}-reader`,
      // Required by the client's options; never joined, since this reader only issues Fetch requests.
      groupId: `${this.#clientId}-${randomUUID()}`,
    })
    const target = await this.#partitionLeader()
    this.#reading = this.#readLoop(target, onRecord)
  }

  async #partitionLeader(): Promise<{ topicId: string; leader: number }> {
    const metadata = await this.#consumer!.metadata({ topics: [this.topic], forceUpdate: true })
    const topic = metadata.topics.get(this.topic)
    const partition = topic?.partitions[0]
    if (!topic || !partition) throw new Error(`topic ${this.topic} has no partition 0`)
    return { topicId: topic.id, leader: partition.leader }
  }

  async #readLoop(initial: { topicId: string; leader: number }, onRecord: (record: SchemaLogRecord) => void) {
    let target = initial
    let offset = 0n
    while (!this.#closed) {
      try {
        const response = await this.#consumer!.fetch({
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
        if (partition.errorCode !== 0)
          throw new Error(`fetch from ${this.topic} failed with error ${partition.errorCode}`)
        for (const batch of partition.records ?? []) {
          const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
          if ((batch.attributes & IS_CONTROL_BATCH) === 0) {
            for (const record of batch.records) {
              const at = batch.firstOffset + BigInt(record.offsetDelta)
              if (at < offset) continue
              onRecord({
                offset: Number(at),
                key: record.key ? record.key.toString('utf8') : '',
                value: record.value && record.value.length > 0 ? record.value.toString('utf8') : null,
              })
            }
          }
          // Compacted batches have gaps: the position moves past the whole batch, not just its last record.
          if (next > offset) offset = next
        }
      } catch {
        if (this.#closed) break
        // Leader moved, broker restarting, connection dropped: wait, re-resolve the leader and resume at `offset`.
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS))
        try {
          if (!this.#closed) target = await this.#partitionLeader()
        } catch {}
      }
    }
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
    this.#closed = true
    await this.#reading
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
      } catch (err) {
        throw unreachable(this.#bootstrap, `creating or finding topic ${this.topic}`, err)
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

const NETWORK_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing is listening there; is the broker running, on that port?',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset by the server (a TLS or SASL listener answered plain Kafka?)',
}

/**
 * The Kafka client reports an unreachable cluster as "metadata failed 4 times." with the causes nested inside.
 * This names the bootstrap address and the distinct causes at the bottom of that tree (e.g. ECONNREFUSED).
 */
function unreachable(bootstrap: string | string[] | undefined, doing: string, err: unknown): Error {
  if (err instanceof TributaryError) return err
  let addresses: string
  try {
    addresses = resolveBootstrap(bootstrap).join(',')
  } catch (e) {
    return e as Error
  }
  const causes = new Set<string>()
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || depth > 8) return
    const nested = [...((e as { errors?: unknown[] }).errors ?? []), (e as { cause?: unknown }).cause].filter(Boolean)
    if (nested.length > 0) {
      for (const n of nested) walk(n, depth + 1)
      return
    }
    const code = (e as { code?: string }).code
    const message = (e as Error).message
    causes.add(code && NETWORK_HINTS[code] ? `${message} (${NETWORK_HINTS[code]})` : message)
  }
  walk(err, 0)
  const why = causes.size > 0 ? [...causes].join('; ') : String((err as Error)?.message ?? err)
  return new TributaryError(
    'TRB_REGISTRY_KAFKA_UNREACHABLE',
    `cannot reach Kafka at ${addresses} while ${doing}: ${why}`,
    { cause: err },
  )
}
