/**
 * Brokers for tests: in-process on a free loopback port with a temp data dir, or as a child process (for crash
 * tests), or an external Kafka-compatible cluster when TRIBUTARY_BOOTSTRAP=host:port is set.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type RunningBroker, type StartBrokerOptions, startBroker } from '../../src/broker/index.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

// A client library that leaves a socket or timer behind (seen rarely with KafkaJS retries under heavy load) would
// keep a finished test file alive until the runner's timeout. Name what is left and end the file instead; the test
// results were already reported, and a failure has already set process.exitCode.
after(() => {
  const timer = setTimeout(() => {
    process.stderr.write(`still active after all tests: ${process.getActiveResourcesInfo().join(', ')}\n`)
    process.exit()
  }, 10000)
  timer.unref()
})

export const externalBootstrap = process.env.TRIBUTARY_BOOTSTRAP

export function tempDir(prefix = 'tributary-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export interface TestBroker {
  bootstrap: string
  /** False when the suite runs against an external cluster (no restarts, no data dir). */
  local: boolean
  broker?: RunningBroker
  dataDir?: string
  /** Stops and starts the broker on the same data dir and port. */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startTestBroker(options: StartBrokerOptions = {}): Promise<TestBroker> {
  if (externalBootstrap) {
    return {
      bootstrap: externalBootstrap,
      local: false,
      restart: () => Promise.reject(new Error('cannot restart an external cluster')),
      close: async () => {},
    }
  }
  const dir = tempDir()
  const opts: StartBrokerOptions = {
    dataDir: dir.path,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    groupInitialRebalanceDelayMs: 0,
    ...options,
  }
  let broker = await startBroker(opts)
  const tb: TestBroker = {
    bootstrap: broker.bootstrap,
    local: true,
    broker,
    dataDir: dir.path,
    async restart() {
      const port = broker.port
      await broker.close()
      broker = await startBroker({ ...opts, port })
      tb.broker = broker
    },
    async close() {
      await broker.close()
      dir.remove()
    },
  }
  return tb
}

export interface ChildBroker {
  process: ChildProcess
  port: number
  bootstrap: string
  /** Everything the broker wrote to stderr. */
  output(): string
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

/** Runs `tributary broker` in a child process and resolves once it listens. */
export function spawnBroker(dataDir: string, args: string[] = [], port = 0): Promise<ChildBroker> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src', 'cli', 'main.ts'),
      'broker',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      ...args,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' } },
  )
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      stderr += d.toString()
      const m = /broker started .*"listener":"[^"]*:(\d+)"/.exec(stderr)
      if (m) {
        const p = Number(m[1])
        resolve({
          process: child,
          port: p,
          bootstrap: `127.0.0.1:${p}`,
          output: () => stderr,
          kill: (signal = 'SIGKILL') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return exited
          },
        })
      }
    }
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`broker exited with ${code} before listening:\n${stderr}`)))
  })
}
