/**
 * Stream processing throughput, side by side on one Tributary broker process and the same input, in alternating
 * rounds: a hand-written @platformatic/kafka consume→produce loop (the peer) against KafkaStreams running
 *   - map/filter (stateless, at_least_once and exactly_once_v2),
 *   - count by key into the LMDB store (at_least_once and exactly_once_v2),
 *   - tumbling window count (1-minute windows) over all keys (100k by default) into an LMDB window store,
 *   - stream-stream join: the input split in two streams (a key's occurrences alternate sides) joined by key within
 *     1 minute (6 results per key with 5 occurrences),
 * and the map and count topologies in Kafka Streams 4.x (Java, test-interop/java/src/KafkaStreamsApp.java; RocksDB
 * for the count) on the same broker and input, when java and mvn are installed.
 *   - stream-table join: each input record joined with a KTable (LMDB) of one row per key, read from a
 *     co-partitioned topic filled before the input (so the table is loaded before the stream's records, which
 *     have later timestamps; the run is timed from the first stream record).
 * Each run reads the whole input topic from the start. The loop is done when it has produced its last output;
 * a KafkaStreams run when it has processed the last record and close() has committed. Ratios are to the loop's
 * records/s.
 *
 *   node --import tsx bench/streams.ts [--quick]
 *
 * Sizes: BENCH_STREAMS_RECORDS, BENCH_STREAMS_KEYS, BENCH_STREAMS_VALUE_BYTES, BENCH_STREAMS_PARTITIONS,
 * BENCH_ROUNDS.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { ensureTopic, KafkaCluster } from '../src/client/index.ts'
import {
  JoinWindows,
  KafkaStreams,
  KeyValue,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
} from '../src/streams/index.ts'
import { startKafkaStreamsApp } from '../test/helpers/kafka-streams-app.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, startTributary, which } from './lib/servers.ts'
import { ratio, type Spread, spread } from './lib/stats.ts'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  const n = raw ? Number(raw) : fallback
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return n
}

const opts = benchOptions()
const records = envInt('BENCH_STREAMS_RECORDS', opts.quick ? 20000 : 500000)
const keys = envInt('BENCH_STREAMS_KEYS', opts.quick ? 2000 : 100000)
const valueBytes = envInt('BENCH_STREAMS_VALUE_BYTES', 100)
const partitions = envInt('BENCH_STREAMS_PARTITIONS', 4)
const rounds = opts.rounds
const INPUT = 'bench-streams-in'
const TABLE = 'bench-streams-table'

/** The map/filter both sides do: drop keys ending in 7, turn the value's bytes to upper case. */
const keep = (key: string) => !key.endsWith('7')
function transform(value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(value.length)
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    out[i] = c >= 0x61 && c <= 0x7a ? c - 32 : c
  }
  return out
}
let expectedOutputs = 0
for (let i = 0; i < records; i++) if (keep(`key-${i % keys}`)) expectedOutputs++

const dataDir = makeTempDir(opts.baseDir, 'streams')
const server = await startTributary({ dataDir, properties: { 'group.initial.rebalance.delay.ms': '0' } })
const bootstrap = `${HOST}:${server.port}`
const cluster = new KafkaCluster({ bootstrap })

async function fillInput(): Promise<void> {
  await ensureTopic(cluster.admin, INPUT, { partitions })
  await ensureTopic(cluster.admin, TABLE, { partitions })
  const producer = new Producer({ clientId: 'bench-fill', bootstrapBrokers: [bootstrap], acks: ProduceAcks.ALL })
  const value = Buffer.alloc(valueBytes, 0x61)
  try {
    // The table first (one row per key, partitioned as the input), so its rows have the earlier timestamps.
    if (SERIES.includes('stream-table-join')) {
      for (let start = 0; start < keys; start += 1000) {
        const n = Math.min(1000, keys - start)
        await producer.send({
          messages: Array.from({ length: n }, (_, j) => ({
            topic: TABLE,
            key: Buffer.from(`key-${start + j}`),
            value: Buffer.from(`row-${start + j}`),
            partition: (start + j) % partitions,
          })),
        })
      }
    }
    for (let start = 0; start < records; start += 1000) {
      const n = Math.min(1000, records - start)
      await producer.send({
        messages: Array.from({ length: n }, (_, j) => ({
          topic: INPUT,
          key: Buffer.from(`key-${(start + j) % keys}`),
          value,
          partition: (start + j) % partitions,
        })),
      })
    }
  } finally {
    await producer.close(true)
  }
}

