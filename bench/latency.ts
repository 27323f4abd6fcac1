/**
 * End-to-end latency at a steady 1,000 records/s: one producer (acks=-1 / the peer's acknowledged publish)
 * stamps each 1 KiB record with its send time, one consumer in the same process records send→receive.
 * Apache Kafka 4.x runs the same two series (and its raw one with flush.messages=1, next to Tributary's raw one
 * with log.flush.policy=none, for equal durability both ways). Tributary runs as two series, each with its own producer, consumer and topic, in separate slices so
 * they never load the broker at the same time: raw Produce → raw long-polling Fetch loop (the broker's own
 * latency, the series the target is judged on, as for throughput) and the @platformatic/kafka Producer →
 * Consumer (what an application sees). As a floor, the disk's own latency for a 1 KiB append + fdatasync
 * is measured at the same pace.
 *
 * All servers run for the whole benchmark and the measurement is cut into slices that rotate through the
 * systems, so a burst of load from elsewhere on this shared machine hits every system alike.
 *
 *   node --import tsx bench/latency.ts [--quick]
 */
import { closeSync, fdatasync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { decodeRecordBatchSync, encodeRecordBatchSync, iterateBatches } from '../src/protocol/record-batch.ts'
import { createKafkaTopic, natsConnection, natsCreateStream, redisClient } from './lib/drivers.ts'
import { benchOptions } from './lib/options.ts'
import { RawKafkaConnection } from './lib/raw-kafka.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import {
  binaryVersion,
  HOST,
  KAFKA_FLUSH_EVERY_MESSAGE,
  kafkaVersion,
  makeTempDir,
  PeerMissingError,
  type ServerProcess,
  startKafkaBroker,
  startNats,
  startRedis,
  startTributary,
} from './lib/servers.ts'
import { percentile } from './lib/stats.ts'

const opts = benchOptions()
const WARMUP_MS = 1000
/** Records slower than this are listed (first of each burst) to show when stalls happen. */
const STALL_MS = 20
const sliceSeconds = opts.latencySeconds / opts.latencySlices

/** send→receive latencies (ms) of records sent after the current slice's warm-up. */
class Recorder {
  readonly latencies: number[] = []
  /** When, relative to the run's start, the slow ones were sent: periodic stalls point at a timer. */
  readonly stalls: { atMs: number; latencyMs: number }[] = []
  /** Set by drive() when a slice starts; records sent earlier are warm-up. */
  warmupEndsAt = Number.POSITIVE_INFINITY

  constructor(readonly consumer: string) {}

  /** `value` starts with the send time as a float64 of performance.now(). */
  record(value: Buffer | null | undefined, now = performance.now()): void {
    if (!value || value.length < 8) return
    const sentAt = value.readDoubleBE(0)
    if (sentAt < this.warmupEndsAt) return
    const latency = now - sentAt
    this.latencies.push(latency)
    const atMs = Math.round(sentAt - runStart)
    const last = this.stalls.at(-1)
    if (latency > STALL_MS && (!last || atMs - last.atMs > 100))
      this.stalls.push({ atMs, latencyMs: Math.round(latency) })
  }
}

interface LatencySystem {
  name: string
  recorders: Recorder[]
  send(value: Buffer): Promise<unknown>
  close(): Promise<void>
  /** Across slices: produce ack latencies, records sent after warm-ups, send failures. */
  acks: number[]
  measuredSent: number
  failures: string[]
}

const runStart = performance.now()
const RAW_CONSUMER = 'raw Produce → raw Fetch loop'

/**
 * Record values are taken round-robin from a preallocated ring rather than allocated per record: a fresh 1 KiB
 * Buffer per record is external memory that makes V8 run frequent full GCs in the benchmark process, whose
 * pauses then show up as every system's latency tail. A value is reused only ~4 s after it was sent.
 */
const VALUES = Array.from({ length: 4096 }, () => Buffer.alloc(opts.recordBytes, 0x6c))

