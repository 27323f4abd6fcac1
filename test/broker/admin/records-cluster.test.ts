import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { deleteRecordsHandler } from '../../../src/broker/handlers/delete-records.ts'
import { describeClusterHandler } from '../../../src/broker/handlers/describe-cluster.ts'
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsRequest,
} from '../../../src/protocol/generated/delete-records-request.ts'
import {
  decodeDeleteRecordsResponse,
  encodeDeleteRecordsResponse,
} from '../../../src/protocol/generated/delete-records-response.ts'
import {
  decodeDescribeClusterRequest,
  encodeDescribeClusterRequest,
} from '../../../src/protocol/generated/describe-cluster-request.ts'
import {
  decodeDescribeClusterResponse,
  encodeDescribeClusterResponse,
} from '../../../src/protocol/generated/describe-cluster-response.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { type AdminHarness, startAdminHarness } from './helpers.ts'

const deleteRecords = {
  encodeRequest: encodeDeleteRecordsRequest,
  decodeRequest: decodeDeleteRecordsRequest,
  encodeResponse: encodeDeleteRecordsResponse,
  decodeResponse: decodeDeleteRecordsResponse,
}
const describeCluster = {
  encodeRequest: encodeDescribeClusterRequest,
  decodeRequest: decodeDescribeClusterRequest,
  encodeResponse: encodeDescribeClusterResponse,
  decodeResponse: decodeDescribeClusterResponse,
}

describe('DeleteRecords', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
    await h.services.topics.create('events', { partitions: 2 })
    await h.services.topics.create('compacted', { partitions: 1, configs: { 'cleanup.policy': 'compact' } })
    await h.produce('events', 0, 10)
    await h.produce('events', 1, 4)
  })
  after(() => h.close())

  test('v0 moves the log start offset and reports per-partition errors', async () => {
    const res = await h.call(deleteRecordsHandler, deleteRecords, 0, {
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 0, offset: 6n },
            { partitionIndex: 1, offset: 5n },
            { partitionIndex: 9, offset: 1n },
          ],
        },
        { name: 'missing', partitions: [{ partitionIndex: 0, offset: 1n }] },
        { name: 'compacted', partitions: [{ partitionIndex: 0, offset: 0n }] },
        { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 0n }] },
      ],
      timeoutMs: 1000,
    })
    assert.deepEqual(res.topics, [
      {
        name: 'events',
        partitions: [
          { partitionIndex: 0, lowWatermark: 6n, errorCode: ErrorCode.NONE },
          { partitionIndex: 1, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE },
          { partitionIndex: 9, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
      {
        name: 'missing',
        partitions: [{ partitionIndex: 0, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }],
      },
      {
        name: 'compacted',
        partitions: [{ partitionIndex: 0, lowWatermark: -1n, errorCode: ErrorCode.POLICY_VIOLATION }],
      },
      {
        name: '__consumer_offsets',
        partitions: [{ partitionIndex: 0, lowWatermark: -1n, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION }],
      },
    ])
    assert.equal(h.services.topics.partitionLog('events', 0)!.logStartOffset, 6)
    assert.equal(h.services.topics.partitionLog('events', 1)!.logStartOffset, 0)
  })

  test('v2: -1 means the high watermark, an earlier offset leaves the start where it is, and it survives restart', async () => {
    const res = await h.call(deleteRecordsHandler, deleteRecords, 2, {
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 0, offset: 2n },
            { partitionIndex: 1, offset: -1n },
          ],
        },
      ],
    })
    assert.deepEqual(res.topics[0]!.partitions, [
      { partitionIndex: 0, lowWatermark: 6n, errorCode: ErrorCode.NONE },
      { partitionIndex: 1, lowWatermark: 4n, errorCode: ErrorCode.NONE },
    ])
    await h.restart()
    assert.equal(h.services.topics.partitionLog('events', 0)!.logStartOffset, 6)
    assert.equal(h.services.topics.partitionLog('events', 1)!.logStartOffset, 4)
    const negative = await h.call(deleteRecordsHandler, deleteRecords, 2, {
      topics: [{ name: 'events', partitions: [{ partitionIndex: 0, offset: -2n }] }],
    })
    assert.equal(negative.topics[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
  })
})

describe('DescribeCluster', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
  })
  after(() => h.close())

  test('v0 describes this node as the only broker and the controller', async () => {
    const res = await h.call(describeClusterHandler, describeCluster, 0, { includeClusterAuthorizedOperations: false })
    assert.equal(res.errorCode, ErrorCode.NONE)
    assert.equal(res.clusterId, h.services.clusterId)
    assert.ok(res.clusterId.length > 0)
    assert.equal(res.controllerId, 0)
    assert.deepEqual(res.brokers, [{ brokerId: 0, host: '127.0.0.1', port: 19092, rack: null }])
    assert.equal(res.clusterAuthorizedOperations, -2147483648)
  })

  test('v1 answers broker endpoints, refuses controller endpoints, and reports authorized operations', async () => {
    const res = await h.call(describeClusterHandler, describeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    })
    assert.equal(res.errorCode, ErrorCode.NONE)
    assert.equal(res.endpointType, 1)
    const describeBit = 1 << 8
    assert.equal(res.clusterAuthorizedOperations & describeBit, describeBit)
    const controller = await h.call(describeClusterHandler, describeCluster, 1, { endpointType: 2 })
    assert.equal(controller.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE)
    assert.deepEqual(controller.brokers, [])
    const unknown = await h.call(describeClusterHandler, describeCluster, 1, { endpointType: 7 })
    assert.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE)
  })
})
