/**
 * kcat (librdkafka) against a broker process whose rolled segment was damaged on disk: it must print every record
 * before the damage, then report the broker's CORRUPT_MESSAGE and stop — not retry forever at the offset with empty
 * answers (a damaged length field) and not jump silently over the lost records (a segment cut mid-batch).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { BatchOffsets } from '../src/protocol/record-batch.ts'
import { type ChildBroker, spawnBroker, tempDir } from '../test/helpers/broker.ts'
import { middleOfSecondSegment, overwriteInt32 } from '../test/helpers/segments.ts'

const TOPIC = 'ledger'
const BATCHES = 40
const PER_BATCH = 10
const KCAT_TIMEOUT_MS = 30000

function kcat(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), KCAT_TIMEOUT_MS)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('kcat reading a damaged segment', () => {
  let data: { path: string; remove(): void }
  let broker: ChildBroker | undefined
  const partitionDir = () => path.join(data.path, `${TOPIC}-0`)
  const pristine = new Map<string, Buffer>()
  const expected = Array.from({ length: BATCHES * PER_BATCH }, (_, i) => `v${i}-${'x'.repeat(40)}`)

  before(async () => {
    data = tempDir('tributary-kcat-corruption-')
    broker = await spawnBroker(data.path)
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'writer' })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '4096' }] }],
    })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < BATCHES; i++) {
      const messages = expected.slice(i * PER_BATCH, (i + 1) * PER_BATCH).map((value) => ({ value }))
      await producer.send({ topic: TOPIC, acks: -1, messages })
    }
    await producer.disconnect()
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

  async function startDamaged(damage: () => void): Promise<ChildBroker> {
    await broker?.kill()
    for (const [name, bytes] of pristine) fs.writeFileSync(path.join(partitionDir(), name), bytes)
    fs.writeFileSync(path.join(partitionDir(), '.clean-shutdown'), '')
    damage()
    broker = await spawnBroker(data.path)
    return broker
  }

  const consume = (b: ChildBroker) =>
    kcat(['-b', b.bootstrap, '-C', '-t', TOPIC, '-o', 'beginning', '-e', '-f', '%s\\n'])

  test('a batch length overwritten with 0x7fff0000', async () => {
    const v = middleOfSecondSegment(partitionDir())
    const b = await startDamaged(() => overwriteInt32(v.file, v.position + BatchOffsets.batchLength, 0x7fff0000))
    const r = await consume(b)
    assert.notEqual(r.code, 0)
    assert.equal(
      r.stdout,
      expected
        .slice(0, v.baseOffset)
        .map((x) => `${x}\n`)
        .join(''),
    )
    // librdkafka names error 2 (CORRUPT_MESSAGE) "Invalid message".
    assert.match(r.stderr, /Broker: Invalid message/)
    assert.ok(r.stderr.split('\n').length < 10, `kcat kept retrying:\n${r.stderr.slice(0, 2000)}`)
    assert.match(b.output(), new RegExp(`corrupt batch in ${v.file} at position ${v.position}`))
  })

  test('a rolled segment cut in the middle of a batch', async () => {
    const v = middleOfSecondSegment(partitionDir())
    const b = await startDamaged(() => fs.truncateSync(v.file, v.position + Math.floor(v.size / 2)))
    assert.match(b.output(), new RegExp(`damaged segment ${v.file}`))
    const r = await consume(b)
    assert.notEqual(r.code, 0)
    assert.equal(
      r.stdout,
      expected
        .slice(0, v.baseOffset)
        .map((x) => `${x}\n`)
        .join(''),
    )
    // librdkafka names error 2 (CORRUPT_MESSAGE) "Invalid message".
    assert.match(r.stderr, /Broker: Invalid message/)
  })
})