interface Run {
  seconds: number
  recordsPerSec: number
}

/** The peer: Consumer stream → filter/map → Producer, batches of 1000, one send in flight, autocommit. */
async function loop(round: number): Promise<Run> {
  const output = `bench-loop-out-${round}`
  await ensureTopic(cluster.admin, output, { partitions })
  const consumer = new Consumer({
    clientId: 'bench-loop',
    groupId: `bench-loop-${round}`,
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 100,
  })
  const producer = new Producer({ clientId: 'bench-loop', bootstrapBrokers: [bootstrap], acks: ProduceAcks.ALL })
  try {
    const stream = await consumer.consume({ topics: [INPUT], mode: 'earliest', autocommit: 1000 })
    let start = 0n
    let consumed = 0
    let batch: Array<{ topic: string; key: Buffer; value: Buffer }> = []
    let inflight: Promise<unknown> = Promise.resolve()
    for await (const m of stream) {
      if (consumed++ === 0) start = process.hrtime.bigint()
      const key = (m.key as Buffer).toString()
      if (keep(key)) batch.push({ topic: output, key: m.key as Buffer, value: transform(m.value as Buffer) })
      if (batch.length >= 1000 || consumed === records) {
        await inflight
        inflight = producer.send({ messages: batch })
        batch = []
      }
      if (consumed === records) break
    }
    await inflight
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    await stream.close()
    return { seconds, recordsPerSec: records / seconds }
  } finally {
    await consumer.close(true)
    await producer.close(true)
  }
}

/** When the current KafkaStreams run processed its first record, and how many (a peek at the source notes it). */
let firstProcessed = 0n
let processedCount = 0
let allProcessed: () => void = () => {}
const noteFirst = () => {
  if (processedCount++ === 0) firstProcessed = process.hrtime.bigint()
  if (processedCount === records) allProcessed()
}

function mapTopology(output: string): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, Buffer>(INPUT)
    .peek(noteFirst)
    .filter((key) => keep(key))
    .mapValues((value) => transform(value))
    .to(output)
  return builder.build()
}

function countTopology(output: string): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, Buffer>(INPUT)
    .peek(noteFirst)
    .groupByKey()
    .count()
    .toStream()
    .to(output, Produced.with(Serdes.String(), Serdes.Long()))
  return builder.build()
}

/** `tumbling window count over 100k keys`: counts per key and 1-minute window (an LMDB window store). */
function tumblingCountTopology(output: string): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, Buffer>(INPUT)
    .peek(noteFirst)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
    .count()
    .toStream()
    .map((w, n) => KeyValue.pair(w.key, n))
    .to(output, Produced.with(Serdes.String(), Serdes.Long()))
  return builder.build()
}

/**
 * `stream-stream join`: a key's occurrences alternate between the two sides (its 1st, 3rd, ... on the left, its
 * 2nd, 4th, ... on the right), joined by key within a minute (inner join): with 5 occurrences of each key, 6
 * results per key.
 */
function streamJoinTopology(output: string): Topology {
  const builder = new StreamsBuilder()
  const seen = new Map<string, number>()
  let onLeft = false
  const input = builder
    .stream<string, Buffer>(INPUT)
    .peek(noteFirst)
    .peek((key) => {
      const n = seen.get(key) ?? 0
      seen.set(key, n + 1)
      onLeft = n % 2 === 0
    })
  const left = input.filter(() => onLeft)
  const right = input.filter(() => !onLeft)
  left.join(right, (a) => a, JoinWindows.ofTimeDifferenceWithNoGrace(60_000)).to(output)
  return builder.build()
}

/** `stream-table join`: each input record joined with a one-row-per-key KTable (LMDB). */
function joinTopology(output: string): Topology {
  const builder = new StreamsBuilder()
  const table = builder.table<string, Buffer>(TABLE)
  builder
    .stream<string, Buffer>(INPUT)
    .peek(noteFirst)
    .join(table, (value, row) => Buffer.concat([row, value]))
    .to(output)
  return builder.build()
}

