/**
 * Client quotas: Kafka's entity precedence, AlterClientQuotas/DescribeClientQuotas (durable), and enforcement —
 * a throttled producer is held within 10% of its byte rate while an unthrottled one on the same broker is not.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Admin } from '@platformatic/kafka'
import { ClientQuotaManager } from '../../../src/broker/security/quotas.ts'
import type { QuotaEntity } from '../../../src/broker/topic-registry.ts'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode as E } from '../../../src/protocol/generated/error-codes.ts'
import { encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

function manager(entries: { entity: QuotaEntity; values: Record<string, number> }[]) {
  let now = 0
  const m = new ClientQuotaManager({ clientQuotas: () => ({ version: 1, entries }) }, () => now)
  return {
    m,
    advance(ms: number) {
      now += ms
    },
  }
}

test("quota precedence follows Kafka's order, most specific entity first", () => {
  const { m } = manager([
    { entity: { user: 'alice', 'client-id': 'app' }, values: { producer_byte_rate: 1 } },
    { entity: { user: 'alice' }, values: { producer_byte_rate: 2 } },
    { entity: { user: null, 'client-id': 'app' }, values: { producer_byte_rate: 3 } },
    { entity: { user: null }, values: { producer_byte_rate: 4 } },
    { entity: { 'client-id': 'app' }, values: { producer_byte_rate: 5 } },
    { entity: { 'client-id': null }, values: { producer_byte_rate: 6, consumer_byte_rate: 60 } },
  ])
  assert.equal(m.resolve('alice', 'app', 'producer_byte_rate')?.limit, 1)
  assert.equal(m.resolve('alice', 'other', 'producer_byte_rate')?.limit, 2)
  assert.equal(m.resolve('bob', 'app', 'producer_byte_rate')?.limit, 3)
  assert.equal(m.resolve('bob', 'other', 'producer_byte_rate')?.limit, 4)
  assert.equal(m.resolve('alice', 'x', 'consumer_byte_rate')?.limit, 60)
  assert.equal(m.resolve('alice', 'x', 'request_percentage'), undefined)
  // A user quota is shared by the user's client ids; a default client-id quota is per client id.
  assert.equal(
    m.resolve('alice', 'a', 'producer_byte_rate')?.charge,
    m.resolve('alice', 'b', 'producer_byte_rate')?.charge,
  )
  assert.notEqual(m.resolve('x', 'a', 'consumer_byte_rate')?.charge, m.resolve('x', 'b', 'consumer_byte_rate')?.charge)
})

test('throttle time: a one-second burst is free, then each byte over the rate costs 1/rate seconds', () => {
  const { m, advance } = manager([{ entity: { 'client-id': 'c' }, values: { producer_byte_rate: 1000 } }])
  assert.equal(m.record('u', 'c', 'producer_byte_rate', 1000), 0)
  assert.equal(m.record('u', 'c', 'producer_byte_rate', 500), 500)
  advance(500)
  assert.equal(m.record('u', 'c', 'producer_byte_rate', 100), 100)
  advance(5000)
  assert.equal(m.record('u', 'c', 'producer_byte_rate', 1000), 0)
  assert.equal(m.record('other', 'd', 'producer_byte_rate', 10_000_000), 0)
})

describe('quotas on a broker', () => {
  let tb: TestBroker
  before(async () => {
    tb = await startTestBroker()
  })
  after(() => tb.close())

  test('AlterClientQuotas and DescribeClientQuotas through @platformatic/kafka, durable across a restart', async () => {
    const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [tb.bootstrap], retries: 1 })
    try {
      await admin.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: 'user', entityName: 'alice' }],
            ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }],
          },
          {
            entities: [{ entityType: 'client-id', entityName: null }],
            ops: [{ key: 'consumer_byte_rate', value: 2048, remove: false }],
          },
        ],
      } as never)
    } finally {
      await admin.close()
    }
    await tb.restart()
    const c = await KafkaWireClient.connect(tb.bootstrap)
    try {
      const all = await c.call(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false })
      assert.equal(all.errorCode, E.NONE)
      const flat = all.entries.map(
        (e: {
          entity: { entityType: string; entityName: string | null }[]
          values: { key: string; value: number }[]
        }) => [
          e.entity.map((x) => `${x.entityType}=${x.entityName ?? '<default>'}`).join(','),
          e.values.map((v) => `${v.key}=${v.value}`).join(','),
        ],
      )
      assert.deepEqual(flat.sort(), [
        ['client-id=<default>', 'consumer_byte_rate=2048'],
        ['user=alice', 'producer_byte_rate=1024'],
      ])
      const users = await c.call(ApiKeys.DescribeClientQuotas, 1, {
        components: [{ entityType: 'user', matchType: 0, match: 'alice' }],
        strict: true,
      })
      assert.equal(users.entries.length, 1)
      const bad = await c.call(ApiKeys.AlterClientQuotas, 1, {
        entries: [
          { entity: [{ entityType: 'user', entityName: 'x' }], ops: [{ key: 'bogus_rate', value: 1, remove: false }] },
        ],
        validateOnly: false,
      })
      assert.equal(bad.entries[0].errorCode, E.INVALID_REQUEST)
      const removed = await c.call(ApiKeys.AlterClientQuotas, 1, {
        entries: [
          {
            entity: [{ entityType: 'user', entityName: 'alice' }],
            ops: [{ key: 'producer_byte_rate', value: 0, remove: true }],
          },
          {
            entity: [{ entityType: 'client-id', entityName: null }],
            ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }],
          },
        ],
        validateOnly: false,
      })
      assert.deepEqual(
        removed.entries.map((e: { errorCode: number }) => e.errorCode),
        [E.NONE, E.NONE],
      )
      const none = await c.call(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false })
      assert.deepEqual(none.entries, [])
    } finally {
      c.close()
    }
  })

  test('a throttled producer is held within 10% of its byte rate; an unthrottled one is not slowed', async () => {
    const RATE = 200_000
    const admin = await KafkaWireClient.connect(tb.bootstrap)
    await admin.call(ApiKeys.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'slow' }],
          ops: [{ key: 'producer_byte_rate', value: RATE, remove: false }],
        },
      ],
      validateOnly: false,
    })
    admin.close()
    const payload = Buffer.alloc(20_000, 7)
    const batch = encodeRecordBatchSync({ records: [{ key: null, value: payload }] })
    const slow = await KafkaWireClient.connect(tb.bootstrap, { clientId: 'slow' })
    const fast = await KafkaWireClient.connect(tb.bootstrap, { clientId: 'fast' })
    const RUN_MS = 3000
    const run = async (c: KafkaWireClient) => {
      const acks: { at: number; bytes: number; throttle: number }[] = []
      const t0 = performance.now()
      while (performance.now() - t0 < RUN_MS) {
        const r = await c.call(ApiKeys.Produce, 7, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: 'quota-test', partitionData: [{ index: 0, records: batch }] }],
        })
        assert.equal(r.responses[0].partitionResponses[0].errorCode, E.NONE)
        acks.push({ at: performance.now() - t0, bytes: batch.length, throttle: r.throttleTimeMs })
      }
      return acks
    }
    try {
      await fast.call(ApiKeys.Metadata, 9, { topics: [{ name: 'quota-test' }], allowAutoTopicCreation: true })
      const [slowAcks, fastAcks] = await Promise.all([run(slow), run(fast)])
      // Past the one-second burst allowance the throttled client runs at its quota.
      const steady = slowAcks.filter((a) => a.at >= 1200)
      const span = (steady.at(-1)!.at - steady[0]!.at) / 1000
      const steadyRate = steady.slice(1).reduce((n, a) => n + a.bytes, 0) / span
      assert.ok(
        Math.abs(steadyRate - RATE) / RATE < 0.1,
        `throttled rate ${Math.round(steadyRate)} B/s vs quota ${RATE}`,
      )
      assert.ok(
        slowAcks.some((a) => a.throttle > 0),
        'throttle_time_ms reported',
      )
      const fastRate = fastAcks.reduce((n, a) => n + a.bytes, 0) / (RUN_MS / 1000)
      assert.ok(fastAcks.every((a) => a.throttle === 0))
      assert.ok(fastRate > 5 * RATE, `unthrottled rate ${Math.round(fastRate)} B/s`)
    } finally {
      slow.close()
      fast.close()
    }
  })

  test('a consumer over its consumer_byte_rate gets throttle_time_ms on Fetch', async () => {
    const admin = await KafkaWireClient.connect(tb.bootstrap)
    await admin.call(ApiKeys.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'reader' }],
          ops: [{ key: 'consumer_byte_rate', value: 10_000, remove: false }],
        },
      ],
      validateOnly: false,
    })
    const batch = encodeRecordBatchSync({ records: [{ key: null, value: Buffer.alloc(30_000, 1) }] })
    await admin.call(ApiKeys.Metadata, 9, { topics: [{ name: 'quota-fetch' }], allowAutoTopicCreation: true })
    await admin.call(ApiKeys.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'quota-fetch', partitionData: [{ index: 0, records: batch }] }],
    })
    admin.close()
    const c = await KafkaWireClient.connect(tb.bootstrap, { clientId: 'reader' })
    try {
      const fetch = () =>
        c.call(ApiKeys.Fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'quota-fetch',
              partitions: [
                {
                  partition: 0,
                  fetchOffset: 0n,
                  partitionMaxBytes: 1 << 20,
                  currentLeaderEpoch: -1,
                  logStartOffset: -1n,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        })
      const first = await fetch()
      // 30 kB against 10 kB/s with one second of burst: about two seconds of debt.
      assert.ok(first.throttleTimeMs > 1500 && first.throttleTimeMs <= 2100, `throttle ${first.throttleTimeMs}`)
    } finally {
      c.close()
    }
  })

  test('an old Produce version (before KIP-219) gets its response delayed by the throttle time', async () => {
    const admin = await KafkaWireClient.connect(tb.bootstrap)
    await admin.call(ApiKeys.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'old' }],
          ops: [{ key: 'producer_byte_rate', value: 10_000, remove: false }],
        },
      ],
      validateOnly: false,
    })
    admin.close()
    const c = await KafkaWireClient.connect(tb.bootstrap, { clientId: 'old' })
    const batch = encodeRecordBatchSync({ records: [{ key: null, value: Buffer.alloc(13_000) }] })
    try {
      const t0 = performance.now()
      const r = await c.call(ApiKeys.Produce, 5, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'quota-old', partitionData: [{ index: 0, records: batch }] }],
      })
      const elapsed = performance.now() - t0
      assert.ok(r.throttleTimeMs > 200, `throttle ${r.throttleTimeMs}`)
      assert.ok(
        elapsed >= r.throttleTimeMs - 5,
        `response after ${elapsed.toFixed(0)} ms, throttle ${r.throttleTimeMs}`,
      )
    } finally {
      c.close()
    }
  })
})
