/**
 * `npm run test:kafka`: the suites that must hold on any Kafka-compatible cluster, run against Apache Kafka 4.x
 * itself: a single-node KRaft Kafka started from test-interop/java's Maven classpath, the suites pointed at it
 * through TRIBUTARY_BOOTSTRAP, and Kafka stopped at the end whatever happened. Extra arguments replace the list
 * of test files and folders.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startKafka } from '../test/helpers/kafka.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SUITES = [
  'test/conformance',
  'test/registry/kafka-store.test.ts',
  'test/client/batch-producer.test.ts',
  'test/examples',
  'test/streams/runtime',
  'test-interop/broker-kcat.test.ts',
  'test-interop/registry-kcat.test.ts',
  'test-interop/java-client.test.ts',
  'test-interop/kafka-streams-on-tributary.test.ts',
]
const suites = process.argv.length > 2 ? process.argv.slice(2) : SUITES

const kafka = await startKafka()
process.stdout.write(`Apache Kafka on ${kafka.bootstrap} (ready in ${Math.round(kafka.startMs)} ms)\n`)
let code = 1
try {
  code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), '--concurrency', '1', ...suites], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TRIBUTARY_BOOTSTRAP: kafka.bootstrap },
    })
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    child.once('exit', (c, signal) => resolve(signal ? 1 : (c ?? 1)))
  })
} finally {
  if (code !== 0) process.stderr.write(`Kafka's log: ${kafka.logFile} (removed on stop; last lines below)\n`)
  if (code !== 0) {
    const { readFileSync } = await import('node:fs')
    process.stderr.write(`${readFileSync(kafka.logFile, 'utf8').split('\n').slice(-30).join('\n')}\n`)
  }
  await kafka.stop()
}
process.exit(code)
