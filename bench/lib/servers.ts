/**
 * Starts the systems under test as separate processes on free loopback ports, each with its own data dir,
 * so the benchmark process only drives clients and every server's CPU and RSS are its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { startKafka } from '../../test/helpers/kafka.ts'
import { REPO_ROOT } from './report.ts'

export const HOST = '127.0.0.1'

export interface ServerProcess {
  name: string
  pid: number
  port: number
  dataDir: string
  /** Resident set size of the server process, from /proc/PID/status VmRSS. */
  rssBytes(): number
  cpuSeconds(): number
  /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>
  /** stop() and remove the data dir. */
  close(): Promise<void>
  /** Last lines the process wrote to stderr/stdout (for error reports). */
  output(): string
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Finds an executable on PATH or in the sbin directories (Debian puts nats-server in /usr/sbin). */
export function which(bin: string): string | undefined {
  if (bin.includes('/')) return isExecutable(bin) ? bin : undefined
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = join(dir, bin)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

export function makeTempDir(baseDir: string, prefix: string): string {
  return mkdtempSync(join(baseDir, `tributary-bench-${prefix}-`))
}

/** User + system CPU seconds consumed so far by a process (from /proc/PID/stat, 100 ticks per second). */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export function readRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** Resolves once a TCP connect to the port succeeds (or rejects when the process exits / time runs out). */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited (${child.exitCode})`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: HOST, port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`port ${port} not accepting connections after ${timeoutMs} ms`)
}

export function spawnServer(
  name: string,
  command: string,
  args: string[],
  port: number,
  dataDir: string,
  cwd = REPO_ROOT,
): { child: ChildProcess; server: ServerProcess } {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
  let out = ''
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8192)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
    await exited
    clearTimeout(timer)
  }
  const server: ServerProcess = {
    name,
    pid: child.pid!,
    port,
    dataDir,
    rssBytes: () => readRss(child.pid!),
    cpuSeconds: () => readCpuSeconds(child.pid!),
    stop,
    close: async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
    output: () => out,
  }
  return { child, server }
}

export interface TributaryStartOptions {
  dataDir: string
  port?: number
  /** Extra broker properties (`--set key=value`). */
  properties?: Record<string, string>
}

/** Newest modification time of any file under `dir` (ms). */
function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

let entryChoice: string[] | undefined
/**
 * How the broker is started: as a user runs it (`npm start` / `npx tributary`), bin/tributary.js on the compiled
 * dist/ — when dist/ is at least as new as every file of src/. Otherwise (not built, or sources changed since) the
 * sources through tsx, which costs ~0.3 s of start-up and ~50 MiB of RSS: said in the log, so such figures are not
 * taken for a user's. BENCH_FROM_SOURCE=1 forces the sources.
 */
export function tributaryEntry(): string[] {
  if (entryChoice) return entryChoice
  const dist = join(REPO_ROOT, 'dist', 'cli', 'main.js')
  let built = false
  try {
    built = statSync(dist).mtimeMs >= newestMtime(join(REPO_ROOT, 'src'))
  } catch {}
  if (process.env.BENCH_FROM_SOURCE !== '1' && built) {
    entryChoice = [join(REPO_ROOT, 'bin', 'tributary.js')]
  } else {
    if (process.env.BENCH_FROM_SOURCE !== '1') {
      process.stderr.write('dist/ is missing or older than src/ (npm run build): the broker runs through tsx\n')
    }
    entryChoice = ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')]
  }
  return entryChoice
}

/** The broker CLI as a user runs it from a checkout (see tributaryEntry). */
export function tributaryCommand(
  dataDir: string,
  port: number,
  properties: Record<string, string> = {},
  logLevel = 'warn',
): string[] {
  const sets = Object.entries(properties).flatMap(([k, v]) => ['--set', `${k}=${v}`])
  // e.g. BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/results/profiles" to profile the broker.
  const nodeArgs = (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  return [
    ...nodeArgs,
    ...tributaryEntry(),
    'broker',
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--host',
    HOST,
    '--log-level',
    logLevel,
    ...sets,
  ]
}

export async function startTributary(opts: TributaryStartOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort())
  const { child, server } = spawnServer(
    'tributary',
    process.execPath,
    tributaryCommand(opts.dataDir, port, opts.properties),
    port,
    opts.dataDir,
  )
  try {
    await waitForPort(port, child, 60000)
  } catch (err) {
    await server.stop()
    throw new Error(`tributary broker did not start: ${(err as Error).message}\n${server.output()}`)
  }
  return server
}

export class PeerMissingError extends Error {}

export async function startRedis(baseDir: string): Promise<ServerProcess> {
  const name = process.env.BENCH_REDIS_SERVER ?? 'redis-server'
  const bin = which(name)
  if (!bin) throw new PeerMissingError(`${name} not found (apt-get install -y redis-server): skipping Redis`)
  const port = await freePort()
  const dataDir = makeTempDir(baseDir, 'redis')
  const { child, server } = spawnServer(
    'redis',
    bin,
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--dir',
      dataDir,
      '--protected-mode',
      'no',
    ],
    port,
    dataDir,
  )
  try {
    await waitForPort(port, child, 20000)
  } catch (err) {
    await server.close()
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${server.output()}`)
  }
  return server
}

