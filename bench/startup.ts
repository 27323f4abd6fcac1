/**
 * Startup time with many partitions: create topics × partitions, write a batch to each partition, stop the
 * broker, then time restarts from process spawn until a Metadata request is answered with every topic.
 * The same is timed on an empty data dir, which is the fixed cost (Node, module loading, listener), and compared
 * with Apache Kafka 4.x's cold start (JVM spawn to an answered Metadata) on an empty data dir.
 *
 *   node --import tsx bench/startup.ts [--quick]
 */
import { rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { benchOptions } from './lib/options.ts'
import { makeBatch, RawKafkaConnection, waitForTopics } from './lib/raw-kafka.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import {
  freePort,
  HOST,
  kafkaVersion,
  makeTempDir,
  type ServerProcess,
  spawnServer,
  startKafkaBroker,
  startTributary,
  tributaryCommand,
} from './lib/servers.ts'
import { spread } from './lib/stats.ts'

const opts = benchOptions()
const topics = Array.from({ length: opts.startupTopics }, (_, i) => `startup-${String(i).padStart(4, '0')}`)
const partitions = opts.startupPartitionsPerTopic
const properties = { 'num.partitions': String(partitions) }

/**
 * Spawns the broker and resolves with ms from spawn until Metadata lists `expectTopics` topics, and the
 * broker's own `startupMs` from its "broker started" log line (without Node and module loading).
 */