/** One slice: sends `rate` records/s for warm-up + sliceSeconds, then waits for every consumer to catch up. */
async function drive(system: LatencySystem): Promise<void> {
  const start = performance.now()
  const warmupEndsAt = start + WARMUP_MS
  for (const r of system.recorders) r.warmupEndsAt = warmupEndsAt
  const end = warmupEndsAt + sliceSeconds * 1000
  const inflight = new Set<Promise<unknown>>()
  const expected = system.recorders.map((r) => r.latencies.length)
  let sent = 0
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * opts.latencyRate)
    while (sent < due) {
      const value = VALUES[sent % VALUES.length]!
      const at = performance.now()
      value.writeDoubleBE(at, 0)
      const measured = at >= warmupEndsAt
      if (measured) {
        system.measuredSent++
        for (let i = 0; i < expected.length; i++) expected[i]!++
      }
      sent++
      const p = system.send(value).then(
        () => {
          if (measured) system.acks.push(performance.now() - at)
        },
        (err: Error) => {
          system.failures.push(err.message)
        },
      )
      inflight.add(p)
      p.finally(() => inflight.delete(p))
    }
    await sleep(1)
  }
  await Promise.all(inflight)
  const deadline = Date.now() + 10000
  while (system.recorders.some((r, i) => r.latencies.length < expected[i]!) && Date.now() < deadline) await sleep(10)
}

function newSystem(name: string, recorders: Recorder[], send: LatencySystem['send'], close: () => Promise<void>) {
  return { name, recorders, send, close, acks: [], measuredSent: 0, failures: [] } satisfies LatencySystem
}

/** Tributary measured without client-library cost: raw Produce (one record per request, acks=-1) and a raw long-polling Fetch loop. */
async function setupTributaryRaw(server: ServerProcess): Promise<LatencySystem> {
  const topic = 'latency-raw'
  await createKafkaTopic(server.port, topic)
  const raw = new Recorder(RAW_CONSUMER)
  const producer = await RawKafkaConnection.open(HOST, server.port)
  const conn = await RawKafkaConnection.open(HOST, server.port)
  let stopping = false
  const rawLoop = (async () => {
    let offset = (await conn.fetch(topic, 0, 0, 1024, 0)).highWatermark
    while (!stopping) {
      const r = await conn.fetch(topic, 0, offset, 1024 * 1024, 200)
      const now = performance.now()
      if (r.records) {
        for (const { start } of iterateBatches(r.records)) {
          for (const rec of decodeRecordBatchSync(r.records, start).records) raw.record(rec.value, now)
        }
      }
      offset = r.nextOffset
    }
  })()
  return newSystem(
    'tributary',
    [raw],
    (value) => producer.produce(topic, new Map([[0, encodeRecordBatchSync({ records: [{ value }] })]])),
    async () => {
      stopping = true
      await rawLoop.catch(() => {})
      conn.close()
      producer.close()
    },
  )
}

/** The same series against another Kafka-protocol broker (Apache Kafka) or another Tributary configuration. */
function named(
  name: string,
  setup: (s: ServerProcess) => Promise<LatencySystem>,
): (s: ServerProcess) => Promise<LatencySystem> {
  return async (server) => Object.assign(await setup(server), { name })
}

/** What an application sees: the @platformatic/kafka Producer (acks=all) and Consumer. */
async function setupTributaryClient(server: ServerProcess): Promise<LatencySystem> {
  const topic = 'latency-client'
  await createKafkaTopic(server.port, topic)
  const client = new Recorder('@platformatic/kafka Producer → Consumer')
  const consumer = new Consumer({
    clientId: 'bench-latency',
    groupId: `bench-latency-${process.pid}`,
    bootstrapBrokers: [`${HOST}:${server.port}`],
    maxWaitTime: 200,
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'latest', autocommit: false })
  stream.on('data', (m: { value: Buffer }) => client.record(m.value))
  const producer = new Producer({
    clientId: 'bench-latency',
    bootstrapBrokers: [`${HOST}:${server.port}`],
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
  })
  return newSystem(
    'tributary',
    [client],
    (value) => producer.send({ messages: [{ topic, partition: 0, value }] }),
    async () => {
      await stream.close().catch(() => {})
      await consumer.close(true)
      await producer.close(true)
    },
  )
}

type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null

async function setupRedis(server: ServerProcess): Promise<LatencySystem> {
  const key = 'latency'
  const producer = redisClient(server.port)
  const reader = redisClient(server.port)
  const rec = new Recorder('XREAD BLOCK loop')
  let stopping = false
  const loop = (async () => {
    let lastId = '$'
    while (!stopping) {
      const reply = (await reader.xreadBuffer(
        'COUNT',
        1000,
        'BLOCK',
        200,
        'STREAMS',
        key,
        lastId,
      )) as unknown as XReadReply
      const now = performance.now()
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        rec.record(fields[1], now)
        lastId = id.toString()
      }
    }
  })()
  return newSystem(
    'redis',
    [rec],
    (value) => producer.xadd(key, '*', 'v', value),
    async () => {
      stopping = true
      await loop.catch(() => {})
      producer.disconnect()
      reader.disconnect()
    },
  )
}

