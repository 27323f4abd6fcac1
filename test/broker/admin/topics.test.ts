import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createPartitionsHandler } from '../../../src/broker/handlers/create-partitions.ts'
import { createTopicsHandler } from '../../../src/broker/handlers/create-topics.ts'
import { deleteTopicsHandler } from '../../../src/broker/handlers/delete-topics.ts'
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsRequest,
} from '../../../src/protocol/generated/create-partitions-request.ts'
import {
  decodeCreatePartitionsResponse,
  encodeCreatePartitionsResponse,
} from '../../../src/protocol/generated/create-partitions-response.ts'
import {
  type CreatableTopicInput,
  decodeCreateTopicsRequest,
  encodeCreateTopicsRequest,
} from '../../../src/protocol/generated/create-topics-request.ts'
import {
  decodeCreateTopicsResponse,
  encodeCreateTopicsResponse,
} from '../../../src/protocol/generated/create-topics-response.ts'
import {
  decodeDeleteTopicsRequest,
  encodeDeleteTopicsRequest,
} from '../../../src/protocol/generated/delete-topics-request.ts'
import {
  decodeDeleteTopicsResponse,
  encodeDeleteTopicsResponse,
} from '../../../src/protocol/generated/delete-topics-response.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { ZERO_UUID } from '../../../src/protocol/primitives.ts'
import { type AdminHarness, startAdminHarness } from './helpers.ts'

const createTopics = {
  encodeRequest: encodeCreateTopicsRequest,
  decodeRequest: decodeCreateTopicsRequest,
  encodeResponse: encodeCreateTopicsResponse,
  decodeResponse: decodeCreateTopicsResponse,
}
const deleteTopics = {
  encodeRequest: encodeDeleteTopicsRequest,
  decodeRequest: decodeDeleteTopicsRequest,
  encodeResponse: encodeDeleteTopicsResponse,
  decodeResponse: decodeDeleteTopicsResponse,
}
const createPartitions = {
  encodeRequest: encodeCreatePartitionsRequest,
  decodeRequest: decodeCreatePartitionsRequest,
  encodeResponse: encodeCreatePartitionsResponse,
  decodeResponse: decodeCreatePartitionsResponse,
}

function topic(name: string, t: Partial<CreatableTopicInput> = {}): CreatableTopicInput {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...t }
}

