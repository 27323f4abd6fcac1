/**
 * KafkaJS 2.2.4 (non-flexible request versions) against the broker: compression codecs, consume positions,
 * offsets by timestamp, a rebalancing group, committed offsets across a restart, the idempotent producer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { registerKafkaJsCodecs } from '../helpers/kafkajs-codecs.ts'

// KafkaJS is CommonJS; Node's ESM loader cannot see all of its named exports.
const { Kafka, logLevel, CompressionTypes } = kafkajs

registerKafkaJsCodecs()

const SAFETY_MS = 20000

interface Received {
  topic: string
  partition: number
  offset: string
  key: string | null
  value: string | null
  headers: Record<string, string>
  timestamp: string
}

function toReceived(topic: string, partition: number, m: kafkajs.KafkaMessage): Received {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v)
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString() ?? null,
    value: m.value?.toString() ?? null,
    headers,
    timestamp: m.timestamp,
  }
}

/** Rejects after `ms` so a broken broker fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, what: string, ms = SAFETY_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Runs a consumer and resolves once `count` messages arrived (any extra ones are kept for later assertions). */
async function collect(
  consumer: kafkajs.Consumer,
  count: number,
  received: Received[] = [],
): Promise<{ received: Received[]; done: Promise<Received[]> }> {
  let resolve!: (r: Received[]) => void
  const done = new Promise<Received[]>((r) => (resolve = r))
  if (received.length >= count) resolve(received)
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      received.push(toReceived(topic, partition, message))
      if (received.length >= count) resolve(received)
    },
  })
  return { received, done: within(done, `${count} messages`) }
}