/**
 * A KafkaStreams run with Kafka Streams' default commit interval (30 s under at_least_once, 100 ms under
 * exactly_once_v2): from the first processed record until the last one is processed and close() has committed.
 */
async function streamsRun(
  name: string,
  round: number,
  topology: (output: string) => Topology,
  guarantee: 'at_least_once' | 'exactly_once_v2',
): Promise<Run> {
  const applicationId = `bench-${name}-${round}`
  const output = `${applicationId}-out`
  await ensureTopic(cluster.admin, output, { partitions })
  const stateDir = mkdtempSync(join(dataDir, 'state-'))
  const streams = new KafkaStreams(topology(output), {
    'application.id': applicationId,
    'bootstrap.servers': bootstrap,
    'processing.guarantee': guarantee,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.Bytes(),
    'state.dir': stateDir,
    'log.level': 'warn',
  })
  try {
    firstProcessed = 0n
    processedCount = 0
    const done = new Promise<void>((resolve) => {
      allProcessed = resolve
    })
    await streams.start()
    await done
    await streams.close()
    const seconds = Number(process.hrtime.bigint() - firstProcessed) / 1e9
    return { seconds, recordsPerSec: records / seconds }
  } finally {
    await streams.close()
    rmSync(stateDir, { recursive: true, force: true })
  }
}

/**
 * The same topology in Kafka Streams (Java), one JVM per run, with Kafka Streams' defaults (commit interval, record
 * cache, RocksDB for the count): from its first processed record until the last one is processed and close() has
 * committed, timed inside the JVM as streamsRun() times the TypeScript runtime.
 */
async function javaRun(
  name: string,
  round: number,
  topology: 'map' | 'count',
  guarantee: 'at_least_once' | 'exactly_once_v2',
): Promise<Run> {
  const applicationId = `bench-${name}-${round}`
  const output = `${applicationId}-out`
  await ensureTopic(cluster.admin, output, { partitions })
  const stateDir = mkdtempSync(join(dataDir, 'kstreams-state-'))
  const app = await startKafkaStreamsApp({
    topology,
    bootstrap,
    applicationId,
    input: INPUT,
    output,
    guarantee,
    stateDir,
    records,
  })
  try {
    const { seconds } = await app.done
    return { seconds, recordsPerSec: records / seconds }
  } finally {
    await app.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
}

const JAVA_SERIES = ['kstreams-map', 'kstreams-map-eos', 'kstreams-count', 'kstreams-count-eos'] as const
const ALL_SERIES = [
  'loop',
  'map',
  'map-eos',
  'count-lmdb',
  'count-lmdb-eos',
  'tumbling-count',
  'stream-stream-join',
  'stream-table-join',
  ...JAVA_SERIES,
] as const
type Series = (typeof ALL_SERIES)[number]
const javaAvailable = Boolean(which('java') && which('mvn'))
if (!javaAvailable)
  log('java or mvn not found (apt-get install -y openjdk-17-jdk-headless maven): skipping Kafka Streams')
/** BENCH_STREAMS_SERIES=loop,map to run some only (for profiling). */
const SERIES = (process.env.BENCH_STREAMS_SERIES?.split(',') ?? [...ALL_SERIES]).filter(
  (s) => javaAvailable || !s.startsWith('kstreams-'),
) as Series[]
const runs = new Map<Series, Run[]>(SERIES.map((s) => [s, []]))
const RUNNERS: Record<Series, (round: number) => Promise<Run>> = {
  loop: (round) => loop(round),
  map: (round) => streamsRun('map', round, mapTopology, 'at_least_once'),
  'map-eos': (round) => streamsRun('map-eos', round, mapTopology, 'exactly_once_v2'),
  'count-lmdb': (round) => streamsRun('count', round, countTopology, 'at_least_once'),
  'count-lmdb-eos': (round) => streamsRun('count-eos', round, countTopology, 'exactly_once_v2'),
  'tumbling-count': (round) => streamsRun('tumbling', round, tumblingCountTopology, 'at_least_once'),
  'stream-stream-join': (round) => streamsRun('ssjoin', round, streamJoinTopology, 'at_least_once'),
  'stream-table-join': (round) => streamsRun('join', round, joinTopology, 'at_least_once'),
  'kstreams-map': (round) => javaRun('kstreams-map', round, 'map', 'at_least_once'),
  'kstreams-map-eos': (round) => javaRun('kstreams-map-eos', round, 'map', 'exactly_once_v2'),
  'kstreams-count': (round) => javaRun('kstreams-count', round, 'count', 'at_least_once'),
  'kstreams-count-eos': (round) => javaRun('kstreams-count-eos', round, 'count', 'exactly_once_v2'),
}
try {
  log(`filling ${INPUT}: ${records} records, ${keys} keys, ${valueBytes} B values, ${partitions} partitions`)
  await fillInput()
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...SERIES] : [...SERIES].reverse()
    for (const s of order) {
      const run = await RUNNERS[s](round)
      runs.get(s)!.push(run)
      log(`round ${round + 1}/${rounds} ${s}: ${fmt(run.recordsPerSec, 0)} records/s`)
    }
  }
} finally {
  await cluster.close()
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
}

