/**
 * kcat (librdkafka) against the broker: metadata (-L), keyed produce (-P -K), consume to the end (-C -e), group
 * consume with committed offsets (-G), offsets by timestamp (-Q), and librdkafka's compression codecs read back
 * by KafkaJS, and recompressed to a topic's compression.type. kcat is a Debian package that CI installs, so a missing kcat fails here instead of skipping.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { KafkaWireClient } from '../src/client/wire-client.ts'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { iterateBatches, readBatchHeader } from '../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../test/helpers/broker.ts'
import { registerKafkaJsCodecs } from '../test/helpers/kafkajs-codecs.ts'

const { Kafka, logLevel, CompressionTypes } = kafkajs

registerKafkaJsCodecs()

const KCAT_TIMEOUT_MS = 30000

interface KcatResult {
  stdout: string
  stderr: string
}

/** Runs kcat without blocking the event loop (the broker under test runs in this process). */
function kcat(args: string[], input?: string): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), KCAT_TIMEOUT_MS)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ stdout, stderr })
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}`))
    })
    // kcat may exit before reading its stdin (e.g. -V, -L); the resulting EPIPE is not a test failure.
    child.stdin.on('error', () => {})
    if (input === undefined) child.stdin.end()
    else child.stdin.end(input)
  })
}

describe('kcat against the broker', () => {
  let broker: TestBroker
  let kafka: kafkajs.Kafka
  let admin: kafkajs.Admin
  const clients: { disconnect(): Promise<void> }[] = []
  let rawConnection: KafkaWireClient | undefined
  const raw = (): KafkaWireClient => rawConnection!

  async function createTopic(topic: string, numPartitions = 1): Promise<void> {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }), true)
  }
  async function producer(): Promise<kafkajs.Producer> {
    const p = kafka.producer({ allowAutoTopicCreation: false })
    clients.push(p)
    await p.connect()
    return p
  }
  /** Every message of a topic, read by KafkaJS from the beginning. */
  async function readAll(topic: string, count: number): Promise<kafkajs.KafkaMessage[]> {
    const c = kafka.consumer({ groupId: `kcat-verify-${topic}`, maxWaitTimeInMs: 200 })
    clients.push(c)
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    const got: kafkajs.KafkaMessage[] = []
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out reading ${count} messages of ${topic}`)), 20000)
      c.run({
        eachMessage: async ({ message }) => {
          got.push(message)
          if (got.length >= count) resolve()
        },
      }).catch(reject)
    }).finally(() => clearTimeout(timer))
    await c.disconnect()
    return got
  }

  before(async () => {
    try {
      await kcat(['-V'])
    } catch (err) {
      throw new Error(
        `kcat is required by npm run test:interop but could not be run (${(err as Error).message}); ` +
          'install it with: apt-get install -y kcat',
      )
    }
    broker = await startTestBroker()
    kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'kcat-interop', logLevel: logLevel.NOTHING })
    admin = kafka.admin()
    await admin.connect()
    rawConnection = await KafkaWireClient.connect(broker.bootstrap)
  })
  after(async () => {
    rawConnection?.close()
    for (const c of clients) await c.disconnect().catch(() => {})
    await admin?.disconnect().catch(() => {})
    await broker?.close()
  })

  test('kcat -L lists the broker, topics and partitions', async () => {
    await createTopic('kc-meta', 3)
    const { stdout } = await kcat(['-b', broker.bootstrap, '-L', '-J'])
    const md = JSON.parse(stdout) as {
      brokers: { id: number; name: string }[]
      controllerid: number
      topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[] }[] }[]
    }
    const topic = md.topics.find((t) => t.topic === 'kc-meta')
    assert.ok(topic, 'kc-meta is listed')
    assert.deepEqual(topic.partitions.map((p) => p.partition).sort(), [0, 1, 2])
    if (broker.local) {
      assert.deepEqual(md.brokers, [{ id: 0, name: broker.bootstrap }])
      assert.equal(md.controllerid, 0)
      assert.ok(topic.partitions.every((p) => p.leader === 0 && p.replicas.length === 1 && p.replicas[0]!.id === 0))
    }
    // -L -t narrows the listing to one topic.
    const one = JSON.parse((await kcat(['-b', broker.bootstrap, '-L', '-J', '-t', 'kc-meta'])).stdout)
    assert.deepEqual(
      one.topics.map((t: { topic: string }) => t.topic),
      ['kc-meta'],
    )
  })

  test('kcat -P -K: produces keyed records that a client reads back', async () => {
    const topic = 'kc-keyed'
    await createTopic(topic)
    const lines = ['user-1:login', 'user-2:view:/home', 'user-1:logout']
    await kcat(['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-K', ':'], `${lines.join('\n')}\n`)
    const got = await readAll(topic, 3)
    assert.deepEqual(
      got.map((m) => [m.offset, m.key?.toString(), m.value?.toString()]),
      [
        ['0', 'user-1', 'login'],
        ['1', 'user-2', 'view:/home'],
        ['2', 'user-1', 'logout'],
      ],
    )
  })

  test('kcat -C -e consumes to the end with exact payloads', async () => {
    const topic = 'kc-consume'
    await createTopic(topic)
    const p = await producer()
    await p.send({
      topic,
      messages: [
        { key: 'a', value: 'alpha' },
        { key: null, value: 'no key' },
        { key: 'c', value: 'γάμμα ✓' },
      ],
    })
    await p.send({ topic, messages: [{ key: 'd', value: 'delta', headers: { h: 'x' } }] })
    const all = await kcat([
      '-b',
      broker.bootstrap,
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%o|%k|%s\n',
    ])
    assert.equal(all.stdout, '0|a|alpha\n1||no key\n2|c|γάμμα ✓\n3|d|delta\n')
    // Starting inside a batch: librdkafka skips the records before the requested offset.
    const fromTwo = await kcat(['-b', broker.bootstrap, '-C', '-t', topic, '-o', '2', '-e', '-q', '-f', '%o|%s\n'])
    assert.equal(fromTwo.stdout, '2|γάμμα ✓\n3|delta\n')
    const headers = await kcat(['-b', broker.bootstrap, '-C', '-t', topic, '-o', '3', '-e', '-q', '-f', '%h\n'])
    assert.equal(headers.stdout, 'h=x\n')
  })

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`kcat -P -z ${codec}: librdkafka's compressed batches read back by kcat and KafkaJS`, async () => {
      const topic = `kc-codec-${codec}`
      await createTopic(topic)
      const values = Array.from({ length: 10 }, (_, i) => `${codec}-${i}-${'z'.repeat(100)}`)
      await kcat(['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec], `${values.join('\n')}\n`)
      const viaKcat = await kcat([
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\n',
      ])
      assert.equal(viaKcat.stdout, `${values.join('\n')}\n`)
      const viaKafkaJS = await readAll(topic, 10)
      assert.deepEqual(
        viaKafkaJS.map((m) => m.value?.toString()),
        values,
      )
    })
  }

  for (const [produced, stored] of [
    ['snappy', 'zstd'],
    ['zstd', 'snappy'],
    ['lz4', 'uncompressed'],
  ] as const) {
    test(`compression.type=${stored}: kcat -z ${produced} batches are recompressed and read back by kcat`, async () => {
      const topic = `kc-recompress-${stored}`
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: stored }] }],
      })
      const values = Array.from({ length: 10 }, (_, i) => `${produced}-${i}-${'q'.repeat(100)}`)
      await kcat(['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-z', produced], `${values.join('\n')}\n`)
      const viaKcat = await kcat([
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%o %s\n',
      ])
      assert.equal(viaKcat.stdout, values.map((v, i) => `${i} ${v}\n`).join(''))
      const r = await raw().call(ApiKeys.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      })
      const codecs = [...iterateBatches(r.responses[0].partitions[0].records)].map((b) => b.header.compression)
      const id = { uncompressed: 0, snappy: 2, zstd: 4 }[stored]
      assert.ok(codecs.length > 0 && codecs.every((c) => c === id), `stored codecs ${codecs}`)
    })
  }

  test("kcat -P with enable.idempotence=true and headers (-H): librdkafka's idempotent producer", async () => {
    const topic = 'kc-idempotent'
    await createTopic(topic)
    const values = Array.from({ length: 50 }, (_, i) => `k${i}:v${i}`)
    await kcat(
      [
        '-b',
        broker.bootstrap,
        '-P',
        '-t',
        topic,
        '-p',
        '0',
        '-K',
        ':',
        '-H',
        'trace=abc',
        '-X',
        'enable.idempotence=true',
        '-X',
        'linger.ms=5',
      ],
      `${values.join('\n')}\n`,
    )
    const got = await readAll(topic, 50)
    assert.deepEqual(
      got.map((m) => `${m.key}:${m.value}`),
      values,
    )
    assert.ok(got.every((m, i) => m.offset === String(i) && m.headers?.trace?.toString() === 'abc'))
    if (broker.local) {
      // The batches carry the producer id and sequences librdkafka got from InitProducerId.
      const log = broker.broker!.services.topics.partitionLog(topic, 0)!
      const { records } = await log.read(0, 1 << 20, { minOneMessage: true })
      const header = readBatchHeader(records, 0)
      assert.ok(header.producerId >= 0, `producer id ${header.producerId}`)
      assert.equal(header.baseSequence, 0)
    }
    const { stdout } = await kcat(['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'])
    const first = JSON.parse(stdout.split('\n')[0]!) as {
      key: string
      payload: string
      headers: string[]
      offset: number
    }
    assert.deepEqual([first.key, first.payload, first.headers, first.offset], ['k0', 'v0', ['trace', 'abc'], 0])
  })

  test('kcat -C -o s@<timestamp> starts at the first record at or after the timestamp', async () => {
    const topic = 'kc-from-time'
    await createTopic(topic)
    const p = await producer()
    const base = Date.now() - 3_600_000
    await p.send({
      topic,
      messages: [0, 1000, 2000, 3000].map((d, i) => ({ value: `m${i}`, timestamp: String(base + d) })),
    })
    const { stdout } = await kcat([
      '-b',
      broker.bootstrap,
      '-C',
      '-t',
      topic,
      '-o',
      `s@${base + 1500}`,
      '-e',
      '-q',
      '-f',
      '%o|%s|%T\n',
    ])
    assert.equal(stdout, `2|m2|${base + 2000}\n3|m3|${base + 3000}\n`)
  })

  test('kcat -G consumes as a group and commits its offsets', async () => {
    const topic = 'kc-group'
    const groupId = 'kc-group-consumers'
    await createTopic(topic, 2)
    const p = await producer()
    await p.send({
      topic,
      messages: [
        { partition: 0, value: 'p0-a' },
        { partition: 0, value: 'p0-b' },
        { partition: 0, value: 'p0-c' },
        { partition: 1, value: 'p1-a' },
        { partition: 1, value: 'p1-b' },
      ],
    })
    const { stdout } = await kcat([
      '-b',
      broker.bootstrap,
      '-G',
      groupId,
      '-X',
      'auto.offset.reset=earliest',
      '-e',
      '-q',
      '-f',
      '%p|%o|%s\n',
      topic,
    ])
    assert.deepEqual(stdout.trim().split('\n').sort(), ['0|0|p0-a', '0|1|p0-b', '0|2|p0-c', '1|0|p1-a', '1|1|p1-b'])
    // librdkafka commits what it consumed when it leaves the group.
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.deepEqual(committed!.partitions.map((x) => [x.partition, x.offset]).sort(), [
      [0, '3'],
      [1, '2'],
    ])
    // A second run of the same group has nothing left to read.
    await p.send({ topic, messages: [{ partition: 1, value: 'p1-c' }] })
    const again = await kcat(['-b', broker.bootstrap, '-G', groupId, '-e', '-q', '-f', '%p|%o|%s\n', topic])
    assert.equal(again.stdout, '1|2|p1-c\n')
  })

  test('kcat -Q finds offsets by timestamp', async () => {
    const topic = 'kc-times'
    await createTopic(topic)
    const p = await producer()
    const base = Date.now() - 3_600_000
    // One batch with distinct record timestamps, then a second batch.
    await p.send({
      topic,
      messages: [0, 1000, 2000].map((d, i) => ({ value: `t${i}`, timestamp: String(base + d) })),
    })
    await p.send({ topic, messages: [{ value: 't3', timestamp: String(base + 3000) }] })
    const query = async (ts: number) => (await kcat(['-b', broker.bootstrap, '-Q', '-t', `${topic}:0:${ts}`])).stdout
    assert.match(await query(base - 5), new RegExp(`^${topic} \\[0\\] offset 0$`, 'm'))
    assert.match(await query(base + 1000), new RegExp(`^${topic} \\[0\\] offset 1$`, 'm'))
    assert.match(await query(base + 1500), new RegExp(`^${topic} \\[0\\] offset 2$`, 'm'))
    assert.match(await query(base + 2500), new RegExp(`^${topic} \\[0\\] offset 3$`, 'm'))
    // Past the newest record Kafka answers offset -1, which kcat prints as is.
    assert.match(await query(base + 10_000), new RegExp(`^${topic} \\[0\\] offset -1$`, 'm'))
  })
})
