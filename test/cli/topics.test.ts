/**
 * `tributary topics ...` against a real broker, checked with an independent client (KafkaJS); bad input gets a
 * clear message, its exit code, and changes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { cli } from '../helpers/cli.ts'

describe('tributary topics', () => {
  let tb: TestBroker
  let kafka: Kafka
  let on: string[]
  before(async () => {
    tb = await startTestBroker()
    on = ['--bootstrap', tb.bootstrap]
    kafka = new Kafka({ clientId: 'check', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
  })
  after(() => tb.close())

  async function ok(...args: string[]) {
    const r = await cli([...args, ...on])
    assert.equal(r.code, 0, `tributary ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  async function topicState(topic: string) {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] })
      const offsets = await admin.fetchTopicOffsets(topic)
      const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
      return {
        partitions: md.topics[0]!.partitions.length,
        offsets: offsets.map((o) => `${o.partition}:${o.low}-${o.high}`).sort(),
        configs: cfg.resources[0]!.configEntries.filter((c) => !c.isDefault).map(
          (c) => `${c.configName}=${c.configValue}`,
        ),
      }
    } finally {
      await admin.disconnect()
    }
  }

  async function produce(topic: string, perPartition: number, partitions: number) {
    const p = kafka.producer()
    await p.connect()
    for (let part = 0; part < partitions; part++) {
      await p.send({
        topic,
        messages: Array.from({ length: perPartition }, (_, i) => ({ value: `v${i}`, partition: part })),
      })
    }
    await p.disconnect()
  }

  it('says so when there are no topics, and lists what it creates', async () => {
    assert.equal(await ok('topics', 'list'), 'no topics\n')
    assert.deepEqual(JSON.parse(await ok('topics', 'list', '-o', 'json')), [])
    const created = await ok('topics', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=86400000')
    assert.match(created, /^orders +3 +1 +created$/m)
    assert.deepEqual(await topicState('orders'), {
      partitions: 3,
      offsets: ['0:0-0', '1:0-0', '2:0-0'],
      configs: ['retention.ms=86400000'],
    })
    await ok('topics', 'create', 'payments', 'refunds')
    assert.match(await ok('topics', 'list'), /^TOPIC +PARTITIONS\norders +3\npayments +1\nrefunds +1\n$/)
    assert.deepEqual(JSON.parse(await ok('topics', 'list', '--output', 'json')), [
      { name: 'orders', partitions: 3 },
      { name: 'payments', partitions: 1 },
      { name: 'refunds', partitions: 1 },
    ])
    assert.match(await ok('topics', 'list', '--internal'), /__consumer_offsets +-/)
  })

  it('refuses to create an existing or invalid topic, and creates nothing then', async () => {
    const r = await cli(['topics', 'create', 'fresh', 'orders', ...on])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /topic 'orders' exists \(nothing was created/)
    assert.doesNotMatch(await ok('topics', 'list'), /fresh/)
    assert.match(await ok('topics', 'create', 'orders', '--if-not-exists'), /^orders +- +- +exists$/m)

    const bad = await cli(['topics', 'create', 'bad/name', ...on])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /'bad\/name' is not a valid topic name/)
    const cfg = await cli(['topics', 'create', 'x1', '--config', 'no.such.config=1', ...on])
    assert.equal(cfg.code, 2, cfg.stderr)
    assert.match(cfg.stderr, /INVALID_CONFIG/)
    const parts = await cli(['topics', 'create', 'x2', '--partitions', 'zero', ...on])
    assert.equal(parts.code, 2)
    assert.match(parts.stderr, /--partitions must be a non-negative integer/)
    assert.doesNotMatch(await ok('topics', 'list'), /x1|x2/)
  })

  it('describes partitions, offsets and config overrides', async () => {
    await produce('orders', 2, 3)
    const text = await ok('topics', 'describe', 'orders')
    assert.match(text, /^topic orders +id [0-9a-f-]{36} +3 partitions$/m)
    assert.match(text, /^0 +0 +0 +0 +0 +2 +2$/m)
    assert.match(text, /^retention\.ms +86400000 +topic$/m)
    const [json] = JSON.parse(await ok('topics', 'describe', 'orders', '-o', 'json'))
    assert.equal(json.partitions.length, 3)
    assert.deepEqual(json.partitions[2], {
      partition: 2,
      leader: 0,
      replicas: [0],
      isr: [0],
      earliestOffset: 0,
      latestOffset: 2,
      records: 2,
    })
    assert.deepEqual(json.configs, [{ name: 'retention.ms', value: '86400000', source: 'topic' }])
    assert.match(await ok('topics', 'describe', 'payments'), /configs: defaults only/)
    const all = JSON.parse(await ok('topics', 'describe', 'payments', '--all-configs', '-o', 'json'))
    assert.ok(all[0].configs.some((c: { name: string }) => c.name === 'cleanup.policy'))

    const missing = await cli(['topics', 'describe', 'nope', ...on])
    assert.equal(missing.code, 3)
    assert.equal(missing.stderr, "tributary: topic 'nope' does not exist (TRB_CLI_NOT_FOUND)\n")
  })

  it('alters configs and refuses unknown ones without changing anything', async () => {
    assert.match(
      await ok('topics', 'alter-config', 'orders', '--set', 'cleanup.policy=compact', '--delete', 'retention.ms'),
      /topic orders: cleanup\.policy=compact, retention\.ms removed/,
    )
    assert.deepEqual((await topicState('orders')).configs, ['cleanup.policy=compact'])
    const bad = await cli(['topics', 'alter-config', 'orders', '--set', 'retention.ms=soon', ...on])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /INVALID_CONFIG/)
    const none = await cli(['topics', 'alter-config', 'orders', ...on])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /give --set key=value and\/or --delete key/)
    const unknown = await cli(['topics', 'alter-config', 'nope', '--set', 'retention.ms=1', ...on])
    assert.equal(unknown.code, 3)
    assert.deepEqual((await topicState('orders')).configs, ['cleanup.policy=compact'])
    await ok('topics', 'alter-config', 'orders', '--delete', 'cleanup.policy')
  })

  it('adds partitions, never removes them', async () => {
    assert.match(await ok('topics', 'add-partitions', 'payments', '--count', '4'), /topic payments: 1 → 4 partitions/)
    assert.equal((await topicState('payments')).partitions, 4)
    const fewer = await cli(['topics', 'add-partitions', 'payments', '--count', '2', ...on])
    assert.equal(fewer.code, 4)
    assert.match(fewer.stderr, /has 4 partitions; --count must be larger/)
    assert.equal((await topicState('payments')).partitions, 4)
  })

  it('purges records, all of them or before an offset, keeping the topic', async () => {
    await produce('refunds', 5, 1)
    const part = await ok('topics', 'purge', 'refunds', '--before', '2')
    assert.match(part, /^0 +0 +2 +2$/m)
    assert.match(part, /purged 2 records from refunds/)
    assert.deepEqual((await topicState('refunds')).offsets, ['0:2-5'])
    const all = JSON.parse(await ok('topics', 'purge', 'refunds', '-o', 'json'))
    assert.deepEqual(all, {
      topic: 'refunds',
      deleted: 3,
      partitions: [{ partition: 0, before: 2, after: 5, deleted: 3 }],
    })
    assert.deepEqual((await topicState('refunds')).offsets, ['0:5-5'])
    const badPartition = await cli(['topics', 'purge', 'orders', '--partition', '9', ...on])
    assert.equal(badPartition.code, 3)
    assert.match(badPartition.stderr, /topic 'orders' has no partition 9 \(it has 3: 0\.\.2\)/)
    assert.deepEqual((await topicState('orders')).offsets, ['0:0-2', '1:0-2', '2:0-2'])
  })

  it('shows progress on a terminal only', async () => {
    const tty = await cli(['topics', 'purge', 'orders', '--partition', '0', ...on], { interactive: true })
    assert.equal(tty.code, 0)
    assert.match(tty.stderr, /\rpurging orders: 1\/1 \(100%\)/)
    const pipe = await cli(['topics', 'purge', 'orders', '--partition', '1', ...on])
    assert.equal(pipe.stderr, '')
  })

  it('deletes topics; an unknown one fails first and deletes nothing', async () => {
    const r = await cli(['topics', 'delete', 'payments', 'nope', ...on])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /topic 'nope' does not exist/)
    assert.match(await ok('topics', 'list'), /payments/)
    assert.match(await ok('topics', 'delete', 'payments', 'nope', '--if-exists'), /deleted topic payments/)
    assert.doesNotMatch(await ok('topics', 'list'), /payments/)
  })

  it('fails clearly when the cluster cannot be reached', async () => {
    const r = await cli(['topics', 'list', '--bootstrap', '127.0.0.1:1'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cannot reach the Kafka cluster at 127\.0\.0\.1:1: ECONNREFUSED/)
  })
})