const rates = new Map<Series, Spread>([...runs].map(([s, r]) => [s, spread(r.map((x) => x.recordsPerSec))]))
const median = (s: Series) => rates.get(s)?.median ?? Number.NaN
const loopRate = median('loop')
const goals: Partial<Record<Series, number>> = { map: 0.7, 'count-lmdb': 0.4 }
printTable(
  `Stream processing vs a hand-written @platformatic/kafka loop (${records} records, ${keys} keys, ${valueBytes} B values, ${partitions} partitions, median of ${rounds})`,
  ['series', 'records/s', 'ratio to loop', 'goal'],
  SERIES.map((s) => [
    s,
    fmt(median(s), 0),
    fmt(ratio(median(s), loopRate), 2),
    goals[s] === undefined ? '' : `≥ ${goals[s]}`,
  ]),
)
const eosMap = ratio(median('map-eos'), median('map'))
const eosCount = ratio(median('count-lmdb-eos'), median('count-lmdb'))
printTable(
  'exactly_once_v2 / at_least_once',
  ['topology', 'ratio'],
  [
    ['map/filter', fmt(eosMap, 2)],
    ['count (LMDB)', fmt(eosCount, 2)],
  ],
)
/** tributary/streams / Kafka Streams (Java), same topology and guarantee; goal ≥ 1.0. */
const vsJava: Array<[string, Series, Series]> = [
  ['map/filter, at_least_once', 'map', 'kstreams-map'],
  ['map/filter, exactly_once_v2', 'map-eos', 'kstreams-map-eos'],
  ['count (LMDB vs RocksDB), at_least_once', 'count-lmdb', 'kstreams-count'],
  ['count (LMDB vs RocksDB), exactly_once_v2', 'count-lmdb-eos', 'kstreams-count-eos'],
]
if (javaAvailable)
  printTable(
    'tributary/streams / Kafka Streams 4.x (Java), same broker and input',
    ['topology', 'tributary records/s', 'Kafka Streams records/s', 'ratio', 'goal'],
    vsJava.map(([label, ts, java]) => [
      label,
      fmt(median(ts), 0),
      fmt(median(java), 0),
      fmt(ratio(median(ts), median(java)), 2),
      '≥ 1.0',
    ]),
  )
writeResult('streams', {
  command: `node --import tsx bench/streams.ts${opts.quick ? ' --quick' : ''}`,
  workload: { records, keys, valueBytes, partitions, rounds, expectedOutputs },
  series: Object.fromEntries([...runs].map(([s, r]) => [s, { recordsPerSec: rates.get(s), runs: r }])),
  ratios: {
    mapToLoop: ratio(median('map'), loopRate),
    countLmdbToLoop: ratio(median('count-lmdb'), loopRate),
    tumblingCountToLoop: ratio(median('tumbling-count'), loopRate),
    streamStreamJoinToLoop: ratio(median('stream-stream-join'), loopRate),
    streamTableJoinToLoop: ratio(median('stream-table-join'), loopRate),
    eosToAlosMap: eosMap,
    eosToAlosCount: eosCount,
    ...(javaAvailable
      ? Object.fromEntries(vsJava.map(([, ts, java]) => [`${ts}ToKafkaStreams`, ratio(median(ts), median(java))]))
      : {}),
  },
})
