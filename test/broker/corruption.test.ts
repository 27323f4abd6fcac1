/**
 * On-disk damage in a real broker process, as consumers see it. A topic with small segments is written, the broker
 * stopped, a rolled segment damaged by hand (a batch-length field overwritten, or the file cut in the middle of a
 * batch), and the broker started again. Consumers must read every record before the damage and then get
 * CORRUPT_MESSAGE at the damaged offsets — not an empty answer forever, not a silent jump over records — the broker
 * must log the file and position, and it must not size a buffer by the damaged length.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Consumer, stringDeserializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { verifyDataDir } from '../../src/log/verify.ts'
import { BatchOffsets } from '../../src/protocol/record-batch.ts'
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.ts'
import { middleOfSecondSegment, overwriteInt32 } from '../helpers/segments.ts'

const TOPIC = 'ledger'
const BATCHES = 60
const PER_BATCH = 10

function vmPeakBytes(pid: number): number {
  const m = /VmPeak:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m![1]) * 1024
}

/** Reads `${TOPIC}` from the start with KafkaJS until it fails; returns what it got and the error. */
async function kafkajsReadUntilError(bootstrap: string, group: string) {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, clientId: group, retry: { retries: 0 } })
  const consumer = kafka.consumer({ groupId: group, retry: { retries: 0, restartOnFailure: async () => false } })
  const values: string[] = []
  try {
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    // KafkaJS wraps the broker's error (retriable for it) in KafkaJSNumberOfRetriesExceeded.
    const crashed = new Promise<Error & { type?: string }>((resolve) =>
      consumer.on(consumer.events.CRASH, (e) => {
        const err = e.payload.error as Error & { cause?: Error }
        resolve((err.cause ?? err) as Error & { type?: string })
      }),
    )
    await consumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) })
    const error = await crashed
    return { values, error }
  } finally {
    await consumer.disconnect().catch(() => {})
  }
}

/** Reads with @platformatic/kafka until the stream fails. */
async function platformaticReadUntilError(bootstrap: string, group: string) {
  const consumer = new Consumer({
    clientId: group,
    groupId: group,
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    retries: 0,
  })
  const values: string[] = []
  try {
    const stream = await consumer.consume({ topics: [TOPIC], mode: 'earliest' })
    const error = await new Promise<Error>((resolve) => {
      stream.on('data', (m) => values.push(m.value))
      stream.once('error', resolve)
    })
    await stream.close().catch(() => {})
    return { values, error }
  } finally {
    await consumer.close().catch(() => {})
  }
}

const describeError = (e: unknown) =>
  `${JSON.stringify(e, Object.getOwnPropertyNames(e as object))} ${String((e as AggregateError).errors?.map((x) => JSON.stringify(x, Object.getOwnPropertyNames(x))))}`

describe('damaged rolled segments in a running broker', () => {
  let data: { path: string; remove(): void }
  let broker: ChildBroker | undefined
  let expected: string[] = []
  const partitionDir = () => path.join(data.path, `${TOPIC}-0`)
  const pristine = new Map<string, Buffer>()

  before(async () => {
    data = tempDir('tributary-corruption-')
    broker = await spawnBroker(data.path)
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'writer' })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '16384' }] }],
    })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < BATCHES; i++) {
      const messages = []
      for (let r = 0; r < PER_BATCH; r++) messages.push({ value: `v${i * PER_BATCH + r} ${'x'.repeat(100)}` })
      await producer.send({ topic: TOPIC, acks: -1, messages })
    }
    await producer.disconnect()
    expected = Array.from({ length: BATCHES * PER_BATCH }, (_, i) => `v${i} ${'x'.repeat(100)}`)
    await broker.kill('SIGTERM')
    broker = undefined
    for (const name of fs.readdirSync(partitionDir())) {
      pristine.set(name, fs.readFileSync(path.join(partitionDir(), name)))
    }
  })
  after(async () => {
    await broker?.kill()
    data?.remove()
  })

  /** Puts the partition's files back as written, then damages them with `damage` and starts the broker. */
  async function startDamaged(damage: () => void): Promise<ChildBroker> {
    await broker?.kill()
    for (const [name, bytes] of pristine) fs.writeFileSync(path.join(partitionDir(), name), bytes)
    fs.writeFileSync(path.join(partitionDir(), '.clean-shutdown'), '')
    damage()
    broker = await spawnBroker(data.path)
    return broker
  }

  test('a batch length overwritten with 0x7fff0000: records before it, then CORRUPT_MESSAGE, logged with file and position', {
    timeout: 60000,
  }, async () => {
    const v = middleOfSecondSegment(partitionDir())
    const b = await startDamaged(() => overwriteInt32(v.file, v.position + BatchOffsets.batchLength, 0x7fff0000))
    const peakBefore = vmPeakBytes(b.process.pid!)

    const kjs = await kafkajsReadUntilError(b.bootstrap, 'kafkajs-reader')
    assert.equal(kjs.error.type, 'CORRUPT_MESSAGE', describeError(kjs.error))
    assert.deepEqual(kjs.values, expected.slice(0, v.baseOffset))

    const pk = await platformaticReadUntilError(b.bootstrap, 'platformatic-reader')
    assert.match(describeError(pk.error), /CORRUPT_MESSAGE|corrupt/i)
    assert.deepEqual(pk.values, expected.slice(0, v.baseOffset))

    assert.match(b.output(), new RegExp(`corrupt batch in ${v.file} at position ${v.position}`))
    // The damaged length never sized a buffer: the process did not reserve anything near 2 GiB.
    assert.ok(vmPeakBytes(b.process.pid!) - peakBefore < 512 * 1024 * 1024, 'virtual memory jumped')
  })

  test('a rolled segment cut in the middle of a batch: reported at start, and consumers stop there instead of skipping', {
    timeout: 60000,
  }, async () => {
    const v = middleOfSecondSegment(partitionDir())
    const b = await startDamaged(() => fs.truncateSync(v.file, v.position + Math.floor(v.size / 2)))
    const out = b.output()
    assert.match(out, new RegExp(`damaged segment ${v.file}: .*position ${v.position} `))
    assert.match(out, /damaged segments left as they are/)

    const kjs = await kafkajsReadUntilError(b.bootstrap, 'kafkajs-after-cut')
    assert.equal(kjs.error.type, 'CORRUPT_MESSAGE', describeError(kjs.error))
    assert.deepEqual(kjs.values, expected.slice(0, v.baseOffset))

    // What `tributary log verify` reports about the broker's data directory.
    const report = await verifyDataDir(data.path)
    assert.equal(report.damagedSegments, 1)
    const damaged = report.segments.find((s) => s.problems.length > 0)!
    assert.equal(damaged.file, path.relative(data.path, v.file))
    assert.equal(damaged.problems[0]!.position, v.position)
    assert.deepEqual(damaged.problems[0]!.lostOffsets, [v.baseOffset, null])
  })
})