describe('CreateTopics', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness({ numPartitions: 3, topicDefaults: { 'retention.ms': '3600000' } })
  })
  after(() => h.close())

  test('v7 creates a topic and reports its id, partitions, replication factor and configs', async () => {
    const res = await h.call(createTopicsHandler, createTopics, 7, {
      topics: [topic('orders', { numPartitions: 4, configs: [{ name: 'cleanup.policy', value: 'compact' }] })],
    })
    const [r] = res.topics
    assert.equal(r!.errorCode, ErrorCode.NONE)
    assert.equal(r!.errorMessage, null)
    const created = h.services.topics.get('orders')!
    assert.equal(r!.topicId, created.id)
    assert.notEqual(r!.topicId, ZERO_UUID)
    assert.equal(r!.numPartitions, 4)
    assert.equal(r!.replicationFactor, 1)
    const configs = new Map(r!.configs!.map((c) => [c.name, c]))
    assert.equal(configs.get('cleanup.policy')?.value, 'compact')
    assert.equal(configs.get('cleanup.policy')?.configSource, 1) // DYNAMIC_TOPIC_CONFIG
    assert.equal(configs.get('retention.ms')?.value, '3600000')
    assert.equal(configs.get('retention.ms')?.configSource, 4) // STATIC_BROKER_CONFIG
    assert.equal(configs.get('segment.bytes')?.configSource, 5) // DEFAULT_CONFIG
    assert.deepEqual(created.configs, { 'cleanup.policy': 'compact' })
    for (let p = 0; p < 4; p++) assert.ok(h.services.topics.partitionLog('orders', p), `partition ${p} is open`)
    assert.equal(h.services.topics.partitionLog('orders', 0)!.config.cleanupPolicy.compact, true)
  })

  test('v0 uses the broker defaults for -1 and reports per-topic errors', async () => {
    const res = await h.call(createTopicsHandler, createTopics, 0, {
      topics: [
        topic('defaults', { numPartitions: -1, replicationFactor: -1 }),
        topic('orders'),
        topic('bad/name'),
        topic('replicated', { replicationFactor: 3 }),
        topic('zero', { numPartitions: 0 }),
      ],
      timeoutMs: 1000,
    })
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.errorCode]),
      [
        ['defaults', ErrorCode.NONE],
        ['orders', ErrorCode.TOPIC_ALREADY_EXISTS],
        ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
        ['replicated', ErrorCode.INVALID_REPLICATION_FACTOR],
        ['zero', ErrorCode.INVALID_PARTITIONS],
      ],
    )
    assert.equal(h.services.topics.get('defaults')?.partitions, 3)
    assert.equal(h.services.topics.get('replicated'), undefined)
  })

  test('v1 carries error messages; validateOnly creates nothing', async () => {
    const res = await h.call(createTopicsHandler, createTopics, 1, {
      topics: [
        topic('dry-run', { numPartitions: 2 }),
        topic('orders'),
        topic('replicated', { replicationFactor: 2 }),
        topic('bad-config', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
        topic('unknown-config', { configs: [{ name: 'no.such.config', value: '1' }] }),
        topic('null-config', { configs: [{ name: 'retention.ms', value: null }] }),
      ],
      validateOnly: true,
    })
    const byName = new Map(res.topics.map((t) => [t.name, t]))
    assert.equal(byName.get('dry-run')?.errorCode, ErrorCode.NONE)
    assert.equal(h.services.topics.get('dry-run'), undefined)
    assert.equal(byName.get('orders')?.errorMessage, "Topic 'orders' already exists.")
    assert.equal(
      byName.get('replicated')?.errorMessage,
      'Unable to replicate the partition 2 time(s): The target replication factor of 2 cannot be reached because only 1 broker(s) are registered.',
    )
    assert.equal(byName.get('bad-config')?.errorCode, ErrorCode.INVALID_CONFIG)
    assert.match(byName.get('bad-config')!.errorMessage!, /retention\.ms/)
    assert.equal(byName.get('unknown-config')?.errorMessage, 'Unknown topic config name: no.such.config')
    assert.equal(byName.get('null-config')?.errorMessage, 'Null value not supported for topic configs: retention.ms')
  })

  test('duplicate names, the metadata topic and name collisions are refused', async () => {
    const res = await h.call(createTopicsHandler, createTopics, 5, {
      topics: [topic('twice'), topic('twice'), topic('__cluster_metadata'), topic('or_ders'), topic('or.ders')],
    })
    const byName = new Map(res.topics.map((t) => [t.name, t]))
    assert.equal(res.topics.filter((t) => t.name === 'twice').length, 1)
    assert.equal(byName.get('twice')?.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(byName.get('twice')?.errorMessage, 'Duplicate topic name.')
    assert.equal(h.services.topics.get('twice'), undefined)
    assert.equal(byName.get('__cluster_metadata')?.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(byName.get('or_ders')?.errorCode, ErrorCode.NONE)
    assert.equal(byName.get('or.ders')?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
    assert.match(byName.get('or.ders')!.errorMessage!, /collides with existing topic: or_ders/)
    assert.equal(byName.get('twice')?.configs, null)
  })

  test('manual assignments: only node 0, consecutive partitions, -1 counts', async () => {
    const res = await h.call(createTopicsHandler, createTopics, 4, {
      topics: [
        topic('manual', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [
            { partitionIndex: 1, brokerIds: [0] },
            { partitionIndex: 0, brokerIds: [0] },
          ],
        }),
        topic('other-node', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1] }],
        }),
        topic('gap', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 1, brokerIds: [0] }],
        }),
        topic('counts-set', {
          numPartitions: 1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [0] }],
        }),
      ],
    })
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.errorCode]),
      [
        ['manual', ErrorCode.NONE],
        ['other-node', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['gap', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['counts-set', ErrorCode.INVALID_REQUEST],
      ],
    )
    assert.equal(h.services.topics.get('manual')?.partitions, 2)
    assert.match(res.topics[1]!.errorMessage!, /includes broker 1, but no such broker is registered/)
  })

  test('a created topic survives a restart', async () => {
    await h.restart()
    assert.equal(h.services.topics.get('orders')?.partitions, 4)
    assert.deepEqual(h.services.topics.get('orders')?.configs, { 'cleanup.policy': 'compact' })
  })
})

