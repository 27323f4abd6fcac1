/**
 * The measured process of bench/streams-restore.ts: one KafkaStreams instance that restores a count store on LMDB
 * from its changelog, reports how long that took and where its memory is, then waits for its stdin to end and
 * closes. It imports the streams library from `BENCH_STREAMS_MODULE` (a file URL): the compiled `dist/` as a user
 * runs it (the parent transpiles this file to plain JS so no TypeScript loader is in the process), or the sources
 * through tsx.
 *
 *   node child.mjs <bootstrap> <stateDir>   (with BENCH_STREAMS_MODULE=file:///…/dist/streams/index.js)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { StateStore } from '../../src/streams/index.ts'

type StreamsModule = typeof import('../../src/streams/index.ts')

export const APP = 'bench-restore'
export const INPUT = 'bench-restore-in'
export const CHANGELOG = `${APP}-counts-changelog`

/** The memory of this process: V8's view and the kernel's (anonymous memory vs mapped files such as LMDB's). */
export interface MemoryReport {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  rssAnon: number
  rssFile: number
  /** Bytes of the LMDB data files in the state directory. */
  lmdbFileBytes: number
}

export interface ChildReport {
  restored: number
  seconds: number
  keys: number
  /** RSS before start() (modules loaded). */
  baselineRss: number
  memory: MemoryReport
}

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

function filesBytes(dir: string, suffix: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += filesBytes(path, suffix)
    else if (entry.name.endsWith(suffix)) total += statSync(path).size
  }
  return total
}

export function memoryReport(stateDir: string): MemoryReport {
  const usage = process.memoryUsage()
  const status = readFileSync('/proc/self/status', 'utf8')
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    rssAnon: statusKiB(status, 'RssAnon'),
    rssFile: statusKiB(status, 'RssFile'),
    lmdbFileBytes: filesBytes(stateDir, '.mdb'),
  }
}

async function child(bootstrap: string, stateDir: string): Promise<void> {
  const { KafkaStreams, Materialized, Serdes, StreamsBuilder } = (await import(
    process.env.BENCH_STREAMS_MODULE ?? '../../src/streams/index.ts'
  )) as StreamsModule
  const builder = new StreamsBuilder()
  builder.stream<string, string>(INPUT).groupByKey().count(Materialized.as<string, number>('counts'))
  const streams = new KafkaStreams(builder.build(), {
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
  const report: ChildReport = {
    restored: streams.restoredRecords,
    seconds,
    keys,
    baselineRss,
    memory: memoryReport(stateDir),
  }
  if (process.env.BENCH_RESTORE_DEBUG) {
    const v8 = await import('node:v8')
    const M = (x: number) => (x / 2 ** 20).toFixed(1)
    process.stderr.write(
      `${v8
        .getHeapSpaceStatistics()
        .map((s) => `${s.space_name}=${M(s.space_used_size)}/${M(s.space_size)}`)
        .join(' ')}\n`,
    )
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
  process.stdin.resume()
  process.stdin.once('end', async () => {
    await streams.close()
    process.exit(0)
  })
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!)
