/**
 * The broker's memory is bounded by its own limits, not by what clients do. A broker process holds 24 MiB in one
 * partition; clients then pipeline large Fetch requests without reading the answers, hold several connections open
 * without reading, and send huge frames before logging in on a SASL listener. The broker's peak resident memory
 * (the kernel's high-water mark for the process, so nothing is sampled) must stay within a stated bound in each
 * case, every answer must be complete and correct once read, and the broker must go on serving.
 *
 * Reported before the fix: 16 unread 100 MB fetches pinned +1.6 GiB, 4 slow readers +327 MiB, 6 unauthenticated
 * connections +527 MiB. Here (24 MiB per answer) the unfixed broker grew by ~350 MiB in the first case.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { ConnectionClosed, KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'
import { tempDir } from '../../helpers/broker.ts'
import { type FaultBroker, MiB, peakRss, resetPeakRss, rss, spawnFaultBroker } from './child.ts'

const TOPIC = 'large'
const BATCHES = 48
const VALUE_BYTES = 512 * 1024
/** What the broker may add to its resident memory while serving any of the floods below. */
const MEMORY_BOUND = 64 * MiB

/** The value of batch i: a pattern that a zero-filled or misplaced byte range would not reproduce. */
function valueAt(i: number): Buffer {
  const b = Buffer.allocUnsafe(VALUE_BYTES)
  for (let p = 0; p < VALUE_BYTES; p += 4) b.writeUInt32BE((i * 2654435761 + p) >>> 0, p)
  return b
}

function fetchRequest(fetchOffset: bigint, maxBytes: number) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: [
          { partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1n, partitionMaxBytes: maxBytes },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  }
}

/** Checks that a Fetch v11 answer holds every batch from `from` on, each with its own value. */
async function assertComplete(
  res: { responses: { partitions: { errorCode: number; records: Buffer }[] }[] },
  from = 0,
) {
  const p = res.responses[0]!.partitions[0]!
  assert.equal(p.errorCode, ErrorCode.NONE)
  const batches = await decodeRecordBatches(p.records)
  assert.equal(batches.length, BATCHES - from)
  batches.forEach(({ records }, i) => {
    assert.equal(records[0]!.offset, from + i)
    assert.ok(records[0]!.value!.equals(valueAt(from + i)), `value of offset ${from + i}`)
  })
}

describe('memory of a broker process under clients that do not read', () => {
  const dir = tempDir()
  let broker: FaultBroker

  before(async () => {
    broker = await spawnFaultBroker(dir.path, [
      '--set',
      'listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      '--set',
      'sasl.users=admin:admin-secret',
      '--set',
      'group.initial.rebalance.delay.ms=0',
    ])
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    const created = await wire.call(ApiKeys.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE)
    for (let i = 0; i < BATCHES; i++) {
      const res = await wire.call(ApiKeys.Produce, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10000,
        topicData: [
          {
            name: TOPIC,
            partitionData: [{ index: 0, records: encodeRecordBatchSync({ records: [{ value: valueAt(i) }] }) }],
          },
        ],
      })
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE)
    }
    wire.close()
  })
  after(async () => {
    await broker?.stop()
    dir.remove()
  })

  it('serves 16 pipelined 100 MB fetches on one connection within the bound, and every answer whole', async () => {
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)
    wire.socket.pause() // read nothing until all are sent and the broker had its chance to pile them up
    const answers = Array.from({ length: 16 }, (_, i) =>
      wire.call(ApiKeys.Fetch, 11, fetchRequest(BigInt(i % 4), 100_000_000)),
    )
    // Give the broker its chance to take all 16 in before anything is read: a request sent later on another
    // connection is answered (not a guarantee that the 16 were handled, only that they arrived first).
    const other = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    await other.call(ApiKeys.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    other.close()
    wire.socket.resume()
    for (let i = 0; i < 16; i++) await assertComplete(await answers[i]!, i % 4)
    const grown = peakRss(broker.pid) - rssBefore
    assert.ok(grown <= MEMORY_BOUND, `16 unread fetches added ${(grown / MiB).toFixed(0)} MiB`)
    wire.close()
  })

  it('holds 8 slow readers within the bound and releases them when they close', async () => {
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)
    const readers: KafkaWireClient[] = []
    for (let i = 0; i < 8; i++) {
      const w = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
      w.socket.pause()
      // Never read: the connection is closed below, which rejects the call.
      w.call(ApiKeys.Fetch, 11, fetchRequest(0n, 100_000_000)).catch(() => {})
      readers.push(w)
    }
    // Each gets its answer started (the first bytes arrive) but reads no further.
    for (const w of readers) {
      w.socket.resume()
      await new Promise<void>((resolve) => w.socket.once('data', () => resolve()))
      w.socket.pause()
    }
    const grown = peakRss(broker.pid) - rssBefore
    for (const w of readers) w.close()
    await Promise.all(readers.map((w) => w.closed))
    assert.ok(grown <= MEMORY_BOUND, `8 slow readers added ${(grown / MiB).toFixed(0)} MiB`)
    // The broker still answers a full read, and its memory is back near where it was.
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: broker.port })
    await assertComplete(await wire.call(ApiKeys.Fetch, 11, fetchRequest(0n, 100_000_000)))
    wire.close()
    assert.ok(rss(broker.pid) - rssBefore <= MEMORY_BOUND, 'memory is released after the slow readers closed')
  })

  it('closes unauthenticated connections that announce frames over sasl.server.max.receive.size', async () => {
    const saslPort = Number(/SASL_PLAINTEXT:\/\/[^,"]*:(\d+)/.exec(broker.output())![1])
    resetPeakRss(broker.pid)
    const rssBefore = rss(broker.pid)
    const conns = await Promise.all(
      Array.from({ length: 6 }, () => KafkaWireClient.connect({ host: '127.0.0.1', port: saslPort })),
    )
    const chunk = Buffer.alloc(MiB, 0x41)
    await Promise.all(
      conns.map(async (w) => {
        const head = Buffer.alloc(4)
        head.writeInt32BE(100_000_000)
        let written = 0
        // The broker must hang up long before 64 MiB arrive: it knows from the size prefix.
        await assert.rejects(
          (async () => {
            await w.writeAndDrain(head)
            for (; written < 64; written++) await w.writeAndDrain(chunk)
            throw new Error('the broker took 64 MiB from an unauthenticated client')
          })(),
          ConnectionClosed,
        )
        assert.ok(written < 64, `the broker took ${written} MiB before closing`)
      }),
    )
    const grown = peakRss(broker.pid) - rssBefore
    assert.ok(grown <= 32 * MiB, `6 unauthenticated connections added ${(grown / MiB).toFixed(0)} MiB`)
    await broker.waitForLog(/sasl\.server\.max\.receive\.size/)
    // Logging in still works.
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${saslPort}`],
      sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' },
      logLevel: logLevel.NOTHING,
    })
    const admin = kafka.admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets(TOPIC)
    await admin.disconnect()
    assert.equal(offsets[0]!.high, String(BATCHES))
  })
})