export async function startNats(baseDir: string): Promise<ServerProcess> {
  const name = process.env.BENCH_NATS_SERVER ?? 'nats-server'
  const bin = which(name)
  if (!bin) throw new PeerMissingError(`${name} not found (apt-get install -y nats-server): skipping NATS`)
  const port = await freePort()
  const dataDir = makeTempDir(baseDir, 'nats')
  const { child, server } = spawnServer(
    'nats',
    bin,
    ['-js', '-a', HOST, '-p', String(port), '-sd', dataDir],
    port,
    dataDir,
  )
  try {
    await waitForPort(port, child, 20000)
  } catch (err) {
    await server.close()
    throw new Error(`nats-server did not start: ${(err as Error).message}\n${server.output()}`)
  }
  return server
}

export function binaryVersion(bin: string, arg = '--version'): string {
  const path = which(bin)
  if (!path) return 'not installed'
  return (spawnSync(path, [arg], { encoding: 'utf8' }).stdout ?? '').trim().split('\n')[0] ?? 'unknown'
}

export interface KafkaStartOptions {
  /** A data dir to use (kept between starts: the second start is a restart); default a new temp dir. */
  dataDir?: string
  /** Kafka broker properties on top of Kafka's defaults. */
  properties?: Record<string, string>
}

/** Kafka's durability settings compared in the benchmarks. */
export const KAFKA_FLUSH_EVERY_MESSAGE = { 'log.flush.interval.messages': '1' }

/**
 * Apache Kafka 4.x, one KRaft node (broker + controller) with a 512 MiB heap, from the jars Maven resolves for
 * test-interop/java (needs java and mvn). `startMs` of the result is spawn → first Metadata naming the broker.
 */
export async function startKafkaBroker(
  baseDir: string,
  opts: KafkaStartOptions = {},
): Promise<ServerProcess & { startMs: number }> {
  if (!which('java') || !which('mvn')) {
    throw new PeerMissingError(
      'java or mvn not found (apt-get install -y openjdk-17-jdk-headless maven): skipping Kafka',
    )
  }
  const dataDir = opts.dataDir ?? makeTempDir(baseDir, 'kafka')
  const kafka = await startKafka({ dataDir, config: opts.properties ?? {} })
  const pid = kafka.process.pid!
  return {
    name: 'kafka',
    pid,
    port: kafka.port,
    dataDir,
    startMs: kafka.startMs,
    rssBytes: () => readRss(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    stop: () => kafka.stop(),
    close: async () => {
      await kafka.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
    output: () => {
      try {
        return readFileSync(kafka.logFile, 'utf8').slice(-8192)
      } catch {
        return ''
      }
    },
  }
}

export function kafkaVersion(): string {
  const pom = readFileSync(join(REPO_ROOT, 'test-interop', 'java', 'pom.xml'), 'utf8')
  return `Apache Kafka ${/<kafka.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown'} (KRaft, one node, -Xmx512m)`
}
