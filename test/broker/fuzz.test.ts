/**
 * Fuzzes a running broker with random frames and frames mutated from valid requests (bit flips, truncation, changed
 * length fields, record batches with re-sealed CRCs so damage reaches record decoding), over many connections. Then
 * the broker must still answer Metadata, take a produce and serve it back, keep previously written data unchanged,
 * and hold only segments that decode with valid CRCs.
 *
 * Reproduce a failure with TRIBUTARY_FUZZ_SEED=<seed printed by the test>.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLogger } from '../../src/broker/index.ts'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { encodeRequestPayload, sizePrefixed, writeRequestHeader } from '../../src/protocol/framing.ts'
import { ApiKeys, apiCodecs } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { Reader, Writer } from '../../src/protocol/primitives.ts'
import {
  BatchOffsets,
  decodeRecordBatch,
  encodeRecordBatchSync,
  LOG_OVERHEAD,
  updateBatchCrc,
  validateRecordBatch,
} from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { fetchValues } from '../helpers/wire.ts'

const SEED = Number(process.env.TRIBUTARY_FUZZ_SEED ?? 0x7a1b5eed) >>> 0
const FRAMES = Number(process.env.TRIBUTARY_FUZZ_FRAMES ?? 4000)
const TIME_BUDGET_MS = 20_000
const MAX_REQUEST_BYTES = 1024 * 1024

/** mulberry32: small, seedable, good enough to spread mutations. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    bytes: (n: number) => {
      const b = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
      return b
    },
  }
}
type Rng = ReturnType<typeof prng>

let nextCorrelationId = 1

function encodeRequest(apiKey: number, version: number, body: unknown): Buffer {
  return encodeRequestPayload({ apiKey, version, correlationId: nextCorrelationId++, clientId: 'fuzzer' }, body)
}

/** A request header, also for API keys and versions that do not exist. */
function header(apiKey: number, version: number): Buffer {
  const w = new Writer()
  writeRequestHeader(w, { apiKey, version, correlationId: nextCorrelationId++, clientId: 'fuzzer' })
  return w.toBuffer()
}

/** Where a Produce request's record batch starts, so mutations can target it and re-seal its CRC. */
interface Seed {
  payload: Buffer
  batchAt?: number
}

function produceSeed(rng: Rng, topic: string, version: number): Seed {
  const keyed = rng.next() < 0.7
  const idempotent = rng.next() < 0.3
  const records = Array.from({ length: 1 + rng.int(4) }, (_, i) => ({
    key: keyed ? `k${rng.int(5)}` : null,
    value: `v${i}-${rng.int(1e6)}`,
    headers: rng.next() < 0.3 ? { trace: `t${i}` } : undefined,
  }))
  const batch = encodeRecordBatchSync({
    records,
    producerId: idempotent ? rng.int(50) : -1,
    producerEpoch: idempotent ? 0 : -1,
    baseSequence: idempotent ? rng.int(10) : -1,
  })
  const payload = encodeRequest(ApiKeys.Produce, version, {
    transactionalId: null,
    acks: rng.pick([-1, 1, 0]),
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: rng.int(3), records: batch }] }],
  })
  return { payload, batchAt: payload.indexOf(batch) }
}

function seeds(rng: Rng): Seed[] {
  const fetchTopic = (topic: string) => ({
    topic,
    partitions: [
      { partition: rng.int(3), fetchOffset: BigInt(rng.int(20)), logStartOffset: -1n, partitionMaxBytes: 65536 },
    ],
  })
  const fetchBody = (topic: string) => ({
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1048576,
    isolationLevel: rng.int(2),
    sessionId: 0,
    sessionEpoch: -1,
    topics: [fetchTopic(topic)],
    forgottenTopicsData: [],
    rackId: '',
  })
  const topic = rng.pick(['fuzz-target', 'fuzz-compacted', 'fuzz-ledger', 'no-such-topic'])
  // Mutations of requests naming fuzz-ledger may only read it: the ledger is the data that must not change.
  const writable = rng.pick(['fuzz-target', 'fuzz-compacted', 'no-such-topic'])
  const v = (min: number, max: number) => min + rng.int(max - min + 1)
  return [
    produceSeed(rng, writable, v(3, 11)),
    produceSeed(rng, writable, v(3, 11)),
    { payload: encodeRequest(ApiKeys.Fetch, v(4, 17), fetchBody(topic)) },
    {
      payload: encodeRequest(ApiKeys.Metadata, v(0, 12), { topics: [{ name: topic }], allowAutoTopicCreation: false }),
    },
    {
      payload: encodeRequest(ApiKeys.ApiVersions, v(0, 4), { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }),
    },
    {
      payload: encodeRequest(ApiKeys.ListOffsets, v(0, 9), {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: rng.int(3), timestamp: BigInt(-1 - rng.int(2)) }] }],
      }),
    },
    { payload: encodeRequest(ApiKeys.FindCoordinator, v(0, 4), { key: 'g', keyType: 0, coordinatorKeys: ['g'] }) },
    {
      payload: encodeRequest(ApiKeys.OffsetCommit, v(2, 8), {
        groupId: 'fuzz-group',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: BigInt(rng.int(10)) }] }],
      }),
    },
    {
      payload: encodeRequest(ApiKeys.OffsetFetch, v(1, 7), {
        groupId: 'fuzz-group',
        topics: [{ name: topic, partitionIndexes: [0, 1] }],
        groups: [{ groupId: 'fuzz-group', topics: null }],
      }),
    },
    { payload: encodeRequest(ApiKeys.InitProducerId, v(0, 4), { transactionalId: null, transactionTimeoutMs: 60000 }) },
    {
      payload: encodeRequest(ApiKeys.DescribeConfigs, v(0, 4), {
        resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }],
      }),
    },
    { payload: encodeRequest(ApiKeys.DescribeGroups, v(0, 5), { groups: ['fuzz-group'] }) },
    { payload: encodeRequest(ApiKeys.ListGroups, v(0, 4), { statesFilter: [] }) },
    { payload: encodeRequest(ApiKeys.Heartbeat, v(0, 4), { groupId: 'fuzz-group', generationId: 1, memberId: 'm' }) },
    { payload: encodeRequest(ApiKeys.DescribeCluster, v(0, 1), {}) },
  ]
}

