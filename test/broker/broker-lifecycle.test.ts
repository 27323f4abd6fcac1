import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { resolveBrokerConfig, startBroker } from '../../src/broker/index.ts'
import { spawnBroker, startTestBroker, tempDir } from '../helpers/broker.ts'

describe('broker lifecycle', { skip: process.env.TRIBUTARY_BOOTSTRAP ? 'needs a local broker' : false }, () => {
  it('keeps topic ids, partition counts and config overrides across a restart, and never reuses producer ids', async () => {
    const tb = await startTestBroker()
    after(() => tb.close())
    const topics = tb.broker!.services.topics
    const created = await topics.create('customers', { partitions: 3, configs: { 'cleanup.policy': 'compact' } })
    const pid1 = await tb.broker!.services.producerIds.allocateProducerId()
    await tb.restart()
    const reopened = tb.broker!.services.topics
    const t = reopened.get('customers')
    assert.ok(t)
    assert.equal(t.id, created.id)
    assert.equal(t.partitions, 3)
    assert.deepEqual(t.configs, { 'cleanup.policy': 'compact' })
    assert.equal(reopened.effectiveConfig('customers').cleanupPolicy.compact, true)
    const pid2 = await tb.broker!.services.producerIds.allocateProducerId()
    assert.ok(pid2 > pid1, `producer id ${pid2} must be greater than ${pid1} handed out before the restart`)
  })

  it('refuses a second broker on the same data directory', async () => {
    const tb = await startTestBroker()
    after(() => tb.close())
    await assert.rejects(
      startBroker({ dataDir: tb.dataDir, port: 0, logLevel: 'silent' }),
      (err: Error & { code?: string }) => err.code === 'TRB_DATA_DIR_LOCKED',
    )
  })

  it('drops the committed offsets of a deleted topic', async () => {
    const tb = await startTestBroker()
    after(() => tb.close())
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    after(() => admin.disconnect())
    await admin.createTopics({ topics: [{ topic: 'short-lived', numPartitions: 2 }] })
    await admin.setOffsets({ groupId: 'auditors', topic: 'short-lived', partitions: [{ partition: 1, offset: '0' }] })
    const before = await admin.fetchOffsets({ groupId: 'auditors', topics: ['short-lived'] })
    assert.equal(before[0]!.partitions.find((p) => p.partition === 1)!.offset, '0')
    await admin.deleteTopics({ topics: ['short-lived'] })
    assert.deepEqual(tb.broker!.services.groups.committedOffsets('auditors'), [])
    await tb.restart()
    assert.deepEqual(tb.broker!.services.groups.committedOffsets('auditors'), [])
  })

  it('serves Prometheus metrics with per-partition offsets and request counts', async () => {
    const tb = await startTestBroker({ metricsPort: 0 })
    after(() => tb.close())
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    after(() => producer.disconnect())
    await producer.send({ topic: 'metered', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
    const res = await fetch(`http://127.0.0.1:${tb.broker!.metricsPort}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    const body = await res.text()
    assert.match(body, /# TYPE tributary_log_end_offset gauge/)
    assert.match(body, /tributary_log_end_offset\{topic="metered",partition="0"\} 3/)
    assert.match(body, /tributary_requests_total\{api="Produce"\} [1-9]/)
    assert.equal((await fetch(`http://127.0.0.1:${tb.broker!.metricsPort}/nothing`)).status, 404)
  })

  it('stops cleanly on SIGTERM with one log line per lifecycle event', async () => {
    const dir = tempDir()
    after(() => dir.remove())
    const child = await spawnBroker(dir.path)
    const code = await child.kill('SIGTERM')
    assert.equal(code, 0)
    const out = child.output()
    assert.match(out, /INFO \[broker\] broker started/)
    assert.match(out, /INFO \[broker\] broker stopping/)
    assert.match(out, /INFO \[broker\] broker stopped/)
  })
})

describe('broker configuration', () => {
  it('layers defaults, file, environment and flags, in that order', () => {
    const dir = tempDir()
    after(() => dir.remove())
    const file = join(dir.path, 'broker.properties')
    writeFileSync(file, '# comment\nport=19092\nnum.partitions=3\nlog.retention.hours=2\nlog.level=warn\n')
    const c = resolveBrokerConfig({
      file,
      env: { TRIBUTARY_NUM_PARTITIONS: '5', TRIBUTARY_LOG_FLUSH_POLICY: 'interval:50', UNRELATED: 'x' },
      flags: { port: '19093', 'log.cleanup.policy': 'compact' },
    })
    assert.equal(c.port, 19093)
    assert.equal(c.advertisedPort, 19093)
    assert.equal(c.numPartitions, 5)
    assert.equal(c.logLevel, 'warn')
    assert.deepEqual(c.flushPolicy, { mode: 'interval', intervalMs: 50 })
    assert.equal(c.topicDefaults['retention.ms'], String(2 * 3600000))
    assert.equal(c.topicDefaults['cleanup.policy'], 'compact')
  })

  it('names the offending key for unknown properties and bad values', () => {
    assert.throws(() => resolveBrokerConfig({ flags: { 'no.such.key': '1' } }), /unknown broker property no\.such\.key/)
    assert.throws(() => resolveBrokerConfig({ flags: { port: 'ninety' } }), /invalid value "ninety" for port/)
    assert.throws(() => resolveBrokerConfig({ flags: { 'log.flush.policy': 'sometimes' } }), /log\.flush\.policy/)
  })

  it('refuses to start with an invalid topic default', async () => {
    const dir = tempDir()
    after(() => dir.remove())
    await assert.rejects(
      startBroker({ dataDir: dir.path, port: 0, logLevel: 'silent', topicDefaults: { 'retention.ms': 'soon' } }),
      /retention\.ms/,
    )
  })
})
