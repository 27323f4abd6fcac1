/**
 * A request handler that throws (or returns a response that cannot be encoded) costs the client that request only:
 * the broker answers UNKNOWN_SERVER_ERROR in the API's own response shape for the request's version, logs the
 * failure, and keeps the connection, as Kafka does. Produce with acks=0 is the exception: its client reads no
 * response, so the broker closes the connection, which is how Kafka reports errors to such producers.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { errorResponse } from '../../src/broker/error-response.ts'
import type { HandlerSpec } from '../../src/broker/handler.ts'
import { allHandlers } from '../../src/broker/handlers/index.ts'
import { ConnectionClosed, KafkaWireClient } from '../../src/client/wire-client.ts'
import { createLogger } from '../../src/common/logger.ts'
import { ApiKeys, apiCodecs } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { Reader, Writer, ZERO_UUID } from '../../src/protocol/primitives.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const BOOM = 'boom'
/** Produce requests to this (existing) topic fail in the handler. */
const EXPLOSIVE = 'explosive'

/** One entry in every list a request of each API can name, in both the old and the new field layouts. */
const SAMPLES: Record<number, Record<string, unknown>> = {
  [ApiKeys.Produce]: { acks: -1, topicData: [{ name: 't', partitionData: [{ index: 0, records: null }] }] },
  [ApiKeys.Fetch]: { topics: [{ topic: 't', topicId: ZERO_UUID, partitions: [{ partition: 0 }] }] },
  [ApiKeys.ListOffsets]: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
  [ApiKeys.Metadata]: { topics: [{ name: 't', topicId: ZERO_UUID }] },
  [ApiKeys.OffsetCommit]: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
  [ApiKeys.OffsetFetch]: {
    groupId: 'g',
    topics: [{ name: 't', partitionIndexes: [0] }],
    groups: [{ groupId: 'g', topics: null }],
  },
  [ApiKeys.FindCoordinator]: { key: 'g', coordinatorKeys: ['g'] },
  [ApiKeys.JoinGroup]: { memberId: 'm' },
  [ApiKeys.LeaveGroup]: { members: [{ memberId: 'm', groupInstanceId: null }] },
  [ApiKeys.DescribeGroups]: { groups: ['g'] },
  [ApiKeys.CreateTopics]: { topics: [{ name: 't' }] },
  [ApiKeys.DeleteTopics]: { topicNames: ['t'], topics: [{ name: 't', topicId: ZERO_UUID }] },
  [ApiKeys.DeleteRecords]: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
  [ApiKeys.OffsetForLeaderEpoch]: { topics: [{ topic: 't', partitions: [{ partition: 0 }] }] },
  [ApiKeys.DescribeConfigs]: { resources: [{ resourceType: 2, resourceName: 't' }] },
  [ApiKeys.AlterConfigs]: { resources: [{ resourceType: 2, resourceName: 't' }] },
  [ApiKeys.IncrementalAlterConfigs]: { resources: [{ resourceType: 2, resourceName: 't' }] },
  [ApiKeys.CreatePartitions]: { topics: [{ name: 't' }] },
  [ApiKeys.DeleteGroups]: { groupsNames: ['g'] },
  [ApiKeys.AddPartitionsToTxn]: { v3AndBelowTopics: [{ name: 't', partitions: [0] }], transactions: [] },
  [ApiKeys.TxnOffsetCommit]: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
  [ApiKeys.DescribeTransactions]: { transactionalIds: ['x'] },
  [ApiKeys.CreateAcls]: { creations: [{}] },
  [ApiKeys.DeleteAcls]: { filters: [{}] },
  [ApiKeys.AlterClientQuotas]: { entries: [{ entity: [{ entityType: 'user', entityName: 'u' }], ops: [] }] },
  [ApiKeys.AlterUserScramCredentials]: { deletions: [{ name: 'u', mechanism: 1 }], upsertions: [] },
}

/** Every error code field anywhere below the top level of a decoded response. */
function nestedErrorCodes(value: unknown, out: number[] = [], top = true): number[] {
  if (Array.isArray(value)) for (const v of value) nestedErrorCodes(v, out, false)
  else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'errorCode' || k === 'partitionErrorCode') && typeof v === 'number') {
        if (!top) out.push(v)
      } else nestedErrorCodes(v, out, false)
    }
  }
  return out
}

describe('error responses for failed handlers', () => {
  it('exist for every served API and version, encode, and carry UNKNOWN_SERVER_ERROR', () => {
    for (const h of allHandlers) {
      const codec = apiCodecs.get(h.apiKey)!
      for (let v = h.minVersion; v <= h.maxVersion; v++) {
        const res = errorResponse(h.apiKey, v, SAMPLES[h.apiKey] ?? {}, ErrorCode.UNKNOWN_SERVER_ERROR, 'x')
        assert.ok(res, `${codec.name} has an error response`)
        const w = new Writer()
        try {
          codec.encodeResponse(w, v, res)
        } catch (err) {
          assert.fail(`${codec.name} v${v}: ${(err as Error).message}`)
        }
        const decoded = codec.decodeResponse(new Reader(w.toBuffer()), v)
        // A top-level code the version lacks decodes as 0; then the entries must carry the error.
        const top = (decoded as { errorCode?: number }).errorCode
        const nested = nestedErrorCodes(decoded)
        assert.ok(top === ErrorCode.UNKNOWN_SERVER_ERROR || nested.length > 0, `${codec.name} v${v} carries the error`)
        assert.ok(
          nested.every((c) => c === ErrorCode.UNKNOWN_SERVER_ERROR),
          `${codec.name} v${v}: ${nested}`,
        )
      }
    }
  })
})

