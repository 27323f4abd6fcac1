/**
 * Produce and consume throughput of Tributary, Redis Streams, NATS JetStream and Apache Kafka 4.x against this
 * machine's limit, all measured in the same run. Kafka is compared at equal durability both ways: Tributary's
 * default (fsync before the ack) against Kafka with flush.messages=1, and Kafka's default (no fsync) against
 * Tributary with log.flush.policy=none. Rounds alternate (limit, Tributary, Kafka, Redis, NATS, limit, ...) because the
 * disk's speed drifts a lot between runs here; each figure is reported as min/median/max over the rounds.
 *
 *   node --import tsx bench/throughput.ts [--quick]
 */
import type { Measured, Workload } from './lib/drivers.ts'
import * as drivers from './lib/drivers.ts'
import { measureLimit, warmPageCache } from './lib/machine-limit.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import {
  binaryVersion,
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
import { ratio, type Spread, spread } from './lib/stats.ts'

const opts = benchOptions()
const records =
  Math.max(1, Math.round((opts.volumeMiB * 2 ** 20) / opts.recordBytes / opts.batchRecords)) * opts.batchRecords
const workload: Workload = {
  recordBytes: opts.recordBytes,
  batchRecords: opts.batchRecords,
  inflight: opts.inflight,
  records,
  fetchBytes: opts.fetchBytes,
}

/** Unmeasured load for a freshly started server before its measured phases. */
const warmupWorkload: Workload = {
  ...workload,
  records:
    Math.max(1, Math.round((opts.warmupMiB * 2 ** 20) / opts.recordBytes / opts.batchRecords)) * opts.batchRecords,
}

/** One measured series, e.g. "tributary raw produce". */
interface Series {
  samples: number[]
  /** Server CPU seconds per payload GiB, to tell a busy server from an idle one waiting on the client. */
  serverCpuPerGiB: number[]
  clientCpuPerGiB: number[]
  firstRecordSeconds: number[]
  errors: string[]
}

const series = new Map<string, Series>()
const skipped = new Map<string, string>()

function get(name: string): Series {
  let s = series.get(name)
  if (!s) {
    s = { samples: [], serverCpuPerGiB: [], clientCpuPerGiB: [], firstRecordSeconds: [], errors: [] }
    series.set(name, s)
  }
  return s
}

async function phase(name: string, server: ServerProcess, run: () => Promise<Measured>): Promise<void> {
  const s = get(name)
  const serverCpu0 = server.cpuSeconds()
  const clientCpu0 = process.cpuUsage()
  try {
    const m = await run()
    const gib = (m.records * workload.recordBytes) / 2 ** 30
    const clientCpu = process.cpuUsage(clientCpu0)
    s.samples.push(m.mibPerSec)
    s.serverCpuPerGiB.push((server.cpuSeconds() - serverCpu0) / gib)
    s.clientCpuPerGiB.push((clientCpu.user + clientCpu.system) / 1e6 / gib)
    if (m.firstRecordSeconds !== undefined) s.firstRecordSeconds.push(m.firstRecordSeconds)
    log(`${name}: ${fmt(m.mibPerSec)} MiB/s (${fmt(m.seconds, 2)} s)`)
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!
    s.errors.push(msg)
    log(`${name}: FAILED ${msg}`)
  }
}

/** A measured phase: the memory warm-up (same as before the disk probes) runs first, outside the measurement. */
function measuredPhase(name: string, server: ServerProcess, run: () => Promise<Measured>): Promise<void> {
  warmPageCache(opts.baseDir, opts.warmMiB)
  return phase(name, server, run)
}

