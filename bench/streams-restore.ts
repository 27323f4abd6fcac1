/**
 * State restoration and memory: a KafkaStreams instance (a child process) restores a count store of N keys on
 * LMDB from its changelog into an empty state directory; then, stopped cleanly, it restarts from its checkpoint.
 * Reported: restore records/s (goal ≥ 200k/s), the time a checkpointed restart takes, and the instance's RSS with
 * the N keys in LMDB (goal < 200 MiB for 1M keys). As a reference in the same run, the changelog is read by
 * @platformatic/kafka's Consumer without storing anything.
 *
 *   node --import tsx bench/streams-restore.ts [--quick]
 *
 * Sizes: BENCH_RESTORE_KEYS (default 1,000,000; quick 100,000), BENCH_STREAMS_PARTITIONS, BENCH_ROUNDS.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { ensureTopic, KafkaCluster } from '../src/client/index.ts'
import { KafkaStreams, Materialized, Serdes, type StateStore, StreamsBuilder } from '../src/streams/index.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, readRss, startTributary } from './lib/servers.ts'
import { spread } from './lib/stats.ts'

const APP = 'bench-restore'
const INPUT = 'bench-restore-in'
const CHANGELOG = `${APP}-counts-changelog`

function topology() {
  const builder = new StreamsBuilder()
  builder.stream<string, string>(INPUT).groupByKey().count(Materialized.as<string, number>('counts'))
  return builder.build()
}

// ---- the child: one KafkaStreams instance ------------------------------------------------------------------------

if (process.argv[2] === '--child') {
  const [bootstrap, stateDir] = process.argv.slice(3)
  const streams = new KafkaStreams(topology(), {
    'application.id': APP,
    'bootstrap.servers': bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': stateDir,
    'log.level': 'warn',
    ...(process.env.BENCH_RESTORE_FETCH_BYTES
      ? { 'restore.consumer.fetch.max.bytes': Number(process.env.BENCH_RESTORE_FETCH_BYTES) }
      : {}),
  })
  const baselineRss = process.memoryUsage().rss
  const started = process.hrtime.bigint()
  const running = new Promise<void>((resolve) => {
    streams.setStateListener((state) => {
      if (state === 'RUNNING') resolve()
    })
  })
  await streams.start()
  await running
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  let keys = 0
  for (const store of streams.localStores<StateStore & { approximateNumEntries(): number }>('counts').values()) {
    keys += store.approximateNumEntries()
  }
  process.stdout.write(`${JSON.stringify({ restored: streams.restoredRecords, seconds, keys, baselineRss })}\n`)
  process.stdin.resume()
  process.stdin.once('end', async () => {
    await streams.close()
    process.exit(0)
  })
} else {
  await main()
}

interface ChildRun {
  restored: number
  seconds: number
  keys: number
  /** RSS of the child before start() (modules loaded, tsx's loader included: ~50 MiB more than compiled JS). */
  baselineRss: number
  rssBytes: number
}

function runChild(bootstrap: string, stateDir: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', bootstrap, stateDir], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl < 0) return
      const report = JSON.parse(out.slice(0, nl)) as Omit<ChildRun, 'rssBytes'>
      const rssBytes = readRss(child.pid!)
      child.once('exit', (code) =>
        code === 0 ? resolve({ ...report, rssBytes }) : reject(new Error(`child exited ${code}`)),
      )
      child.stdin.end()
    })
    child.once('error', reject)
  })
}