/** APIs whose random bodies cannot delete or reconfigure the ledger, create thousands of partitions, or long-poll. */
const RANDOM_BODY_APIS = [
  ApiKeys.Produce,
  ApiKeys.Fetch,
  ApiKeys.ListOffsets,
  ApiKeys.Metadata,
  ApiKeys.OffsetCommit,
  ApiKeys.OffsetFetch,
  ApiKeys.FindCoordinator,
  ApiKeys.Heartbeat,
  ApiKeys.LeaveGroup,
  ApiKeys.DescribeGroups,
  ApiKeys.ListGroups,
  ApiKeys.ApiVersions,
  ApiKeys.InitProducerId,
  ApiKeys.DescribeConfigs,
  ApiKeys.DescribeCluster,
  ApiKeys.OffsetForLeaderEpoch,
  ApiKeys.OffsetDelete,
]

const INTERESTING_INT32 = [0, 1, -1, -2, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 255, 256]

function mutate(rng: Rng, seed: Seed): Buffer {
  const b = Buffer.from(seed.payload)
  const kind = rng.int(6)
  if (kind === 0) {
    for (let i = 1 + rng.int(8); i > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8)
    return b
  }
  if (kind === 1) return b.subarray(0, rng.int(b.length))
  if (kind === 2 && b.length >= 4) {
    // Overwrite what may be a length, count or size field with a boundary value.
    const at = rng.int(b.length - 3)
    if (rng.next() < 0.5) b.writeInt32BE(rng.pick(INTERESTING_INT32) | 0, at)
    else b.writeInt16BE(rng.pick([0, 1, -1, 0x7fff, -0x8000]), at)
    return b
  }
  if (kind === 3) {
    // Splice random bytes into the middle.
    const at = rng.int(b.length)
    return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(32)), b.subarray(at)])
  }
  if (seed.batchAt !== undefined && seed.batchAt >= 0) {
    // Damage the record batch and re-seal its CRC, so the damage reaches record framing, compression and keys.
    const start = seed.batchAt
    const length = b.readInt32BE(start + BatchOffsets.batchLength)
    const end = start + LOG_OVERHEAD + length
    if (end > b.length) return b
    const field = rng.pick([
      BatchOffsets.attributes + 1,
      BatchOffsets.lastOffsetDelta + 3,
      BatchOffsets.recordCount + 3,
      BatchOffsets.producerEpoch + 1,
      BatchOffsets.baseSequence + 3,
      BatchOffsets.records + rng.int(Math.max(1, length + LOG_OVERHEAD - BatchOffsets.records)),
    ])
    if (field === BatchOffsets.attributes + 1) b[start + field] = (b[start + field]! & ~0x07) | (1 + rng.int(4))
    else if (start + field < end) b[start + field] = rng.int(256)
    updateBatchCrc(b, start, end)
    return b
  }
  return Buffer.concat([b, rng.bytes(rng.int(16))])
}

function randomFrame(rng: Rng): Buffer {
  if (rng.next() < 0.3) return rng.bytes(rng.int(64))
  const apiKey = rng.next() < 0.1 ? rng.int(0x10000) - 0x8000 : rng.pick(RANDOM_BODY_APIS)
  const codec = apiCodecs.get(apiKey)
  const version =
    codec && rng.next() < 0.8 ? codec.minVersion + rng.int(codec.maxVersion - codec.minVersion + 1) : rng.int(40)
  return Buffer.concat([header(apiKey, version), rng.bytes(rng.int(200))])
}

