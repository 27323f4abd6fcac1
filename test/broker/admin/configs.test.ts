import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { alterConfigsHandler } from '../../../src/broker/handlers/alter-configs.ts'
import { describeConfigsHandler } from '../../../src/broker/handlers/describe-configs.ts'
import { incrementalAlterConfigsHandler } from '../../../src/broker/handlers/incremental-alter-configs.ts'
import {
  decodeAlterConfigsRequest,
  encodeAlterConfigsRequest,
} from '../../../src/protocol/generated/alter-configs-request.ts'
import {
  decodeAlterConfigsResponse,
  encodeAlterConfigsResponse,
} from '../../../src/protocol/generated/alter-configs-response.ts'
import {
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsRequest,
} from '../../../src/protocol/generated/describe-configs-request.ts'
import {
  decodeDescribeConfigsResponse,
  encodeDescribeConfigsResponse,
} from '../../../src/protocol/generated/describe-configs-response.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import {
  decodeIncrementalAlterConfigsRequest,
  encodeIncrementalAlterConfigsRequest,
} from '../../../src/protocol/generated/incremental-alter-configs-request.ts'
import {
  decodeIncrementalAlterConfigsResponse,
  encodeIncrementalAlterConfigsResponse,
} from '../../../src/protocol/generated/incremental-alter-configs-response.ts'
import { type AdminHarness, startAdminHarness } from './helpers.ts'

const describeConfigs = {
  encodeRequest: encodeDescribeConfigsRequest,
  decodeRequest: decodeDescribeConfigsRequest,
  encodeResponse: encodeDescribeConfigsResponse,
  decodeResponse: decodeDescribeConfigsResponse,
}
const alterConfigs = {
  encodeRequest: encodeAlterConfigsRequest,
  decodeRequest: decodeAlterConfigsRequest,
  encodeResponse: encodeAlterConfigsResponse,
  decodeResponse: decodeAlterConfigsResponse,
}
const incrementalAlterConfigs = {
  encodeRequest: encodeIncrementalAlterConfigsRequest,
  decodeRequest: decodeIncrementalAlterConfigsRequest,
  encodeResponse: encodeIncrementalAlterConfigsResponse,
  decodeResponse: decodeIncrementalAlterConfigsResponse,
}

const TOPIC = 2
const BROKER = 4
const GROUP = 32