describe('DeleteTopics', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
    await h.call(createTopicsHandler, createTopics, 7, {
      topics: [topic('a', { numPartitions: 2 }), topic('b'), topic('c'), topic('d'), topic('e')],
    })
  })
  after(() => h.close())

  test('v1 deletes by name; unknown, duplicate and internal topics get errors', async () => {
    await h.produce('a', 0, 3)
    const res = await h.call(deleteTopicsHandler, deleteTopics, 1, {
      topicNames: ['a', 'missing', 'b', 'b', '__consumer_offsets'],
      timeoutMs: 1000,
    })
    assert.deepEqual(
      res.responses.map((r) => [r.name, r.errorCode]),
      [
        ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['b', ErrorCode.INVALID_REQUEST],
        ['a', ErrorCode.NONE],
        ['__consumer_offsets', ErrorCode.INVALID_REQUEST],
      ],
    )
    assert.equal(h.services.topics.get('a'), undefined)
    assert.equal(h.services.topics.partitionLog('a', 0), undefined)
    assert.ok(h.services.topics.get('b'), 'a duplicated name is not deleted')
    assert.ok(h.services.topics.get('__consumer_offsets'))
  })

  test('v6 deletes by id or name, with messages; unknown ids get UNKNOWN_TOPIC_ID', async () => {
    const c = h.services.topics.get('c')!
    const e = h.services.topics.get('e')!
    const unknownId = '11111111-2222-3333-4444-555555555555'
    const res = await h.call(deleteTopicsHandler, deleteTopics, 6, {
      topics: [
        { name: null, topicId: c.id },
        { name: 'd', topicId: ZERO_UUID },
        { name: null, topicId: unknownId },
        { name: 'b', topicId: h.services.topics.get('b')!.id },
        { name: null, topicId: e.id },
        { name: 'e', topicId: ZERO_UUID },
      ],
    })
    const byId = (id: string) => res.responses.find((r) => r.topicId === id)
    assert.deepEqual(byId(c.id), { name: 'c', topicId: c.id, errorCode: ErrorCode.NONE, errorMessage: null })
    assert.equal(res.responses.find((r) => r.name === 'd')?.errorCode, ErrorCode.NONE)
    assert.equal(byId(unknownId)?.errorCode, ErrorCode.UNKNOWN_TOPIC_ID)
    assert.equal(
      res.responses.find((r) => r.name === 'b')?.errorMessage,
      'You may not specify both topic name and topic id.',
    )
    assert.equal(h.services.topics.get('c'), undefined)
    assert.equal(h.services.topics.get('d'), undefined)
    assert.equal(
      res.responses.find((r) => r.name === 'e')?.errorMessage,
      'The provided topic name maps to an ID that was already supplied.',
    )
    assert.ok(h.services.topics.get('e'), 'a topic named both by id and by name is not deleted')
    await h.restart()
    assert.equal(h.services.topics.get('c'), undefined, 'the deletion is durable')
    assert.ok(h.services.topics.get('b'))
  })
})

describe('CreatePartitions', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
    await h.call(createTopicsHandler, createTopics, 7, { topics: [topic('grow', { numPartitions: 2 })] })
  })
  after(() => h.close())

  test('v0 grows a topic and refuses decreases, unknown topics and other brokers', async () => {
    const res = await h.call(createPartitionsHandler, createPartitions, 0, {
      topics: [
        { name: 'grow', count: 4, assignments: null },
        { name: 'missing', count: 2, assignments: null },
        { name: '__consumer_offsets', count: 5, assignments: null },
      ],
      timeoutMs: 1000,
    })
    assert.deepEqual(
      res.results.map((r) => [r.name, r.errorCode]),
      [
        ['grow', ErrorCode.NONE],
        ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['__consumer_offsets', ErrorCode.INVALID_REQUEST],
      ],
    )
    assert.equal(h.services.topics.get('grow')?.partitions, 4)
    assert.ok(h.services.topics.partitionLog('grow', 3))

    const res2 = await h.call(createPartitionsHandler, createPartitions, 1, {
      topics: [{ name: 'grow', count: 3, assignments: null }],
    })
    assert.equal(res2.results[0]!.errorCode, ErrorCode.INVALID_PARTITIONS)
    assert.equal(
      res2.results[0]!.errorMessage,
      'The topic grow currently has 4 partition(s); 3 would not be an increase.',
    )
  })

  test('v3 validateOnly and manual assignments', async () => {
    const dry = await h.call(createPartitionsHandler, createPartitions, 3, {
      topics: [{ name: 'grow', count: 6, assignments: null }],
      validateOnly: true,
    })
    assert.equal(dry.results[0]!.errorCode, ErrorCode.NONE)
    assert.equal(h.services.topics.get('grow')?.partitions, 4)

    const res = await h.call(createPartitionsHandler, createPartitions, 3, {
      topics: [{ name: 'grow', count: 6, assignments: [{ brokerIds: [0] }, { brokerIds: [2] }] }],
    })
    assert.equal(res.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    const wrongCount = await h.call(createPartitionsHandler, createPartitions, 3, {
      topics: [{ name: 'grow', count: 6, assignments: [{ brokerIds: [0] }] }],
    })
    assert.equal(wrongCount.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    const ok = await h.call(createPartitionsHandler, createPartitions, 3, {
      topics: [{ name: 'grow', count: 6, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }],
    })
    assert.deepEqual(ok.results, [{ name: 'grow', errorCode: ErrorCode.NONE, errorMessage: null }])
    await h.restart()
    assert.equal(h.services.topics.get('grow')?.partitions, 6)
  })
})