async function setupNats(server: ServerProcess): Promise<LatencySystem> {
  const stream = 'latency'
  const nc = await natsConnection(server.port)
  await natsCreateStream(nc, stream)
  const js = nc.jetstream()
  const rec = new Recorder('ordered consumer')
  const consumer = await js.consumers.get(stream)
  const messages = await consumer.consume({ max_messages: 1000 })
  const loop = (async () => {
    for await (const m of messages) rec.record(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength))
  })()
  return newSystem(
    'nats',
    [rec],
    (value) => js.publish(`${stream}.data`, value),
    async () => {
      messages.stop()
      await loop.catch(() => {})
      await nc.close()
    },
  )
}

/** The floor for an acks=-1 write: a 1 KiB append + fdatasync on the libuv pool, as a broker would do it. */
function setupMachine(): LatencySystem {
  const file = join(opts.baseDir, `latency-probe-${process.pid}.bin`)
  const fd = openSync(file, 'w')
  return newSystem(
    'machine',
    [],
    (value) =>
      new Promise<void>((resolve, reject) => {
        writeSync(fd, value)
        fdatasync(fd, (err) => (err ? reject(err) : resolve()))
      }),
    async () => {
      closeSync(fd)
      rmSync(file, { force: true })
    },
  )
}

/** Per slice: when it ran, each consumer's p99, and the Tributary broker's RSS at its end (is anything growing?). */
const sliceLog: {
  system: string
  consumers: string[]
  fromMs: number
  toMs: number
  p99s: number[]
  brokerRssMiB?: number
}[] = []
const servers: ServerProcess[] = []
const systems: LatencySystem[] = []
const startErrors: { system: string; error: string }[] = []

async function add(
  system: string,
  start: () => Promise<ServerProcess>,
  ...setups: ((s: ServerProcess) => Promise<LatencySystem>)[]
): Promise<void> {
  if (!opts.systems.includes(system)) return
  try {
    const server = await start()
    servers.push(server)
    for (const setup of setups) systems.push(await setup(server))
  } catch (err) {
    const msg = (err as Error).message
    log(err instanceof PeerMissingError ? msg : `${system} failed: ${msg}`)
    startErrors.push({ system, error: msg.split('\n')[0]! })
  }
}

interface Row {
  system: string
  consumer: string
  p50: number
  p99: number
  max: number
  ackP50: number
  ackP99: number
  sent: number
  received: number
  stalls?: { atMs: number; latencyMs: number }[]
  error?: string
}

/**
 * Every 250 ms: the Tributary broker's CPU use and the whole machine's busy and iowait shares (/proc/stat),
 * so a latency burst can be matched to a busy broker, a busy machine or a waiting disk.
 */
interface LoadSample {
  atMs: number
  brokerCpuPct: number
  machineBusyPct: number
  iowaitPct: number
}
const loadSamples: LoadSample[] = []
function machineTicks(): { busy: number; iowait: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f
  const busy = user + nice + system + irq + softirq + steal
  return { busy, iowait, total: busy + idle + iowait }
}
function startLoadSampler(broker: ServerProcess | undefined): () => void {
  let lastCpu = broker?.cpuSeconds() ?? 0
  let lastTicks = machineTicks()
  let lastAt = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    const ticks = machineTicks()
    const cpu = broker ? broker.cpuSeconds() : 0
    const dt = ticks.total - lastTicks.total || 1
    loadSamples.push({
      atMs: Math.round(now - runStart),
      brokerCpuPct: Math.round((100 * (cpu - lastCpu)) / ((now - lastAt) / 1000)),
      machineBusyPct: Math.round((100 * (ticks.busy - lastTicks.busy)) / dt),
      iowaitPct: Math.round((100 * (ticks.iowait - lastTicks.iowait)) / dt),
    })
    lastCpu = cpu
    lastTicks = ticks
    lastAt = now
  }, 250)
  return () => clearInterval(timer)
}

