/**
 * Runs test-interop/java/src/KafkaStreamsApp.java — a real Kafka Streams 4.x application — against a broker, for
 * the streams benchmark's Java peer and the interop test of Kafka Streams on Tributary's broker. Needs java and
 * mvn (the classpath comes from test/helpers/kafka.ts).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { javaArgs, javaClasspath } from './kafka.ts'

export type KafkaStreamsAppTopology = 'map' | 'count' | 'word-count'

export interface KafkaStreamsAppOptions {
  topology: KafkaStreamsAppTopology
  bootstrap: string
  applicationId: string
  input: string
  output: string
  guarantee: 'at_least_once' | 'exactly_once_v2'
  stateDir: string
  /** Close after processing this many input records (and report the time); default: run until stop(). */
  records?: number
  /** More StreamsConfig properties. */
  config?: Record<string, string | number>
  heap?: string
}

export interface RunningKafkaStreamsApp {
  /** Resolves when the instance reached RUNNING (rejects if the JVM exits first). */
  running: Promise<void>
  /** With `records`: resolves with the time from the first processed record to the end of close(). */
  done: Promise<{ records: number; seconds: number }>
  /**
   * Closes the application cleanly (closing its stdin), waits for the JVM to exit, and resolves with the number of
   * input records it processed (undefined if it had already exited).
   */
  stop(): Promise<number | undefined>
  /** The JVM's stderr so far (Kafka Streams' warnings and errors). */
  stderr(): string
}

export async function startKafkaStreamsApp(opts: KafkaStreamsAppOptions): Promise<RunningKafkaStreamsApp> {
  const classpath = await javaClasspath()
  const args = [
    ...javaArgs(classpath, opts.heap ?? '512m'),
    'KafkaStreamsApp',
    opts.topology,
    opts.bootstrap,
    opts.applicationId,
    opts.input,
    opts.output,
    opts.guarantee,
    opts.stateDir,
    String(opts.records ?? 0),
    ...Object.entries(opts.config ?? {}).map(([k, v]) => `${k}=${v}`),
  ]
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d: string) => {
    err = (err + d).slice(-20000)
  })
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? 1 : (code ?? 1))),
  )
  const failure = (what: string) => async () => {
    const code = await exited
    throw new Error(`KafkaStreamsApp exited (code ${code}) before ${what}:\n${err.slice(-4000)}`)
  }
  let onRunning: () => void = () => {}
  let onDone: (r: { records: number; seconds: number }) => void = () => {}
  let processedAtClose: number | undefined
  const running = Promise.race([new Promise<void>((r) => (onRunning = r)), exited.then(failure('RUNNING'))])
  const done = Promise.race([
    new Promise<{ records: number; seconds: number }>((r) => (onDone = r)),
    exited.then(failure('it was done')),
  ])
  // Callers that only await one of the two must not see the other as an unhandled rejection.
  running.catch(() => {})
  done.catch(() => {})
  createInterface({ input: child.stdout }).on('line', (line) => {
    let event: { event?: string; records?: number; seconds?: number }
    try {
      event = JSON.parse(line)
    } catch {
      return
    }
    if (event.event === 'running') onRunning()
    if (event.event === 'done') onDone({ records: event.records ?? 0, seconds: event.seconds ?? 0 })
    if (event.event === 'closed') processedAtClose = event.records
  })
  return {
    running,
    done,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end()
        const timer = setTimeout(() => child.kill('SIGKILL'), 90000)
        await exited
        clearTimeout(timer)
        return processedAtClose
      }
      return undefined
    },
  }
}
