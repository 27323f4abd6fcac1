/**
 * Interactive-query latency: two KafkaStreams instances of one application (a count per key over a 4-partition
 * topic, LMDB stores) each serve queries over HTTP (interactive.queries.port). Measured one query at a time, p50 and
 * p99 in microseconds:
 * - `store().get` in process (no HTTP), the floor of a query;
 * - HTTP, local: instance A asked for a key A holds;
 * - HTTP, routed: instance A asked for a key B holds (A forwards to B: two HTTP hops);
 * - reference: a bare node:http server answering from a Map, the cost of one HTTP round trip on this machine.
 * Ratios are against the reference in the same run.
 *
 *   node --import tsx bench/streams-iq.ts [--quick]
 *
 * Sizes: BENCH_IQ_KEYS (default 10,000; quick 1,000), BENCH_IQ_QUERIES (default 20,000; quick 1,000).
 */
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { ensureTopic, KafkaCluster } from '../src/client/index.ts'
import {
  KafkaStreams,
  Materialized,
  Position,
  PositionBound,
  QueryableStoreTypes,
  Serdes,
  StoreQueryParameters,
  StreamsBuilder,
} from '../src/streams/index.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, startTributary } from './lib/servers.ts'
import { percentile, ratio } from './lib/stats.ts'

const opts = benchOptions()
const keys = Number(process.env.BENCH_IQ_KEYS ?? (opts.quick ? 1000 : 10000))
const queries = Number(process.env.BENCH_IQ_QUERIES ?? (opts.quick ? 1000 : 20000))
const PARTITIONS = 4
const APP = 'bench-iq'
const INPUT = 'bench-iq-clicks'
const STORE = 'clicks'

interface Latency {
  p50: number
  p99: number
  samples: number
}

/** Runs `query` `n` times one after another (after n/10 warm-up calls), latencies in microseconds. */
async function measure(n: number, query: (i: number) => Promise<unknown> | unknown): Promise<Latency> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await query(i)
  const samples = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    await query(i)
    samples[i] = Number(process.hrtime.bigint() - t) / 1000
  }
  samples.sort()
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: n }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url)
  const body = (await response.json()) as Record<string, unknown>
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`)
  return body
}

const dataDir = makeTempDir(opts.baseDir, 'streams-iq')
const server = await startTributary({ dataDir, properties: { 'group.initial.rebalance.delay.ms': '0' } })
const bootstrap = `${HOST}:${server.port}`
const cluster = new KafkaCluster({ bootstrap })
const instances: KafkaStreams[] = []
const reference = createServer()
try {
  await ensureTopic(cluster.admin, INPUT, { partitions: PARTITIONS })
  for (const name of ['a', 'b']) {
    const builder = new StreamsBuilder()
    builder.stream<string, string>(INPUT).groupByKey().count(Materialized.as<string, number>(STORE))
    const streams = new KafkaStreams(builder.build(), {
      'application.id': APP,
      'bootstrap.servers': bootstrap,
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.String(),
      'state.dir': makeTempDir(dataDir, `state-${name}-`),
      'interactive.queries.port': 0,
      'log.level': 'warn',
    })
    instances.push(streams)
    await streams.start()
  }
  const [a, b] = instances as [KafkaStreams, KafkaStreams]
  log('waiting for both instances to hold two partitions each')
  for (;;) {
    const all = a.metadataForAllStreamsClients()
    if (
      a.state === 'RUNNING' &&
      b.state === 'RUNNING' &&
      all.length === 2 &&
      all.every((m) => m.topicPartitions.length === PARTITIONS / 2)
    )
      break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  log(`writing ${keys} keys`)
  const producer = new Producer({ clientId: 'bench-iq', bootstrapBrokers: [bootstrap], acks: ProduceAcks.ALL })
  const offsets: Array<{ topic: string; partition: number; offset: bigint }> = []
  for (let start = 0; start < keys; start += 1000) {
    const n = Math.min(1000, keys - start)
    const result = await producer.send({
      messages: Array.from({ length: n }, (_, j) => ({
        topic: INPUT,
        key: Buffer.from(`user-${start + j}`),
        value: Buffer.from('click'),
      })),
    })
    offsets.push(...(result.offsets ?? []))
  }
  await producer.close()
  const written = Position.fromOffsets(offsets)
  const params = StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.keyValueStore<string, number>())
  for (const s of instances) await s.waitForPosition(params, PositionBound.at(written), { timeout: 120000 })

  const onA: string[] = []
  const onB: string[] = []
  const hostA = a.applicationServer!
  for (let i = 0; i < keys; i++) {
    const key = `user-${i}`
    const meta = a.queryMetadataForKey(STORE, key)
    ;(meta.activeHost.port === hostA.port ? onA : onB).push(key)
  }
  const values = new Map(Array.from({ length: keys }, (_, i) => [`user-${i}`, 1]))
  reference.on('request', (req, res) => {
    const key = decodeURIComponent((req.url ?? '').split('/').pop() ?? '')
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end(JSON.stringify({ key, value: values.get(key) ?? null }))
  })
  reference.listen(0, HOST)
  await once(reference, 'listening')
  const refPort = (reference.address() as { port: number }).port

  const storeA = a.store(params)
  const base = `http://${HOST}:${a.queriesPort}/stores/${STORE}/keys/`
  log(`${queries} queries each: in process, HTTP local, HTTP routed, reference HTTP`)
  const inProcess = await measure(queries, (i) => {
    if (storeA.get(onA[i % onA.length]!) !== 1) throw new Error('wrong count')
  })
  const local = await measure(queries, async (i) => {
    const body = await getJson(base + onA[i % onA.length])
    if (body.value !== 1) throw new Error(`wrong answer ${JSON.stringify(body)}`)
  })
  const routed = await measure(queries, async (i) => {
    const body = await getJson(base + onB[i % onB.length])
    if (body.value !== 1) throw new Error(`wrong answer ${JSON.stringify(body)}`)
  })
  const plain = await measure(queries, async (i) => {
    await getJson(`http://${HOST}:${refPort}/keys/${onA[i % onA.length]}`)
  })

  const row = (name: string, l: Latency) => [
    name,
    fmt(l.p50),
    fmt(l.p99),
    fmt(ratio(l.p50, plain.p50), 2),
    fmt(ratio(l.p99, plain.p99), 2),
  ]
  printTable(
    `Interactive-query latency p50/p99 local and routed (${keys} keys, ${PARTITIONS} partitions on 2 instances, ${queries} sequential queries)`,
    ['query', 'p50 µs', 'p99 µs', 'p50 / reference', 'p99 / reference'],
    [
      row('store().get in process', inProcess),
      row('HTTP, key on the instance asked (local)', local),
      row('HTTP, key on the other instance (routed)', routed),
      row('reference: bare node:http answering from a Map', plain),
    ],
  )
  writeResult('streams-iq', {
    command: `node --import tsx bench/streams-iq.ts${opts.quick ? ' --quick' : ''}`,
    workload: { keys, queries, partitions: PARTITIONS, instances: 2 },
    latencyMicros: { inProcess, local, routed, reference: plain },
    ratiosToReference: {
      localP50: ratio(local.p50, plain.p50),
      localP99: ratio(local.p99, plain.p99),
      routedP50: ratio(routed.p50, plain.p50),
      routedP99: ratio(routed.p99, plain.p99),
    },
  })
} finally {
  reference.close()
  for (const s of instances) await s.close()
  await cluster.close()
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
}