async function withServer(
  system: string,
  start: () => Promise<ServerProcess>,
  body: (server: ServerProcess) => Promise<void>,
): Promise<void> {
  if (skipped.has(system)) return
  let server: ServerProcess
  try {
    server = await start()
  } catch (err) {
    const msg = (err as Error).message
    if (err instanceof PeerMissingError) {
      skipped.set(system, msg)
      log(msg)
    } else {
      get(`${system} start`).errors.push(msg.split('\n')[0]!)
      log(`${system} failed to start: ${msg}`)
    }
    return
  }
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

const has = (system: string) => opts.systems.includes(system)

log(
  `throughput: ${opts.rounds} round(s), ${records} records × ${workload.recordBytes} B per run, ` +
    `${workload.batchRecords} records per call, ${workload.inflight} in flight`,
)
for (let round = 1; round <= opts.rounds; round++) {
  log(`round ${round}/${opts.rounds}: machine limit`)
  const limit = await measureLimit(opts.baseDir, opts.limitDiskMiB, opts.limitSyncEvery, opts.limitTcpMiB, opts.warmMiB)
  get('limit: disk 1 MiB write+fdatasync').samples.push(limit.diskEveryWriteMiBs)
  get(`limit: disk ${opts.limitSyncEvery} × 1 MiB writes+fdatasync`).samples.push(limit.diskGroupedMiBs)
  get('limit: loopback TCP').samples.push(limit.tcpMiBs)
  get('limit').samples.push(limit.limitMiBs)
  log(
    `limit: disk ${fmt(limit.diskEveryWriteMiBs)} MiB/s (sync every write), ` +
      `${fmt(limit.diskGroupedMiBs)} MiB/s (sync every ${opts.limitSyncEvery}), tcp ${fmt(limit.tcpMiBs)} MiB/s`,
  )

  if (has('tributary')) {
    await withServer(
      'tributary',
      () => startTributary({ dataDir: makeTempDir(opts.baseDir, 'tributary') }),
      async (s) => {
        await drivers.rawKafkaProduce(s.port, 'bench-warmup', warmupWorkload)
        // Each consume reads what was produced just before it, as Redis and NATS do below.
        await measuredPhase('tributary produce (raw)', s, () => drivers.rawKafkaProduce(s.port, 'bench-raw', workload))
        await measuredPhase('tributary consume (raw)', s, () => drivers.rawKafkaConsume(s.port, 'bench-raw', workload))
        await measuredPhase('tributary produce (@platformatic/kafka)', s, () =>
          drivers.clientKafkaProduce(s.port, 'bench-client', workload),
        )
        await measuredPhase('tributary consume (@platformatic/kafka)', s, () =>
          drivers.clientKafkaConsume(s.port, 'bench-client', workload),
        )
        if (opts.kafkajs) {
          await measuredPhase('tributary produce (kafkajs)', s, () =>
            drivers.kafkajsProduce(s.port, 'bench-kafkajs', workload),
          )
          await measuredPhase('tributary consume (kafkajs)', s, () =>
            drivers.kafkajsConsume(s.port, 'bench-kafkajs', workload),
          )
        }
      },
    )
  }
  if (has('tributary') && has('kafka')) {
    // Kafka's durability (acks from the page cache, no fsync): Tributary with log.flush.policy=none.
    await withServer(
      'tributary (flush none)',
      () =>
        startTributary({
          dataDir: makeTempDir(opts.baseDir, 'tributary-none'),
          properties: { 'log.flush.policy': 'none' },
        }),
      async (s) => {
        await drivers.rawKafkaProduce(s.port, 'bench-warmup', warmupWorkload)
        await measuredPhase('tributary flush=none produce (raw)', s, () =>
          drivers.rawKafkaProduce(s.port, 'bench-raw', workload),
        )
        await measuredPhase('tributary flush=none produce (@platformatic/kafka)', s, () =>
          drivers.clientKafkaProduce(s.port, 'bench-client', workload),
        )
      },
    )
  }
  if (has('kafka')) {
    await withServer(
      'kafka',
      () => startKafkaBroker(opts.baseDir),
      async (s) => {
        await drivers.rawKafkaProduce(s.port, 'bench-warmup', warmupWorkload)
        await measuredPhase('kafka produce (raw)', s, () => drivers.rawKafkaProduce(s.port, 'bench-raw', workload))
        await measuredPhase('kafka consume (raw)', s, () => drivers.rawKafkaConsume(s.port, 'bench-raw', workload))
        await measuredPhase('kafka produce (@platformatic/kafka)', s, () =>
          drivers.clientKafkaProduce(s.port, 'bench-client', workload),
        )
        await measuredPhase('kafka consume (@platformatic/kafka)', s, () =>
          drivers.clientKafkaConsume(s.port, 'bench-client', workload),
        )
      },
    )
    // Tributary's durability (fsync before the ack): Kafka flushing every message.
    await withServer(
      'kafka (flush.messages=1)',
      () => startKafkaBroker(opts.baseDir, { properties: KAFKA_FLUSH_EVERY_MESSAGE }),
      async (s) => {
        await drivers.rawKafkaProduce(s.port, 'bench-warmup', warmupWorkload)
        await measuredPhase('kafka flush.messages=1 produce (raw)', s, () =>
          drivers.rawKafkaProduce(s.port, 'bench-raw', workload),
        )
        await measuredPhase('kafka flush.messages=1 produce (@platformatic/kafka)', s, () =>
          drivers.clientKafkaProduce(s.port, 'bench-client', workload),
        )
      },
    )
  }
  if (has('redis')) {
    await withServer(
      'redis',
      () => startRedis(opts.baseDir),
      async (s) => {
        await drivers.redisProduce(s.port, 'warmup', warmupWorkload)
        await measuredPhase('redis produce', s, () => drivers.redisProduce(s.port, 'bench', workload))
        await measuredPhase('redis consume', s, () => drivers.redisConsume(s.port, 'bench', workload))
      },
    )
  }
  if (has('nats')) {
    await withServer(
      'nats',
      () => startNats(opts.baseDir),
      async (s) => {
        await drivers.natsProduce(s.port, 'warmup', warmupWorkload)
        await measuredPhase('nats produce', s, () => drivers.natsProduce(s.port, 'bench', workload))
        await measuredPhase('nats consume', s, () => drivers.natsConsume(s.port, 'bench', workload))
      },
    )
  }
}

const summary: Record<string, Spread & { serverCpuPerGiB?: number; clientCpuPerGiB?: number; errors: string[] }> = {}
const median = (xs: number[]) => (xs.length ? spread(xs).median : Number.NaN)
for (const [name, s] of series) {
  summary[name] = {
    ...spread(s.samples),
    serverCpuPerGiB: s.serverCpuPerGiB.length ? median(s.serverCpuPerGiB) : undefined,
    clientCpuPerGiB: s.clientCpuPerGiB.length ? median(s.clientCpuPerGiB) : undefined,
    ...(s.firstRecordSeconds.length ? { firstRecordSeconds: median(s.firstRecordSeconds) } : {}),
    errors: s.errors,
  }
}

printTable(
  `Throughput, MiB/s of payload (${opts.rounds} round(s), ${fmt((records * workload.recordBytes) / 2 ** 20, 0)} MiB per run)`,
  ['series', 'min', 'median', 'max', 'server CPU s/GiB', 'client CPU s/GiB', 'errors'],
  [...Object.entries(summary)].map(([name, v]) => [
    name,
    fmt(v.min),
    fmt(v.median),
    fmt(v.max),
    fmt(v.serverCpuPerGiB, 2),
    fmt(v.clientCpuPerGiB, 2),
    v.errors.length ? v.errors[0]!.slice(0, 60) : '',
  ]),
)

const m = (name: string) => summary[name]?.median ?? Number.NaN
const limitMedian = m('limit')
interface Target {
  name: string
  value: number
  target: number
  met: boolean
}
const targets: Target[] = []
const target = (name: string, value: number, goal: number) =>
  targets.push({ name, value, target: goal, met: Number.isFinite(value) && value >= goal })
for (const via of ['raw', '@platformatic/kafka', ...(opts.kafkajs ? ['kafkajs'] : [])]) {
  target(`produce (${via}) / machine limit`, ratio(m(`tributary produce (${via})`), limitMedian), 0.5)
  target(`consume (${via}) / machine limit`, ratio(m(`tributary consume (${via})`), limitMedian), 0.5)
  target(`produce (${via}) / Redis Streams produce`, ratio(m(`tributary produce (${via})`), m('redis produce')), 2)
  target(`produce (${via}) / NATS JetStream produce`, ratio(m(`tributary produce (${via})`), m('nats produce')), 4)
  target(`consume (${via}) / Redis Streams consume`, ratio(m(`tributary consume (${via})`), m('redis consume')), 1.5)
}
// Apache Kafka at equal durability (issue 11): Tributary ≥ 1.0× Kafka ingest and consume.
for (const via of ['raw', '@platformatic/kafka']) {
  target(
    `produce (${via}), fsync before ack / Kafka flush.messages=1`,
    ratio(m(`tributary produce (${via})`), m(`kafka flush.messages=1 produce (${via})`)),
    1,
  )
  target(
    `produce (${via}), no fsync / Kafka default`,
    ratio(m(`tributary flush=none produce (${via})`), m(`kafka produce (${via})`)),
    1,
  )
  target(`consume (${via}) / Kafka consume`, ratio(m(`tributary consume (${via})`), m(`kafka consume (${via})`)), 1)
}
// Context, not targets: the produce ceiling if every 1 MiB write were synced alone, and the consume ceiling
// without the disk (a consumer of recent data reads from the page cache).
const context = [
  {
    name: 'produce (raw) / disk with fdatasync every write',
    value: ratio(m('tributary produce (raw)'), m('limit: disk 1 MiB write+fdatasync')),
  },
  { name: 'consume (raw) / loopback TCP', value: ratio(m('tributary consume (raw)'), m('limit: loopback TCP')) },
]
printTable(
  'Ratios of medians (Tributary over …)',
  ['ratio', 'value', 'target', 'met'],
  targets.map((t) => [
    t.name,
    fmt(t.value, 2),
    `≥ ${t.target}`,
    Number.isFinite(t.value) ? (t.met ? 'yes' : 'NO') : 'n/a',
  ]),
)
for (const c of context) process.stdout.write(`${c.name}: ${fmt(c.value, 2)}\n`)
for (const [system, why] of skipped) process.stdout.write(`skipped ${system}: ${why}\n`)

writeResult('throughput', {
  options: opts,
  workload,
  versions: {
    redis: binaryVersion(process.env.BENCH_REDIS_SERVER ?? 'redis-server'),
    nats: binaryVersion(process.env.BENCH_NATS_SERVER ?? 'nats-server'),
    kafka: kafkaVersion(),
  },
  durability: {
    tributary: 'acks=-1, default flush policy (group commit: fdatasync before the produce response)',
    redis: 'AOF appendfsync everysec (up to ~1 s of acknowledged writes can be lost)',
    nats: 'JetStream file storage; nats-server 2.9 syncs stream files every 2 minutes (not configurable in 2.9)',
    'tributary flush=none': 'acks=-1, log.flush.policy=none: answered from the page cache, like Kafka by default',
    kafka: 'acks=-1, Kafka defaults: answered from the page cache, fsync left to the OS (durability from replicas)',
    'kafka flush.messages=1': 'acks=-1, log.flush.interval.messages=1: fsync of the log before the ack',
  },
  summary,
  targets,
  context,
  skipped: Object.fromEntries(skipped),
})
