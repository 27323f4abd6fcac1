/**
 * `npm run kafka:start [-- --sasl]`: a single-node Apache Kafka 4.x (KRaft) on free loopback ports, from the jars
 * Maven resolves for test-interop/java. Prints the bootstrap address, runs until Ctrl-C (or SIGTERM), then stops
 * Kafka cleanly and removes its data. Point Tributary's components or tests at it with
 * `TRIBUTARY_BOOTSTRAP=<printed address>`.
 */
import { startKafka } from '../test/helpers/kafka.ts'

const sasl = process.argv.includes('--sasl')
const kafka = await startKafka(
  sasl ? { sasl: { users: { admin: 'admin-secret', alice: 'alice-secret' }, superUsers: ['admin'] } } : {},
)
process.stdout.write(`Apache Kafka ready in ${Math.round(kafka.startMs)} ms\n`)
process.stdout.write(`bootstrap ${kafka.bootstrap}\n`)
if (kafka.saslBootstrap)
  process.stdout.write(`sasl_plaintext ${kafka.saslBootstrap} (PLAIN admin/admin-secret, alice/alice-secret)\n`)
process.stdout.write(`log ${kafka.logFile}\n`)
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  process.stdout.write('stopping Kafka\n')
  await kafka.stop()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
kafka.process.once('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`Kafka exited unexpectedly with ${code}\n`)
    process.exit(1)
  }
})
