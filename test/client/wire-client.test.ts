import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { ConnectionClosed, KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

/** A loopback server that answers each request frame with `answer(correlationId)`, or nothing when it returns null. */
async function fakeBroker(answer: (correlationId: number) => Buffer | null) {
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.on('data', (d) => {
      pending = Buffer.concat([pending, d])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const correlationId = pending.readInt32BE(8)
        pending = pending.subarray(4 + pending.readInt32BE(0))
        const out = answer(correlationId)
        if (out) socket.write(out)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    address: { host: '127.0.0.1', port },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** An ApiVersions v0 response frame: correlation id, error code, no API keys. */
function apiVersionsAnswer(correlationId: number): Buffer {
  const b = Buffer.alloc(4 + 4 + 2 + 4)
  b.writeInt32BE(10, 0)
  b.writeInt32BE(correlationId, 4)
  b.writeInt16BE(0, 8)
  b.writeInt32BE(0, 10)
  return b
}

describe('KafkaWireClient against the broker', () => {
  let broker: TestBroker
  before(async () => {
    broker = await startTestBroker()
  })
  after(() => broker.close())

  it('pipelines requests and matches each answer to its request', async () => {
    const c = await KafkaWireClient.connect(broker.bootstrap)
    const [versions, md, flexible] = await Promise.all([
      c.call(ApiKeys.ApiVersions, 3, { clientSoftwareName: 'wire-test', clientSoftwareVersion: '1' }),
      c.call(ApiKeys.Metadata, 4, { topics: [{ name: 'wire-client' }], allowAutoTopicCreation: true }),
      c.call(ApiKeys.Metadata, 12, { topics: null, allowAutoTopicCreation: false }),
    ])
    assert.equal(versions.errorCode, ErrorCode.NONE)
    assert.equal(md.topics[0].name, 'wire-client')
    assert.ok(flexible.brokers.length >= 1)
    c.close()
    await c.closed
  })

  it('sends an acks=0 produce without waiting for an answer, and the record is stored', async () => {
    const c = await KafkaWireClient.connect(broker.bootstrap)
    await c.call(ApiKeys.Metadata, 4, { topics: [{ name: 'wire-acks0' }], allowAutoTopicCreation: true })
    const records = encodeRecordBatchSync({ records: [{ value: 'blind' }] })
    const topicData = [{ name: 'wire-acks0', partitionData: [{ index: 0, records }] }]
    assert.equal(
      await c.call(ApiKeys.Produce, 7, { transactionalId: null, acks: 0, timeoutMs: 5000, topicData }),
      undefined,
    )
    const listed = await c.call(ApiKeys.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'wire-acks0', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    assert.equal(listed.topics[0].partitions[0].offset, 1n)
    c.close()
  })
})

describe('KafkaWireClient against a misbehaving server', () => {
  it('fails the connection when an answer carries another correlation id', async () => {
    const server = await fakeBroker((id) => apiVersionsAnswer(id + 100))
    const c = await KafkaWireClient.connect(server.address)
    await assert.rejects(c.call(ApiKeys.ApiVersions, 0, {}), { code: 'TRB_UNEXPECTED_CORRELATION_ID' })
    await c.closed
    await assert.rejects(c.call(ApiKeys.ApiVersions, 0, {}), { code: 'TRB_UNEXPECTED_CORRELATION_ID' })
    await server.close()
  })

  it('fails the connection on a response frame too short to hold a correlation id', async () => {
    const server = await fakeBroker(() => Buffer.from([0, 0, 0, 2, 0, 0]))
    const c = await KafkaWireClient.connect(server.address)
    await assert.rejects(c.call(ApiKeys.ApiVersions, 0, {}), { code: 'TRB_PROTOCOL_MALFORMED' })
    assert.equal(c.failure?.message, 'response frame size 2 is out of bounds')
    await server.close()
  })

  it('fails the connection when a request is not answered within requestTimeoutMs', async () => {
    const server = await fakeBroker(() => null)
    const c = await KafkaWireClient.connect(server.address, { requestTimeoutMs: 50 })
    await assert.rejects(c.call(ApiKeys.ApiVersions, 0, {}), { code: 'TRB_REQUEST_TIMED_OUT' })
    await c.closed
    await server.close()
  })

  it('hands frames nobody asked for to nextFrame, and rejects it once the connection is gone', async () => {
    const server = await fakeBroker((id) => apiVersionsAnswer(id))
    const c = await KafkaWireClient.connect(server.address)
    const raw = c.encode(ApiKeys.ApiVersions, 0, {})
    c.write(raw.frame)
    assert.equal((await c.nextFrame()).readInt32BE(0), raw.correlationId)
    c.close()
    await c.closed
    await assert.rejects(c.nextFrame(), ConnectionClosed)
    await server.close()
  })
})