describe('a handler that fails', () => {
  let tb: TestBroker
  const logLines: string[] = []

  /** Wraps a real handler: requests naming the topic "boom" make it throw (or return an unencodable response). */
  function exploding(
    apiKey: number,
    names: (req: never) => string[],
    mode: 'throw' | 'reject' | 'garbage',
    trigger = BOOM,
  ): HandlerSpec {
    const real = allHandlers.find((h) => h.apiKey === apiKey)!
    return {
      ...real,
      handle(req, ctx) {
        if (!names(req as never).includes(trigger)) return real.handle(req, ctx)
        if (mode === 'throw') throw new TypeError('handler bug for the test')
        if (mode === 'reject') return Promise.reject(new RangeError('async handler bug for the test'))
        return { topics: [null] }
      },
    }
  }

  before(async () => {
    tb = await startTestBroker({
      logger: createLogger('info', 'broker', (l) => logLines.push(l)),
      handlers: [
        exploding(
          ApiKeys.Metadata,
          (r: { topics: { name: string }[] | null }) => (r.topics ?? []).map((t) => t.name),
          'throw',
        ),
        exploding(
          ApiKeys.Produce,
          (r: { topicData: { name: string }[] }) => r.topicData.map((t) => t.name),
          'reject',
          EXPLOSIVE,
        ),
        exploding(ApiKeys.CreateTopics, (r: { topics: { name: string }[] }) => r.topics.map((t) => t.name), 'garbage'),
      ],
    })
  })
  after(() => tb.close())

  it('answers UNKNOWN_SERVER_ERROR and keeps the connection (non-flexible and flexible versions)', async () => {
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: tb.broker!.port })
    try {
      for (const version of [1, 12]) {
        const res = await wire.call(ApiKeys.Metadata, version, {
          topics: [{ name: BOOM, topicId: ZERO_UUID }],
          allowAutoTopicCreation: false,
        })
        assert.equal(res.topics.length, 1)
        assert.equal(res.topics[0].name, BOOM)
        assert.equal(res.topics[0].errorCode, ErrorCode.UNKNOWN_SERVER_ERROR)
      }
      // The same connection still serves requests.
      const ok = await wire.call(ApiKeys.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
      assert.ok(ok.brokers.length > 0)
      const created = await wire.call(ApiKeys.CreateTopics, 5, {
        topics: [{ name: BOOM, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      })
      assert.equal(created.topics[0].errorCode, ErrorCode.UNKNOWN_SERVER_ERROR)
      const versions = await wire.call(ApiKeys.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
      assert.equal(versions.errorCode, ErrorCode.NONE)
      assert.equal(wire.isClosed, false)
    } finally {
      wire.close()
    }
    assert.ok(
      logLines.some((l) => l.includes('ERROR') && l.includes('request handler failed') && l.includes('Metadata')),
      'the failure is logged',
    )
    assert.ok(
      logLines.some((l) => l.includes('handler bug for the test')),
      'the log names the error',
    )
  })

  it('lets KafkaJS see the error for that request and go on using the connection', async () => {
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'fine' }, { topic: EXPLOSIVE }] })
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      await assert.rejects(producer.send({ topic: EXPLOSIVE, messages: [{ value: 'x' }] }), (err: Error) => {
        // KafkaJS wraps the protocol error; code -1 is UNKNOWN_SERVER_ERROR.
        const cause = (err as { cause?: { code?: number } }).cause ?? (err as { code?: number })
        assert.equal(cause.code, ErrorCode.UNKNOWN_SERVER_ERROR)
        return true
      })
      const [sent] = await producer.send({ topic: 'fine', messages: [{ value: 'after the failure' }] })
      assert.equal(sent!.errorCode, 0)
    } finally {
      await producer.disconnect()
      await admin.disconnect()
    }
  })

  it('closes the connection for a failed acks=0 Produce, whose client reads no response', async () => {
    const wire = await KafkaWireClient.connect({ host: '127.0.0.1', port: tb.broker!.port })
    try {
      // acks=0: the call resolves once written, and the broker answers nothing.
      await wire.call(ApiKeys.Produce, 7, {
        transactionalId: null,
        acks: 0,
        timeoutMs: 1000,
        topicData: [
          {
            name: EXPLOSIVE,
            partitionData: [{ index: 0, records: encodeRecordBatchSync({ records: [{ value: 'x' }] }) }],
          },
        ],
      })
      await assert.rejects(wire.nextFrame(), ConnectionClosed)
    } finally {
      wire.close()
    }
  })
})
