/**
 * Byte-level conformance with real clients: requests encoded by KafkaJS 2.2.4 (non-flexible versions) and
 * @platformatic/kafka (flexible versions) decode with our generated codecs, and responses we encode parse with the
 * clients' own response decoders. These are the exact bytes those clients put on the wire.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import * as pk from '@platformatic/kafka'
import * as g from '../../src/protocol/generated/index.ts'
import { Reader, Writer } from '../../src/protocol/primitives.ts'

const require = createRequire(import.meta.url)
const kjs = (path: string) => require(`kafkajs/src/protocol/requests/${path}`)

async function kafkajsBytes(req: { encode: () => Promise<{ buffer: Buffer }> }): Promise<Buffer> {
  return (await req.encode()).buffer
}

function ours<_T>(fn: (w: Writer) => void): Buffer {
  const w = new Writer()
  fn(w)
  return w.toBuffer()
}

describe('KafkaJS 2.2.4 requests decode with our codecs', () => {
  it('Metadata v6', async () => {
    const bytes = await kafkajsBytes(
      kjs('metadata/v6/request')({ topics: ['orders', 'payments'], allowAutoTopicCreation: true }),
    )
    const r = new Reader(bytes)
    const req = g.MetadataRequest.decodeMetadataRequest(r, 6)
    assert.equal(r.remaining, 0)
    assert.deepEqual(
      req.topics?.map((t) => t.name),
      ['orders', 'payments'],
    )
    assert.equal(req.allowAutoTopicCreation, true)
  })

  it('Fetch v11', async () => {
    const bytes = await kafkajsBytes(
      kjs('fetch/v11/request')({
        replicaId: -1,
        maxWaitTime: 500,
        minBytes: 1,
        maxBytes: 10485760,
        isolationLevel: 1,
        topics: [{ topic: 'orders', partitions: [{ partition: 2, fetchOffset: '42', maxBytes: 1048576 }] }],
      }),
    )
    const r = new Reader(bytes)
    const req = g.FetchRequest.decodeFetchRequest(r, 11)
    assert.equal(r.remaining, 0)
    assert.equal(req.maxWaitMs, 500)
    assert.equal(req.isolationLevel, 1)
    assert.equal(req.sessionEpoch, -1)
    assert.equal(req.topics[0]!.topic, 'orders')
    assert.equal(req.topics[0]!.partitions[0]!.fetchOffset, 42n)
    assert.equal(req.topics[0]!.partitions[0]!.partitionMaxBytes, 1048576)
  })

  it('JoinGroup v5 and OffsetCommit v5', async () => {
    const join = await kafkajsBytes(
      kjs('joinGroup/v5/request')({
        groupId: 'billing',
        sessionTimeout: 30000,
        rebalanceTimeout: 60000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
      }),
    )
    const jr = new Reader(join)
    const jreq = g.JoinGroupRequest.decodeJoinGroupRequest(jr, 5)
    assert.equal(jr.remaining, 0)
    assert.equal(jreq.groupId, 'billing')
    assert.equal(jreq.rebalanceTimeoutMs, 60000)
    assert.equal(jreq.protocols[0]!.name, 'RoundRobinAssigner')
    assert.deepEqual([...jreq.protocols[0]!.metadata], [0, 1, 2])

    const commit = await kafkajsBytes(
      kjs('offsetCommit/v5/request')({
        groupId: 'billing',
        groupGenerationId: 3,
        memberId: 'm-1',
        topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '100', metadata: null }] }],
      }),
    )
    const cr = new Reader(commit)
    const creq = g.OffsetCommitRequest.decodeOffsetCommitRequest(cr, 5)
    assert.equal(cr.remaining, 0)
    assert.equal(creq.generationIdOrMemberEpoch, 3)
    assert.equal(creq.topics[0]!.partitions[0]!.committedOffset, 100n)
  })
})

describe('KafkaJS 2.2.4 parses our responses', () => {
  it('Metadata v6', async () => {
    const bytes = ours((w) =>
      g.MetadataResponse.encodeMetadataResponse(w, 6, {
        brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }],
        clusterId: 'trib',
        controllerId: 0,
        topics: [
          {
            name: 'orders',
            partitions: [{ partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }],
          },
        ],
      }),
    )
    const { decode, parse } = kjs('metadata/v6/response')
    const res = await parse(await decode(bytes))
    assert.equal(res.clusterId, 'trib')
    assert.equal(res.brokers[0].port, 9092)
    assert.equal(res.topicMetadata[0].topic, 'orders')
    assert.equal(res.topicMetadata[0].partitionMetadata[0].leader, 0)
  })
})

describe('@platformatic/kafka requests decode with our codecs (flexible versions)', () => {
  it('Metadata v12', () => {
    const bytes = pk.metadataV12.createRequest(['orders'], true, false).buffer
    const r = new Reader(bytes)
    const req = g.MetadataRequest.decodeMetadataRequest(r, 12)
    assert.equal(r.remaining, 0)
    assert.equal(req.topics?.[0]?.name, 'orders')
    assert.equal(req.allowAutoTopicCreation, true)
  })

  it('Fetch v17 with a topic id', () => {
    const topicId = '0f3e1d9a-7c2b-4c4e-9d7a-1b2c3d4e5f60'
    const bytes = pk.fetchV17.createRequest(
      100,
      1,
      1048576,
      0,
      0,
      -1,
      [
        {
          topicId,
          partitions: [
            { partition: 1, currentLeaderEpoch: 0, fetchOffset: 7n, lastFetchedEpoch: -1, partitionMaxBytes: 65536 },
          ],
        },
      ],
      [],
      '',
    ).buffer
    const r = new Reader(bytes)
    const req = g.FetchRequest.decodeFetchRequest(r, 17)
    assert.equal(r.remaining, 0)
    assert.equal(req.topics[0]!.topicId, topicId)
    assert.equal(req.topics[0]!.partitions[0]!.fetchOffset, 7n)
  })

  it('JoinGroup v9', () => {
    const bytes = pk.joinGroupV9.createRequest(
      'billing',
      45000,
      60000,
      'member-1',
      'instance-a',
      'consumer',
      [{ name: 'roundrobin', metadata: Buffer.from('abc') }],
      'rejoin',
    ).buffer
    const r = new Reader(bytes)
    const req = g.JoinGroupRequest.decodeJoinGroupRequest(r, 9)
    assert.equal(r.remaining, 0)
    assert.equal(req.groupInstanceId, 'instance-a')
    assert.equal(req.reason, 'rejoin')
    assert.equal(req.protocols[0]!.metadata.toString(), 'abc')
  })
})

describe('@platformatic/kafka parses our responses', () => {
  it('Metadata v12', () => {
    const topicId = '0f3e1d9a-7c2b-4c4e-9d7a-1b2c3d4e5f60'
    const bytes = ours((w) =>
      g.MetadataResponse.encodeMetadataResponse(w, 12, {
        brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }],
        clusterId: 'trib',
        controllerId: 0,
        topics: [
          {
            name: 'orders',
            topicId,
            partitions: [{ partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0] }],
          },
        ],
      }),
    )
    const res = pk.metadataV12.parseResponse(1, 3, 12, pk.Reader.from(bytes))
    assert.equal(res.clusterId, 'trib')
    assert.equal(res.topics[0]!.name, 'orders')
    assert.equal(res.topics[0]!.topicId, topicId)
  })

  it("ApiVersions v4 (header without tagged fields is the caller's concern, body is flexible)", () => {
    const bytes = ours((w) =>
      g.ApiVersionsResponse.encodeApiVersionsResponse(w, 4, {
        apiKeys: [
          { apiKey: 0, minVersion: 3, maxVersion: 11 },
          { apiKey: 1, minVersion: 4, maxVersion: 17 },
        ],
      }),
    )
    const res = pk.apiVersionsV4.parseResponse(1, 18, 4, pk.Reader.from(bytes))
    assert.deepEqual(
      res.apiKeys.map((k: { apiKey: number; maxVersion: number }) => [k.apiKey, k.maxVersion]),
      [
        [0, 11],
        [1, 17],
      ],
    )
  })
})