/** A long-poll Fetch would hold the connection for up to its maxWaitMs; that is correct behaviour, not a finding. */
function blocksForLong(payload: Buffer): boolean {
  try {
    const r = new Reader(payload)
    const apiKey = r.int16()
    const version = r.int16()
    if (apiKey !== ApiKeys.Fetch) return false
    const codec = apiCodecs.get(apiKey)!
    r.int32()
    r.nullableString()
    if (version >= codec.flexibleMin) r.taggedFields()
    const req = codec.decodeRequest(r, version) as { maxWaitMs: number; minBytes: number }
    return req.maxWaitMs > 50 && req.minBytes > 0
  } catch {
    return false
  }
}

/** A connection that sends fuzz frames, each followed by an ApiVersions probe whose answer proves it was processed. */
class FuzzConnection {
  private constructor(readonly wire: KafkaWireClient) {}

  /** Response frames must be sane: a size below 4 or above 64 MiB fails the client's connection (`failure`). */
  static async open(port: number): Promise<FuzzConnection> {
    const wire = await KafkaWireClient.connect(
      { host: '127.0.0.1', port },
      { clientId: 'fuzzer', maxFrameBytes: 64 * 1024 * 1024 },
    )
    return new FuzzConnection(wire)
  }

  get isClosed(): boolean {
    return this.wire.isClosed
  }

  /** Writes the bytes (split at random points, to exercise frame reassembly) and a probe; resolves on its answer or on close. */
  async send(rng: Rng, frames: Buffer[]): Promise<void> {
    // The probe's correlation id comes from the same sequence as the fuzz frames', so no answer is mistaken for it.
    const probeId = nextCorrelationId++
    const probe = encodeRequestPayload(
      { apiKey: ApiKeys.ApiVersions, version: 0, correlationId: probeId, clientId: 'probe' },
      {},
    )
    const bytes = Buffer.concat([...frames, sizePrefixed(probe)])
    let at = 0
    while (at < bytes.length) {
      const n = rng.next() < 0.7 ? bytes.length - at : 1 + rng.int(bytes.length - at)
      this.wire.write(bytes.subarray(at, at + n))
      at += n
    }
    try {
      while ((await this.wire.nextFrame()).readInt32BE(0) !== probeId) {}
    } catch {
      // The broker closed the connection: that ends this round too.
    }
    assert.equal(this.wire.failure, undefined, 'the broker answered with a malformed frame')
  }

  /** Sends bytes that leave the broker waiting for more (a frame size larger than what follows), then hangs up. */
  async sendAndHangUp(bytes: Buffer): Promise<void> {
    this.wire.socket.end(bytes)
    await this.wire.closed
  }

  /** Sends a request and disconnects at once, while it may be in flight. */
  async sendAndDisconnect(bytes: Buffer): Promise<void> {
    this.wire.write(bytes)
    this.wire.close()
    await this.wire.closed
  }

  destroy(): void {
    this.wire.close()
  }
}

function wire(port: number): Promise<KafkaWireClient> {
  return KafkaWireClient.connect({ host: '127.0.0.1', port }, { clientId: 'fuzzer' })
}

async function produceValues(w: KafkaWireClient, topic: string, partition: number, values: string[]): Promise<bigint> {
  const records = encodeRecordBatchSync({ records: values.map((value) => ({ key: `k-${value}`, value })) })
  const res = await w.call(ApiKeys.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  })
  const p = res.responses[0].partitionResponses[0]
  assert.equal(p.errorCode, ErrorCode.NONE, p.errorMessage)
  return p.baseOffset
}

/**
 * Walks every segment file in the data dir: each must be a clean sequence of CRC-valid batches (no trailing bytes)
 * whose records decode. Returns the number of batches and a description of each that does not decode.
 */