describe('KafkaJS conformance', () => {
  let broker: TestBroker
  let kafka: kafkajs.Kafka
  let admin: kafkajs.Admin
  const clients: { disconnect(): Promise<void> }[] = []

  function newKafka(): kafkajs.Kafka {
    return new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'conformance-kafkajs',
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    })
  }
  async function producer(config?: kafkajs.ProducerConfig): Promise<kafkajs.Producer> {
    const p = kafka.producer({ allowAutoTopicCreation: false, ...config })
    clients.push(p)
    await p.connect()
    return p
  }
  async function consumer(groupId: string, extra: Partial<kafkajs.ConsumerConfig> = {}): Promise<kafkajs.Consumer> {
    const c = kafka.consumer({ groupId, heartbeatInterval: 300, sessionTimeout: 10000, maxWaitTimeInMs: 200, ...extra })
    clients.push(c)
    await c.connect()
    return c
  }
  async function createTopic(topic: string, numPartitions = 1): Promise<void> {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }), true)
  }

  before(async () => {
    broker = await startTestBroker()
    kafka = newKafka()
    admin = kafka.admin()
    await admin.connect()
  })
  after(async () => {
    for (const c of clients) await c.disconnect().catch(() => {})
    await admin?.disconnect().catch(() => {})
    await broker?.close()
  })

  const codecs: [string, kafkajs.CompressionTypes][] = [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
  ]
  for (const [name, codec] of codecs) {
    test(`produce and consume with compression ${name}`, async () => {
      const topic = `kjs-codec-${name}`
      await createTopic(topic)
      const p = await producer()
      // Repetitive values so the codecs really shrink the batch.
      const messages = Array.from({ length: 20 }, (_, i) => ({
        key: `key-${i}`,
        value: `${name} value ${i} ${'x'.repeat(200)}`,
        headers: { codec: name, index: String(i) },
      }))
      const [meta] = await p.send({ topic, compression: codec, messages: messages.slice(0, 10) })
      assert.equal(meta!.errorCode, 0)
      assert.equal(meta!.baseOffset, '0')
      const [meta2] = await p.send({ topic, compression: codec, messages: messages.slice(10) })
      assert.equal(meta2!.baseOffset, '10')

      const c = await consumer(`kjs-codec-group-${name}`)
      await c.subscribe({ topic, fromBeginning: true })
      const { done } = await collect(c, 20)
      const got = await done
      assert.deepEqual(
        got.map((m) => [m.offset, m.key, m.value, m.headers]),
        messages.map((m, i) => [String(i), m.key, m.value, m.headers]),
      )
      await c.disconnect()
    })
  }

  test('zstd: KafkaJS cannot produce it here (no compressor installed)', async () => {
    const topic = 'kjs-codec-zstd'
    await createTopic(topic)
    const p = await producer()
    await assert.rejects(
      p.send({ topic, compression: CompressionTypes.ZSTD, messages: [{ value: 'z' }] }),
      /no zstd compressor/,
    )
  })

  test('consume from beginning and from end (only new messages)', async () => {
    const topic = 'kjs-positions'
    await createTopic(topic)
    const p = await producer()
    await p.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) })

    const fromStart = await consumer('kjs-positions-start')
    await fromStart.subscribe({ topic, fromBeginning: true })
    const start = await collect(fromStart, 3)
    assert.deepEqual(
      (await start.done).map((m) => [m.offset, m.value]),
      [
        ['0', 'a'],
        ['1', 'b'],
        ['2', 'c'],
      ],
    )

    const fromEnd = await consumer('kjs-positions-end')
    await fromEnd.subscribe({ topic, fromBeginning: false })
    // The first completed fetch means the consumer has resolved its position to the log end; only then is a new
    // message guaranteed to be "after" where it starts.
    const firstFetch = new Promise<void>((resolve) => {
      const off = fromEnd.on(fromEnd.events.FETCH, () => {
        off()
        resolve()
      })
    })
    const end = await collect(fromEnd, 2)
    await within(firstFetch, 'first fetch')
    await p.send({ topic, messages: [{ value: 'd' }, { value: 'e' }] })
    assert.deepEqual(
      (await end.done).map((m) => [m.offset, m.value]),
      [
        ['3', 'd'],
        ['4', 'e'],
      ],
    )
  })

  test('offsets by timestamp (admin.fetchTopicOffsetsByTimestamp) and seek', async () => {
    const topic = 'kjs-timestamps'
    await createTopic(topic)
    const p = await producer()
    const base = Date.now() - 3_600_000
    // One batch whose records carry distinct timestamps: the lookup must land inside the batch.
    await p.send({
      topic,
      messages: [0, 1000, 2000, 3000, 4000].map((d, i) => ({ value: `t${i}`, timestamp: String(base + d) })),
    })
    await p.send({ topic, messages: [{ value: 't5', timestamp: String(base + 5000) }] })

    const at = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp(topic, ts))[0]!.offset
    assert.equal(await at(base - 1), '0')
    assert.equal(await at(base), '0')
    assert.equal(await at(base + 1), '1')
    assert.equal(await at(base + 2000), '2')
    assert.equal(await at(base + 4500), '5')
    assert.equal(await at(base + 5000), '5')
    // Past the newest timestamp Kafka answers -1; KafkaJS then falls back to the latest offset.
    assert.equal(await at(base + 6000), '6')

    // Starting at the log end, everything this consumer reads comes from the seek.
    const c = await consumer('kjs-timestamps-seek')
    await c.subscribe({ topic, fromBeginning: false })
    const seeked = await collect(c, 3)
    c.seek({ topic, partition: 0, offset: await at(base + 3000) })
    assert.deepEqual(
      (await seeked.done).map((m) => [m.offset, m.value, m.timestamp]),
      [
        ['3', 't3', String(base + 3000)],
        ['4', 't4', String(base + 4000)],
        ['5', 't5', String(base + 5000)],
      ],
    )
    await c.disconnect()
  })

  test('two consumers in one group share partitions and rebalance when one leaves', async () => {
    const topic = 'kjs-group'
    const groupId = 'kjs-group-two'
    await createTopic(topic, 4)
    const p = await producer()

    type Assignment = { partitions: number[] }
    const assignments = new Map<string, Assignment>()
    const changed = new EventTargetLike()
    const members: kafkajs.Consumer[] = []
    const received = new Map<string, Received[]>()
    const fetches = new Map<string, number>()
    for (const name of ['a', 'b']) {
      const c = await consumer(groupId)
      received.set(name, [])
      fetches.set(name, 0)
      c.on(c.events.FETCH, () => {
        fetches.set(name, fetches.get(name)! + 1)
        changed.emit()
      })
      c.on(c.events.GROUP_JOIN, (e) => {
        assignments.set(name, {
          partitions: [...(e.payload.memberAssignment[topic] ?? [])].sort(),
        })
        changed.emit()
      })
      await c.subscribe({ topic, fromBeginning: true })
      await c.run({
        eachMessage: async ({ partition, message }) => {
          received.get(name)!.push(toReceived(topic, partition, message))
          changed.emit()
        },
      })
      members.push(c)
    }
    const [a, b] = members as [kafkajs.Consumer, kafkajs.Consumer]

    // Both members end up with two partitions each, together covering all four (KafkaJS does not report the
    // generation; a stale single-member assignment would hold all four).
    await changed.until(() => {
      const x = assignments.get('a')
      const y = assignments.get('b')
      return (
        !!x &&
        !!y &&
        x.partitions.length === 2 &&
        y.partitions.length === 2 &&
        [...x.partitions, ...y.partitions].sort().join() === '0,1,2,3'
      )
    }, 'a balanced assignment')
    // A fetch sent under the previous assignment may still be in flight; two completed fetches per member rule out
    // records of a partition the member no longer owns.
    const seen = new Map(fetches)
    await changed.until(
      () => [...fetches].every(([name, n]) => n >= seen.get(name)! + 2),
      'fetches under the new assignment',
    )

    const firstRound = Array.from({ length: 8 }, (_, i) => ({ partition: i % 4, value: `r1-${i}` }))
    await p.send({ topic, messages: firstRound })
    await changed.until(
      () => received.get('a')!.length + received.get('b')!.length >= 8,
      'the first round to be consumed',
    )
    for (const name of ['a', 'b']) {
      const owned = assignments.get(name)!.partitions
      const got = received.get(name)!
      assert.ok(
        got.every((m) => owned.includes(m.partition)),
        `${name} only reads its own partitions`,
      )
      assert.equal(got.length, 4, `${name} got the 4 messages of its 2 partitions`)
    }

    // Both consumers commit after each batch; b leaves, a takes over all four partitions from those commits.
    await b.disconnect()
    await changed.until(() => assignments.get('a')!.partitions.join() === '0,1,2,3', 'a to own every partition')
    const secondRound = Array.from({ length: 8 }, (_, i) => ({ partition: i % 4, value: `r2-${i}` }))
    await p.send({ topic, messages: secondRound })
    await changed.until(
      () => received.get('a')!.filter((m) => m.value!.startsWith('r2-')).length >= 8,
      'a to consume the second round',
    )
    const all = [...received.get('a')!, ...received.get('b')!]
    assert.deepEqual(
      all.map((m) => m.value!).sort(),
      [...firstRound, ...secondRound].map((m) => m.value).sort(),
      'every message consumed exactly once across the rebalance',
    )
    await a.disconnect()
  })

  test('committed offsets survive a broker restart', async (t) => {
    if (!broker.local) {
      t.skip('needs a local broker to restart')
      return
    }
    const topic = 'kjs-restart'
    const groupId = 'kjs-restart-group'
    await createTopic(topic)
    let p = await producer()
    await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `before-${i}` })) })

    let c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    const first: Received[] = []
    let resolve!: () => void
    const got5 = new Promise<void>((r) => (resolve = r))
    await c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        first.push(toReceived(topic, partition, message))
        if (first.length === 5) resolve()
      },
    })
    await within(got5, 'the first five messages')
    // The committed offset is the next one to read.
    await c.commitOffsets([{ topic, partition: 0, offset: '5' }])
    await c.disconnect()
    await p.disconnect()
    await admin.disconnect()

    await broker.restart()

    kafka = newKafka()
    admin = kafka.admin()
    await admin.connect()
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.deepEqual(committed!.partitions, [{ partition: 0, offset: '5', metadata: null }])

    p = await producer()
    await p.send({ topic, messages: [0, 1].map((i) => ({ key: `k${5 + i}`, value: `after-${i}` })) })
    c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    const resumed = await collect(c, 2)
    assert.deepEqual(
      (await resumed.done).map((m) => [m.offset, m.key, m.value]),
      [
        ['5', 'k5', 'after-0'],
        ['6', 'k6', 'after-1'],
      ],
    )
    await c.disconnect()
  })

  test('idempotent producer keeps keys, headers and order, with no duplicates', async () => {
    const topic = 'kjs-idempotent'
    await createTopic(topic, 2)
    const p = await producer({ idempotent: true, maxInFlightRequests: 1 })
    const sent: { key: string; value: string; headers: Record<string, string>; partition: number }[] = []
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: 4 }, (_, i) => ({
        key: `key-${round}-${i}`,
        value: `value-${round}-${i}`,
        headers: { 'trace-id': `t-${round}-${i}`, round: String(round) },
        partition: i % 2,
      }))
      sent.push(...messages)
      const meta = await p.send({ topic, acks: -1, messages })
      assert.ok(meta.every((m) => m.errorCode === 0))
    }
    const c = await consumer('kjs-idempotent-group')
    await c.subscribe({ topic, fromBeginning: true })
    const { done } = await collect(c, sent.length)
    const got = await done
    for (const partition of [0, 1]) {
      const expected = sent.filter((m) => m.partition === partition)
      assert.deepEqual(
        got.filter((m) => m.partition === partition).map((m) => [m.offset, m.key, m.value, m.headers]),
        expected.map((m, i) => [String(i), m.key, m.value, m.headers]),
      )
    }
    await c.disconnect()
  })
  test('clients stay connected across a broker restart: idempotent producer and group consumer carry on', async (t) => {
    if (!broker.local) {
      t.skip('needs a local broker to restart')
      return
    }
    const topic = 'kjs-live-restart'
    await createTopic(topic)
    const p = await producer({ idempotent: true, maxInFlightRequests: 1 })
    const c = await consumer('kjs-live-restart-group')
    await c.subscribe({ topic, fromBeginning: true })
    const changed = new EventTargetLike()
    const received: Received[] = []
    let committed = '-1'
    c.on(c.events.COMMIT_OFFSETS, (e) => {
      const mine = e.payload.topics.find((x: { topic: string }) => x.topic === topic)
      if (mine) committed = mine.partitions[0]!.offset
      changed.emit()
    })
    await c.run({
      eachMessage: async ({ partition, message }) => {
        received.push(toReceived(topic, partition, message))
        changed.emit()
      },
    })
    await p.send({ topic, messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `before-${i}` })) })
    // Resuming exactly after the last message needs its offset committed before the restart.
    await changed.until(() => received.length >= 3 && committed === '3', 'three messages consumed and committed')

    await broker.restart()

    // The same producer id continues its sequence after the restart: the broker kept its producer state.
    const meta = await p.send({ topic, messages: [3, 4].map((i) => ({ key: `k${i}`, value: `after-${i}` })) })
    assert.equal(meta[0]!.errorCode, 0)
    assert.equal(meta[0]!.baseOffset, '3')
    await changed.until(() => received.length >= 5, 'the consumer to read after the restart')
    assert.deepEqual(
      received.map((m) => [m.offset, m.value]),
      [
        ['0', 'before-0'],
        ['1', 'before-1'],
        ['2', 'before-2'],
        ['3', 'after-3'],
        ['4', 'after-4'],
      ],
    )
    await c.disconnect()
  })

  // Transactional producers are exercised with KafkaJS in test/broker/txn/kafkajs.test.ts.
})

/** A tiny condition waiter: callers re-check a predicate whenever something they watch changed. */
class EventTargetLike {
  #waiters = new Set<() => void>()
  emit(): void {
    for (const w of [...this.#waiters]) w()
  }
  until(predicate: () => boolean, what: string): Promise<void> {
    if (predicate()) return Promise.resolve()
    let check!: () => void
    const p = new Promise<void>((resolve) => {
      check = () => {
        if (predicate()) {
          this.#waiters.delete(check)
          resolve()
        }
      }
      this.#waiters.add(check)
    })
    return within(p, what).finally(() => this.#waiters.delete(check))
  }
}
