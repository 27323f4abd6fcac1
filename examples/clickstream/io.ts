/**
 * The example's inputs and outputs through src/client: topic creation, sending events (with their event time),
 * reading the sessions topic to its end.
 */
import { createProducer, ensureTopic, Fetcher, KafkaCluster, listOffsets } from '../../src/client/index.ts'
import { type PageEvent, type Session, Topics } from './topology.ts'

export const bootstrap = process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092'

/** Creates the example's topics (3 partitions each) if they do not exist yet. */
export async function createTopics(bootstrapServers: string): Promise<void> {
  const cluster = new KafkaCluster({ bootstrap: bootstrapServers })
  try {
    for (const topic of Object.values(Topics)) await ensureTopic(cluster.admin, topic, { partitions: 3 })
  } finally {
    await cluster.close()
  }
}

export interface UserEvent {
  readonly kind: 'view' | 'click'
  readonly user: string
  readonly page: string
  /** Event time (ms); now when omitted. */
  readonly timestamp?: number
}

/** Sends views and clicks, in order, keyed by user. */
export async function sendEvents(bootstrapServers: string, events: UserEvent[]): Promise<void> {
  const producer = createProducer({ bootstrap: bootstrapServers, clientId: 'clickstream-sender' })
  try {
    await producer.send({
      messages: events.map((e) => ({
        topic: e.kind === 'view' ? Topics.views : Topics.clicks,
        key: Buffer.from(e.user),
        value: Buffer.from(JSON.stringify({ page: e.page } satisfies PageEvent)),
        timestamp: BigInt(e.timestamp ?? Date.now()),
      })),
    })
  } finally {
    await producer.close()
  }
}

/** The sessions published so far (the topic read as a table: merged-away sessions are deleted), by user, start. */
export async function sessions(bootstrapServers: string): Promise<Session[]> {
  const cluster = new KafkaCluster({ bootstrap: bootstrapServers })
  const fetcher = new Fetcher({ cluster, isolationLevel: 'read_committed', maxWaitMs: 100 })
  const topic = Topics.sessions
  try {
    const counts = await cluster.partitionCounts([topic])
    const partitions = Array.from({ length: counts.get(topic) ?? 0 }, (_, partition) => ({ topic, partition }))
    const ends = await listOffsets(cluster, partitions, 'latest', 'read_committed')
    for (const p of partitions) fetcher.assign(p.topic, p.partition, 0)
    const table = new Map<string, Session>()
    const done = () =>
      partitions.every((p) => (fetcher.position(p.topic, p.partition) ?? 0) >= ends.get(`${p.topic}:${p.partition}`)!)
    while (!done()) {
      for (const batch of await fetcher.poll(100)) {
        for (const r of batch.records) {
          if (!r.key) continue
          const value = r.value && r.value.length > 0 ? (JSON.parse(r.value.toString()) as Session | null) : null
          if (value) table.set(r.key.toString(), value)
          else table.delete(r.key.toString())
        }
      }
    }
    return [...table.values()].sort((a, b) => (a.user !== b.user ? (a.user < b.user ? -1 : 1) : a.start - b.start))
  } finally {
    fetcher.close()
    await cluster.close()
  }
}

/** One line per session: `<user>: <events> events over <minutes> min: <views> views, <clicks> clicks, CTR <rate>`. */
export function formatSession(s: Session): string {
  const minutes = Math.round((s.end - s.start) / 60_000)
  return (
    `${s.user}: ${s.views + s.clicks} events over ${minutes} min: ${s.views} views, ${s.clicks} clicks, ` +
    `click-through rate ${s.clickThroughRate.toFixed(2)}`
  )
}
