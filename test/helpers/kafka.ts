/**
 * Apache Kafka 4.x as the reference broker for tests and benchmarks: one KRaft node (broker + controller) started
 * from the jars Maven resolves for test-interop/java (no download outside Maven), on free loopback ports, with a
 * small heap. `startKafka()` resolves once the node answers Metadata with itself as a broker; `stop()` shuts it
 * down cleanly. The node also stops by itself when this process goes away (KafkaNode watches its stdin), so no
 * test run can leave a Kafka behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { encodeMetadataRequest } from '../../src/protocol/generated/metadata-request.ts'
import { decodeMetadataResponse } from '../../src/protocol/generated/metadata-response.ts'
import { encodeRequestHeader } from '../../src/protocol/generated/request-header.ts'
import { Reader, Writer } from '../../src/protocol/primitives.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const javaProjectDir = join(root, 'test-interop', 'java')
const execFileAsync = promisify(execFile)

let classpathPromise: Promise<string> | undefined

function newestMtime(paths: string[]): number {
  return Math.max(...paths.map((p) => statSync(p).mtimeMs))
}

/**
 * Compiles test-interop/java with Maven (offline first: ~/.m2 is kept between runs; online when something is not
 * cached yet) and returns the classpath of its classes and every Kafka jar. Skips Maven when nothing changed.
 */
export function javaClasspath(): Promise<string> {
  classpathPromise ??= (async () => {
    const target = join(javaProjectDir, 'target')
    const cpFile = join(target, 'classpath.txt')
    const classes = join(target, 'classes')
    const srcDir = join(javaProjectDir, 'src')
    const sources = [
      join(javaProjectDir, 'pom.xml'),
      ...readdirSync(srcDir)
        .filter((f) => f.endsWith('.java'))
        .map((f) => join(srcDir, f)),
    ]
    const upToDate = (): boolean => {
      if (!existsSync(cpFile) || !existsSync(classes)) return false
      const built = statSync(cpFile).mtimeMs
      if (newestMtime(sources) > built) return false
      const jars = readFileSync(cpFile, 'utf8').trim().split(':')
      return jars.every((j) => existsSync(j))
    }
    if (!upToDate()) {
      const args = ['-q', '-B', 'compile', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`]
      try {
        await execFileAsync('mvn', ['-o', ...args], { cwd: javaProjectDir, maxBuffer: 16 << 20 })
      } catch {
        try {
          await execFileAsync('mvn', args, { cwd: javaProjectDir, maxBuffer: 16 << 20 })
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string; message: string }
          throw new Error(`mvn could not build test-interop/java: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
        }
      }
    }
    return `${classes}:${readFileSync(cpFile, 'utf8').trim()}`
  })()
  classpathPromise.catch(() => {
    classpathPromise = undefined
  })
  return classpathPromise
}

