/**
 * End-to-end latency at a steady 1,000 records/s: one producer (acks=-1 / the peer's acknowledged publish)
 * stamps each 1 KiB record with its send time, a consumer in the same process records send→receive.
 * Tributary is read by two consumers at once: a raw long-polling Fetch loop (the broker's own latency) and
 * the @platformatic/kafka Consumer (what an application sees).
 *
 *   node --import tsx bench/latency.ts [--quick]
 */
import { closeSync, fdatasync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { decodeRecordBatchSync, iterateBatches } from '../src/protocol/record-batch.ts'
import { createKafkaTopic, natsConnection, natsCreateStream, redisClient } from './lib/drivers.ts'
import { benchOptions } from './lib/options.ts'
import { RawKafkaConnection } from './lib/raw-kafka.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import {
  binaryVersion,
  HOST,
  makeTempDir,
  PeerMissingError,
  type ServerProcess,
  startNats,
  startRedis,
  startTributary,
} from './lib/servers.ts'
import { percentile } from './lib/stats.ts'

const opts = benchOptions()
const WARMUP_MS = 1000
/** Records slower than this are listed (first of each burst) to show when stalls happen. */
const STALL_MS = 20

/** Latencies in ms of records sent after the warm-up, plus how many were expected. */
class Recorder {
  readonly latencies: number[] = []
  received = 0
  /** Set by drive() when sending starts; records sent earlier are warm-up. */
  warmupEndsAt = Number.POSITIVE_INFINITY

  /** `value` starts with the send time as a float64 of performance.now(). */
  record(value: Buffer | null | undefined, now = performance.now()): void {
    if (!value || value.length < 8) return
    this.received++
    const sentAt = value.readDoubleBE(0)
    if (sentAt >= this.warmupEndsAt) {
      const latency = now - sentAt
      this.latencies.push(latency)
      // Keep when the slow ones were sent: periodic stalls point at a timer, random ones at the disk or GC.
      const atMs = Math.round(sentAt - this.warmupEndsAt)
      const last = this.stalls.at(-1)
      if (latency > STALL_MS && (!last || atMs - last.atMs > 100)) {
        this.stalls.push({ atMs, latencyMs: Math.round(latency) })
      }
    }
  }
  readonly stalls: { atMs: number; latencyMs: number }[] = []
}

interface Sender {
  send(value: Buffer): Promise<unknown>
}

/** Sends `rate` records/s for the configured time; returns send→ack latencies and the post-warm-up count. */
async function drive(sender: Sender, recorders: Recorder[]) {
  const acks: number[] = []
  const failures: string[] = []
  const start = performance.now()
  const warmupEndsAt = start + WARMUP_MS
  for (const r of recorders) r.warmupEndsAt = warmupEndsAt
  const end = start + WARMUP_MS + opts.latencySeconds * 1000
  const inflight = new Set<Promise<unknown>>()
  let sent = 0
  let measuredSent = 0
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * opts.latencyRate)
    while (sent < due) {
      const value = Buffer.alloc(opts.recordBytes, 0x6c)
      const at = performance.now()
      value.writeDoubleBE(at, 0)
      if (at >= warmupEndsAt) measuredSent++
      sent++
      const p = sender.send(value).then(
        () => {
          if (at >= warmupEndsAt) acks.push(performance.now() - at)
        },
        (err: Error) => {
          failures.push(err.message)
        },
      )
      inflight.add(p)
      p.finally(() => inflight.delete(p))
    }
    await sleep(1)
  }
  await Promise.all(inflight)
  return { acks, failures, measuredSent }
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond() && Date.now() < deadline) await sleep(10)
}

interface Row {
  system: string
  consumer: string
  p50: number
  p99: number
  max: number
  ackP50: number
  ackP99: number
  sent: number
  received: number
  /** Send time (ms after warm-up) and latency of the first record of each burst slower than STALL_MS. */
  stalls?: { atMs: number; latencyMs: number }[]
  error?: string
}

const rows: Row[] = []

