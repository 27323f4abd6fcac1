/**
 * Helpers of the runtime tests: child-process applications that report events on stdout, a reader of a topic's
 * final table through KafkaJS (an independent client, reading committed data only), and input producers.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')

export type AppEvent = { event: string } & Record<string, unknown>

export interface AppProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly events: AppEvent[]
  /** Resolves with the first event (already seen or coming) matching `predicate`. */
  waitFor(predicate: (e: AppEvent) => boolean, what: string, timeoutMs?: number): Promise<AppEvent>
  /** Resolves with the next event from now on matching `predicate`. */
  next(predicate: (e: AppEvent) => boolean, what: string, timeoutMs?: number): Promise<AppEvent>
  kill(signal: NodeJS.Signals): Promise<void>
  /** SIGTERM: the app closes cleanly and exits. */
  stop(): Promise<void>
  output(): string
}

export function spawnApp(name: string, script: string, config: Record<string, unknown>): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', script)], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_TEST_APP: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: AppEvent[] = []
  const waiters: Array<{ from: number; predicate: (e: AppEvent) => boolean; resolve: (e: AppEvent) => void }> = []
  let stdout = ''
  let stderr = ''
  let buffered = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
    buffered += d.toString()
    let nl = buffered.indexOf('\n')
    while (nl >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      nl = buffered.indexOf('\n')
      if (!line.startsWith('{')) continue
      const event = JSON.parse(line) as AppEvent
      events.push(event)
      for (const w of [...waiters]) {
        if (events.length - 1 >= w.from && w.predicate(event)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(event)
        }
      }
    }
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const output = () => `--- ${name} stdout ---\n${stdout}\n--- ${name} stderr ---\n${stderr}`
  const wait = (from: number, predicate: (e: AppEvent) => boolean, what: string, timeoutMs = 60000) =>
    new Promise<AppEvent>((resolve, reject) => {
      const seen = events.slice(from).find(predicate)
      if (seen) return resolve(seen)
      const timer = setTimeout(() => {
        reject(new Error(`${name}: no '${what}' within ${timeoutMs} ms\n${output()}`))
      }, timeoutMs)
      const onExit = () => {
        clearTimeout(timer)
        reject(new Error(`${name} exited before '${what}'\n${output()}`))
      }
      child.once('exit', onExit)
      waiters.push({
        from,
        predicate,
        resolve: (e) => {
          clearTimeout(timer)
          child.off('exit', onExit)
          resolve(e)
        },
      })
    })
  return {
    name,
    child,
    events,
    waitFor: (predicate, what, timeoutMs) => wait(0, predicate, what, timeoutMs),
    next: (predicate, what, timeoutMs) => wait(events.length, predicate, what, timeoutMs),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
    output,
  }
}

export function kafka(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'runtime-test', brokers: [bootstrap], logLevel: logLevel.NOTHING })
}

/** Produces `count` events `ev-<n>` → `acct-<n % accounts>` starting at `from`. */
export async function produceEvents(
  bootstrap: string,
  topic: string,
  from: number,
  count: number,
  accounts: number,
): Promise<void> {
  const producer = kafka(bootstrap).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    for (let start = from; start < from + count; start += 500) {
      const n = Math.min(500, from + count - start)
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({
          key: `ev-${start + i}`,
          value: `acct-${(start + i) % accounts}`,
        })),
      })
    }
  } finally {
    await producer.disconnect()
  }
}

/** The expected count per account for events 0..total-1. */
export function expectedCounts(total: number, accounts: number): Map<string, number> {
  const out = new Map<string, number>()
  for (let i = 0; i < total; i++) out.set(`acct-${i % accounts}`, (out.get(`acct-${i % accounts}`) ?? 0) + 1)
  return out
}

/**
 * Reads a topic of counts (string key, 8-byte big-endian value) from the beginning with KafkaJS, read_committed
 * (read_uncommitted with `readUncommitted`: records of open transactions too), keeping the last value per key, until
 * `done(table)` holds. Also records every value seen per key.
 */
export async function readTableUntil(
  bootstrap: string,
  topic: string,
  done: (table: Map<string, number>, history: Map<string, number[]>) => boolean,
  timeoutMs = 90000,
  readUncommitted = false,
): Promise<{ table: Map<string, number>; history: Map<string, number[]> }> {
  const consumer = kafka(bootstrap).consumer({
    groupId: `table-reader-${Math.random().toString(36).slice(2)}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const table = new Map<string, number>()
  const history = new Map<string, number[]>()
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`table of ${topic} incomplete after ${timeoutMs} ms: ${JSON.stringify([...table])}`)),
        timeoutMs,
      )
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const key = message.key!.toString()
            const value = Number(message.value!.readBigInt64BE(0))
            table.set(key, value)
            const h = history.get(key) ?? []
            h.push(value)
            history.set(key, h)
            if (done(table, history)) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return { table, history }
}

export interface ReadRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: Buffer | null
  readonly headers: Record<string, string>
}

/** Reads a topic from the beginning with KafkaJS until `done(records)` holds (read_committed unless told). */
export async function readTopicUntil(
  bootstrap: string,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  options: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const consumer = kafka(bootstrap).consumer({
    groupId: `topic-reader-${Math.random().toString(36).slice(2)}`,
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const records: ReadRecord[] = []
  const timeoutMs = options.timeoutMs ?? 60000
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${topic}: condition not met after ${timeoutMs} ms; read ${records.length} records`)),
        timeoutMs,
      )
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {}
            for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
            records.push({
              partition,
              offset: Number(message.offset),
              key: message.key ? message.key.toString() : null,
              value: message.value,
              headers,
            })
            if (done(records)) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return records
}

/** Records every state a KafkaStreams goes through, and lets a test await one. */
export function stateRecorder(streams: { setStateListener(l: (next: string, prev: string) => void): void }): {
  states: string[]
  reach(state: string, timeoutMs?: number): Promise<void>
} {
  const states: string[] = []
  const waiters: Array<{ state: string; resolve: () => void }> = []
  streams.setStateListener((next) => {
    states.push(next)
    for (const w of [...waiters]) {
      if (w.state === next) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  })
  return {
    states,
    reach(state, timeoutMs = 60000) {
      if (states.at(-1) === state) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`state ${state} not reached; states: ${states.join(' → ')}`)),
          timeoutMs,
        )
        waiters.push({
          state,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
      })
    },
  }
}

/**
 * Resolves when `done()` holds: checked at once and again whenever the caller runs the functions in `checks` (on
 * every state change of the instances it watches); rejects after `timeoutMs`.
 */
export function untilChecked(
  checks: Set<() => void>,
  done: () => boolean,
  what: string,
  timeoutMs = 90000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return
      checks.delete(check)
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      checks.delete(check)
      reject(new Error(`not reached: ${what}`))
    }, timeoutMs)
    checks.add(check)
    check()
  })
}