const rows: Row[] = []
let stopSampler = () => {}
try {
  systems.push(setupMachine())
  await add(
    'tributary',
    () => startTributary({ dataDir: makeTempDir(opts.baseDir, 'tributary') }),
    setupTributaryRaw,
    // BENCH_LATENCY_CLIENT=0 leaves out the @platformatic/kafka series (a long steady run of the raw series alone).
    ...(process.env.BENCH_LATENCY_CLIENT === '0' ? [] : [setupTributaryClient]),
  )
  if (opts.systems.includes('kafka')) {
    // Equal durability both ways: Kafka's default (no fsync) next to Tributary with log.flush.policy=none, and
    // Kafka with flush.messages=1 next to Tributary's default above (fsync before the ack).
    await add(
      'tributary',
      () =>
        startTributary({
          dataDir: makeTempDir(opts.baseDir, 'tributary-none'),
          properties: { 'log.flush.policy': 'none' },
        }),
      named('tributary flush=none', setupTributaryRaw),
    )
    await add(
      'kafka',
      () => startKafkaBroker(opts.baseDir),
      named('kafka', setupTributaryRaw),
      named('kafka', setupTributaryClient),
    )
    await add(
      'kafka',
      () => startKafkaBroker(opts.baseDir, { properties: KAFKA_FLUSH_EVERY_MESSAGE }),
      named('kafka flush.messages=1', setupTributaryRaw),
    )
  }
  await add('redis', () => startRedis(opts.baseDir), setupRedis)
  await add('nats', () => startNats(opts.baseDir), setupNats)
  stopSampler = startLoadSampler(servers.find((x) => x.name === 'tributary'))
  for (let slice = 0; slice < opts.latencySlices; slice++) {
    // Rotate the order so no system always runs right after another.
    const order = systems.map((_, i) => systems[(i + slice) % systems.length]!)
    for (const system of order) {
      log(
        `latency slice ${slice + 1}/${opts.latencySlices}: ${system.name}, ${opts.latencyRate}/s for ${sliceSeconds} s`,
      )
      const from = Math.round(performance.now() - runStart)
      const before = system.recorders.map((r) => r.latencies.length)
      await drive(system)
      // Per-slice p99 of each consumer: one bad slice (a burst of load elsewhere) shows up as an outlier here.
      const p99s = system.recorders.map((r, i) => {
        const lat = Float64Array.from(r.latencies.slice(before[i])).sort()
        return Math.round(percentile(lat, 99) * 100) / 100
      })
      const broker = servers.find((x) => x.name === 'tributary')
      const brokerRssMiB = broker ? Math.round(broker.rssBytes() / 1048576) : undefined
      sliceLog.push({
        system: system.name,
        consumers: system.recorders.map((r) => r.consumer),
        fromMs: from,
        toMs: Math.round(performance.now() - runStart),
        p99s,
        brokerRssMiB,
      })
      if (p99s.length) log(`  p99 this slice: ${p99s.join(' / ')} ms`)
    }
  }
  for (const system of systems) {
    const acks = Float64Array.from(system.acks).sort()
    const error = system.failures.length ? `${system.failures.length} sends failed: ${system.failures[0]}` : undefined
    const base = {
      system: system.name,
      ackP50: percentile(acks, 50),
      ackP99: percentile(acks, 99),
      sent: system.measuredSent,
    }
    if (system.recorders.length === 0) {
      // The machine probe has no consumer: its "latency" is the append + fdatasync time.
      rows.push({
        ...base,
        consumer: `${opts.recordBytes} B append + fdatasync`,
        p50: base.ackP50,
        p99: base.ackP99,
        max: acks.at(-1) ?? Number.NaN,
        received: acks.length,
        ...(error ? { error } : {}),
      })
    }
    for (const rec of system.recorders) {
      const lat = Float64Array.from(rec.latencies).sort()
      rows.push({
        ...base,
        consumer: rec.consumer,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        max: lat.at(-1) ?? Number.NaN,
        received: lat.length,
        stalls: rec.stalls.slice(0, 30),
        ...(error ? { error } : {}),
      })
    }
  }
} finally {
  stopSampler()
  for (const system of systems) await system.close().catch(() => {})
  for (const server of servers) await server.close()
}
const nan = Number.NaN
for (const e of startErrors) {
  rows.push({
    system: e.system,
    consumer: '',
    p50: nan,
    p99: nan,
    max: nan,
    ackP50: nan,
    ackP99: nan,
    sent: 0,
    received: 0,
    error: e.error,
  })
}

