/**
 * Crash safety: a broker child process is SIGKILLed over and over while producers write with acks=-1, at moments
 * chosen from a seeded plan: right after a Produce request leaves a client (the batch is in flight or half-written),
 * after some acknowledgements, and right after a restart (while clients reconnect and recovery has just run).
 * Some kills also leave a torn batch at the tail of a partition's active segment, as a half-finished write would.
 * Every 4th request is large enough (>= 64 KiB) to be written on the broker's thread pool, so kills also land
 * while such writes are in flight.
 * After the last restart every acknowledged record must read back, in order per partition; the idempotent
 * producer's retries across restarts must not duplicate anything; and every segment must decode with valid CRCs.
 *
 * Reproduce a failure with TRIBUTARY_CRASH_SEED=<seed printed by the test>.
 */
import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { decodeRecordBatch, encodeRecordBatchSync, validateRecordBatch } from '../../src/protocol/record-batch.ts'
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.ts'

const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? 0xc0ffee) >>> 0
const KILLS = 22
const TOPIC = 'payments'
const PARTITIONS = 3
const BROKER_ARGS = ['--set', 'group.initial.rebalance.delay.ms=0']

function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n) }
}

/** Client-side events the kill plan waits for: a Produce request written to a socket, a send acknowledged. */
const wireEvents = new EventEmitter()

/** KafkaJS writes each request as one buffer (size prefix + header): its api key sits at bytes 4-5. */
function observingSocketFactory({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }) {
  const socket = net.connect({ host, port }, onConnect)
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    const ok = write(chunk, ...rest)
    if (Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === 0) wireEvents.emit('produce-sent')
    return ok
  }) as typeof socket.write
  return socket
}

interface Acked {
  producer: string
  partition: number
  seq: number
}

/** Every 4th request carries records this large, so its batch (>= 64 KiB) is written on the broker's thread pool. */
const LARGE_PADDING = `|${'x'.repeat(70 * 1024)}`

/**
 * Sends `${name}:${seq}` values, a few consecutive sequence numbers per request to one partition, until stopped.
 * Retries are unbounded in practice so a send only resolves once acknowledged: an idempotent producer that gave up on
 * a batch would reuse its sequence number for the next one, which the broker rightly treats as a duplicate.
 */
async function produceContinuously(
  name: string,
  producer: Producer,
  acked: Acked[],
  stop: { stopped: boolean },
  errors: Error[],
): Promise<void> {
  let seq = 0
  let requests = 0
  while (!stop.stopped) {
    const partition = seq % PARTITIONS
    const count = 1 + (seq % 4)
    const padding = requests++ % 4 === 3 ? LARGE_PADDING : ''
    const messages = Array.from({ length: count }, (_, i) => ({ value: `${name}:${seq + i}${padding}` }))
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: messages.map((m) => ({ ...m, partition })) })
      for (let i = 0; i < count; i++) acked.push({ producer: name, partition, seq: seq + i })
      wireEvents.emit('acked')
    } catch (err) {
      // Not acknowledged: those records may or may not be in the log.
      errors.push(err as Error)
    }
    seq += count
  }
}

function waitForEvent(name: string, times: number): Promise<void> {
  return new Promise((resolve) => {
    let left = times
    const on = () => {
      if (--left <= 0) {
        wireEvents.off(name, on)
        resolve()
      }
    }
    wireEvents.on(name, on)
  })
}

/**
 * Simulates a write the kernel only partly completed when the process died: the tail of the active segment holds the
 * first bytes of a batch (or bytes that never formed one). Nothing in it was acknowledged; recovery must cut it off.
 */
function tearActiveSegment(dataDir: string, partition: number, rng: ReturnType<typeof prng>): void {
  const dir = join(dataDir, `${TOPIC}-${partition}`)
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
  if (logs.length === 0) return
  const torn = encodeRecordBatchSync({ records: [{ value: 'torn:0' }, { value: 'torn:1' }] })
  const tail = rng.next() < 0.7 ? torn.subarray(0, 1 + rng.int(torn.length - 1)) : Buffer.alloc(1 + rng.int(64), 0xab)
  appendFileSync(join(dir, logs.at(-1)!), tail)
}

