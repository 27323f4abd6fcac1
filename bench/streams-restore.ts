/**
 * State restoration and memory: a KafkaStreams instance (a child process) restores a count store of N keys on
 * LMDB from its changelog into an empty state directory; then, stopped cleanly, it restarts from its checkpoint.
 * Reported: restore records/s (goal ≥ 200k/s), the time a checkpointed restart takes, and the instance's RSS with
 * the N keys in LMDB (goal < 200 MiB for 1M keys), with where that memory is (V8 heap, buffers, anonymous memory,
 * LMDB's mapped file pages). As a reference in the same run, the changelog is read by @platformatic/kafka's
 * Consumer without storing anything.
 *
 * The child runs the compiled library (dist/, built by `npm run build` when missing or older than src/) as a user
 * runs it; `--tsx` runs it from the TypeScript sources through tsx instead (its loader adds tens of MiB).
 *
 *   node --import tsx bench/streams-restore.ts [--quick] [--tsx]
 *
 * Sizes: BENCH_RESTORE_KEYS (default 1,000,000; quick 100,000), BENCH_STREAMS_PARTITIONS, BENCH_ROUNDS.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import ts from 'typescript'
import { ensureTopic, KafkaCluster } from '../src/client/index.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, readRss, startTributary } from './lib/servers.ts'
import { spread } from './lib/stats.ts'
import { APP, CHANGELOG, type ChildReport, INPUT } from './lib/streams-restore-child.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const childSource = join(root, 'bench', 'lib', 'streams-restore-child.ts')

interface ChildRun extends ChildReport {
  rssBytes: number
}

/** How the child is started: compiled JS (dist/, no loader) or the sources through tsx. */
interface ChildCommand {
  readonly args: string[]
  readonly env: Record<string, string>
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Builds dist/ if it is missing or older than src/, and transpiles the child to plain JS in `dir`. */
function compiledChild(dir: string): ChildCommand {
  const entry = join(root, 'dist', 'streams', 'index.js')
  if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime(join(root, 'src'))) {
    log('building dist/ (npm run build) for the compiled child')
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  }
  const js = ts.transpileModule(readFileSync(childSource, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
  const file = join(dir, 'streams-restore-child.mjs')
  writeFileSync(file, js)
  return { args: [file], env: { BENCH_STREAMS_MODULE: pathToFileURL(entry).href } }
}

function runChild(command: ChildCommand, bootstrap: string, stateDir: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command.args, '--child', bootstrap, stateDir], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...command.env },
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl < 0) return
      const report = JSON.parse(out.slice(0, nl)) as ChildReport
      const rssBytes = readRss(child.pid!)
      child.once('exit', (code) =>
        code === 0 ? resolve({ ...report, rssBytes }) : reject(new Error(`child exited ${code}`)),
      )
      child.stdin.end()
    })
    child.once('error', reject)
  })
}

await main()

async function main() {
  const opts = benchOptions()
  const keys = Number(process.env.BENCH_RESTORE_KEYS ?? (opts.quick ? 100000 : 1000000))
  const partitions = Number(process.env.BENCH_STREAMS_PARTITIONS ?? 4)
  const tsxChild = process.argv.includes('--tsx')
  const dataDir = makeTempDir(opts.baseDir, 'streams-restore')
  const command: ChildCommand = tsxChild ? { args: ['--import', 'tsx', childSource], env: {} } : compiledChild(dataDir)
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
      const restore = await runChild(command, bootstrap, stateDir)
      if (restore.restored !== keys || restore.keys !== keys) {
        throw new Error(`restored ${restore.restored} records into ${restore.keys} keys, expected ${keys}`)
      }
      restores.push(restore)
      log(
        `round ${round + 1}: restored ${keys} in ${fmt(restore.seconds, 2)} s, RSS ${fmt(restore.rssBytes / 2 ** 20)} MiB`,
      )
      const restart = await runChild(command, bootstrap, stateDir)
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
  const mib = (pick: (m: ChildRun['memory']) => number) =>
    fmt(spread(restores.map((r) => pick(r.memory) / 2 ** 20)).median)
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
      [
        `RSS after restoring ${keys} keys, MiB (${tsxChild ? 'sources through tsx' : 'compiled dist/'})`,
        fmt(rss.median),
        keys >= 1000000 ? '< 200' : '',
      ],
      ['  of which growth since before start(), MiB', fmt(growth.median), ''],
      [
        '  anonymous (heap, buffers, native) / mapped files (LMDB, code), MiB',
        `${mib((m) => m.rssAnon)} / ${mib((m) => m.rssFile)}`,
        '',
      ],
      ['  V8 heap used / total, MiB', `${mib((m) => m.heapUsed)} / ${mib((m) => m.heapTotal)}`, ''],
      ['  external (of which array buffers), MiB', `${mib((m) => m.external)} (${mib((m) => m.arrayBuffers)})`, ''],
      ['  LMDB data file size, MiB', mib((m) => m.lmdbFileBytes), ''],
    ],
  )
  writeResult('streams-restore', {
    command: `node --import tsx bench/streams-restore.ts${opts.quick ? ' --quick' : ''}${tsxChild ? ' --tsx' : ''}`,
    child: tsxChild ? 'tsx' : 'compiled',
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
