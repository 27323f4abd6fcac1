/**
 * Runs the inventory service until Ctrl-C (start more copies, each with its own state directory, to share the work):
 *   node --import tsx examples/inventory/service.ts [state-dir]
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureTopic, KafkaCluster } from '../../src/client/index.ts'
import { KafkaStreams } from '../../src/streams/index.ts'
import { inventoryConfig, inventoryTopology, Topics } from './topology.ts'

const bootstrap = process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092'
const stateDir = process.argv[2] ?? join(tmpdir(), `inventory-${process.pid}`)

/** Creates the service's topics (3 partitions each) if they do not exist yet. */
export async function createTopics(bootstrapServers: string): Promise<void> {
  const cluster = new KafkaCluster({ bootstrap: bootstrapServers })
  try {
    for (const topic of Object.values(Topics)) await ensureTopic(cluster.admin, topic, { partitions: 3 })
  } finally {
    await cluster.close()
  }
}

if (import.meta.filename === process.argv[1]) {
  await createTopics(bootstrap)
  const streams = new KafkaStreams(inventoryTopology(), {
    ...inventoryConfig(bootstrap, stateDir),
    'log.level': 'info',
  })
  const stop = async () => {
    await streams.close({ timeout: 30000 })
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  await streams.start()
  console.log(`inventory service running (state in ${stateDir}); Ctrl-C stops it`)
}