describe('DescribeConfigs', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness({ topicDefaults: { 'retention.ms': '3600000' }, numPartitions: 2 })
    await h.services.topics.create('orders', { partitions: 1, configs: { 'cleanup.policy': 'compact' } })
  })
  after(() => h.close())

  test('v0 lists every topic config with isDefault and the configured source', async () => {
    const res = await h.call(describeConfigsHandler, describeConfigs, 0, {
      resources: [{ resourceType: TOPIC, resourceName: 'orders', configurationKeys: null }],
    })
    const [r] = res.results
    assert.equal(r!.errorCode, ErrorCode.NONE)
    assert.equal(r!.resourceName, 'orders')
    const configs = new Map(r!.configs.map((c) => [c.name, c]))
    assert.ok(configs.size >= 10)
    assert.equal(configs.get('cleanup.policy')?.value, 'compact')
    assert.equal(configs.get('cleanup.policy')?.isDefault, false)
    assert.equal(configs.get('retention.ms')?.value, '3600000')
    assert.equal(configs.get('retention.ms')?.isDefault, false)
    assert.equal(configs.get('segment.bytes')?.value, '1073741824')
    assert.equal(configs.get('segment.bytes')?.isDefault, true)
    assert.equal(configs.get('segment.bytes')?.readOnly, false)
  })

  test('v1 filters by key and returns synonyms in precedence order', async () => {
    const res = await h.call(describeConfigsHandler, describeConfigs, 1, {
      resources: [
        { resourceType: TOPIC, resourceName: 'orders', configurationKeys: ['retention.ms', 'cleanup.policy'] },
        { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      ],
      includeSynonyms: true,
    })
    const [orders, missing, bad] = res.results
    assert.deepEqual(orders!.configs.map((c) => c.name).sort(), ['cleanup.policy', 'retention.ms'])
    const retention = orders!.configs.find((c) => c.name === 'retention.ms')!
    assert.equal(retention.configSource, 4)
    assert.deepEqual(retention.synonyms, [
      { name: 'log.retention.ms', value: '3600000', source: 4 },
      { name: 'log.retention.ms', value: '604800000', source: 5 },
    ])
    const policy = orders!.configs.find((c) => c.name === 'cleanup.policy')!
    assert.equal(policy.configSource, 1)
    assert.deepEqual(policy.synonyms[0], { name: 'cleanup.policy', value: 'compact', source: 1 })
    assert.equal(missing!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.deepEqual(missing!.configs, [])
    assert.equal(bad!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
  })

  test('v4 describes the broker read-only, with types and documentation; other resource types are refused', async () => {
    const res = await h.call(describeConfigsHandler, describeConfigs, 4, {
      resources: [
        { resourceType: BROKER, resourceName: '0', configurationKeys: null },
        { resourceType: BROKER, resourceName: '', configurationKeys: null },
        { resourceType: BROKER, resourceName: '7', configurationKeys: null },
        { resourceType: GROUP, resourceName: 'g', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'orders', configurationKeys: ['segment.bytes'] },
      ],
      includeSynonyms: false,
      includeDocumentation: true,
    })
    const [broker, clusterDefault, otherBroker, group, orders] = res.results
    assert.equal(broker!.errorCode, ErrorCode.NONE)
    const configs = new Map(broker!.configs.map((c) => [c.name, c]))
    assert.equal(configs.get('num.partitions')?.value, '2')
    assert.equal(configs.get('num.partitions')?.configSource, 4)
    assert.equal(configs.get('num.partitions')?.configType, 3) // INT
    assert.equal(configs.get('log.retention.ms')?.value, '3600000')
    assert.equal(configs.get('log.cleanup.policy')?.value, 'delete')
    assert.equal(configs.get('log.cleanup.policy')?.configSource, 5)
    assert.equal(configs.get('log.cleanup.policy')?.configType, 7) // LIST
    assert.ok([...configs.values()].every((c) => c.readOnly && c.synonyms.length === 0))
    assert.equal(typeof configs.get('num.partitions')?.documentation, 'string')
    assert.equal(clusterDefault!.errorCode, ErrorCode.NONE)
    assert.deepEqual(clusterDefault!.configs, [])
    assert.equal(otherBroker!.errorCode, ErrorCode.INVALID_REQUEST)
    assert.match(otherBroker!.errorMessage!, /expected 0/)
    assert.equal(group!.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(orders!.configs[0]!.configType, 3)
    assert.equal(orders!.configs[0]!.isDefault, false, 'isDefault exists only in v0')
  })
})

describe('AlterConfigs', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
    await h.services.topics.create('orders', { partitions: 2, configs: { 'cleanup.policy': 'compact' } })
  })
  after(() => h.close())

  test('v0 replaces all overrides, applies them to open logs and keeps them across a restart', async () => {
    const res = await h.call(alterConfigsHandler, alterConfigs, 0, {
      resources: [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000' }] }],
      validateOnly: false,
    })
    assert.deepEqual(res.responses, [
      { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 'orders' },
    ])
    assert.deepEqual(h.services.topics.get('orders')?.configs, { 'retention.ms': '1000' })
    const log = h.services.topics.partitionLog('orders', 1)!
    assert.equal(log.config.retentionMs, 1000)
    assert.equal(log.config.cleanupPolicy.compact, false, 'the old override is gone')
    await h.restart()
    assert.deepEqual(h.services.topics.get('orders')?.configs, { 'retention.ms': '1000' })
    assert.equal(h.services.topics.partitionLog('orders', 0)!.config.retentionMs, 1000)
  })

  test('v2 validateOnly, bad keys and values, unknown topics, broker and duplicate resources', async () => {
    const res = await h.call(alterConfigsHandler, alterConfigs, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '5' }] },
        { resourceType: TOPIC, resourceName: 'missing', configs: [{ name: 'retention.ms', value: '5' }] },
        { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '5' }] },
      ],
      validateOnly: true,
    })
    assert.deepEqual(
      res.responses.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST],
    )
    assert.match(res.responses[2]!.errorMessage!, /static/)
    assert.deepEqual(
      h.services.topics.get('orders')?.configs,
      { 'retention.ms': '1000' },
      'validateOnly changes nothing',
    )

    const bad = await h.call(alterConfigsHandler, alterConfigs, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'segment.bytes', value: 'big' }] },
        { resourceType: TOPIC, resourceName: 'orders', configs: [] },
      ],
    })
    assert.deepEqual(bad.responses, [
      {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Duplicate resource.',
        resourceType: TOPIC,
        resourceName: 'orders',
      },
    ])
    const badValue = await h.call(alterConfigsHandler, alterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', value: '2000' },
            { name: 'segment.bytes', value: 'big' },
          ],
        },
      ],
    })
    assert.equal(badValue.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG)
    assert.match(badValue.responses[0]!.errorMessage!, /segment\.bytes/)
    const unknownKey = await h.call(alterConfigsHandler, alterConfigs, 1, {
      resources: [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'colour', value: 'blue' }] }],
    })
    assert.equal(unknownKey.responses[0]!.errorMessage, 'Unknown topic config name: colour')
    assert.deepEqual(h.services.topics.get('orders')?.configs, { 'retention.ms': '1000' }, 'nothing half-applied')
  })
})

