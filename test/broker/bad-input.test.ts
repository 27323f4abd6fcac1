/**
 * Bad input over a raw socket: each malformed or refused request gets the error code Kafka answers with, or the
 * connection is closed where Kafka's SocketServer closes it. After every case the broker still serves a fresh
 * connection and the reference partition reads back unchanged.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ConnectionClosed, KafkaWireClient } from '../../src/client/wire-client.ts'
import { decodeResponseFrame, sizePrefixed } from '../../src/protocol/framing.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { Writer } from '../../src/protocol/primitives.ts'
import { BatchOffsets, encodeRecordBatchSync, updateBatchCrc } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { fetchValues } from '../helpers/wire.ts'

const MAX_REQUEST_BYTES = 1024 * 1024

/** A connection to the broker under test, without a client library. */
function connect(port: number): Promise<KafkaWireClient> {
  return KafkaWireClient.connect({ host: '127.0.0.1', port }, { clientId: 'bad-input-test' })
}

function decodeResponse(frame: Buffer, apiKey: number, version: number, correlationId: number): unknown {
  const res = decodeResponseFrame(frame, apiKey, version)
  assert.equal(res.correlationId, correlationId, 'response carries the request correlation id')
  return res.body
}

function produceBody(topic: string, records: Buffer, partition = 0) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  }
}

function batch(records: { key?: string | null; value: string }[]): Buffer {
  return encodeRecordBatchSync({ records: records.map((r) => ({ key: r.key ?? null, value: r.value })) })
}

/** Produce v7 (the newest KafkaJS speaks) answering with the partition's error code. */
async function produce(conn: KafkaWireClient, topic: string, records: Buffer, version = 7) {
  const res = await conn.call(ApiKeys.Produce, version, produceBody(topic, records))
  return res.responses[0].partitionResponses[0] as {
    errorCode: number
    baseOffset: bigint
    errorMessage: string | null
  }
}

async function readValues(port: number, topic: string, partition = 0): Promise<string[]> {
  const conn = await connect(port)
  try {
    return await fetchValues(conn, topic, partition)
  } finally {
    conn.close()
  }
}