async function main() {
  const opts = benchOptions()
  const keys = Number(process.env.BENCH_RESTORE_KEYS ?? (opts.quick ? 100000 : 1000000))
  const partitions = Number(process.env.BENCH_STREAMS_PARTITIONS ?? 4)
  const dataDir = makeTempDir(opts.baseDir, 'streams-restore')
  const server = await startTributary({ dataDir, properties: { 'group.initial.rebalance.delay.ms': '0' } })
  const bootstrap = `${HOST}:${server.port}`
  const cluster = new KafkaCluster({ bootstrap })
  const restores: ChildRun[] = []
  const restarts: ChildRun[] = []
  const reads: number[] = []
  try {
    await ensureTopic(cluster.admin, INPUT, { partitions })
    await ensureTopic(cluster.admin, CHANGELOG, { partitions, configs: { 'cleanup.policy': 'compact' } })
    log(`filling ${CHANGELOG} with ${keys} keys`)
    const producer = new Producer({ clientId: 'bench-fill', bootstrapBrokers: [bootstrap], acks: ProduceAcks.ALL })
    const now = BigInt(Date.now())
    for (let start = 0; start < keys; start += 2000) {
      const n = Math.min(2000, keys - start)
      await producer.send({
        messages: Array.from({ length: n }, (_, j) => {
          const value = Buffer.alloc(8)
          value.writeBigInt64BE(BigInt(start + j))
          return {
            topic: CHANGELOG,
            key: Buffer.from(`key-${start + j}`),
            value,
            partition: (start + j) % partitions,
            timestamp: now,
          }
        }),
      })
    }
    await producer.close(true)
    for (let round = 0; round < opts.rounds; round++) {
      // Reference: reading the changelog with the client's Consumer, storing nothing.
      const consumer = new Consumer({
        clientId: 'bench-read',
        groupId: `bench-read-${round}`,
        bootstrapBrokers: [bootstrap],
      })
      const stream = await consumer.consume({ topics: [CHANGELOG], mode: 'earliest', autocommit: false })
      let n = 0
      let startRead = 0n
      for await (const _ of stream) {
        if (n++ === 0) startRead = process.hrtime.bigint()
        if (n === keys) break
      }
      reads.push(keys / (Number(process.hrtime.bigint() - startRead) / 1e9))
      await stream.close()
      await consumer.close(true)

      const stateDir = mkdtempSync(join(dataDir, 'state-'))
      const restore = await runChild(bootstrap, stateDir)
      if (restore.restored !== keys || restore.keys !== keys) {
        throw new Error(`restored ${restore.restored} records into ${restore.keys} keys, expected ${keys}`)
      }
      restores.push(restore)
      log(
        `round ${round + 1}: restored ${keys} in ${fmt(restore.seconds, 2)} s, RSS ${fmt(restore.rssBytes / 2 ** 20)} MiB`,
      )
      const restart = await runChild(bootstrap, stateDir)
      restarts.push(restart)
      log(`round ${round + 1}: checkpointed restart restored ${restart.restored} in ${fmt(restart.seconds, 2)} s`)
      rmSync(stateDir, { recursive: true, force: true })
      await cluster.admin.deleteGroups({ groups: [APP] }).catch(() => {})
    }
  } finally {
    await cluster.close()
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  const restoreRate = spread(restores.map((r) => r.restored / r.seconds))
  const readRate = spread(reads)
  const rss = spread(restores.map((r) => r.rssBytes / 2 ** 20))
  const growth = spread(restores.map((r) => (r.rssBytes - r.baselineRss) / 2 ** 20))
  const restartSeconds = spread(restarts.map((r) => r.seconds))
  printTable(
    `State restoration (${keys} keys on LMDB, ${partitions} partitions, median of ${opts.rounds})`,
    ['measure', 'value', 'goal'],
    [
      ['restore records/s (start to RUNNING)', fmt(restoreRate.median, 0), '≥ 200000'],
      ['reference: Consumer reading the changelog, records/s', fmt(readRate.median, 0), ''],
      [
        'restart from checkpoint, s (records replayed)',
        `${fmt(restartSeconds.median, 2)} (${restarts[0]?.restored})`,
        '0 replayed',
      ],
      [`RSS after restoring ${keys} keys, MiB`, fmt(rss.median), keys >= 1000000 ? '< 200' : ''],
      ['  of which growth since before start(), MiB', fmt(growth.median), ''],
    ],
  )
  writeResult('streams-restore', {
    command: `node --import tsx bench/streams-restore.ts${opts.quick ? ' --quick' : ''}`,
    workload: { keys, partitions, rounds: opts.rounds },
    restoreRecordsPerSec: restoreRate,
    consumerReadRecordsPerSec: readRate,
    restartFromCheckpointSeconds: restartSeconds,
    restartReplayed: restarts.map((r) => r.restored),
    rssMiB: rss,
    rssGrowthMiB: growth,
    runs: { restores, restarts },
  })
}