describe('IncrementalAlterConfigs', () => {
  let h: AdminHarness
  before(async () => {
    h = await startAdminHarness()
    await h.services.topics.create('events', { partitions: 1, configs: { 'retention.ms': '1000' } })
  })
  after(() => h.close())

  test('v0 SET and DELETE change only the named keys', async () => {
    const res = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 0, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [
            { name: 'segment.bytes', configOperation: 0, value: '1048576' },
            { name: 'retention.ms', configOperation: 1, value: null },
          ],
        },
      ],
      validateOnly: false,
    })
    assert.equal(res.responses[0]!.errorCode, ErrorCode.NONE)
    assert.deepEqual(h.services.topics.get('events')?.configs, { 'segment.bytes': '1048576' })
    assert.equal(h.services.topics.partitionLog('events', 0)!.config.segmentBytes, 1048576)
  })

  test('v1 APPEND and SUBTRACT on list configs; refused on other types', async () => {
    const append = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }],
        },
      ],
    })
    assert.equal(append.responses[0]!.errorCode, ErrorCode.NONE)
    assert.equal(h.services.topics.get('events')?.configs['cleanup.policy'], 'delete,compact')
    const log = h.services.topics.partitionLog('events', 0)!
    assert.deepEqual(log.config.cleanupPolicy, { delete: true, compact: true })

    const subtract = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }],
        },
      ],
    })
    assert.equal(subtract.responses[0]!.errorCode, ErrorCode.NONE)
    assert.equal(h.services.topics.get('events')?.configs['cleanup.policy'], 'compact')

    const notList = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [{ name: 'retention.ms', configOperation: 2, value: '5' }],
        },
      ],
    })
    assert.equal(notList.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG)
    assert.equal(notList.responses[0]!.errorMessage, "Can't APPEND to key retention.ms because its type is not LIST.")
  })

  test('v1 validateOnly, duplicate keys, null SET values, unknown topics and broker resources', async () => {
    const res = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '42' }],
        },
        {
          resourceType: TOPIC,
          resourceName: 'missing',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '42' }],
        },
        {
          resourceType: BROKER,
          resourceName: '0',
          configs: [{ name: 'log.retention.ms', configOperation: 0, value: '42' }],
        },
      ],
      validateOnly: true,
    })
    assert.deepEqual(
      res.responses.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST],
    )
    assert.equal(h.services.topics.get('events')?.configs['retention.ms'], undefined)

    const malformed = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [
            { name: 'retention.ms', configOperation: 0, value: '1' },
            { name: 'retention.ms', configOperation: 1, value: null },
          ],
        },
      ],
    })
    assert.equal(malformed.responses[0]!.errorMessage, 'Error due to duplicate config keys')
    const nullSet = await h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'events',
          configs: [{ name: 'retention.ms', configOperation: 0, value: null }],
        },
      ],
    })
    assert.equal(nullSet.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST)
  })

  test('concurrent incremental changes to one topic are not lost', async () => {
    const set = (name: string, value: string) =>
      h.call(incrementalAlterConfigsHandler, incrementalAlterConfigs, 1, {
        resources: [{ resourceType: TOPIC, resourceName: 'events', configs: [{ name, configOperation: 0, value }] }],
      })
    const results = await Promise.all([set('retention.ms', '7'), set('retention.bytes', '8'), set('flush.ms', '9')])
    assert.ok(results.every((r) => r.responses[0]!.errorCode === ErrorCode.NONE))
    const configs = h.services.topics.get('events')!.configs
    assert.equal(configs['retention.ms'], '7')
    assert.equal(configs['retention.bytes'], '8')
    assert.equal(configs['flush.ms'], '9')
  })
})
