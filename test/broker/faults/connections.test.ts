/**
 * Connections cannot lock clients out. A broker process is flooded with idle connections: with max.connections and
 * max.connections.per.ip the surplus is closed at once and logged (a few lines, not one per connection); with
 * connections.max.idle.ms idle connections are closed while one waiting for a long-poll Fetch is not; and when the
 * process runs out of file descriptors (985 idle connections took all 1,024 and locked new clients out, with nothing
 * logged) the broker says so in its log and serves again as soon as descriptors are free. Throughout, memory stays
 * bounded and the records produced first read back.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, afterEach, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { tempDir } from '../../helpers/broker.ts'
import { type FaultBroker, limitFds, MiB, peakRss, resetPeakRss, rss, spawnFaultBroker } from './child.ts'

const API_VERSIONS = { clientSoftwareName: 'faults', clientSoftwareVersion: '1' }

/** Opens a connection from `localAddress` (any 127/8 address is this machine) and waits until it is open. */
function connectFrom(port: number, localAddress: string): Promise<KafkaWireClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.off('error', reject)
      resolve(KafkaWireClient.adopt(socket))
    })
    socket.once('error', reject)
  })
}

/** Whether the broker still answers on this connection (false once it has closed it). */
async function answers(wire: KafkaWireClient): Promise<boolean> {
  try {
    const res = await wire.call(ApiKeys.ApiVersions, 3, API_VERSIONS)
    return res.errorCode === ErrorCode.NONE
  } catch {
    return false
  }
}

async function produceSome(broker: FaultBroker, topic: string, n: number): Promise<string[]> {
  const producer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  const values = Array.from({ length: n }, (_, i) => `${topic}-${i}`)
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
  await producer.disconnect()
  return values
}

async function readAll(broker: FaultBroker, topic: string, n: number): Promise<string[]> {
  const consumer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).consumer({
    groupId: `read-${topic}`,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString())
          if (seen.length === n) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return seen
}

describe('connection limits of a broker process', () => {
  const dir = tempDir()
  let broker: FaultBroker | undefined
  const open: KafkaWireClient[] = []

  afterEach(async () => {
    for (const w of open.splice(0)) w.close()
    await broker?.stop()
    broker = undefined
  })
  after(() => dir.remove())

  it('closes connections beyond max.connections.per.ip and max.connections at once, and logs a few lines', {
    timeout: 120000,
  }, async () => {
    broker = await spawnFaultBroker(`${dir.path}/limits`, [
      '--set',
      'max.connections=20',
      '--set',
      'max.connections.per.ip=10',
      '--set',
      'group.initial.rebalance.delay.ms=0',
    ])
    const values = await produceSome(broker, 'kept', 10)
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)
    const logStart = broker.output().length
    // Ten from one address are fine; the eleventh and twelfth are closed.
    for (let i = 0; i < 12; i++) open.push(await connectFrom(broker.port, '127.0.0.1'))
    const fromOne = await Promise.all(open.map(answers))
    assert.equal(fromOne.filter(Boolean).length, 10)
    assert.deepEqual(fromOne.slice(0, 10), Array(10).fill(true))
    // Another address has its own per-address budget, up to the broker-wide 20.
    for (let i = 0; i < 12; i++) open.push(await connectFrom(broker.port, '127.0.0.2'))
    const fromTwo = await Promise.all(open.slice(12).map(answers))
    assert.equal(fromTwo.filter(Boolean).length, 10)
    const third = await connectFrom(broker.port, '127.0.0.3')
    open.push(third)
    assert.equal(await answers(third), false, 'the 21st connection is over max.connections')
    const lines = broker
      .output()
      .slice(logStart)
      .split('\n')
      .filter((l) => /connection refused/.test(l))
    assert.ok(lines.length >= 1 && lines.length <= 6, `${lines.length} lines`)
    assert.match(lines[0]!, /max\.connections/)
    // Freed slots are reusable.
    const all = open.splice(0)
    for (const w of all) w.close()
    await Promise.all(all.map((w) => w.closed))
    const after = await waitForAnswer(broker.port, '127.0.0.1')
    after.close()
    assert.deepEqual(await readAll(broker, 'kept', values.length), values)
    assert.ok(peakRss(broker.pid) - rssBefore < 64 * MiB)
  })

  it('closes idle connections after connections.max.idle.ms but not one waiting for its response', {
    timeout: 60000,
  }, async () => {
    broker = await spawnFaultBroker(`${dir.path}/idle`, [
      '--set',
      'connections.max.idle.ms=300',
      '--set',
      'group.initial.rebalance.delay.ms=0',
    ])
    await produceSome(broker, 'polled', 1)
    const idle = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    open.push(idle)
    assert.equal(await answers(idle), true)
    const polling = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    open.push(polling)
    // A long poll (1.5 s, past the idle timeout) at the end of the log: no data arrives, the answer comes at maxWait.
    const meta = await polling.call(ApiKeys.Metadata, 12, {
      topics: [{ name: 'polled' }],
      allowAutoTopicCreation: false,
    })
    const started = performance.now()
    const fetched = await polling.call(ApiKeys.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 1500,
      minBytes: 1,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'polled',
          topicId: meta.topics[0].topicId,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 1n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1024 * 1024,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    assert.equal(fetched.responses[0].partitions[0].errorCode, ErrorCode.NONE)
    assert.ok(performance.now() - started >= 1400, 'the long poll was answered, not cut off')
    await idle.closed // closed by the broker while idle
    await polling.closed // and the polling one once idle after its answer
    assert.match(broker.output(), /closing idle connection/)
  })

  it('logs when file descriptors run out and serves again once they are free', { timeout: 120000 }, async () => {
    broker = await spawnFaultBroker(`${dir.path}/fds`, ['--set', 'group.initial.rebalance.delay.ms=0'])
    const values = await produceSome(broker, 'survives', 10)
    limitFds(broker.pid, 40)
    const logStart = broker.output().length
    // Idle connections until the broker can take no more: the kernel accepts them, the broker closes the surplus.
    let refused = 0
    for (let i = 0; i < 80; i++) {
      const w = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
      open.push(w)
      if (!(await answers(w))) refused++
    }
    assert.ok(refused > 0, 'some connections found no descriptor')
    await broker.waitForLog(/file descriptors/, logStart)
    const lines = broker
      .output()
      .slice(logStart)
      .split('\n')
      .filter((l) => /file descriptors/.test(l))
    assert.ok(lines.length <= 6, `${lines.length} lines about descriptors`)
    for (const w of open.splice(0)) w.close()
    const again = await waitForAnswer(broker.port, '127.0.0.1')
    again.close()
    assert.deepEqual(await readAll(broker, 'survives', values.length), values)
  })
})

/** Connects until the broker answers (it sees the closes of freed connections in its own time). */
async function waitForAnswer(port: number, from: string): Promise<KafkaWireClient> {
  for (;;) {
    const w = await connectFrom(port, from)
    if (await answers(w)) return w
    w.close()
    await new Promise((r) => setImmediate(r))
  }
}