/** Every `.log` file under the data dir is a sequence of CRC-valid batches that decode, with no trailing bytes. */
async function assertSegmentsDecode(dataDir: string): Promise<number> {
  let batches = 0
  for (const dir of readdirSync(dataDir, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue
    for (const file of readdirSync(join(dataDir, dir.name))) {
      if (!file.endsWith('.log')) continue
      const buf = readFileSync(join(dataDir, dir.name, file))
      let pos = 0
      while (pos < buf.length) {
        const { end } = validateRecordBatch(buf, pos, buf.length)
        await decodeRecordBatch(buf, pos)
        pos = end
        batches++
      }
    }
  }
  return batches
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

describe('crash safety', { skip: process.env.TRIBUTARY_BOOTSTRAP ? 'needs a local broker process' : false }, () => {
  it('a broker started with --port 0 advertises the port it listens on', async () => {
    const dir = tempDir('tributary-crash-')
    after(() => dir.remove())
    const broker = await spawnBroker(dir.path, [])
    after(() => broker.kill('SIGKILL'))
    const started = /broker started .*"advertised":"([^"]*)"/.exec(broker.output())
    assert.equal(started?.[1], `127.0.0.1:${broker.port}`)
  })

  it(`keeps every acknowledged record across ${KILLS} SIGKILLs during acks=-1 produce`, {
    timeout: 120_000,
  }, async (t) => {
    t.diagnostic(`crash seed ${SEED} (reproduce with TRIBUTARY_CRASH_SEED=${SEED})`)
    const rng = prng(SEED)
    const dir = tempDir('tributary-crash-')
    after(() => dir.remove())
    // A fixed port (not --port 0), so clients find the restarted broker where they left it.
    const port = await freePort()
    let broker: ChildBroker = await spawnBroker(dir.path, BROKER_ARGS, port)
    after(() => broker.kill('SIGKILL'))

    const kafka = new Kafka({
      clientId: 'crash-test',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      socketFactory: observingSocketFactory,
      connectionTimeout: 2000,
      requestTimeout: 10_000,
      retry: { retries: 1_000_000, initialRetryTime: 20, maxRetryTime: 250, factor: 0 },
    })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true })
    await admin.disconnect()

    const plain = kafka.producer({ allowAutoTopicCreation: false })
    const idempotent = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
    await plain.connect()
    await idempotent.connect()

    const acked: Acked[] = []
    const sendErrors: Error[] = []
    const stop = { stopped: false }
    const producing = [
      produceContinuously('plain', plain, acked, stop, sendErrors),
      produceContinuously('idem', idempotent, acked, stop, sendErrors),
    ]

    const started = Date.now()
    const kinds: string[] = []
    let torn = 0
    for (let k = 0; k < KILLS; k++) {
      const roll = rng.next()
      if (roll < 0.5) {
        // Mid-batch: the broker dies with a Produce request on the wire or half-appended.
        kinds.push('after-produce-sent')
        await waitForEvent('produce-sent', 1 + rng.int(6))
      } else if (roll < 0.85) {
        kinds.push('after-acks')
        await waitForEvent('acked', 1 + rng.int(25))
      } else {
        // Straight after recovery, before or while clients reconnect.
        kinds.push('after-restart')
      }
      await broker.kill('SIGKILL')
      if (rng.next() < 0.3) {
        tearActiveSegment(dir.path, rng.int(PARTITIONS), rng)
        torn++
      }
      broker = await spawnBroker(dir.path, BROKER_ARGS, port)
    }
    // Let both producers get at least one more acknowledgement on the last incarnation.
    await waitForEvent('acked', 2)
    stop.stopped = true
    await Promise.all(producing)
    await plain.disconnect()
    await idempotent.disconnect()
    t.diagnostic(
      `${KILLS} kills (${kinds.join(', ')}) in ${Date.now() - started} ms; ${torn} torn tails; ${acked.length} records acknowledged`,
    )

    // One more crash with nothing in flight, then read everything back from a fresh incarnation.
    await broker.kill('SIGKILL')
    broker = await spawnBroker(dir.path, BROKER_ARGS, port)
    const logs = await readAll(new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }))
    await broker.kill('SIGTERM')

    let retriedDuplicates = 0
    let unacknowledgedPresent = 0
    for (let p = 0; p < PARTITIONS; p++) {
      const log = logs[p]!
      assert.ok(!log.some((v) => v.startsWith('torn:')), `a torn batch survived recovery on partition ${p}`)
      for (const name of ['plain', 'idem']) {
        const mine = log
          .filter((v) => v.startsWith(`${name}:`))
          .map((v) => Number(v.slice(name.length + 1).split('|')[0]))
        const expected = acked.filter((a) => a.producer === name && a.partition === p).map((a) => a.seq)
        // Each record's first occurrence, so a retried duplicate later in the log does not count as reordering.
        const firstSeen = [...new Set(mine)]
        const ackedSet = new Set(expected)
        const ackedInLog = firstSeen.filter((s) => ackedSet.has(s))
        assert.deepEqual(
          ackedInLog,
          expected,
          `${name} on partition ${p}: acknowledged records missing or out of order`,
        )
        for (let i = 1; i < firstSeen.length; i++) {
          assert.ok(
            firstSeen[i]! > firstSeen[i - 1]!,
            `${name} on partition ${p}: ${firstSeen[i]} after ${firstSeen[i - 1]}`,
          )
        }
        if (name === 'plain') retriedDuplicates += mine.length - firstSeen.length
        unacknowledgedPresent += firstSeen.length - ackedInLog.length
        if (name === 'idem') {
          assert.equal(mine.length, firstSeen.length, `idempotent producer duplicated records on partition ${p}`)
        }
      }
    }
    t.diagnostic(
      `plain producer retries duplicated ${retriedDuplicates} records; ${unacknowledgedPresent} unacknowledged records present`,
    )
    assert.deepEqual(sendErrors, [], 'sends retry until acknowledged')
    const batches = await assertSegmentsDecode(dir.path)
    assert.ok(batches > 0)
    assert.ok(acked.some((a) => a.producer === 'plain') && acked.some((a) => a.producer === 'idem'))
  })
})

/** Reads every partition of the topic from offset 0 to its high watermark. */
async function readAll(kafka: Kafka): Promise<string[][]> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(TOPIC)
  await admin.disconnect()
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]))
  const logs: string[][] = Array.from({ length: PARTITIONS }, () => [])
  if ([...remaining.values()].every((h) => h === 0)) return logs
  const consumer = kafka.consumer({ groupId: 'crash-reader', maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  const done = new EventEmitter()
  const reached = (p: number, offset: number) => offset + 1 >= remaining.get(p)!
  const finished = new Set([...remaining].filter(([, h]) => h === 0).map(([p]) => p))
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      logs[partition]!.push(message.value!.toString())
      if (reached(partition, Number(message.offset))) {
        finished.add(partition)
        if (finished.size === PARTITIONS) done.emit('done')
      }
    },
  })
  if (finished.size < PARTITIONS) await once(done, 'done')
  await consumer.disconnect()
  return logs
}
