/**
 * The REST proxy against a native @platformatic/kafka client, same broker, same run:
 * - produce records/s: native `producer.send` in batches vs REST v2 batched (`POST /topics/{t}`, BATCH records per
 *   request) vs REST v3 streamed (one connection, concatenated records, one delivery report each);
 * - tail latency p50/p99: a record's send time to its arrival at a native consumer vs at an SSE `records:tail` client.
 * Broker (child process), proxy and clients share this machine; ratios are REST / native.
 *
 *   node --import tsx bench/rest-proxy.ts [--records 20000] [--batch 100] [--latency 500] [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Consumer, Producer } from '@platformatic/kafka'
import { startRestProxy } from '../src/console/rest-proxy/index.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { startTributary } from './lib/servers.ts'
import { percentile, ratio } from './lib/stats.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const quick = process.argv.includes('--quick')
const RECORDS = arg('records', quick ? 2000 : 20_000)
const BATCH = arg('batch', 100)
const LATENCY_RECORDS = arg('latency', quick ? 100 : 500)
const VALUE = 'x'.repeat(100)

const base = mkdtempSync(join(tmpdir(), 'tributary-bench-rest-'))
const broker = await startTributary({ dataDir: join(base, 'broker') })
const bootstrap = `127.0.0.1:${broker.port}`
const proxy = await startRestProxy({ bootstrap, port: 0 })
const producer = new Producer({ clientId: 'bench-native', bootstrapBrokers: [bootstrap], acks: -1 })

async function post(path: string, body: string, type: string): Promise<string> {
  const res = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${text}`)
  return text
}

try {
  const clusterId = ((await (await fetch(`${proxy.url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] })
    .data[0].cluster_id
  for (const topic of ['native', 'rest-batched', 'rest-streamed', 'tail-native', 'tail-sse']) {
    await post(
      `/v3/clusters/${clusterId}/topics`,
      JSON.stringify({ topic_name: topic, partitions_count: 1 }),
      'application/json',
    )
  }

  const time = async (run: () => Promise<void>) => {
    const start = process.hrtime.bigint()
    await run()
    return RECORDS / (Number(process.hrtime.bigint() - start) / 1e9)
  }
  log(`produce: ${RECORDS} records of ${VALUE.length} bytes`)
  const native = await time(async () => {
    for (let i = 0; i < RECORDS; i += BATCH) {
      const n = Math.min(BATCH, RECORDS - i)
      await producer.send({
        messages: Array.from({ length: n }, () => ({ topic: 'native', value: Buffer.from(VALUE) })),
      })
    }
  })
  const batched = await time(async () => {
    const body = JSON.stringify({ records: Array.from({ length: BATCH }, () => ({ value: VALUE })) })
    for (let i = 0; i < RECORDS; i += BATCH) {
      const text = await post('/topics/rest-batched', body, 'application/vnd.kafka.json.v2+json')
      if (text.includes('"error_code":4') || text.includes('"error_code":5')) throw new Error(text)
    }
  })
  const streamed = await time(async () => {
    const line = `${JSON.stringify({ value: { type: 'STRING', data: VALUE } })}\n`
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = Buffer.from(line.repeat(BATCH))
        for (let i = 0; i < RECORDS; i += BATCH) controller.enqueue(chunk)
        controller.close()
      },
    })
    const res = await fetch(`${proxy.url}/v3/clusters/${clusterId}/topics/rest-streamed/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    const text = await res.text()
    const ok = text.split('\n').filter((l) => l.startsWith('{"error_code":200')).length
    if (ok < RECORDS) throw new Error(`only ${ok} of ${RECORDS} streamed records were written`)
  })

  log(`tail latency: ${LATENCY_RECORDS} records, one at a time`)
  const sendTimed = async (topic: string, received: Promise<void>[], arrivals: Map<number, () => void>) => {
    const latencies: number[] = []
    for (let i = 0; i < LATENCY_RECORDS; i++) {
      const arrived = new Promise<void>((resolve) => arrivals.set(i, resolve))
      const start = process.hrtime.bigint()
      await producer.send({ messages: [{ topic, value: Buffer.from(JSON.stringify({ i })) }] })
      await arrived
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    await Promise.all(received)
    return latencies.sort((a, b) => a - b)
  }
  const nativeArrivals = new Map<number, () => void>()
  const consumer = new Consumer({
    clientId: 'bench-tail',
    groupId: 'bench-tail',
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 500,
  })
  const stream = await consumer.consume({
    topics: ['tail-native'],
    mode: 'latest',
    autocommit: false,
    maxWaitTime: 500,
  })
  stream.on('data', (m) => nativeArrivals.get((JSON.parse(m.value.toString()) as { i: number }).i)?.())
  // The group needs its first assignment before records count.
  await new Promise((r) => setTimeout(r, 1000))
  const nativeLat = await sendTimed('tail-native', [], nativeArrivals)
  await stream.close()
  await consumer.close(true)

  const sseArrivals = new Map<number, () => void>()
  const controller = new AbortController()
  const res = await fetch(`${proxy.url}/v3/clusters/${clusterId}/topics/tail-sse/records:tail`, {
    signal: controller.signal,
  })
  const reader = res.body!.getReader()
  let buffered = ''
  let ready!: () => void
  const readyP = new Promise<void>((r) => (ready = r))
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) return
      buffered += Buffer.from(value!).toString()
      let end = buffered.indexOf('\n\n')
      while (end >= 0) {
        const block = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        if (block.includes('event: ready')) ready()
        const data = /^data: (.*)$/m.exec(block)
        if (block.includes('event: record') && data) {
          sseArrivals.get((JSON.parse(data[1]) as { value: { data: { i: number } } }).value.data.i)?.()
        }
        end = buffered.indexOf('\n\n')
      }
    }
  })()
  await readyP
  const sseLat = await sendTimed('tail-sse', [], sseArrivals)
  controller.abort()
  await pump

  printTable(
    `REST proxy produce, ${RECORDS} records of ${VALUE.length} B (records/s; ratio = REST / native)`,
    ['client', 'records/s', 'ratio vs native'],
    [
      [`native @platformatic/kafka send, ${BATCH} per call`, fmt(native, 0), '1.00'],
      [`REST v2 batched, ${BATCH} per request`, fmt(batched, 0), fmt(ratio(batched, native), 2)],
      ['REST v3 streamed, one connection', fmt(streamed, 0), fmt(ratio(streamed, native), 2)],
    ],
  )
  const p = (xs: number[], q: number) => percentile(xs, q)
  printTable(
    `Tail latency, send to arrival, ${LATENCY_RECORDS} records one at a time (ms; ratio = SSE / native)`,
    ['reader', 'p50', 'p99', 'p50 ratio', 'p99 ratio'],
    [
      ['native @platformatic/kafka consumer', fmt(p(nativeLat, 50), 2), fmt(p(nativeLat, 99), 2), '1.00', '1.00'],
      [
        'SSE records:tail (EventSource-style)',
        fmt(p(sseLat, 50), 2),
        fmt(p(sseLat, 99), 2),
        fmt(ratio(p(sseLat, 50), p(nativeLat, 50)), 2),
        fmt(ratio(p(sseLat, 99), p(nativeLat, 99)), 2),
      ],
    ],
  )
  writeResult('rest-proxy', {
    records: RECORDS,
    batch: BATCH,
    valueBytes: VALUE.length,
    produce: { native, restBatched: batched, restStreamed: streamed },
    latencyMs: {
      native: { p50: p(nativeLat, 50), p99: p(nativeLat, 99) },
      sse: { p50: p(sseLat, 50), p99: p(sseLat, 99) },
    },
  })
} finally {
  await producer.close()
  await proxy.close()
  await broker.stop()
  rmSync(base, { recursive: true, force: true })
}