async function timedStart(
  dataDir: string,
  expectTopics: number,
): Promise<{ ms: number; brokerMs: number; server: ServerProcess }> {
  const port = await freePort()
  const t0 = performance.now()
  const { child, server } = spawnServer(
    'tributary',
    process.execPath,
    tributaryCommand(dataDir, port, properties, 'info'),
    port,
    dataDir,
  )
  let brokerMs = Number.NaN
  const onLine = (d: Buffer) => {
    const m = /broker started.*"startupMs":(\d+)/.exec(d.toString())
    if (m) brokerMs = Number(m[1])
  }
  child.stderr!.on('data', onLine)
  const deadline = t0 + 120000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited (${child.exitCode}): ${server.output()}`)
    try {
      const conn = await RawKafkaConnection.open(HOST, port)
      try {
        const md = await conn.metadata(null)
        const listed = md.topics.filter((t) => t.name?.startsWith('startup-') && t.errorCode === 0).length
        if (listed >= expectTopics) {
          const ms = performance.now() - t0
          // The log line is written before the listener answers, but may arrive in the next chunk.
          for (let i = 0; i < 50 && Number.isNaN(brokerMs); i++) await sleep(10)
          child.stderr!.off('data', onLine)
          return { ms, brokerMs, server }
        }
      } finally {
        conn.close()
      }
    } catch {
      // not listening yet
    }
    await sleep(5)
  }
  await server.stop()
  throw new Error(`broker did not answer Metadata with ${expectTopics} topics within 120 s`)
}

async function timedStop(server: ServerProcess): Promise<number> {
  const t0 = performance.now()
  await server.stop()
  return performance.now() - t0
}

const emptyMs: number[] = []
const emptyBrokerMs: number[] = []
const restartMs: number[] = []
const restartBrokerMs: number[] = []
const stopMs: number[] = []
let createMs = Number.NaN
let error: string | undefined
const dataDir = makeTempDir(opts.baseDir, 'startup')
try {
  log(`startup: creating ${topics.length} topics × ${partitions} partitions`)
  const server = await startTributary({ dataDir, properties })
  const t0 = performance.now()
  const conn = await RawKafkaConnection.open(HOST, server.port)
  try {
    for (let i = 0; i < topics.length; i += 25) {
      await waitForTopics(conn, topics.slice(i, i + 25), partitions, true, 300000)
    }
    createMs = performance.now() - t0
    const batch = makeBatch(10, opts.recordBytes)
    const perPartition = new Map(Array.from({ length: partitions }, (_, p) => [p, batch] as const))
    await Promise.all(topics.map((t) => conn.produce(t, perPartition)))
  } finally {
    conn.close()
  }
  stopMs.push(await timedStop(server))
  // Empty and full starts alternate so that load from elsewhere on the machine hits both alike.
  for (let i = 0; i < opts.startupRepeats; i++) {
    const emptyDir = makeTempDir(opts.baseDir, 'startup-empty')
    try {
      const empty = await timedStart(emptyDir, 0)
      emptyMs.push(empty.ms)
      emptyBrokerMs.push(empty.brokerMs)
      await empty.server.stop()
    } finally {
      rmSync(emptyDir, { recursive: true, force: true })
    }
    log(`startup: restart ${i + 1}/${opts.startupRepeats}`)
    const full = await timedStart(dataDir, topics.length)
    restartMs.push(full.ms)
    restartBrokerMs.push(full.brokerMs)
    stopMs.push(await timedStop(full.server))
  }
} catch (err) {
  error = (err as Error).message
  log(`startup: FAILED ${error}`)
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}

// Apache Kafka's cold start: spawn of the JVM (which formats the empty log directory first, as
// `kafka-storage format` would) until Metadata names the broker, on an empty data dir each time.
const kafkaMs: number[] = []
let kafkaError: string | undefined
if (opts.systems.includes('kafka')) {
  for (let i = 0; i < opts.startupRepeats; i++) {
    log(`startup: Apache Kafka cold start ${i + 1}/${opts.startupRepeats}`)
    try {
      const kafka = await startKafkaBroker(opts.baseDir)
      kafkaMs.push(kafka.startMs)
      await kafka.close()
    } catch (err) {
      kafkaError = (err as Error).message.split('\n')[0]
      log(`startup: Kafka FAILED ${kafkaError}`)
      break
    }
  }
}
const kafkaStart = spread(kafkaMs)

const empty = spread(emptyMs)
const restart = spread(restartMs)
const emptyBroker = spread(emptyBrokerMs)
const restartBroker = spread(restartBrokerMs)
const stop = spread(stopMs)
const label = `${topics.length} topics × ${partitions} = ${topics.length * partitions} partitions`
printTable(
  `Broker startup, ms from spawn to an answered Metadata request (${opts.startupRepeats} run(s))`,
  ['case', 'min', 'median', 'max'],
  [
    ['empty data dir', fmt(empty.min, 0), fmt(empty.median, 0), fmt(empty.max, 0)],
    [`restart with ${label}`, fmt(restart.min, 0), fmt(restart.median, 0), fmt(restart.max, 0)],
    ['broker-reported startupMs, empty', fmt(emptyBroker.min, 0), fmt(emptyBroker.median, 0), fmt(emptyBroker.max, 0)],
    [
      `broker-reported startupMs, ${topics.length * partitions} partitions`,
      fmt(restartBroker.min, 0),
      fmt(restartBroker.median, 0),
      fmt(restartBroker.max, 0),
    ],
    ['shutdown (SIGTERM → exit)', fmt(stop.min, 0), fmt(stop.median, 0), fmt(stop.max, 0)],
    ...(kafkaMs.length
      ? [
          [
            `${kafkaVersion()}, empty data dir`,
            fmt(kafkaStart.min, 0),
            fmt(kafkaStart.median, 0),
            fmt(kafkaStart.max, 0),
          ],
        ]
      : []),
  ],
)
if (kafkaMs.length) {
  process.stdout.write(
    `cold start to first Metadata, Kafka / Tributary (medians, empty data dir): ${fmt(kafkaStart.median / empty.median, 1)}× (target ≥ 5×)\n`,
  )
}
if (kafkaError) process.stdout.write(`kafka error: ${kafkaError}\n`)
process.stdout.write(
  `\ncreating ${label}: ${fmt(createMs, 0)} ms; restart cost over empty: ${fmt(restart.median - empty.median, 0)} ms\n`,
)
if (error) process.stdout.write(`error: ${error}\n`)
writeResult('startup', {
  options: opts,
  partitions: topics.length * partitions,
  createMs,
  emptyMs: empty,
  restartMs: restart,
  brokerStartupMs: { empty: emptyBroker, restart: restartBroker },
  stopMs: stop,
  kafka: kafkaMs.length
    ? {
        version: kafkaVersion(),
        coldStartMs: kafkaStart,
        ratio: kafkaStart.median / empty.median,
        target: { name: 'Tributary starts ≥ 5× faster than Kafka', met: kafkaStart.median / empty.median >= 5 },
      }
    : { error: kafkaError ?? 'not run' },
  ...(error ? { error } : {}),
})
