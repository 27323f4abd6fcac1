/**
 * SASL_PLAINTEXT (SCRAM-SHA-256) against PLAINTEXT on one Tributary broker process with both listeners, in
 * alternating rounds: produce throughput through @platformatic/kafka (acks=all), and the cost of opening a
 * connection (ApiVersions on PLAINTEXT; ApiVersions, SaslHandshake and the two SCRAM round trips on SASL).
 * Once a connection is authenticated SASL_PLAINTEXT adds nothing per request, so the throughput ratio shows
 * whether the listener path costs anything; the connection ratio is what a login costs.
 *
 *   node --import tsx bench/security.ts [--quick]
 *
 * Sizes: BENCH_SEC_BATCHES, BENCH_SEC_BATCH_RECORDS, BENCH_SEC_CONNECTIONS, BENCH_RECORD_BYTES, BENCH_ROUNDS.
 */
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { KafkaWireClient } from '../src/client/wire-client.ts'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { createKafkaTopic } from './lib/drivers.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { freePort, HOST, makeTempDir, startTributary } from './lib/servers.ts'
import { ratio, spread } from './lib/stats.ts'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  const n = raw ? Number(raw) : fallback
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return n
}

const opts = benchOptions()
const batches = envInt('BENCH_SEC_BATCHES', opts.quick ? 300 : 2000)
const batchRecords = envInt('BENCH_SEC_BATCH_RECORDS', 100)
const connections = envInt('BENCH_SEC_CONNECTIONS', opts.quick ? 100 : 500)
const recordBytes = opts.recordBytes
const rounds = opts.rounds
const inflight = 4
const USER = 'bench'
const PASSWORD = 'bench-secret'

interface Throughput {
  seconds: number
  recordsPerSec: number
  mibPerSec: number
}

async function pool(calls: number, width: number, step: () => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next++ < calls) await step()
  }
  await Promise.all(Array.from({ length: Math.min(width, calls) }, worker))
}

async function produce(bootstrap: string, topic: string, sasl: boolean): Promise<Throughput> {
  const producer = new Producer({
    clientId: `bench-${sasl ? 'sasl' : 'plain'}`,
    bootstrapBrokers: [bootstrap],
    acks: ProduceAcks.ALL,
    ...(sasl ? { sasl: { mechanism: 'SCRAM-SHA-256' as const, username: USER, password: PASSWORD } } : {}),
  })
  try {
    const value = Buffer.alloc(recordBytes, 0x73)
    const messages = Array.from({ length: batchRecords }, () => ({ topic, partition: 0, value }))
    await producer.send({ messages: messages.slice(0, 1) }) // connection, login and metadata outside the timing
    const start = process.hrtime.bigint()
    await pool(batches, inflight, () => producer.send({ messages }))
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const records = batches * batchRecords
    return { seconds, recordsPerSec: records / seconds, mibPerSec: (records * recordBytes) / 2 ** 20 / seconds }
  } finally {
    await producer.close(true)
  }
}

/** Connections opened and made usable (one Metadata answered) per second, one at a time. */
async function connect(bootstrap: string, sasl: boolean): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < connections; i++) {
    const c = await KafkaWireClient.connect(bootstrap, {
      sasl: sasl ? { mechanism: 'SCRAM-SHA-256', username: USER, password: PASSWORD } : undefined,
    })
    await c.call(ApiKeys.Metadata, 9, { topics: [] })
    c.close()
  }
  return connections / (Number(process.hrtime.bigint() - start) / 1e9)
}

const dataDir = makeTempDir(opts.baseDir, 'security')
const plainPort = await freePort()
const saslPort = await freePort()
const server = await startTributary({
  dataDir,
  port: plainPort,
  properties: {
    listeners: `PLAINTEXT://${HOST}:${plainPort},SASL_PLAINTEXT://${HOST}:${saslPort}`,
    'sasl.users': `${USER}:${PASSWORD}`,
  },
})
const plainBootstrap = `${HOST}:${plainPort}`
const saslBootstrap = `${HOST}:${saslPort}`
const plain: Throughput[] = []
const sasl: Throughput[] = []
const plainConn: number[] = []
const saslConn: number[] = []
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [false, true] : [true, false]
    for (const useSasl of order) {
      const topic = `bench-sec-${useSasl ? 'sasl' : 'plain'}-${round}`
      await createKafkaTopic(plainPort, topic)
      const t = await produce(useSasl ? saslBootstrap : plainBootstrap, topic, useSasl)
      ;(useSasl ? sasl : plain).push(t)
      const c = await connect(useSasl ? saslBootstrap : plainBootstrap, useSasl)
      ;(useSasl ? saslConn : plainConn).push(c)
      log(
        `round ${round + 1}/${rounds} ${useSasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT'}: ${fmt(t.mibPerSec)} MiB/s, ${fmt(c, 0)} connections/s`,
      )
    }
  }
} finally {
  await server.close()
}

const plainRate = spread(plain.map((r) => r.recordsPerSec))
const saslRate = spread(sasl.map((r) => r.recordsPerSec))
const plainMib = spread(plain.map((r) => r.mibPerSec))
const saslMib = spread(sasl.map((r) => r.mibPerSec))
const plainConns = spread(plainConn)
const saslConns = spread(saslConn)
const throughputRatio = ratio(saslRate.median, plainRate.median)
const connectionRatio = ratio(saslConns.median, plainConns.median)
printTable(
  `SASL_PLAINTEXT (SCRAM-SHA-256) vs PLAINTEXT (@platformatic/kafka produce, ${batches} batches × ${batchRecords} records × ${recordBytes} B, ${inflight} in flight, acks=all; ${connections} sequential connections; median of ${rounds})`,
  ['listener', 'records/s', 'MiB/s', 'ratio', 'connections/s', 'ratio'],
  [
    ['PLAINTEXT', fmt(plainRate.median, 0), fmt(plainMib.median), '1.00', fmt(plainConns.median, 0), '1.00'],
    [
      'SASL_PLAINTEXT',
      fmt(saslRate.median, 0),
      fmt(saslMib.median),
      fmt(throughputRatio, 2),
      fmt(saslConns.median, 0),
      fmt(connectionRatio, 2),
    ],
  ],
)
writeResult('security', {
  command: `node --import tsx bench/security.ts${opts.quick ? ' --quick' : ''}`,
  workload: { batches, batchRecords, recordBytes, inflight, connections, rounds, mechanism: 'SCRAM-SHA-256' },
  plaintext: { recordsPerSec: plainRate, mibPerSec: plainMib, connectionsPerSec: plainConns, runs: plain },
  saslPlaintext: { recordsPerSec: saslRate, mibPerSec: saslMib, connectionsPerSec: saslConns, runs: sasl },
  saslToPlaintextThroughput: throughputRatio,
  saslToPlaintextConnections: connectionRatio,
})