/** Options for java running one of test-interop/java's programs (log4j2 configured to stderr, warnings only). */
export function javaArgs(classpath: string, heap = '256m'): string[] {
  return [`-Xmx${heap}`, `-Dlog4j2.configurationFile=${join(javaProjectDir, 'log4j2.properties')}`, '-cp', classpath]
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export interface KafkaOptions {
  /** JVM heap (default 512m). */
  heap?: string
  /** Kafka's `auto.create.topics.enable` (default true, as Kafka's own default). */
  autoCreateTopics?: boolean
  /**
   * A second listener, SASL_PLAINTEXT with PLAIN users (name → password), and Kafka's StandardAuthorizer.
   * The PLAINTEXT listener (principal User:ANONYMOUS) and `superUsers` are super users.
   */
  sasl?: { users: Record<string, string>; superUsers?: string[] }
  /** More server properties (override the defaults below). */
  config?: Record<string, string | number | boolean>
  /** A data directory to use (kept); default: a temp directory removed by stop(). */
  dataDir?: string
  /** Where the node's output goes; default: `kafka.log` in the data directory. */
  logFile?: string
  /** How long to wait for the first Metadata answer (default 120 s: a loaded 2-core machine starts Kafka slowly). */
  startTimeoutMs?: number
}

export interface RunningKafka {
  /** host:port of the PLAINTEXT listener. */
  bootstrap: string
  port: number
  /** host:port of the SASL_PLAINTEXT listener, when `sasl` was given. */
  saslBootstrap?: string
  dataDir: string
  logFile: string
  process: ChildProcess
  /** Milliseconds from spawning the JVM to the first Metadata answer naming the broker. */
  startMs: number
  /** Stops the node cleanly (SIGKILL after 30 s), removes a temp data dir. Idempotent. */
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

function serverProperties(
  dir: string,
  ports: { broker: number; controller: number; sasl?: number },
  options: KafkaOptions,
): string {
  const listeners = [`PLAINTEXT://127.0.0.1:${ports.broker}`, `CONTROLLER://127.0.0.1:${ports.controller}`]
  const advertised = [`PLAINTEXT://127.0.0.1:${ports.broker}`]
  if (ports.sasl) {
    listeners.push(`SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`)
    advertised.push(`SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`)
  }
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 0,
    'controller.quorum.voters': `0@127.0.0.1:${ports.controller}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    listeners: listeners.join(','),
    'advertised.listeners': advertised.join(','),
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'auto.create.topics.enable': options.autoCreateTopics ?? true,
    'num.partitions': 1,
    // One node: every internal topic with one replica; one partition each, as Tributary has (starts faster).
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Tests join groups and expect the first rebalance at once (Tributary's tests set the same).
    'group.initial.rebalance.delay.ms': 0,
    // Tests of failover use 1-second sessions (Tributary's test brokers allow the same; Kafka's default minimum is 6 s).
    'group.min.session.timeout.ms': 1000,
    'num.network.threads': 2,
    'num.io.threads': 4,
  }
  if (options.sasl) {
    const users = Object.entries(options.sasl.users)
      .map(([u, p]) => `user_${u}="${p}"`)
      .join(' ')
    props['sasl.enabled.mechanisms'] = 'PLAIN'
    props['listener.name.sasl_plaintext.plain.sasl.jaas.config'] =
      `org.apache.kafka.common.security.plain.PlainLoginModule required ${users};`
    props['authorizer.class.name'] = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'
    props['super.users'] = ['ANONYMOUS', ...(options.sasl.superUsers ?? [])].map((u) => `User:${u}`).join(';')
  }
  Object.assign(props, options.config ?? {})
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). Like
 * Kafka's own Uuid.randomUuid(), never one starting with '-', which the format command would read as an option.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** One Metadata v1 request; resolves with the number of brokers in the answer. */
function metadataBrokers(port: number, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no Metadata answer'))
    }, timeoutMs)
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('connect', () => {
      const w = new Writer(128)
      w.int32(0)
      encodeRequestHeader(w, 1, { requestApiKey: 3, requestApiVersion: 1, correlationId: 1, clientId: 'kafka-helper' })
      encodeMetadataRequest(w, 1, { topics: [], allowAutoTopicCreation: false })
      const frame = w.toBuffer()
      frame.writeInt32BE(frame.length - 4, 0)
      socket.write(frame)
    })
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        clearTimeout(timer)
        socket.destroy()
        try {
          const res = decodeMetadataResponse(new Reader(buf.subarray(4, 4 + buf.readInt32BE(0)), 4), 1)
          resolve(res.brokers.length)
        } catch (err) {
          reject(err)
        }
      }
    })
    socket.once('close', () => {
      clearTimeout(timer)
      reject(new Error('connection closed before a Metadata answer'))
    })
  })
}

/** Starts a single-node Apache Kafka (KRaft, broker + controller) on loopback. */
export async function startKafka(options: KafkaOptions = {}): Promise<RunningKafka> {
  const classpath = await javaClasspath()
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(classpath, options)
    } catch (err) {
      // A free port found by freePort() can be taken by someone else before Kafka binds it: try again.
      if (attempt < 3 && /Address already in use|BindException/.test(String((err as Error).message))) continue
      throw err
    }
  }
}

async function launch(classpath: string, options: KafkaOptions): Promise<RunningKafka> {
  const ownDir = options.dataDir === undefined
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-kafka-'))
  const ports = {
    broker: await freePort(),
    controller: await freePort(),
    sasl: options.sasl ? await freePort() : undefined,
  }
  const propsFile = join(dir, 'server.properties')
  writeFileSync(propsFile, serverProperties(dir, ports, options))
  const logFile = options.logFile ?? join(dir, 'kafka.log')
  const out = openSync(logFile, 'a')
  const started = performance.now()
  const child = spawn(
    'java',
    [
      ...javaArgs(classpath, options.heap ?? '512m'),
      `-Xms${options.heap ?? '512m'}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      'KafkaNode',
      propsFile,
      clusterId(),
    ],
    { stdio: ['pipe', out, out] },
  )
  closeSync(out)
  live.add(child)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child)
      resolve(code)
    }),
  )
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // KafkaNode exits (running Kafka's shutdown hook) when its stdin closes; SIGTERM does the same.
        child.stdin?.end()
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 30000)
        await exited
        clearTimeout(timer)
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true })
    })()
    return stopping
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 120000)
  let lastError = ''
  let dead = false
  exited.then(() => {
    dead = true
  })
  for (;;) {
    if (dead) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
      await stop()
      throw new Error(`Kafka exited with ${child.exitCode} before serving Metadata:\n${log.slice(-4000)}`)
    }
    if (Date.now() > deadline) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
      await stop()
      throw new Error(`Kafka served no Metadata within the timeout (${lastError}):\n${log.slice(-4000)}`)
    }
    try {
      if ((await metadataBrokers(ports.broker)) > 0) break
      lastError = 'no broker in the Metadata answer yet'
    } catch (err) {
      lastError = (err as Error).message
    }
    // Readiness of another process: nothing to await but its port, so poll it.
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    bootstrap: `127.0.0.1:${ports.broker}`,
    port: ports.broker,
    saslBootstrap: ports.sasl ? `127.0.0.1:${ports.sasl}` : undefined,
    dataDir: dir,
    logFile,
    process: child,
    startMs: performance.now() - started,
    stop,
  }
}