async function createTopic(port: number, name: string, configs: Record<string, string> = {}): Promise<number> {
  const conn = await connect(port)
  try {
    const res = await conn.call(ApiKeys.CreateTopics, 4, {
      topics: [
        {
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    })
    return res.topics[0].errorCode
  } finally {
    conn.close()
  }
}

describe('bad input', {
  skip: process.env.TRIBUTARY_BOOTSTRAP ? 'needs a local broker' : false,
  timeout: 30_000,
}, () => {
  let tb: TestBroker
  let port: number
  const ledger = ['debit:10', 'credit:5', 'debit:7']

  before(async () => {
    tb = await startTestBroker({ socketRequestMaxBytes: MAX_REQUEST_BYTES })
    port = tb.broker!.port
    assert.equal(await createTopic(port, 'ledger'), ErrorCode.NONE)
    const conn = await connect(port)
    const res = await produce(conn, 'ledger', batch(ledger.map((value) => ({ value }))))
    assert.equal(res.errorCode, ErrorCode.NONE)
    conn.close()
  })
  after(() => tb.close())

  /** The broker answers Metadata on a new connection and the reference partition is exactly what was written. */
  async function assertStillServes(): Promise<void> {
    const conn = await connect(port)
    const md = await conn.call(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    conn.close()
    assert.ok(md.topics.some((t: { name: string }) => t.name === 'ledger'))
    assert.deepEqual(await readValues(port, 'ledger'), ledger)
  }

  /** The broker hangs up without answering anything sent on this connection. */
  async function assertClosedWithoutResponse(conn: KafkaWireClient): Promise<void> {
    await assert.rejects(conn.nextFrame(), ConnectionClosed)
    await conn.closed
  }

  it('closes the connection on a negative frame size', async () => {
    const conn = await connect(port)
    conn.write(Buffer.from([0xff, 0xff, 0xff, 0xfe, 0, 18, 0, 0]))
    await assertClosedWithoutResponse(conn)
    await assertStillServes()
  })

  it('closes the connection on a frame above socket.request.max.bytes before reading its body', async () => {
    const conn = await connect(port)
    // Only the size prefix is sent: Kafka rejects the size itself, without waiting for (or buffering) the body.
    const head = Buffer.alloc(4)
    head.writeInt32BE(MAX_REQUEST_BYTES + 1, 0)
    conn.write(head)
    await assertClosedWithoutResponse(conn)
    await assertStillServes()
  })

  it('accepts a request of exactly socket.request.max.bytes', async () => {
    const conn = await connect(port)
    const { payload, correlationId } = conn.encode(ApiKeys.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
    })
    // Pad with bytes the Metadata decoder never reads: the frame is legal as long as its size is within the limit.
    const padded = Buffer.concat([payload, Buffer.alloc(MAX_REQUEST_BYTES - payload.length)])
    conn.write(sizePrefixed(padded))
    const res = decodeResponse(await conn.nextFrame(), ApiKeys.Metadata, 9, correlationId) as { topics: unknown[] }
    assert.ok(res.topics.length >= 1)
    conn.close()
    await assertStillServes()
  })

  it('closes the connection on an empty frame and on a frame too short for a request header', async () => {
    for (const payload of [Buffer.alloc(0), Buffer.from([0, 3, 0, 9, 0, 0])]) {
      const conn = await connect(port)
      conn.write(sizePrefixed(payload))
      await assertClosedWithoutResponse(conn)
    }
    await assertStillServes()
  })

  it('closes the connection on a truncated or malformed request body', async () => {
    // Truncated: the frame is complete, but the Produce body inside it stops in the middle of its record batch.
    let conn = await connect(port)
    const full = conn.encode(ApiKeys.Produce, 7, produceBody('ledger', batch([{ value: 'never-stored' }])))
    conn.write(sizePrefixed(full.payload.subarray(0, full.payload.length - 20)))
    await assertClosedWithoutResponse(conn)

    // Malformed: a Metadata v1 request whose topic array claims more entries than the frame holds.
    conn = await connect(port)
    const header = conn.encode(ApiKeys.Metadata, 1, { topics: [] }).payload.subarray(0, -4)
    conn.write(sizePrefixed(Buffer.concat([header, Buffer.from([0x00, 0x01, 0x00, 0x00])])))
    await assertClosedWithoutResponse(conn)

    // A frame cut short by the client hanging up mid-body: nothing to answer, nothing stored.
    conn = await connect(port)
    const partial = conn.encode(ApiKeys.Produce, 7, produceBody('ledger', batch([{ value: 'half-sent' }])))
    conn.write(sizePrefixed(partial.payload).subarray(0, 30))
    conn.socket.end()
    await conn.closed
    await assertStillServes()
  })

  it('closes the connection on an unknown API key and on a known key the broker does not serve', async () => {
    for (const apiKey of [9999, -1, ApiKeys.LeaderAndIsr]) {
      const conn = await connect(port)
      const w = new Writer().int16(apiKey).int16(0).int32(42).nullableString('bad-input-test')
      conn.write(sizePrefixed(w.toBuffer()))
      await assertClosedWithoutResponse(conn)
    }
    await assertStillServes()
  })

  it('closes the connection on an unsupported version of a non-ApiVersions API', async () => {
    // Produce v2 carries message-set v1 (not stored); Metadata v99 does not exist.
    for (const [apiKey, version] of [
      [ApiKeys.Produce, 2],
      [ApiKeys.Metadata, 99],
      [ApiKeys.Fetch, 3],
    ] as const) {
      const conn = await connect(port)
      const w = new Writer().int16(apiKey).int16(version).int32(7).nullableString('bad-input-test').int32(-1)
      conn.write(sizePrefixed(w.toBuffer()))
      await assertClosedWithoutResponse(conn)
    }
    await assertStillServes()
  })

  it('answers a flood of pipelined requests sent in one write, in order, with bounded work in flight', async () => {
    const conn = await connect(port)
    const requests = Array.from({ length: 2000 }, () =>
      conn.encode(ApiKeys.Metadata, 9, { topics: [{ name: 'ledger' }], allowAutoTopicCreation: false }),
    )
    conn.write(Buffer.concat(requests.map((r) => sizePrefixed(r.payload))))
    for (const r of requests) {
      const md = decodeResponse(await conn.nextFrame(), ApiKeys.Metadata, 9, r.correlationId) as {
        topics: { errorCode: number }[]
      }
      assert.equal(md.topics[0]!.errorCode, ErrorCode.NONE)
    }
    conn.close()
    await assertStillServes()
  })

  it('answers ApiVersions of an unsupported version with a v0 body: UNSUPPORTED_VERSION and the supported ranges', async () => {
    const conn = await connect(port)
    // A future flexible version the broker cannot parse: the body is opaque, the header is v2.
    const w = new Writer().int16(ApiKeys.ApiVersions).int16(127).int32(555).nullableString('bad-input-test').uvarint(0)
    w.raw(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    conn.write(sizePrefixed(w.toBuffer()))
    const res = decodeResponse(await conn.nextFrame(), ApiKeys.ApiVersions, 0, 555) as {
      errorCode: number
      apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[]
    }
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION)
    const produceRange = res.apiKeys.find((k) => k.apiKey === ApiKeys.Produce)
    assert.deepEqual(produceRange, { apiKey: ApiKeys.Produce, minVersion: 3, maxVersion: 11 })
    const apiVersionsRange = res.apiKeys.find((k) => k.apiKey === ApiKeys.ApiVersions)
    assert.ok(apiVersionsRange && apiVersionsRange.maxVersion >= 3)
    // The connection stays open so the client can retry with a version from the list.
    const retry = await conn.call(ApiKeys.ApiVersions, apiVersionsRange.maxVersion, {
      clientSoftwareName: 'bad-input-test',
      clientSoftwareVersion: '1.0',
    })
    assert.equal(retry.errorCode, ErrorCode.NONE)
    conn.close()
    await assertStillServes()
  })

  it('rejects a record batch whose CRC does not match with CORRUPT_MESSAGE and stores nothing', async () => {
    const conn = await connect(port)
    for (const version of [7, 9]) {
      const b = batch([{ value: 'tampered' }])
      // Flip a bit in the value after the CRC was computed, as a bad NIC or a buggy client would.
      b[b.length - 2]! ^= 0x01
      const res = await produce(conn, 'ledger', b, version)
      assert.equal(res.errorCode, ErrorCode.CORRUPT_MESSAGE)
      assert.equal(res.baseOffset, -1n)
      // A forged CRC field is the same mismatch seen from the other side.
      const forged = batch([{ value: 'forged' }])
      forged.writeUInt32BE((forged.readUInt32BE(BatchOffsets.crc) + 1) >>> 0, BatchOffsets.crc)
      assert.equal((await produce(conn, 'ledger', forged, version)).errorCode, ErrorCode.CORRUPT_MESSAGE)
    }
    // The connection stays usable after a rejected batch.
    const md = await conn.call(ApiKeys.Metadata, 9, { topics: [{ name: 'ledger' }], allowAutoTopicCreation: false })
    assert.equal(md.topics[0].errorCode, ErrorCode.NONE)
    conn.close()
    await assertStillServes()
  })

  it('sends nothing back for an acks=0 produce, and closes the connection when one fails', async () => {
    assert.equal(await createTopic(port, 'fire-and-forget'), ErrorCode.NONE)
    const conn = await connect(port)
    const ok = conn.encode(ApiKeys.Produce, 7, {
      ...produceBody('fire-and-forget', batch([{ value: 'sent-blind' }])),
      acks: 0,
    })
    const probe = conn.encode(ApiKeys.ApiVersions, 0, {})
    conn.write(Buffer.concat([sizePrefixed(ok.payload), sizePrefixed(probe.payload)]))
    // The first frame back answers the probe: the produce got no response of its own.
    const first = await conn.nextFrame()
    assert.equal(first.readInt32BE(0), probe.correlationId)

    // Kafka's only way to tell an acks=0 producer about an error is to close the connection, after the responses
    // to requests sent before it.
    const bad = batch([{ value: 'tampered-blind' }])
    bad[bad.length - 2]! ^= 0x01
    const before = conn.encode(ApiKeys.Metadata, 9, {
      topics: [{ name: 'ledger' }],
      allowAutoTopicCreation: false,
    })
    const failing = conn.encode(ApiKeys.Produce, 7, { ...produceBody('fire-and-forget', bad), acks: 0 })
    const after = conn.encode(ApiKeys.ApiVersions, 0, {})
    conn.write(
      Buffer.concat([sizePrefixed(before.payload), sizePrefixed(failing.payload), sizePrefixed(after.payload)]),
    )
    assert.equal((await conn.nextFrame()).readInt32BE(0), before.correlationId)
    await assertClosedWithoutResponse(conn)
    assert.deepEqual(await readValues(port, 'fire-and-forget'), ['sent-blind'])
    await assertStillServes()
  })

  it('rejects a compressed batch whose payload does not decompress with CORRUPT_MESSAGE and stores nothing', async () => {
    // A valid CRC over garbage: the damage happened before the client sealed the batch. Kafka decompresses every
    // compressed batch on append, so such a batch never reaches the log where no consumer could read it.
    // Its own topic, so a broker that stores the batch fails this test only.
    assert.equal(await createTopic(port, 'garbled-compressed'), ErrorCode.NONE)
    const conn = await connect(port)
    for (const codec of [1, 2, 3, 4]) {
      const b = batch([{ value: 'to-be-garbled' }])
      b.writeInt16BE(codec, BatchOffsets.attributes)
      b.fill(0x5a, BatchOffsets.records)
      updateBatchCrc(b, 0, b.length)
      const res = await produce(conn, 'garbled-compressed', b)
      assert.equal(res.errorCode, ErrorCode.CORRUPT_MESSAGE, `compression codec ${codec}`)
    }
    conn.close()
    assert.deepEqual(await readValues(port, 'garbled-compressed'), [])
    await assertStillServes()
  })

  it('rejects an uncompressed batch whose records do not decode with INVALID_RECORD and stores nothing', async () => {
    assert.equal(await createTopic(port, 'garbled-records'), ErrorCode.NONE)
    const conn = await connect(port)
    const b = batch([{ value: 'v' }])
    // The last byte of a record is its header count (a zigzag varint): 0x31 decodes to -25 headers.
    b[b.length - 1] = 0x31
    updateBatchCrc(b, 0, b.length)
    const res = await produce(conn, 'garbled-records', b)
    assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
    conn.close()
    assert.deepEqual(await readValues(port, 'garbled-records'), [])
    await assertStillServes()
  })

  describe("Kafka's Produce v3+ record-set rules (ProduceRequest.validateRecords)", () => {
    before(async () => {
      assert.equal(await createTopic(port, 'record-set-rules'), ErrorCode.NONE)
    })

    it('rejects an empty record set with INVALID_RECORD', async () => {
      const conn = await connect(port)
      const res = await produce(conn, 'record-set-rules', Buffer.alloc(0))
      assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
      conn.close()
    })

    it('rejects a message set of magic 1 with INVALID_RECORD', async () => {
      // offset, size, crc, magic 1, attributes, timestamp, null key, value "old"
      const value = Buffer.from('old')
      const body = Buffer.alloc(4 + 1 + 1 + 8 + 4 + 4 + value.length)
      body.writeInt8(1, 4)
      body.writeInt32BE(-1, 14)
      body.writeInt32BE(value.length, 18)
      value.copy(body, 22)
      const head = Buffer.alloc(12)
      head.writeInt32BE(body.length, 8)
      const conn = await connect(port)
      const res = await produce(conn, 'record-set-rules', Buffer.concat([head, body]))
      assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
      conn.close()
    })

    it('rejects more than one record batch per partition with INVALID_RECORD', async () => {
      const conn = await connect(port)
      const two = Buffer.concat([batch([{ value: 'first' }]), batch([{ value: 'second' }])])
      const res = await produce(conn, 'record-set-rules', two)
      assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
      conn.close()
      assert.deepEqual(await readValues(port, 'record-set-rules'), [])
    })

    it('rejects zstd before Produce v7 with UNSUPPORTED_COMPRESSION_TYPE', async () => {
      const b = batch([{ value: 'zstd-too-early' }])
      b.writeInt16BE(4, BatchOffsets.attributes)
      updateBatchCrc(b, 0, b.length)
      const conn = await connect(port)
      const res = await produce(conn, 'record-set-rules', b, 6)
      assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)
      conn.close()
      await assertStillServes()
    })
  })

  it('rejects a record batch above max.message.bytes with MESSAGE_TOO_LARGE and stores nothing', async () => {
    assert.equal(await createTopic(port, 'small-messages', { 'max.message.bytes': '2048' }), ErrorCode.NONE)
    const conn = await connect(port)
    const big = await produce(conn, 'small-messages', batch([{ value: 'x'.repeat(4096) }]))
    assert.equal(big.errorCode, ErrorCode.MESSAGE_TOO_LARGE)
    const fits = await produce(conn, 'small-messages', batch([{ value: 'y'.repeat(512) }]))
    assert.equal(fits.errorCode, ErrorCode.NONE)
    assert.equal(fits.baseOffset, 0n)
    conn.close()
    assert.deepEqual(await readValues(port, 'small-messages'), ['y'.repeat(512)])
    await assertStillServes()
  })

  it('rejects invalid topic names: INVALID_TOPIC_EXCEPTION on create and metadata, UNKNOWN_TOPIC_OR_PARTITION on produce', async () => {
    const invalid = ['bad/name', 'white space', '', '..', 'x'.repeat(250), 'ünïcode']
    for (const name of invalid.filter((n) => n !== '')) {
      assert.equal(
        await createTopic(port, name),
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `CreateTopics ${JSON.stringify(name)}`,
      )
    }
    const conn = await connect(port)
    for (const name of invalid.filter((n) => n !== '')) {
      const md = await conn.call(ApiKeys.Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: true })
      assert.equal(md.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, `Metadata ${JSON.stringify(name)}`)
      // Kafka checks the metadata cache before anything else on produce: an invalid name is simply unknown.
      const res = await produce(conn, name, batch([{ value: 'lost' }]))
      assert.equal(res.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Produce ${JSON.stringify(name)}`)
    }
    const all = await conn.call(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    for (const t of all.topics) assert.ok(!invalid.includes(t.name), `topic ${t.name} must not exist`)
    conn.close()
    await assertStillServes()
  })

  it('answers Metadata v0-v9 for an empty topic name with INVALID_TOPIC_EXCEPTION instead of closing the connection', async () => {
    // Before v10 a topic is named, never looked up by id: "" is just an invalid name.
    const conn = await connect(port)
    for (const version of [1, 9]) {
      const md = await conn.call(ApiKeys.Metadata, version, { topics: [{ name: '' }], allowAutoTopicCreation: true })
      assert.equal(md.topics[0].name, '')
      assert.equal(md.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
    }
    conn.close()
    await assertStillServes()
  })

  it('rejects a record without a key on a compacted topic with INVALID_RECORD and stores nothing of its batch', async () => {
    assert.equal(await createTopic(port, 'customer-profiles', { 'cleanup.policy': 'compact' }), ErrorCode.NONE)
    const conn = await connect(port)
    const mixed = batch([
      { key: 'alice', value: 'v1' },
      { key: null, value: 'keyless' },
    ])
    const res = await produce(conn, 'customer-profiles', mixed)
    assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
    const keyed = await produce(conn, 'customer-profiles', batch([{ key: 'bob', value: 'v2' }]))
    assert.equal(keyed.errorCode, ErrorCode.NONE)
    assert.equal(keyed.baseOffset, 0n)
    conn.close()
    assert.deepEqual(await readValues(port, 'customer-profiles'), ['v2'])
    await assertStillServes()
  })
})
