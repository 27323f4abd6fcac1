/**
 * Runs the clickstream service until Ctrl-C (start more copies, each with its own state directory, to share the
 * work):
 *   node --import tsx examples/clickstream/service.ts [state-dir]
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KafkaStreams } from '../../src/streams/index.ts'
import { bootstrap, createTopics } from './io.ts'
import { clickstreamConfig, clickstreamTopology } from './topology.ts'

const stateDir = process.argv[2] ?? join(tmpdir(), `clickstream-${process.pid}`)
await createTopics(bootstrap)
const streams = new KafkaStreams(clickstreamTopology(), {
  ...clickstreamConfig(bootstrap, stateDir),
  'log.level': 'info',
})
const stop = async () => {
  await streams.close({ timeout: 30000 })
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
await streams.start()
console.log(`clickstream service running (state in ${stateDir}); Ctrl-C stops it`)
