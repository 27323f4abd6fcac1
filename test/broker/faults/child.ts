/**
 * A broker in a child process for fault tests, and what those tests measure from outside it: resident memory (the
 * kernel's counters for the child, so the figures include everything the broker holds) and open file descriptors.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export interface FaultBroker {
  process: ChildProcess
  pid: number
  port: number
  metricsPort?: number
  bootstrap: string
  /** Everything the broker wrote to stderr so far. */
  output(): string
  /** Resolves once stderr contains a line matching `re` (after `from` characters of output). */
  waitForLog(re: RegExp, from?: number): Promise<string>
  stop(): Promise<void>
}

/** Runs `tributary broker` on a free loopback port (see limitFds for a lower descriptor limit). */
export function spawnFaultBroker(dataDir: string, args: string[] = []): Promise<FaultBroker> {
  const node = [
    process.execPath,
    '--import',
    'tsx',
    join(root, 'src', 'cli', 'main.ts'),
    'broker',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    ...args,
  ]
  const child = spawn(node[0]!, node.slice(1), { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const listeners: (() => void)[] = []
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
    for (const l of [...listeners]) l()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const waitForLog = (re: RegExp, from = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = re.exec(stderr.slice(from))
        if (m) {
          listeners.splice(listeners.indexOf(check), 1)
          resolve(m[0])
        }
      }
      listeners.push(check)
      check()
      void exited.then(() => reject(new Error(`broker exited before logging ${re}:\n${stderr}`)))
    })
  return waitForLog(/broker started .*/).then((line) => {
    const port = Number(/"listener":"[^"]*:(\d+)"/.exec(line)![1])
    const metrics = /"metrics":"http:\/\/[^"]*:(\d+)\//.exec(line)
    return {
      process: child,
      pid: child.pid!,
      port,
      metricsPort: metrics ? Number(metrics[1]) : undefined,
      bootstrap: `127.0.0.1:${port}`,
      output: () => stderr,
      waitForLog,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        await exited
      },
    }
  })
}

function statusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}

/** Current resident memory of a process, in bytes. */
export function rss(pid: number): number {
  return statusField(pid, 'VmRSS')
}

/** Peak resident memory since start or since the last resetPeakRss, in bytes (the kernel tracks it: no sampling). */
export function peakRss(pid: number): number {
  return statusField(pid, 'VmHWM')
}

/** Starts a new peak measurement at the current resident size. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * Lowers the running broker's file descriptor limit (`ulimit -n` from outside, with util-linux's prlimit): the
 * broker starts with descriptors to spare (tsx needs some), then has `spare` more than it holds now.
 */
export function limitFds(pid: number, spare: number): number {
  const limit = openFds(pid) + spare
  const r = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`prlimit failed (util-linux is needed): ${r.error?.message ?? r.stderr}`)
  return limit
}

export const MiB = 1024 * 1024
