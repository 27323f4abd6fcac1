/**
 * Failed logins are not free: a broker process on a SASL listener is flooded with wrong passwords, one after the
 * other and many at once. Each failure is answered no sooner than connection.failed.authentication.delay.ms (Kafka's
 * 100 ms default) and then the connection is closed; the log gets a few lines per interval rather than two per
 * guess; the broker's memory stays flat; and afterwards the right password still logs in and every record produced
 * before the flood reads back.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { ConnectionClosed, KafkaWireClient } from '../../../src/client/wire-client.ts'
import { type Logger, LogRateLimiter } from '../../../src/common/logger.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { tempDir } from '../../helpers/broker.ts'
import { type FaultBroker, MiB, peakRss, resetPeakRss, rss, spawnFaultBroker } from './child.ts'

const DELAY_MS = 100
const SEQUENTIAL = 30
const PARALLEL = 40
/** Resident memory the flood may add to the broker (it holds a few small objects per connection). */
const MEMORY_BOUND = 48 * MiB

/** One PLAIN login over a raw connection: the time from SaslAuthenticate to its answer, and the answer. */
async function plainLogin(port: number, user: string, password: string) {
  const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port })
  try {
    const hs = await wire.call(ApiKeys.SaslHandshake, 1, { mechanism: 'PLAIN' })
    assert.equal(hs.errorCode, ErrorCode.NONE)
    const sent = performance.now()
    const res = await wire.call(ApiKeys.SaslAuthenticate, 2, { authBytes: Buffer.from(`\0${user}\0${password}`) })
    const elapsedMs = performance.now() - sent
    return { res, elapsedMs, wire }
  } catch (err) {
    wire.close()
    throw err
  }
}

describe('failed logins against a broker process', () => {
  const dir = tempDir()
  let broker: FaultBroker
  const kafka = () =>
    new Kafka({
      brokers: [broker.bootstrap],
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' },
      logLevel: logLevel.NOTHING,
    })

  before(async () => {
    broker = await spawnFaultBroker(dir.path, [
      '--set',
      'listeners=SASL_PLAINTEXT://127.0.0.1:0',
      '--set',
      'sasl.users=admin:admin-secret',
    ])
  })
  after(async () => {
    await broker?.stop()
    dir.remove()
  })

  it('answers each failure after the delay, logs a bounded number of lines, and loses nothing', async () => {
    const producer = kafka().producer()
    await producer.connect()
    const values = Array.from({ length: 50 }, (_, i) => `before-the-flood-${i}`)
    await producer.send({ topic: 'ledger', acks: -1, messages: values.map((value) => ({ value })) })
    await producer.disconnect()

    const logStart = broker.output().length
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)
    for (let i = 0; i < SEQUENTIAL; i++) {
      const { res, elapsedMs, wire } = await plainLogin(broker.port, 'admin', `guess-${i}`)
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
      // Timers never fire early by more than the clock's millisecond rounding.
      assert.ok(elapsedMs >= DELAY_MS - 2, `failure answered after ${elapsedMs.toFixed(1)} ms`)
      await wire.closed // the broker hangs up after answering
    }
    const parallel = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => plainLogin(broker.port, `user-${i}`, 'wrong')),
    )
    for (const { res, elapsedMs, wire } of parallel) {
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
      assert.ok(elapsedMs >= DELAY_MS - 2)
      await wire.closed
    }
    const grown = peakRss(broker.pid) - rssBefore
    assert.ok(grown <= MEMORY_BOUND, `the flood added ${(grown / MiB).toFixed(1)} MiB`)
    const flood = broker.output().slice(logStart)
    const failureLines = flood.split('\n').filter((l) => l.includes('authentication failed'))
    const closeLines = flood.split('\n').filter((l) => l.includes('closing connection'))
    // 70 failures in well under two 10 s intervals: at most 5 lines each, plus a summary.
    assert.ok(failureLines.length <= 12, `${failureLines.length} 'authentication failed' lines:\n${flood}`)
    assert.ok(closeLines.length <= 12, `${closeLines.length} 'closing connection' lines`)

    // A request on the failed connection gets nothing more: it was closed.
    const { wire } = await plainLogin(broker.port, 'admin', 'wrong-again')
    await assert.rejects(wire.call(ApiKeys.Metadata, 1, { topics: null }), ConnectionClosed)

    // The right password still works, and everything produced before the flood is there.
    const ok = await plainLogin(broker.port, 'admin', 'admin-secret')
    assert.equal(ok.res.errorCode, ErrorCode.NONE)
    ok.wire.close()
    const consumer = kafka().consumer({ groupId: 'after-flood' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'ledger', fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString())
            if (seen.length === values.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    assert.deepEqual(seen, values)
  })
})

describe('LogRateLimiter', () => {
  it('lets a burst through per interval and reports how many lines it held back', () => {
    let now = 0
    const timers: { fn: () => void; at: number }[] = []
    const lines: string[] = []
    const logger = {
      info: (m: string, f?: Record<string, unknown>) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    } as unknown as Logger
    const limiter = new LogRateLimiter({
      burst: 3,
      intervalMs: 1000,
      now: () => now,
      setTimer: (fn, ms) => {
        timers.push({ fn, at: now + ms })
        return {}
      },
    })
    for (let i = 0; i < 10; i++) limiter.log(logger, 'info', 'authentication failed', { i })
    assert.equal(lines.length, 3)
    now = 1000
    for (const t of timers.splice(0)) if (t.at <= now) t.fn()
    assert.equal(lines.length, 4)
    assert.match(lines[3]!, /authentication failed \(7 more like this in 1 s, not logged\)/)
    // A new interval gets a new burst; another key has its own.
    limiter.log(logger, 'info', 'authentication failed', { i: 10 })
    limiter.log(logger, 'info', 'closing connection')
    assert.equal(lines.length, 6)
  })
})
