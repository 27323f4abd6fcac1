/**
 * Observability: Prometheus metrics with consumer-group lag per partition, request latency histograms per API and
 * Node's process and event-loop metrics; /health and /ready beside /metrics; metrics on by default in
 * `tributary dev`; and authorization denials logged (rate-limited) with principal, operation and resource.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { brokerConfig, DEV_METRICS_PORT } from '../../src/cli/broker-command.ts'
import { createLogger } from '../../src/common/logger.ts'
import { Metrics, serveMetrics } from '../../src/common/metrics.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

describe('metrics endpoint', () => {
  let tb: TestBroker
  let base: string

  before(async () => {
    tb = await startTestBroker({ metricsPort: 0 })
    base = `http://127.0.0.1:${tb.broker!.metricsPort}`
  })
  after(() => tb.close())

  it('reports consumer-group lag per partition, latency histograms per API and process metrics', async () => {
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'lagging', numPartitions: 2 }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: 'lagging',
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
    })
    await producer.disconnect()
    await admin.setOffsets({ groupId: 'billing', topic: 'lagging', partitions: [{ partition: 0, offset: '3' }] })
    await admin.setOffsets({ groupId: 'audit', topic: 'lagging', partitions: [{ partition: 1, offset: '5' }] })
    await admin.disconnect()

    const res = await fetch(`${base}/metrics`)
    assert.equal(res.status, 200)
    const body = await res.text()
    // 5 records per partition: billing is 2 behind on partition 0, audit is caught up on partition 1.
    assert.match(body, /tributary_consumer_group_lag\{group="billing",topic="lagging",partition="0"\} 2\n/)
    assert.match(body, /tributary_consumer_group_lag\{group="audit",topic="lagging",partition="1"\} 0\n/)
    assert.match(body, /tributary_consumer_group_committed_offset\{group="billing",topic="lagging",partition="0"\} 3/)
    assert.match(body, /# TYPE tributary_request_duration_seconds histogram/)
    assert.match(body, /tributary_request_duration_seconds_bucket\{le="0\.001",api="Produce"\} \d+/)
    assert.match(body, /tributary_request_duration_seconds_count\{api="Produce"\} [1-9]/)
    assert.match(body, /tributary_request_duration_seconds_count\{api="Metadata"\} [1-9]/)
    assert.match(body, /tributary_requests_total\{api="Produce"\} [1-9]/)
    for (const name of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'process_open_fds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(body, new RegExp(`^${name} \\d`, 'm'), name)
    }
    assert.match(body, /^tributary_connections \d+/m)
  })

  it('answers /health and /ready', async () => {
    const health = await fetch(`${base}/health`)
    assert.equal(health.status, 200)
    assert.deepEqual(await health.json(), { status: 'UP' })
    const ready = await fetch(`${base}/ready`)
    assert.equal(ready.status, 200)
    assert.deepEqual(await ready.json(), { status: 'READY' })
    assert.equal((await fetch(`${base}/nothing`)).status, 404)
  })

  it('says not ready (503) while the broker is not serving, and live all the same', async () => {
    let ready = false
    const server = await serveMetrics(new Metrics(), '127.0.0.1', 0, createLogger('silent'), () => ready)
    try {
      const notYet = await fetch(`http://127.0.0.1:${server.port}/ready`)
      assert.equal(notYet.status, 503)
      assert.deepEqual(await notYet.json(), { status: 'NOT_READY' })
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/health`)).status, 200)
      ready = true
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/ready`)).status, 200)
    } finally {
      await server.close()
    }
  })

  it('is on by default in tributary dev, and can be moved or turned off', async () => {
    const dev = { metricsPort: DEV_METRICS_PORT }
    assert.equal((await brokerConfig({}, {}, dev)).metricsPort, DEV_METRICS_PORT)
    assert.equal((await brokerConfig({ metricsPort: '-1' }, {}, dev)).metricsPort, -1)
    assert.equal((await brokerConfig({}, { TRIBUTARY_METRICS_PORT: '9999' }, dev)).metricsPort, 9999)
    // The plain broker command keeps it off unless asked.
    assert.equal((await brokerConfig({}, {})).metricsPort, -1)
  })
})

describe('authorization denials', () => {
  let tb: TestBroker
  const lines: string[] = []

  before(async () => {
    tb = await startTestBroker({
      authorizerEnabled: true,
      logger: createLogger('info', 'broker', (l) => lines.push(l)),
    })
  })
  after(() => tb.close())

  it('are logged with principal, operation and resource, a few lines however many there are', async () => {
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    const admin = kafka.admin()
    await admin.connect()
    for (let i = 0; i < 30; i++) {
      await assert.rejects(admin.createTopics({ topics: [{ topic: `denied-${i}` }] }))
    }
    await admin.disconnect()
    const denials = lines.filter((l) => l.includes('authorization denied'))
    assert.ok(denials.length >= 1 && denials.length <= 6, `${denials.length} lines`)
    for (const line of denials.slice(0, 5)) {
      const fields = JSON.parse(line.slice(line.indexOf('{')))
      assert.equal(fields.principal, 'User:ANONYMOUS')
      assert.match(fields.operation, /^(CREATE|DESCRIBE)$/)
      assert.match(fields.resource, /^(TOPIC|CLUSTER):./)
      assert.equal(fields.host, '127.0.0.1')
    }
    const fields = JSON.parse(denials[0]!.slice(denials[0]!.indexOf('{')))
    assert.equal(fields.host, '127.0.0.1')
  })
})
