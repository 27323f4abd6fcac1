/**
 * The example's inputs and outputs through src/client: topic creation, sending events, reading an output topic to
 * its end.
 */
import { createProducer, ensureTopic, Fetcher, KafkaCluster, listOffsets } from '../../src/client/index.ts'
import { Topics } from './topology.ts'

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

/** Sends JSON values keyed by string, in order. */
export async function send(
  bootstrapServers: string,
  topic: string,
  records: Array<{ key: string; value: unknown }>,
): Promise<void> {
  const producer = createProducer({ bootstrap: bootstrapServers, clientId: 'ad-conversions-sender' })
  try {
    await producer.send({
      messages: records.map((r) => ({
        topic,
        key: Buffer.from(r.key),
        value: Buffer.from(JSON.stringify(r.value)),
      })),
    })
  } finally {
    await producer.close()
  }
}

/** Reads `topic` from the beginning to its current end: every record, key and raw value, in partition order. */
export async function readAll(bootstrapServers: string, topic: string): Promise<Array<{ key: string; value: Buffer }>> {
  const cluster = new KafkaCluster({ bootstrap: bootstrapServers })
  const fetcher = new Fetcher({ cluster, isolationLevel: 'read_committed', maxWaitMs: 100 })
  try {
    const counts = await cluster.partitionCounts([topic])
    const partitions = Array.from({ length: counts.get(topic) ?? 0 }, (_, partition) => ({ topic, partition }))
    const ends = await listOffsets(cluster, partitions, 'latest', 'read_committed')
    for (const p of partitions) fetcher.assign(p.topic, p.partition, 0)
    const out: Array<{ key: string; value: Buffer }> = []
    const done = () =>
      partitions.every((p) => (fetcher.position(p.topic, p.partition) ?? 0) >= ends.get(`${p.topic}:${p.partition}`)!)
    while (!done()) {
      for (const batch of await fetcher.poll(100)) {
        for (const r of batch.records) if (r.key && r.value) out.push({ key: r.key.toString(), value: r.value })
      }
    }
    return out
  } finally {
    fetcher.close()
    await cluster.close()
  }
}

/** The latest click count per campaign. */
export async function campaignClicks(bootstrapServers: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const r of await readAll(bootstrapServers, Topics.campaignClicks)) {
    counts.set(r.key, Number(r.value.readBigInt64BE(0)))
  }
  return counts
}