function summarize(system: string, consumer: string, rec: Recorder, run: Awaited<ReturnType<typeof drive>>): void {
  const lat = Float64Array.from(rec.latencies).sort()
  const acks = Float64Array.from(run.acks).sort()
  rows.push({
    system,
    consumer,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? Number.NaN,
    ackP50: percentile(acks, 50),
    ackP99: percentile(acks, 99),
    sent: run.measuredSent,
    received: rec.latencies.length,
    stalls: rec.stalls.slice(0, 20),
    ...(run.failures.length ? { error: `${run.failures.length} sends failed: ${run.failures[0]}` } : {}),
  })
}

async function tributary(server: ServerProcess): Promise<void> {
  const topic = 'latency'
  await createKafkaTopic(server.port, topic)
  const raw = new Recorder()
  const client = new Recorder()
  const conn = await RawKafkaConnection.open(HOST, server.port)
  let stopping = false
  const rawLoop = (async () => {
    let offset = 0
    while (!stopping) {
      const r = await conn.fetch(topic, 0, offset, 1024 * 1024, 200)
      const now = performance.now()
      if (r.records) {
        for (const { start } of iterateBatches(r.records)) {
          for (const rec of decodeRecordBatchSync(r.records, start).records) raw.record(rec.value, now)
        }
      }
      offset = r.nextOffset
    }
  })()
  const consumer = new Consumer({
    clientId: 'bench-latency',
    groupId: `bench-latency-${process.pid}`,
    bootstrapBrokers: [`${HOST}:${server.port}`],
    maxWaitTime: 200,
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'latest', autocommit: false })
  stream.on('data', (m: { value: Buffer }) => client.record(m.value))
  const producer = new Producer({
    clientId: 'bench-latency',
    bootstrapBrokers: [`${HOST}:${server.port}`],
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
  })
  try {
    const run = await drive({ send: (value) => producer.send({ messages: [{ topic, partition: 0, value }] }) }, [
      raw,
      client,
    ])
    await waitFor(() => raw.latencies.length >= run.measuredSent && client.latencies.length >= run.measuredSent, 5000)
    summarize('tributary', 'raw Fetch loop', raw, run)
    summarize('tributary', '@platformatic/kafka Consumer', client, run)
  } finally {
    stopping = true
    await rawLoop.catch(() => {})
    conn.close()
    await stream.close().catch(() => {})
    await consumer.close(true)
    await producer.close(true)
  }
}

async function redis(server: ServerProcess): Promise<void> {
  const key = 'latency'
  const producer = redisClient(server.port)
  const reader = redisClient(server.port)
  const rec = new Recorder()
  let stopping = false
  const loop = (async () => {
    let lastId = '$'
    while (!stopping) {
      const reply = (await reader.xreadBuffer('COUNT', 1000, 'BLOCK', 200, 'STREAMS', key, lastId)) as unknown as
        | [Buffer, [Buffer, Buffer[]][]][]
        | null
      const now = performance.now()
      const entries = reply?.[0]?.[1] ?? []
      for (const [id, fields] of entries) {
        rec.record(fields[1], now)
        lastId = id.toString()
      }
    }
  })()
  try {
    await sleep(100)
    const run = await drive({ send: (value) => producer.xadd(key, '*', 'v', value) }, [rec])
    await waitFor(() => rec.latencies.length >= run.measuredSent, 5000)
    summarize('redis', 'XREAD BLOCK loop', rec, run)
  } finally {
    stopping = true
    await loop.catch(() => {})
    producer.disconnect()
    reader.disconnect()
  }
}

async function nats(server: ServerProcess): Promise<void> {
  const stream = 'latency'
  const nc = await natsConnection(server.port)
  await natsCreateStream(nc, stream)
  const js = nc.jetstream()
  const rec = new Recorder()
  const consumer = await js.consumers.get(stream)
  const messages = await consumer.consume({ max_messages: 1000 })
  const loop = (async () => {
    for await (const m of messages) rec.record(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength))
  })()
  try {
    const run = await drive({ send: (value) => js.publish(`${stream}.data`, value) }, [rec])
    await waitFor(() => rec.latencies.length >= run.measuredSent, 5000)
    summarize('nats', 'ordered consumer', rec, run)
  } finally {
    messages.stop()
    await loop.catch(() => {})
    await nc.close()
  }
}

