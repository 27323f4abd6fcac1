/**
 * @platformatic/kafka 1.x (flexible request versions) against the broker: compression codecs, consume modes
 * earliest/latest/committed, offsets by timestamp, a rebalancing group, committed offsets across a restart, and
 * the idempotent and transactional producers.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import zlib from 'node:zlib'
import {
  Admin,
  type CompressionAlgorithmValue,
  type ConsumeOptions,
  Consumer,
  type Message,
  type MessagesStream,
  Producer,
  type ProducerOptions,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const SAFETY_MS = 20000

type StringMessage = Message<string, string, string, string>
type StringConsumer = Consumer<string, string, string, string>
type StringProducer = Producer<string, string, string, string>

interface Received {
  partition: number
  offset: bigint
  key: string
  value: string
  headers: Record<string, string>
  timestamp: bigint
}

function toReceived(m: StringMessage): Received {
  return {
    partition: m.partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: Object.fromEntries(m.headers),
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

/** Re-checks predicates whenever something they watch changed. */
class Conditions {
  #waiters = new Set<() => void>()
  changed(): void {
    for (const w of [...this.#waiters]) w()
  }
  until(predicate: () => boolean, what: string): Promise<void> {
    if (predicate()) return Promise.resolve()
    let check!: () => void
    const p = new Promise<void>((resolve) => {
      check = () => {
        if (predicate()) resolve()
      }
      this.#waiters.add(check)
    })
    return within(p, what).finally(() => this.#waiters.delete(check))
  }
}

describe('@platformatic/kafka conformance', () => {
  let broker: TestBroker
  let admin: Admin
  const clients: { close(force?: boolean): Promise<void> }[] = []

  function producer(options: Partial<ProducerOptions<string, string, string, string>> = {}): StringProducer {
    const p = new Producer<string, string, string, string>({
      clientId: 'conformance-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      autocreateTopics: false,
      ...options,
    })
    clients.push(p)
    return p
  }
  function consumer(groupId: string): StringConsumer {
    const c = new Consumer<string, string, string, string>({
      clientId: 'conformance-platformatic',
      groupId,
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
      heartbeatInterval: 300,
      sessionTimeout: 10000,
      maxWaitTime: 200,
    })
    clients.push(c)
    return c
  }
  async function consume(
    c: StringConsumer,
    options: Partial<ConsumeOptions<string, string, string, string>> & { topics: string[] },
  ): Promise<{ stream: MessagesStream<string, string, string, string>; received: Received[]; conditions: Conditions }> {
    const stream = await c.consume({ autocommit: false, ...options })
    const received: Received[] = []
    const conditions = new Conditions()
    stream.on('data', (m: StringMessage) => {
      received.push(toReceived(m))
      conditions.changed()
    })
    return { stream, received, conditions }
  }
  async function createTopic(topic: string, partitions = 1): Promise<void> {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  }

  before(async () => {
    broker = await startTestBroker()
    admin = new Admin({ clientId: 'conformance-platformatic', bootstrapBrokers: [broker.bootstrap] })
  })
  after(async () => {
    for (const c of clients) await c.close(true).catch(() => {})
    await admin?.close().catch(() => {})
    await broker?.close()
  })

  // zstd needs node:zlib's zstd (Node >= 22.15); on older Node the client refuses it.
  const zstdAvailable = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function'
  const codecs: CompressionAlgorithmValue[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
  for (const compression of codecs) {
    test(`produce and consume with compression ${compression}`, async (t) => {
      if (compression === 'zstd' && !zstdAvailable) {
        t.skip(`@platformatic/kafka has no zstd on Node ${process.version} (needs node:zlib zstd, Node >= 22.15)`)
        return
      }
      const topic = `pk-codec-${compression}`
      await createTopic(topic)
      const p = producer({ compression })
      const messages = Array.from({ length: 20 }, (_, i) => ({
        topic,
        partition: 0,
        key: `key-${i}`,
        value: `${compression} value ${i} ${'y'.repeat(200)}`,
        headers: { codec: compression, index: String(i) },
      }))
      const first = await p.send({ messages: messages.slice(0, 10) })
      assert.deepEqual(first.offsets, [{ topic, partition: 0, offset: 0n }])
      const second = await p.send({ messages: messages.slice(10) })
      assert.deepEqual(second.offsets, [{ topic, partition: 0, offset: 10n }])

      const { received, conditions } = await consume(consumer(`pk-codec-${compression}`), {
        topics: [topic],
        mode: 'earliest',
      })
      await conditions.until(() => received.length >= 20, '20 messages')
      assert.deepEqual(
        received.map((m) => [m.offset, m.key, m.value, m.headers]),
        messages.map((m, i) => [BigInt(i), m.key, m.value, m.headers]),
      )
    })
  }

  test('consume modes earliest, latest and committed', async () => {
    const topic = 'pk-modes'
    await createTopic(topic)
    const p = producer()
    await p.send({ messages: ['a', 'b', 'c'].map((value) => ({ topic, value })) })

    const earliest = await consume(consumer('pk-modes-earliest'), { topics: [topic], mode: 'earliest' })
    await earliest.conditions.until(() => earliest.received.length >= 3, 'earliest to read 3')
    assert.deepEqual(
      earliest.received.map((m) => [m.offset, m.value]),
      [
        [0n, 'a'],
        [1n, 'b'],
        [2n, 'c'],
      ],
    )

    const latestConsumer = consumer('pk-modes-latest')
    const latest = await consume(latestConsumer, { topics: [topic], mode: 'latest' })
    // Only once the stream has listed offsets (after joining the group) is its position the log end.
    await within(
      new Promise<void>((resolve) => {
        const check = () => {
          if (latestConsumer.assignments?.length) resolve()
          else latest.stream.once('offsets', check)
        }
        latest.stream.once('offsets', check)
      }),
      'the latest stream to list offsets',
    )
    await p.send({ messages: ['d', 'e'].map((value) => ({ topic, value })) })
    await latest.conditions.until(() => latest.received.length >= 2, 'latest to read the new messages')
    assert.deepEqual(
      latest.received.map((m) => [m.offset, m.value]),
      [
        [3n, 'd'],
        [4n, 'e'],
      ],
    )

    // committed: a group that committed offset 2 resumes there; a group with no commit falls back to earliest.
    // (Consumer.commit outside a group sends a null member id, which Kafka rejects too; the admin API is the way.)
    await admin.alterConsumerGroupOffsets({
      groupId: 'pk-modes-committed',
      topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 2n }] }],
    })
    const committed = await consume(consumer('pk-modes-committed'), {
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'fail',
    })
    await committed.conditions.until(() => committed.received.length >= 3, 'committed to read from offset 2')
    assert.deepEqual(
      committed.received.map((m) => m.value),
      ['c', 'd', 'e'],
    )
    const fallback = await consume(consumer('pk-modes-fallback'), {
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
    })
    await fallback.conditions.until(() => fallback.received.length >= 5, 'fallback to read everything')
    assert.deepEqual(
      fallback.received.map((m) => m.value),
      ['a', 'b', 'c', 'd', 'e'],
    )
  })

  test('offsets by timestamp (consumer.listOffsets) and consuming from there', async () => {
    const topic = 'pk-timestamps'
    await createTopic(topic)
    const p = producer()
    const base = BigInt(Date.now() - 3_600_000)
    // One batch whose records carry distinct timestamps: the lookup must land inside the batch.
    await p.send({
      messages: [0n, 1000n, 2000n, 3000n].map((d, i) => ({ topic, value: `t${i}`, timestamp: base + d })),
    })
    await p.send({ messages: [{ topic, value: 't4', timestamp: base + 4000n }] })

    const c = consumer('pk-timestamps')
    const at = async (timestamp: bigint) => (await c.listOffsets({ topics: [topic], timestamp })).get(topic)![0]
    assert.equal(await at(base - 1n), 0n)
    assert.equal(await at(base + 1n), 1n)
    assert.equal(await at(base + 2000n), 2n)
    assert.equal(await at(base + 3500n), 4n)
    assert.equal(await at(-1n), 5n, 'latest')
    assert.equal(await at(-2n), 0n, 'earliest')
    const withTimestamps = await c.listOffsetsWithTimestamps({ topics: [topic], timestamp: base + 2500n })
    assert.deepEqual(withTimestamps.get(topic)?.get(0), { offset: 3n, timestamp: base + 3000n })

    const from = await at(base + 2500n)
    const manual = await consume(c, {
      topics: [topic],
      mode: 'manual',
      offsets: [{ topic, partition: 0, offset: from }],
    })
    await manual.conditions.until(() => manual.received.length >= 2, 'records from the timestamp on')
    assert.deepEqual(
      manual.received.map((m) => [m.offset, m.value, m.timestamp]),
      [
        [3n, 't3', base + 3000n],
        [4n, 't4', base + 4000n],
      ],
    )
  })

  test('two consumers in one group share partitions and rebalance when one leaves', async () => {
    const topic = 'pk-group'
    const groupId = 'pk-group-two'
    await createTopic(topic, 4)
    const p = producer()
    const conditions = new Conditions()
    const assignments = new Map<string, { generationId: number; partitions: number[] }>()
    const received = new Map<string, Received[]>()
    const commits: Promise<void>[] = []
    const members = new Map<string, StringConsumer>()
    const streams = new Map<string, MessagesStream<string, string, string, string>>()
    const fetches = new Map<string, number>()
    for (const name of ['a', 'b']) {
      const c = consumer(groupId)
      members.set(name, c)
      received.set(name, [])
      c.on(
        'consumer:group:join',
        (e: { generationId: number; assignments: { topic: string; partitions: number[] }[] }) => {
          const mine = e.assignments.find((a) => a.topic === topic)?.partitions ?? []
          assignments.set(name, { generationId: e.generationId, partitions: [...mine].sort() })
          conditions.changed()
        },
      )
      const stream = await c.consume({
        topics: [topic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
      })
      streams.set(name, stream)
      fetches.set(name, 0)
      stream.on('fetch', () => {
        fetches.set(name, fetches.get(name)! + 1)
        conditions.changed()
      })
      stream.on('data', (m: StringMessage) => {
        received.get(name)!.push(toReceived(m))
        commits.push(m.commit() as Promise<void>)
        conditions.changed()
      })
    }

    await conditions.until(() => {
      const x = assignments.get('a')
      const y = assignments.get('b')
      return (
        !!x &&
        !!y &&
        x.generationId === y.generationId &&
        x.partitions.length === 2 &&
        y.partitions.length === 2 &&
        [...x.partitions, ...y.partitions].sort().join() === '0,1,2,3'
      )
    }, 'a balanced assignment in one generation')
    // A fetch sent under the previous generation may still be in flight and would hand this client records of a
    // partition it no longer owns (the client does not drop them); two completed fetches per member rule that out.
    const seen = new Map(fetches)
    await conditions.until(
      () => [...fetches].every(([name, n]) => n >= seen.get(name)! + 2),
      'fetches under the new assignment',
    )

    const firstRound = Array.from({ length: 8 }, (_, i) => ({ topic, partition: i % 4, value: `r1-${i}` }))
    await p.send({ messages: firstRound })
    await conditions.until(() => received.get('a')!.length + received.get('b')!.length >= 8, 'the first round')
    for (const name of ['a', 'b']) {
      const owned = assignments.get(name)!.partitions
      assert.ok(
        received.get(name)!.every((m) => owned.includes(m.partition)),
        `${name} only reads its own partitions`,
      )
      assert.equal(received.get(name)!.length, 4)
    }
    await Promise.all(commits)

    await streams.get('b')!.close()
    await members.get('b')!.close()
    await conditions.until(() => assignments.get('a')!.partitions.join() === '0,1,2,3', 'a to own every partition')
    const secondRound = Array.from({ length: 8 }, (_, i) => ({ topic, partition: i % 4, value: `r2-${i}` }))
    await p.send({ messages: secondRound })
    await conditions.until(
      () => received.get('a')!.filter((m) => m.value.startsWith('r2-')).length >= 8,
      'a to consume the second round',
    )
    const all = [...received.get('a')!, ...received.get('b')!]
    // After a rebalance @platformatic/kafka may hand the same record (same partition and offset) to the surviving
    // member twice when a fetch of the previous generation was still in flight; how often depends on how fast the
    // broker answers. What the broker owes is each message stored once and delivered: one offset per message.
    const stored = new Map<string, string>()
    for (const m of all) {
      const at = `${m.partition}:${m.offset}`
      const seen = stored.get(m.value)
      assert.ok(seen === undefined || seen === at, `${m.value} appears at two offsets: ${seen} and ${at}`)
      stored.set(m.value, at)
    }
    assert.deepEqual(
      [...stored.keys()].sort(),
      [...firstRound, ...secondRound].map((m) => m.value).sort(),
      'every message consumed across the rebalance, each stored at exactly one offset',
    )
    await Promise.all(commits)
  })

  test('committed offsets survive a broker restart', async (t) => {
    if (!broker.local) {
      t.skip('needs a local broker to restart')
      return
    }
    const topic = 'pk-restart'
    const groupId = 'pk-restart-group'
    await createTopic(topic)
    let p = producer()
    await p.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic, key: `k${i}`, value: `before-${i}` })) })
    let c = consumer(groupId)
    const first = await c.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
    const firstFive = await within(
      new Promise<StringMessage[]>((resolve) => {
        const got: StringMessage[] = []
        first.on('data', (m: StringMessage) => {
          got.push(m)
          if (got.length === 5) resolve(got)
        })
      }),
      'the first five messages',
    )
    assert.deepEqual(
      firstFive.map((m) => m.value),
      ['before-0', 'before-1', 'before-2', 'before-3', 'before-4'],
    )
    await firstFive[4]!.commit()
    await c.close(true)
    await p.close()
    await admin.close()

    await broker.restart()

    admin = new Admin({ clientId: 'conformance-platformatic', bootstrapBrokers: [broker.bootstrap] })
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
    const partition = group!.topics.find((x) => x.name === topic)!.partitions[0]!
    assert.equal(partition.partitionIndex, 0)
    assert.equal(partition.committedOffset, 5n)

    p = producer()
    await p.send({ messages: [0, 1].map((i) => ({ topic, key: `k${5 + i}`, value: `after-${i}` })) })
    c = consumer(groupId)
    const resumed = await consume(c, { topics: [topic], mode: 'committed', fallbackMode: 'fail' })
    await resumed.conditions.until(() => resumed.received.length >= 2, 'the consumer to resume')
    assert.deepEqual(
      resumed.received.map((m) => [m.offset, m.key, m.value]),
      [
        [5n, 'k5', 'after-0'],
        [6n, 'k6', 'after-1'],
      ],
    )
  })

  test('idempotent producer keeps keys, headers and order, with no duplicates', async () => {
    const topic = 'pk-idempotent'
    await createTopic(topic, 2)
    const p = producer({ idempotent: true })
    const sent: { topic: string; partition: number; key: string; value: string; headers: Record<string, string> }[] = []
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: 4 }, (_, i) => ({
        topic,
        partition: i % 2,
        key: `key-${round}-${i}`,
        value: `value-${round}-${i}`,
        headers: { 'trace-id': `t-${round}-${i}`, round: String(round) },
      }))
      sent.push(...messages)
      await p.send({ messages })
    }
    assert.ok(p.producerId !== undefined && p.producerId >= 0n, 'the producer got a producer id')
    const { received, conditions } = await consume(consumer('pk-idempotent'), { topics: [topic], mode: 'earliest' })
    await conditions.until(() => received.length >= sent.length, 'all idempotent messages')
    for (const partition of [0, 1]) {
      assert.deepEqual(
        received.filter((m) => m.partition === partition).map((m) => [m.offset, m.key, m.value, m.headers]),
        sent.filter((m) => m.partition === partition).map((m, i) => [BigInt(i), m.key, m.value, m.headers]),
      )
    }
  })
  test('transactional producer: committed transactions are read_committed-visible, aborted ones are not', async () => {
    const topic = 'pk-transactions'
    await createTopic(topic)
    const p = producer({ transactionalId: 'pk-tx', idempotent: true })
    const run = async (values: string[], outcome: 'commit' | 'abort') => {
      const tx = await p.beginTransaction()
      await tx.send({ messages: values.map((value) => ({ topic, partition: 0, key: value, value })) })
      await (outcome === 'commit' ? tx.commit() : tx.abort())
    }
    await run(['a', 'b'], 'commit')
    await run(['x'], 'abort')
    await run(['c'], 'commit')

    const committed = await consume(consumer('pk-tx-committed'), {
      topics: [topic],
      mode: 'earliest',
      isolationLevel: 1,
    })
    await committed.conditions.until(() => committed.received.length >= 3, 'read_committed records')
    const uncommitted = await consume(consumer('pk-tx-uncommitted'), {
      topics: [topic],
      mode: 'earliest',
      isolationLevel: 0,
    })
    await uncommitted.conditions.until(() => uncommitted.received.length >= 4, 'read_uncommitted records')
    // Each transaction ends with a control record, which takes an offset but is never delivered.
    assert.deepEqual(
      uncommitted.received.map((m) => [m.offset, m.value]),
      [
        [0n, 'a'],
        [1n, 'b'],
        [3n, 'x'],
        [5n, 'c'],
      ],
    )
    // Wait for the end of the log so a late aborted record would have shown up.
    await committed.conditions.until(() => committed.received.some((m) => m.value === 'c'), 'the last commit')
    assert.deepEqual(
      committed.received.map((m) => [m.offset, m.value]),
      [
        [0n, 'a'],
        [1n, 'b'],
        [5n, 'c'],
      ],
    )
  })
})