async function scanSegments(dataDir: string): Promise<{ batches: number; undecodable: string[] }> {
  let batches = 0
  const undecodable: string[] = []
  for (const dir of readdirSync(dataDir, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue
    for (const file of readdirSync(join(dataDir, dir.name))) {
      if (!file.endsWith('.log')) continue
      const buf = readFileSync(join(dataDir, dir.name, file))
      let pos = 0
      while (pos < buf.length) {
        const { header, end } = validateRecordBatch(buf, pos, buf.length)
        try {
          await decodeRecordBatch(buf, pos)
        } catch (err) {
          undecodable.push(`${dir.name}/${file} offset ${header.baseOffset}: ${(err as Error).message}`)
        }
        pos = end
        batches++
      }
    }
  }
  return { batches, undecodable }
}

describe('fuzzing the Kafka listener', {
  skip: process.env.TRIBUTARY_BOOTSTRAP ? 'needs a local broker' : false,
}, () => {
  let tb: TestBroker
  let port: number
  const handlerFailures: string[] = []
  const ledger = Array.from({ length: 3 }, (_, p) => Array.from({ length: 5 }, (_, i) => `ledger-${p}-${i}`))

  before(async () => {
    const logger = createLogger('error', 'broker', (line) => {
      if (line.includes('request handler failed')) handlerFailures.push(line)
    })
    tb = await startTestBroker({ socketRequestMaxBytes: MAX_REQUEST_BYTES, logger, autoCreateTopics: false })
    port = tb.broker!.port
    const topics = tb.broker!.services.topics
    await topics.create('fuzz-ledger', { partitions: 3 })
    await topics.create('fuzz-target', { partitions: 3 })
    await topics.create('fuzz-compacted', { partitions: 3, configs: { 'cleanup.policy': 'compact' } })
    const w = await wire(port)
    for (let p = 0; p < 3; p++) await produceValues(w, 'fuzz-ledger', p, ledger[p]!)
    w.close()
  })
  after(() => tb.close())

  it('survives thousands of random and mutated frames and keeps serving and storing correctly', {
    timeout: 60_000,
  }, async (t) => {
    t.diagnostic(`fuzz seed ${SEED} (reproduce with TRIBUTARY_FUZZ_SEED=${SEED})`)
    const rng = prng(SEED)
    const started = Date.now()
    let sent = 0
    let connections = 0
    let closedByBroker = 0
    let conn = await FuzzConnection.open(port)
    connections++
    while (sent < FRAMES && Date.now() - started < TIME_BUDGET_MS) {
      if (conn.isClosed) {
        closedByBroker++
        conn = await FuzzConnection.open(port)
        connections++
      }
      const roll = rng.next()
      if (roll < 0.04) {
        // A size prefix that promises more than arrives (or lies outright): only a hang-up ends it.
        const seed = rng.pick(seeds(rng))
        const size = rng.pick([
          seed.payload.length + 1 + rng.int(100),
          -1 - rng.int(1000),
          MAX_REQUEST_BYTES + 1 + rng.int(1000),
        ])
        await conn.sendAndHangUp(sizePrefixed(seed.payload, size))
        sent++
        conn = await FuzzConnection.open(port)
        connections++
        continue
      }
      if (roll < 0.06) {
        // Abrupt disconnect while a request may be in flight (aborts waiting handlers).
        const seed = rng.pick(seeds(rng))
        await conn.sendAndDisconnect(sizePrefixed(seed.payload))
        sent++
        conn = await FuzzConnection.open(port)
        connections++
        continue
      }
      const frames: Buffer[] = []
      for (let i = rng.next() < 0.8 ? 1 : 2 + rng.int(4); i > 0; i--) {
        const payload = rng.next() < 0.25 ? randomFrame(rng) : mutate(rng, rng.pick(seeds(rng)))
        if (blocksForLong(payload)) continue
        frames.push(sizePrefixed(payload))
      }
      await conn.send(rng, frames)
      sent += frames.length
    }
    conn.destroy()
    t.diagnostic(
      `sent ${sent} frames over ${connections} connections in ${Date.now() - started} ms; broker closed ${closedByBroker}`,
    )
    assert.ok(sent >= Math.min(FRAMES, 1000), `only ${sent} frames sent within the time budget`)

    // The broker still answers Metadata and serves a produce/consume round trip.
    const w = await wire(port)
    const md = await w.call(ApiKeys.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
    const names = md.topics.map((x: { name: string }) => x.name)
    for (const name of ['fuzz-ledger', 'fuzz-target', 'fuzz-compacted']) assert.ok(names.includes(name), name)
    await tb.broker!.services.topics.create('after-fuzz', { partitions: 1 })
    assert.equal(await produceValues(w, 'after-fuzz', 0, ['after-fuzz-1', 'after-fuzz-2']), 0n)
    assert.deepEqual(await fetchValues(w, 'after-fuzz', 0), ['after-fuzz-1', 'after-fuzz-2'])

    // Data written before the fuzzing reads back unchanged.
    for (let p = 0; p < 3; p++) assert.deepEqual(await fetchValues(w, 'fuzz-ledger', p), ledger[p])
    w.close()

    // Nothing a client sent reached the disk in a form that does not decode.
    const { batches, undecodable } = await scanSegments(tb.dataDir!)
    assert.ok(batches > 3)
    assert.deepEqual(undecodable, [], 'the log accepted record batches that consumers cannot decode')
    assert.deepEqual(handlerFailures, [], 'handlers must turn bad input into Kafka errors, not internal failures')
  })
})
