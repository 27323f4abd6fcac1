/**
 * The admin APIs as real clients use them: KafkaJS (non-flexible versions) and @platformatic/kafka (flexible
 * versions) against a broker on loopback.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from '@platformatic/kafka'
import kafkajs from 'kafkajs'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

// KafkaJS is CommonJS; Node's ESM loader cannot see all of its named exports.
const { ConfigResourceTypes: KafkaJSConfigResourceTypes, Kafka, logLevel } = kafkajs

describe('admin APIs through KafkaJS', () => {
  let broker: TestBroker
  let admin: kafkajs.Admin
  before(async () => {
    broker = await startTestBroker()
    admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'admin-test' }).admin()
    await admin.connect()
  })
  after(async () => {
    await admin.disconnect()
    await broker.close()
  })

  test('createTopics with validateOnly and configEntries, then fetchTopicMetadata', async () => {
    // A validated-only topic has no leaders to wait for (the same holds against Kafka).
    const dry = await admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [{ topic: 'kjs-dry', numPartitions: 2 }],
    })
    assert.equal(dry, true)
    assert.deepEqual(
      await admin.fetchTopicMetadata({ topics: [] }).then((m) => m.topics.filter((t) => t.name === 'kjs-dry')),
      [],
    )

    const created = await admin.createTopics({
      topics: [
        {
          topic: 'kjs-orders',
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '120000' }],
        },
      ],
    })
    assert.equal(created, true)
    const again = await admin.createTopics({ topics: [{ topic: 'kjs-orders', numPartitions: 3 }] })
    assert.equal(again, false, 'KafkaJS reports an existing topic as false')

    const metadata = await admin.fetchTopicMetadata({ topics: ['kjs-orders'] })
    assert.equal(metadata.topics[0]!.partitions.length, 3)
    assert.deepEqual(metadata.topics[0]!.partitions[0]!.replicas, [0])

    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'kjs-replicated', numPartitions: 1, replicationFactor: 3 }] }),
      (err: Error & { errors?: { type?: string }[] }) => {
        const inner = err.errors?.[0] ?? err
        return (inner as { type?: string }).type === 'INVALID_REPLICATION_FACTOR'
      },
    )
  })

  test('createPartitions, describeConfigs and alterConfigs', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-orders', count: 5 }] })
    const metadata = await admin.fetchTopicMetadata({ topics: ['kjs-orders'] })
    assert.equal(metadata.topics[0]!.partitions.length, 5)

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: KafkaJSConfigResourceTypes.TOPIC, name: 'kjs-orders', configNames: ['retention.ms', 'cleanup.policy'] },
      ],
    })
    const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e]))
    assert.equal(entries.get('retention.ms')?.configValue, '120000')
    assert.equal(entries.get('retention.ms')?.isDefault, false)
    assert.equal(entries.get('cleanup.policy')?.configValue, 'delete')
    assert.equal(entries.get('cleanup.policy')?.isDefault, true)

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: KafkaJSConfigResourceTypes.TOPIC,
          name: 'kjs-orders',
          configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }],
        },
      ],
    })
    const after = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: KafkaJSConfigResourceTypes.TOPIC, name: 'kjs-orders', configNames: ['retention.ms', 'cleanup.policy'] },
      ],
    })
    const afterEntries = new Map(after.resources[0]!.configEntries.map((e) => [e.configName, e]))
    assert.equal(afterEntries.get('cleanup.policy')?.configValue, 'compact,delete')
    assert.equal(afterEntries.get('retention.ms')?.isDefault, true, 'AlterConfigs replaces all overrides')
    if (broker.broker) {
      const log = broker.broker.services.topics.partitionLog('kjs-orders', 4)!
      assert.deepEqual(log.config.cleanupPolicy, { compact: true, delete: true })
    }
  })

  test('deleteTopicRecords, describeCluster and deleteTopics', async () => {
    const producer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer()
    await producer.connect()
    await producer.send({
      topic: 'kjs-orders',
      messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })),
    })
    await producer.disconnect()
    await admin.deleteTopicRecords({ topic: 'kjs-orders', partitions: [{ partition: 0, offset: '3' }] })
    const offsets = await admin.fetchTopicOffsets('kjs-orders')
    const p0 = offsets.find((o) => o.partition === 0)!
    assert.equal(p0.low, '3')
    assert.equal(p0.high, '5')

    const cluster = await admin.describeCluster()
    assert.ok(cluster.brokers.some((b) => b.nodeId === cluster.controller))
    if (broker.broker) {
      assert.equal(cluster.controller, 0)
      assert.deepEqual(
        cluster.brokers.map((b) => `${b.host}:${b.port}`),
        [broker.bootstrap],
      )
      assert.equal(cluster.clusterId, broker.broker.services.clusterId)
    }

    await admin.deleteTopics({ topics: ['kjs-orders'] })
    assert.ok(!(await admin.listTopics()).includes('kjs-orders'))
  })
})

describe('admin APIs through @platformatic/kafka', () => {
  let broker: TestBroker
  let admin: Admin
  before(async () => {
    broker = await startTestBroker()
    admin = new Admin({ clientId: 'admin-test', bootstrapBrokers: [broker.bootstrap], retries: 0 })
  })
  after(async () => {
    await admin.close()
    await broker.close()
  })

  test('createTopics returns what was created; listTopics and deleteTopics', async () => {
    const created = await admin.createTopics({
      topics: ['plt-a', 'plt-b'],
      partitions: 2,
      replicas: 1,
      configs: [{ name: 'retention.ms', value: '60000' }],
    })
    assert.deepEqual(created.map((t) => [t.name, t.partitions, t.replicas]).sort(), [
      ['plt-a', 2, 1],
      ['plt-b', 2, 1],
    ])
    assert.equal(created[0]!.configuration['retention.ms'], '60000')
    if (broker.broker) assert.equal(created[0]!.id, broker.broker.services.topics.get(created[0]!.name)!.id)
    const topics = await admin.listTopics()
    assert.ok(topics.includes('plt-a') && topics.includes('plt-b'))

    await admin.deleteTopics({ topics: ['plt-b'] })
    assert.ok(!(await admin.listTopics()).includes('plt-b'))
    await assert.rejects(admin.deleteTopics({ topics: ['plt-b'] }))
  })

  test('describeConfigs, alterConfigs and incrementalAlterConfigs', async () => {
    const [description] = await admin.describeConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: 'plt-a', configurationKeys: ['retention.ms'] },
      ],
      includeSynonyms: true,
      includeDocumentation: true,
    })
    assert.equal(description!.configs.length, 1)
    assert.equal(description!.configs[0]!.value, '60000')
    assert.equal(description!.configs[0]!.configSource, 1)
    assert.equal(typeof description!.configs[0]!.documentation, 'string')

    await admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: 'plt-a',
          configs: [
            { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: 'compact' },
          ],
        },
      ],
    })
    const appended = await admin.describeConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: 'plt-a', configurationKeys: ['cleanup.policy'] },
      ],
    })
    assert.equal(appended[0]!.configs[0]!.value, 'delete,compact')

    await admin.alterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: 'plt-a',
          configs: [{ name: 'segment.bytes', value: '1048576' }],
        },
      ],
    })
    const [replaced] = await admin.describeConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: 'plt-a',
          configurationKeys: ['segment.bytes', 'retention.ms', 'cleanup.policy'],
        },
      ],
    })
    const values = Object.fromEntries(replaced!.configs.map((c) => [c.name, [c.value, c.configSource]]))
    assert.deepEqual(values['segment.bytes'], ['1048576', 1])
    assert.notEqual(values['retention.ms']![1], 1, 'AlterConfigs replaced the earlier override')
    assert.notEqual(values['cleanup.policy']![1], 1)
    if (broker.broker) {
      assert.equal(broker.broker.services.topics.partitionLog('plt-a', 1)!.config.segmentBytes, 1048576)
    }

    await assert.rejects(
      admin.alterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: 'plt-a',
            configs: [{ name: 'no.such', value: '1' }],
          },
        ],
      }),
    )
  })

  test('createPartitions and deleteRecords', async () => {
    await admin.createPartitions({ topics: [{ name: 'plt-a', count: 4 }] })
    const metadata = await admin.metadata({ topics: ['plt-a'] })
    assert.equal(metadata.topics.get('plt-a')?.partitionsCount, 4)
    const [deleted] = await admin.deleteRecords({
      topics: [{ name: 'plt-a', partitions: [{ partition: 3, offset: -1n }] }],
    })
    assert.deepEqual(deleted!.partitions, [{ partition: 3, lowWatermark: 0n }])
  })
})
