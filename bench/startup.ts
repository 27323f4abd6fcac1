/**
 * Startup time with many partitions: create topics × partitions, write a batch to each partition, stop the
 * broker, then time restarts from process spawn until a Metadata request is answered with every topic.
 * The same is timed on an empty data dir, which is the fixed cost (Node, module loading, listener).
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
  makeTempDir,
  type ServerProcess,
  spawnServer,
  startTributary,
  tributaryCommand,
} from './lib/servers.ts'
import { spread } from './lib/stats.ts'

const opts = benchOptions()
const topics = Array.from({ length: opts.startupTopics }, (_, i) => `startup-${String(i).padStart(4, '0')}`)
const partitions = opts.startupPartitionsPerTopic
const properties = { 'num.partitions': String(partitions) }

/** Spawns the broker and resolves with ms from spawn until Metadata lists `expectTopics` topics. */
async function timedStart(dataDir: string, expectTopics: number): Promise<{ ms: number; server: ServerProcess }> {
  const port = await freePort()
  const t0 = performance.now()
  const { child, server } = spawnServer(
    'tributary',
    process.execPath,
    tributaryCommand(dataDir, port, properties),
    port,
    dataDir,
  )
  const deadline = t0 + 120000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited (${child.exitCode}): ${server.output()}`)
    try {
      const conn = await RawKafkaConnection.open(HOST, port)
      try {
        const md = await conn.metadata(null)
        const listed = md.topics.filter((t) => t.name?.startsWith('startup-') && t.errorCode === 0).length
        if (listed >= expectTopics) return { ms: performance.now() - t0, server }
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
const restartMs: number[] = []
const stopMs: number[] = []
let createMs = Number.NaN
let error: string | undefined
const dataDir = makeTempDir(opts.baseDir, 'startup')
try {
  for (let i = 0; i < opts.startupRepeats; i++) {
    const emptyDir = makeTempDir(opts.baseDir, 'startup-empty')
    try {
      const { ms, server } = await timedStart(emptyDir, 0)
      emptyMs.push(ms)
      await server.stop()
    } finally {
      rmSync(emptyDir, { recursive: true, force: true })
    }
  }
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
  for (let i = 0; i < opts.startupRepeats; i++) {
    log(`startup: restart ${i + 1}/${opts.startupRepeats}`)
    const { ms, server: restarted } = await timedStart(dataDir, topics.length)
    restartMs.push(ms)
    stopMs.push(await timedStop(restarted))
  }
} catch (err) {
  error = (err as Error).message
  log(`startup: FAILED ${error}`)
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}

const empty = spread(emptyMs)
const restart = spread(restartMs)
const stop = spread(stopMs)
const label = `${topics.length} topics × ${partitions} = ${topics.length * partitions} partitions`
printTable(
  `Broker startup, ms from spawn to an answered Metadata request (${opts.startupRepeats} run(s))`,
  ['case', 'min', 'median', 'max'],
  [
    ['empty data dir', fmt(empty.min, 0), fmt(empty.median, 0), fmt(empty.max, 0)],
    [`restart with ${label}`, fmt(restart.min, 0), fmt(restart.median, 0), fmt(restart.max, 0)],
    ['shutdown (SIGTERM → exit)', fmt(stop.min, 0), fmt(stop.median, 0), fmt(stop.max, 0)],
  ],
)
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
  stopMs: stop,
  ...(error ? { error } : {}),
})
