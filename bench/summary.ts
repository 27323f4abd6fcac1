/**
 * Turns bench/results/*.json into the Markdown tables of BENCHMARKS.md (printed to stdout).
 *
 *   node --import tsx bench/summary.ts            # print
 *   node --import tsx bench/summary.ts --write    # replace the generated section of BENCHMARKS.md
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_ROOT, fmt, REPO_ROOT } from './lib/report.ts'

const START = '<!-- bench:results:start -->'
const END = '<!-- bench:results:end -->'

// biome-ignore lint/suspicious/noExplicitAny: results are untyped JSON written by the benchmarks
type Json = any

function load(name: string): Json | undefined {
  const file = join(BENCH_ROOT, 'results', `${name}.json`)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}

const out: string[] = []
const spreadCells = (v: Json) => [fmt(v.min, 0), fmt(v.median, 0), fmt(v.max, 0)]
const table = (header: string[], rows: (string | number)[][]) => {
  out.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`)
  for (const r of rows) out.push(`| ${r.join(' | ')} |`)
  out.push('')
}
const met = (ok: boolean | undefined, value: number) =>
  !Number.isFinite(value) ? 'n/a' : ok ? '**met**' : '**missed**'

const tp = load('throughput')
const lat = load('latency')
const rss = load('rss')
const st = load('startup')
const any = tp ?? lat ?? rss ?? st
if (any) {
  const m = any.machine
  out.push(
    `Machine: ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}` +
      (tp ? `; redis-server ${/v=(\S+)/.exec(tp.versions.redis)?.[1] ?? tp.versions.redis}; ${tp.versions.nats}` : '') +
      (tp?.versions.kafka ? `; ${tp.versions.kafka}` : ''),
    '',
  )
}

if (tp) {
  out.push(
    `### Throughput (${tp.date.slice(0, 16)}Z, ${tp.options.rounds} alternating rounds, ` +
      `${tp.workload.records} × ${tp.workload.recordBytes} B records per run, ${tp.workload.batchRecords} per call, ` +
      `${tp.workload.inflight} in flight)`,
    '',
  )
  table(
    ['series', 'min MiB/s', 'median MiB/s', 'max MiB/s', 'server CPU s/GiB', 'client CPU s/GiB'],
    Object.entries(tp.summary).map(([name, v]: [string, Json]) => [
      name + (v.errors?.length ? ` (error: ${v.errors[0].slice(0, 80)})` : ''),
      fmt(v.min),
      fmt(v.median),
      fmt(v.max),
      fmt(v.serverCpuPerGiB, 2),
      fmt(v.clientCpuPerGiB, 2),
    ]),
  )
  table(
    ['ratio (medians)', 'value', 'target', 'result'],
    tp.targets.map((t: Json) => [
      t.name,
      fmt(t.value ?? Number.NaN, 2),
      `≥ ${t.target}`,
      met(t.met, t.value ?? Number.NaN),
    ]),
  )
  for (const c of tp.context ?? []) out.push(`- ${c.name}: ${fmt(c.value ?? Number.NaN, 2)}`)
  if (tp.context?.length) out.push('')
  for (const [system, why] of Object.entries(tp.skipped ?? {})) out.push(`Skipped ${system}: ${why}`, '')
}

if (lat) {
  out.push(
    `### End-to-end latency (${lat.date.slice(0, 16)}Z, ${lat.options.latencyRate} records/s of ` +
      `${lat.options.recordBytes} B, ${lat.options.latencySeconds} s per system in ${lat.options.latencySlices ?? 1} ` +
      'rotating slices, each after 1 s warm-up)',
    '',
  )
  table(
    ['system', 'consumer', 'p50 ms', 'p99 ms', 'max ms', 'produce ack p50 ms', 'ack p99 ms', 'records'],
    lat.rows.map((r: Json) => [
      r.system,
      r.consumer + (r.error ? ` (error: ${r.error.slice(0, 80)})` : ''),
      fmt(r.p50 ?? Number.NaN, 2),
      fmt(r.p99 ?? Number.NaN, 2),
      fmt(r.max ?? Number.NaN, 2),
      fmt(r.ackP50 ?? Number.NaN, 2),
      fmt(r.ackP99 ?? Number.NaN, 2),
      `${r.received}/${r.sent}`,
    ]),
  )
  const st = lat.steadiness
  if (st) {
    out.push(
      `Tributary raw, per-slice p99 over ${st.slices} slices: median ${st.firstHalfMedianP99} ms in the first half, ` +
        `${st.secondHalfMedianP99} ms in the second, worst ${st.worstSliceP99} ms; broker RSS ` +
        `${st.brokerRssMiB[0]} → ${st.brokerRssMiB[1]} MiB.`,
      '',
    )
  }
  out.push(
    `Target Tributary p99 ≤ 2 ms and ≤ 2 × the machine's append + fdatasync p99` +
      `${lat.target.machineP99 ? ` (${fmt(2 * lat.target.machineP99, 2)} ms)` : ''}: ` +
      `${met(lat.target.met, lat.target.p99 ?? Number.NaN)}`,
    '',
  )
}

if (rss) {
  out.push(`### Broker RSS vs retained data (${rss.date.slice(0, 16)}Z)`, '')
  table(
    ['stage', 'retained MiB', 'RSS MiB'],
    rss.samples.map((s: Json) => [s.stage, fmt(s.retainedMiB, 0), fmt(s.rssMiB)]),
  )
  out.push(
    `Difference: ${fmt(rss.differenceMiB ?? Number.NaN)} MiB; target < 50 MiB: ` +
      `${met(rss.target.met, rss.differenceMiB ?? Number.NaN)}${rss.error ? ` (error: ${rss.error})` : ''}`,
    '',
  )
  if (rss.kafka) {
    out.push(`${rss.kafka.version}, same topic, fill and reads:`, '')
    table(
      ['stage', 'Kafka RSS MiB', 'Tributary RSS MiB', 'Tributary / Kafka'],
      rss.kafka.samples.map((k: Json, i: number) => [
        k.stage,
        fmt(k.rssMiB),
        fmt(rss.samples[i]?.rssMiB),
        fmt((rss.samples[i]?.rssMiB ?? Number.NaN) / k.rssMiB, 2),
      ]),
    )
    out.push(
      `Target Tributary ≤ 1/4 of Kafka's RSS (at rest and retaining the large volume): ` +
        `${met(rss.kafkaRatios.target.met, rss.kafkaRatios.retained)}${rss.kafka.error ? ` (Kafka error: ${rss.kafka.error})` : ''}`,
      '',
    )
  }
}

if (st) {
  out.push(`### Startup (${st.date.slice(0, 16)}Z, ${st.partitions} partitions)`, '')
  table(
    ['case', 'min ms', 'median ms', 'max ms'],
    [
      ['empty data dir', fmt(st.emptyMs.min, 0), fmt(st.emptyMs.median, 0), fmt(st.emptyMs.max, 0)],
      [
        `restart with ${st.partitions} partitions`,
        fmt(st.restartMs.min, 0),
        fmt(st.restartMs.median, 0),
        fmt(st.restartMs.max, 0),
      ],
      ...(st.brokerStartupMs
        ? [
            ['broker-reported startupMs, empty', ...spreadCells(st.brokerStartupMs.empty)],
            [`broker-reported startupMs, ${st.partitions} partitions`, ...spreadCells(st.brokerStartupMs.restart)],
          ]
        : []),
      ['shutdown (SIGTERM → exit)', fmt(st.stopMs.min, 0), fmt(st.stopMs.median, 0), fmt(st.stopMs.max, 0)],
      ...(st.kafka?.coldStartMs ? [[`${st.kafka.version}, empty data dir`, ...spreadCells(st.kafka.coldStartMs)]] : []),
    ],
  )
  if (st.kafka?.coldStartMs) {
    out.push(
      `Cold start to the first Metadata answer, Kafka / Tributary: ${fmt(st.kafka.ratio, 1)}×; target ≥ 5×: ` +
        `${met(st.kafka.target.met, st.kafka.ratio)}`,
      '',
    )
  }
  out.push(
    `Creating the ${st.partitions} partitions took ${fmt(st.createMs, 0)} ms.${st.error ? ` Error: ${st.error}` : ''}`,
    '',
  )
}

const cli = load('cli')
if (cli) {
  out.push(
    `### tributary command start-up (${cli.date.slice(0, 16)}Z, ${cli.options.rounds} alternating rounds, wall ms from spawn to exit)`,
    '',
  )
  table(
    ['series', 'min ms', 'median ms', 'max ms', '× node -e 0'],
    Object.entries(cli.summary).map(([name, v]: [string, Json]) => [name, ...spreadCells(v), fmt(v.vsNode, 1)]),
  )
}
const sp = load('streams')
if (sp) {
  out.push(
    `### Stream processing (${sp.date.slice(0, 16)}Z, ${sp.workload.records} records, ${sp.workload.keys} keys, ` +
      `${sp.workload.valueBytes} B values, median of ${sp.workload.rounds})`,
    '',
  )
  const loopRate = sp.series.loop?.recordsPerSec.median
  const goals: Record<string, string> = { map: '≥ 0.70', 'count-lmdb': '≥ 0.40' }
  table(
    ['series', 'records/s', 'ratio to the @platformatic/kafka loop', 'goal'],
    Object.entries(sp.series).map(([name, v]: [string, Json]) => [
      name,
      fmt(v.recordsPerSec.median, 0),
      fmt(v.recordsPerSec.median / loopRate, 2),
      goals[name] ?? '',
    ]),
  )
  out.push(
    `exactly_once_v2 / at_least_once: map/filter ${fmt(sp.ratios.eosToAlosMap, 2)}, count ${fmt(sp.ratios.eosToAlosCount, 2)}.`,
    '',
  )
  const vsJava: Array<[string, string, string]> = [
    ['map/filter, at_least_once', 'map', 'kstreams-map'],
    ['map/filter, exactly_once_v2', 'map-eos', 'kstreams-map-eos'],
    ['count (LMDB vs RocksDB), at_least_once', 'count-lmdb', 'kstreams-count'],
    ['count (LMDB vs RocksDB), exactly_once_v2', 'count-lmdb-eos', 'kstreams-count-eos'],
  ]
  if (sp.series['kstreams-map']) {
    out.push('tributary/streams against Kafka Streams 4.x (Java) on the same broker and input (goal ≥ 1.0):', '')
    table(
      ['topology', 'tributary records/s', 'Kafka Streams records/s', 'ratio'],
      vsJava
        .filter(([, ts, java]) => sp.series[ts] && sp.series[java])
        .map(([label, ts, java]) => {
          const a = sp.series[ts].recordsPerSec.median
          const b = sp.series[java].recordsPerSec.median
          return [label, fmt(a, 0), fmt(b, 0), fmt(a / b, 2)]
        }),
    )
  }
}
const sr = load('streams-restore')
if (sr) {
  out.push(`### State restoration (${sr.date.slice(0, 16)}Z, ${sr.workload.keys} keys on LMDB)`, '')
  table(
    ['measure', 'min', 'median', 'max', 'goal'],
    [
      ['restore records/s', ...spreadCells(sr.restoreRecordsPerSec), '≥ 200000'],
      [
        'restart from checkpoint, s',
        fmt(sr.restartFromCheckpointSeconds.min, 2),
        fmt(sr.restartFromCheckpointSeconds.median, 2),
        fmt(sr.restartFromCheckpointSeconds.max, 2),
        '0 records replayed',
      ],
      ['RSS after restore, MiB', ...spreadCells(sr.rssMiB), sr.workload.keys >= 1000000 ? '< 200' : ''],
      ['RSS growth since before start(), MiB', ...spreadCells(sr.rssGrowthMiB), ''],
    ],
  )
}

const iq = load('streams-iq')
if (iq) {
  out.push(
    `### Interactive-query latency p50/p99 local and routed (${iq.date.slice(0, 16)}Z, ${iq.workload.keys} keys, ${iq.workload.queries} sequential queries)`,
    '',
  )
  const l = iq.latencyMicros
  const r = (name: string, v: { p50: number; p99: number }) => [
    name,
    fmt(v.p50),
    fmt(v.p99),
    fmt(v.p50 / l.reference.p50, 2),
    fmt(v.p99 / l.reference.p99, 2),
  ]
  table(
    ['query', 'p50 µs', 'p99 µs', 'p50 / reference', 'p99 / reference'],
    [
      r('store().get in process', l.inProcess),
      r('HTTP, local key', l.local),
      r('HTTP, routed to the other instance', l.routed),
      r('reference: bare node:http from a Map', l.reference),
    ],
  )
}

const markdown = out.join('\n')
if (process.argv.includes('--write')) {
  // Replaces only the generated section; the prose around it (analysis, targets) is written by hand.
  const file = join(REPO_ROOT, 'BENCHMARKS.md')
  const doc = readFileSync(file, 'utf8')
  const begin = doc.indexOf(START)
  const end = doc.indexOf(END)
  if (begin < 0 || end < begin) throw new Error(`BENCHMARKS.md has no ${START} … ${END} section`)
  writeFileSync(file, `${doc.slice(0, begin + START.length)}\n${markdown}\n${doc.slice(end)}`)
  process.stdout.write(`updated ${file}\n`)
} else {
  process.stdout.write(`\n${markdown}\n`)
}
