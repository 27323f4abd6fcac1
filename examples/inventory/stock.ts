/**
 * Prints the stock level of every SKU: the latest committed value per key of `inventory.stock`.
 *   node --import tsx examples/inventory/stock.ts
 */
import { Fetcher, KafkaCluster, listOffsets } from '../../src/client/index.ts'
import { Topics } from './topology.ts'

/** Reads `inventory.stock` (read_committed) to its end: SKU → stock level. */
export async function readStock(bootstrap: string): Promise<Map<string, number>> {
  const cluster = new KafkaCluster({ bootstrap })
  const fetcher = new Fetcher({ cluster, isolationLevel: 'read_committed', maxWaitMs: 100 })
  try {
    const counts = await cluster.partitionCounts([Topics.stock])
    const partitions = Array.from({ length: counts.get(Topics.stock) ?? 0 }, (_, partition) => ({
      topic: Topics.stock,
      partition,
    }))
    const ends = await listOffsets(cluster, partitions, 'latest', 'read_committed')
    for (const p of partitions) fetcher.assign(p.topic, p.partition, 0)
    const stock = new Map<string, number>()
    const done = () =>
      partitions.every((p) => (fetcher.position(p.topic, p.partition) ?? 0) >= ends.get(`${p.topic}:${p.partition}`)!)
    while (!done()) {
      for (const batch of await fetcher.poll(100)) {
        for (const r of batch.records)
          if (r.key && r.value) stock.set(r.key.toString(), Number(r.value.readBigInt64BE(0)))
      }
    }
    return new Map([...stock].sort(([a], [b]) => (a < b ? -1 : 1)))
  } finally {
    fetcher.close()
    await cluster.close()
  }
}

if (import.meta.filename === process.argv[1]) {
  const stock = await readStock(process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092')
  if (stock.size === 0) console.log('no stock yet')
  for (const [sku, level] of stock) console.log(`${sku}: ${level}`)
}