printTable(
  `End-to-end latency, ms (${opts.latencyRate} records/s of ${opts.recordBytes} B, ${opts.latencySlices} × ${sliceSeconds} s per system; target p99 ≤ 2 ms and ≤ 2 × the machine's)`,
  ['system', 'consumer', 'p50', 'p99', 'max', 'ack p50', 'ack p99', 'sent', 'received', 'error'],
  rows.map((r) => [
    r.system,
    r.consumer,
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    fmt(r.max, 2),
    fmt(r.ackP50, 2),
    fmt(r.ackP99, 2),
    r.sent,
    r.received,
    r.error ?? '',
  ]),
)
for (const r of rows) {
  if (r.stalls?.length) {
    const list = r.stalls.map((x) => `${x.latencyMs} ms @${x.atMs}`).join(', ')
    process.stdout.write(`${r.system} / ${r.consumer}: stalls > ${STALL_MS} ms (latency @ ms since start): ${list}\n`)
  }
}
const trb = rows.find((r) => r.system === 'tributary' && r.consumer === RAW_CONSUMER)
const machineRow = rows.find((r) => r.system === 'machine')
// Steadiness (issue 8): the raw series' per-slice p99 in the first and the second half of the run, and the broker's
// RSS at the end of the first and the last slice, so growth over a long run shows.
const trbSlices = sliceLog.filter((x) => x.system === 'tributary' && x.consumers[0] === RAW_CONSUMER)
const half = Math.floor(trbSlices.length / 2)
const medianOf = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : nan
}
const steadiness =
  trbSlices.length >= 2
    ? {
        slices: trbSlices.length,
        firstHalfMedianP99: medianOf(trbSlices.slice(0, half).map((x) => x.p99s[0]!)),
        secondHalfMedianP99: medianOf(trbSlices.slice(half).map((x) => x.p99s[0]!)),
        worstSliceP99: Math.max(...trbSlices.map((x) => x.p99s[0]!)),
        brokerRssMiB: [trbSlices[0]!.brokerRssMiB, trbSlices.at(-1)!.brokerRssMiB],
      }
    : undefined
if (steadiness) {
  process.stdout.write(
    `tributary raw per-slice p99 over ${steadiness.slices} slices: median ${steadiness.firstHalfMedianP99} ms (first half), ` +
      `${steadiness.secondHalfMedianP99} ms (second half), worst ${steadiness.worstSliceP99} ms; broker RSS ` +
      `${steadiness.brokerRssMiB[0]} → ${steadiness.brokerRssMiB[1]} MiB\n`,
  )
}
const twiceMachine = machineRow ? 2 * machineRow.p99 : nan
for (const stall of (trb?.stalls ?? []).filter((x) => x.latencyMs >= 100).slice(0, 5)) {
  const around = loadSamples.filter((l) => l.atMs >= stall.atMs - 500 && l.atMs <= stall.atMs + stall.latencyMs + 250)
  const fmtLoad = (l: LoadSample) =>
    `${l.atMs}: broker ${l.brokerCpuPct}% machine ${l.machineBusyPct}% iowait ${l.iowaitPct}%`
  process.stdout.write(
    `load around the ${stall.latencyMs} ms stall @${stall.atMs}: ${around.map(fmtLoad).join('; ')}\n`,
  )
}
writeResult('latency', {
  options: opts,
  versions: {
    redis: binaryVersion(process.env.BENCH_REDIS_SERVER ?? 'redis-server'),
    nats: binaryVersion(process.env.BENCH_NATS_SERVER ?? 'nats-server'),
    kafka: kafkaVersion(),
  },
  durability: {
    tributary: 'acks=-1, fsync before the ack (group commit)',
    'tributary flush=none': 'acks=-1, log.flush.policy=none (page cache, like Kafka by default)',
    kafka: 'acks=-1, Kafka defaults (page cache; fsync left to the OS)',
    'kafka flush.messages=1': 'acks=-1, log.flush.interval.messages=1 (fsync before the ack)',
  },
  rows,
  /** Which system ran when (ms since start), to read `stalls` and `load` against. */
  slices: sliceLog,
  load: loadSamples,
  steadiness,
  target: {
    name: "tributary p99 ≤ 2 ms and ≤ 2 × the machine's append + fdatasync p99",
    p99: trb?.p99 ?? null,
    machineP99: machineRow?.p99 ?? null,
    met: trb ? trb.p99 <= 2 && trb.p99 <= twiceMachine : false,
  },
})
