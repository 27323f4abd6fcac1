/**
 * `tributary groups ...` against a real broker: offsets set and read back with KafkaJS, a live KafkaJS consumer
 * for the active-group cases; bad input gets a clear message, its exit code, and changes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Admin as PlatformaticAdmin } from '@platformatic/kafka'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { cli } from '../helpers/cli.ts'

const HOUR = 3_600_000

describe('tributary groups', () => {
  let tb: TestBroker
  let kafka: Kafka
  let admin: Admin
  let on: string[]
  const now = Date.now()

  before(async () => {
    tb = await startTestBroker()
    on = ['--bootstrap', tb.bootstrap]
    kafka = new Kafka({ clientId: 'check', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }, { topic: 'audit' }] })
    const p = kafka.producer()
    await p.connect()
    // Five records per partition, written 5, 4, 3, 2 and 1 hours ago.
    for (const partition of [0, 1]) {
      await p.send({
        topic: 'orders',
        messages: [0, 1, 2, 3, 4].map((i) => ({ partition, value: `o${i}`, timestamp: String(now - (5 - i) * HOUR) })),
      })
    }
    await p.send({ topic: 'audit', messages: [{ value: 'a' }] })
    await p.disconnect()
  })
  after(async () => {
    await admin.disconnect()
    await tb.close()
  })

  async function ok(...args: string[]) {
    const r = await cli([...args, ...on])
    assert.equal(r.code, 0, `tributary ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  async function committed(group: string, topic = 'orders') {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
    return t!.partitions.map((p) => `${p.partition}:${p.offset}`).sort()
  }

  // @platformatic/kafka's admin commits without joining the group (KafkaJS's setOffsets joins it: seconds).
  async function setOffsets(group: string, offsets: number[], topic = 'orders') {
    const pk = new PlatformaticAdmin({ clientId: 'setup', bootstrapBrokers: [tb.bootstrap] })
    try {
      await pk.alterConsumerGroupOffsets({
        groupId: group,
        topics: [{ name: topic, partitionOffsets: offsets.map((o, partition) => ({ partition, offset: BigInt(o) })) }],
      })
    } finally {
      await pk.close()
    }
  }

  it('says so when there are no groups, then lists them', async () => {
    assert.equal(await ok('groups', 'list'), 'no consumer groups\n')
    await setOffsets('billing', [2, 4])
    await setOffsets('billing', [1], 'audit')
    assert.match(await ok('groups', 'list'), /^GROUP +STATE +PROTOCOL-TYPE\nbilling +Empty/)
    assert.deepEqual(JSON.parse(await ok('groups', 'list', '--state', 'empty', '-o', 'json')), [
      { group: 'billing', state: 'Empty', protocolType: '' },
    ])
    assert.equal(await ok('groups', 'list', '--state', 'Stable'), 'no consumer groups in that state\n')
    const bad = await cli(['groups', 'list', '--state', 'sleepy', ...on])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /unknown group state 'sleepy'/)
  })

  it('describes a group and its lag', async () => {
    const text = await ok('groups', 'describe', 'billing')
    assert.match(text, /^group billing +state Empty +0 members$/m)
    assert.match(text, /^orders +0 +2 +5 +3 +- +- +-$/m)
    assert.match(text, /^orders +1 +4 +5 +1 /m)
    assert.match(text, /^audit +0 +1 +1 +0 /m)
    assert.match(await ok('groups', 'lag', 'billing'), /total lag 4\n$/)
    const lag = JSON.parse(await ok('groups', 'lag', 'billing', '--topic', 'orders', '-o', 'json'))
    assert.equal(lag.totalLag, 4)
    assert.deepEqual(lag.partitions[0], {
      topic: 'orders',
      partition: 0,
      currentOffset: 2,
      logEndOffset: 5,
      lag: 3,
    })
    for (const cmd of ['describe', 'lag']) {
      const r = await cli(['groups', cmd, 'ghost', ...on])
      assert.equal(r.code, 3)
      assert.match(r.stderr, /consumer group 'ghost' does not exist/)
    }
  })

  it('plans a reset with --dry-run and changes nothing', async () => {
    const r = await cli([
      'groups',
      'reset-offsets',
      'billing',
      '--topic',
      'orders',
      '--to-earliest',
      '--dry-run',
      ...on,
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^TOPIC +PARTITION +CURRENT-OFFSET +NEW-OFFSET +LOG-START +LOG-END +NOTE$/m)
    assert.match(r.stdout, /^orders +0 +2 +0 +0 +5$/m)
    assert.match(r.stdout, /^orders +1 +4 +0 +0 +5$/m)
    assert.match(r.stdout, /dry run: nothing was changed/)
    assert.deepEqual(await committed('billing'), ['0:2', '1:4'])
  })

  it('resets to each kind of position', async () => {
    const reset = async (...spec: string[]) => {
      await ok('groups', 'reset-offsets', 'billing', '--topic', 'orders', ...spec)
      return committed('billing')
    }
    assert.deepEqual(await reset('--to-latest'), ['0:5', '1:5'])
    assert.deepEqual(await reset('--to-earliest'), ['0:0', '1:0'])
    assert.deepEqual(await reset('--to-offset', '3'), ['0:3', '1:3'])
    assert.deepEqual(await reset('--shift-by', '-2'), ['0:1', '1:1'])
    assert.deepEqual(await reset('--shift-by', '+1'), ['0:2', '1:2'])
    assert.deepEqual(await reset('--to-current'), ['0:2', '1:2'])
    // 2½ hours ago: the first records at or after that time are the ones of 2 hours ago (offset 3).
    assert.deepEqual(await reset('--by-duration', '2h30m'), ['0:3', '1:3'])
    assert.deepEqual(await reset('--to-datetime', new Date(now - 4.5 * HOUR).toISOString()), ['0:1', '1:1'])
    assert.deepEqual(await reset('--to-datetime', String(now + HOUR)), ['0:5', '1:5'])
    const clamped = await cli(['groups', 'reset-offsets', 'billing', '--topic', 'orders', '--to-offset', '99', ...on])
    assert.match(clamped.stdout, /^orders +0 +5 +5 +0 +5 +99 is past the log end$/m)
    // One partition only; the other keeps its offset. Then every topic of the group at once.
    await ok('groups', 'reset-offsets', 'billing', '--topic', 'orders:1', '--to-offset', '2')
    assert.deepEqual(await committed('billing'), ['0:5', '1:2'])
    const all = JSON.parse(
      await ok('groups', 'reset-offsets', 'billing', '--all-topics', '--to-earliest', '-o', 'json'),
    )
    assert.equal(all.dryRun, false)
    assert.deepEqual(
      all.partitions.map(
        (p: { topic: string; partition: number; newOffset: number }) => `${p.topic}:${p.partition}:${p.newOffset}`,
      ),
      ['audit:0:0', 'orders:0:0', 'orders:1:0'],
    )
    assert.deepEqual(await committed('billing', 'audit'), ['0:0'])
  })

  it('refuses bad specs, unknown topics and partitions, changing nothing', async () => {
    await setOffsets('billing', [2, 4])
    const cases: [string[], number, RegExp][] = [
      [['--topic', 'orders', '--to-offset', 'ten'], 2, /--to-offset must be a non-negative integer, got 'ten'/],
      [['--topic', 'orders', '--by-duration', 'a while'], 2, /'a while' is not a duration/],
      [['--topic', 'orders', '--to-datetime', 'tomorrow'], 2, /'tomorrow' is not a date-time/],
      [['--topic', 'orders'], 2, /give exactly one of --to-earliest/],
      [['--topic', 'orders', '--to-earliest', '--to-latest'], 2, /exactly one .*got 2/],
      [['--to-earliest'], 2, /give --topic \(repeatable\) or --all-topics/],
      [['--topic', 'orders', '--all-topics', '--to-earliest'], 2, /give --topic \(repeatable\) or --all-topics/],
      [['--topic', 'nope', '--to-earliest'], 3, /topic 'nope' does not exist/],
      [['--topic', 'orders:7', '--to-earliest'], 3, /topic 'orders' has no partition 7/],
      [['--topic', 'orders:x', '--to-earliest'], 2, /'orders:x' is not topic or topic:partition/],
    ]
    for (const [args, code, message] of cases) {
      const r = await cli(['groups', 'reset-offsets', 'billing', ...args, ...on])
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.equal(r.stdout, '')
    }
    const fresh = await cli(['groups', 'reset-offsets', 'newcomer', '--all-topics', '--to-earliest', ...on])
    assert.equal(fresh.code, 2)
    assert.match(fresh.stderr, /group 'newcomer' has no committed offsets: name the topics with --topic/)
    const shift = await cli(['groups', 'reset-offsets', 'newcomer', '--topic', 'orders', '--shift-by', '1', ...on])
    assert.equal(shift.code, 2)
    assert.match(shift.stderr, /orders:0 has no committed offset to shift from/)
    assert.deepEqual(await committed('billing'), ['0:2', '1:4'])
  })

  it('refuses to reset or delete an active group unless forced', async () => {
    await setOffsets('live', [1, 1])
    const consumer = kafka.consumer({ groupId: 'live', sessionTimeout: 10000, heartbeatInterval: 500 })
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
    await consumer.connect()
    await consumer.subscribe({ topic: 'orders' })
    await consumer.run({ autoCommit: false, eachMessage: async () => {} })
    try {
      await joined
      const described = await ok('groups', 'describe', 'live')
      assert.match(described, /state Stable .*1 member/)
      assert.match(described, /^orders +0 +1 +5 +4 +\S+ +\S+ +check$/m)

      const refused = await cli(['groups', 'reset-offsets', 'live', '--topic', 'orders', '--to-latest', ...on])
      assert.equal(refused.code, 4)
      assert.match(
        refused.stderr,
        /group 'live' has 1 active member \(state Stable\): stop its consumers first, or pass --force/,
      )
      assert.deepEqual(await committed('live'), ['0:1', '1:1'])
      const plan = await ok('groups', 'reset-offsets', 'live', '--topic', 'orders', '--to-latest', '--dry-run')
      assert.match(plan, /the group is active: without --force the reset would be refused/)
      const del = await cli(['groups', 'delete', 'live', ...on])
      assert.equal(del.code, 4)
      assert.match(del.stderr, /group 'live' has 1 active member/)
      const delOffsets = await cli(['groups', 'delete-offsets', 'live', '--topic', 'orders', ...on])
      assert.equal(delOffsets.code, 4, delOffsets.stderr)
      assert.match(delOffsets.stderr, /GROUP_SUBSCRIBED_TO_TOPIC/)
      assert.deepEqual(await committed('live'), ['0:1', '1:1'])

      const forced = await ok('groups', 'reset-offsets', 'live', '--topic', 'orders', '--to-latest', '--force')
      assert.match(forced, /reset 2 partitions of group live after removing 1 member/)
      assert.deepEqual(await committed('live'), ['0:5', '1:5'])
    } finally {
      await consumer.disconnect()
    }
  })

  it('shows progress while looking up offsets, on a terminal only', async () => {
    const r = await cli(['groups', 'reset-offsets', 'billing', '--all-topics', '--to-current', '--dry-run', ...on], {
      interactive: true,
    })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /\rlooking up offsets: 3\/3 \(100%\)/)
  })

  it('deletes offsets of a topic, then the group', async () => {
    const missing = await cli(['groups', 'delete-offsets', 'billing', '--topic', 'payments', ...on])
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /group 'billing' has no committed offsets for topic 'payments'/)
    assert.match(
      await ok('groups', 'delete-offsets', 'billing', '--topic', 'audit'),
      /deleted the committed offsets of 1 partition from group billing/,
    )
    assert.deepEqual(await committed('billing', 'audit'), ['0:-1'])
    assert.deepEqual(await committed('billing'), ['0:2', '1:4'])

    const ghost = await cli(['groups', 'delete', 'ghost', ...on])
    assert.equal(ghost.code, 3)
    assert.match(await ok('groups', 'delete', 'billing'), /deleted group billing/)
    assert.doesNotMatch(await ok('groups', 'list'), /billing/)
  })
})