async function measure(
  system: string,
  start: () => Promise<ServerProcess>,
  body: (s: ServerProcess) => Promise<void>,
): Promise<void> {
  if (!opts.systems.includes(system)) return
  let server: ServerProcess
  try {
    server = await start()
  } catch (err) {
    const msg = (err as Error).message
    log(err instanceof PeerMissingError ? msg : `${system} failed to start: ${msg}`)
    rows.push({ ...emptyRow(system), error: msg.split('\n')[0]! })
    return
  }
  try {
    log(`latency: ${system}, ${opts.latencyRate} records/s for ${opts.latencySeconds} s`)
    await body(server)
  } catch (err) {
    rows.push({ ...emptyRow(system), error: (err as Error).message.split('\n')[0]! })
    log(`${system}: FAILED ${(err as Error).message}`)
  } finally {
    await server.close()
  }
}

function emptyRow(system: string): Row {
  const nan = Number.NaN
  return { system, consumer: '', p50: nan, p99: nan, max: nan, ackP50: nan, ackP99: nan, sent: 0, received: 0 }
}

/**
 * The disk's own latency for what an acks=-1 write needs at minimum: a 1 KiB append + fdatasync (on the libuv
 * pool, as a broker would), paced like the producer and for as long, so its p99 is comparable.
 */
async function measureFdatasyncLatency(): Promise<void> {
  const file = join(opts.baseDir, `latency-probe-${process.pid}.bin`)
  const fd = openSync(file, 'w')
  try {
    const run = await drive(
      {
        send: (value) =>
          new Promise<void>((resolve, reject) => {
            writeSync(fd, value)
            fdatasync(fd, (err) => (err ? reject(err) : resolve()))
          }),
      },
      [],
    )
    const sorted = Float64Array.from(run.acks).sort()
    rows.push({
      ...emptyRow('machine'),
      consumer: `${opts.recordBytes} B append + fdatasync`,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1)!,
      sent: run.measuredSent,
      received: run.acks.length,
    })
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
}

log(`latency: machine (append + fdatasync), ${opts.latencyRate}/s for ${opts.latencySeconds} s`)
await measureFdatasyncLatency()
await measure('tributary', () => startTributary({ dataDir: makeTempDir(opts.baseDir, 'tributary') }), tributary)
await measure('redis', () => startRedis(opts.baseDir), redis)
await measure('nats', () => startNats(opts.baseDir), nats)

printTable(
  `End-to-end latency, ms (${opts.latencyRate} records/s of ${opts.recordBytes} B for ${opts.latencySeconds} s; target p99 ≤ 2 ms)`,
  ['system', 'consumer', 'p50', 'p99', 'max', 'ack p50', 'ack p99', 'sent', 'received', 'error'],
  rows.map((r) => [
    r.system,
    r.consumer,
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    fmt(r.max, 2),
    fmt(r.ackP50, 2),
    fmt(r.ackP99, 2),
    r.sent,
    r.received,
    r.error ?? '',
  ]),
)
for (const r of rows) {
  if (r.stalls?.length) {
    const list = r.stalls.map((x) => `${x.latencyMs} ms @${x.atMs}`).join(', ')
    process.stdout.write(`${r.system} / ${r.consumer}: stalls > ${STALL_MS} ms: ${list}\n`)
  }
}
const trb = rows.find((r) => r.system === 'tributary' && r.consumer === 'raw Fetch loop')
writeResult('latency', {
  options: opts,
  versions: { redis: binaryVersion('redis-server'), nats: binaryVersion('nats-server') },
  rows,
  target: { name: 'tributary p99 ≤ 2 ms', p99: trb?.p99 ?? null, met: trb ? trb.p99 <= 2 : false },
})
