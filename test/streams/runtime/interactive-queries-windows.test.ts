/**
 * Interactive queries over HTTP for window and session stores, across two in-process instances of one
 * application on a real broker (as interactive-queries.test.ts does for key-value stores): a key's windows and
 * sessions are answered by the instance owning the key, whichever instance is asked; key ranges and all keys are
 * gathered from both; position tokens make the answers wait for the writes.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { ensureTopic, KafkaCluster } from '../../../src/client/index.ts'
import {
  KafkaStreams,
  Materialized,
  Position,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka } from './helpers.ts'

const PARTITIONS = 4
const MINUTE = 60_000
let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []
const open: KafkaStreams[] = []

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  for (const s of open) await s.close()
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

function instance(applicationId: string, input: string) {
  const builder = new StreamsBuilder()
  const clicks = builder.stream<string, string>(input).groupByKey()
  // Kept an hour (the default retention, size + grace, would expire a window as soon as the next one starts).
  clicks
    .windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE))
    .count(Materialized.as<string, number>('clicks-per-minute').withRetention(60 * MINUTE))
  clicks
    .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(30_000))
    .count(Materialized.as<string, number>('click-sessions').withRetention(60 * MINUTE))
  const d = tempDir('trb-streams-iqw-')
  dirs.push(d)
  const streams = new KafkaStreams(builder.build(), {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': d.path,
    'commit.interval.ms': 100,
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 200,
    'interactive.queries.port': 0,
    'log.level': 'silent',
  })
  open.push(streams)
  return streams
}

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = check()
    if (result) return result
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field
async function get(port: number, path: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Sends each click on its own (so the position of the answers can be checked against each one's offset). */
async function click(topic: string, clicks: Array<[user: string, timestamp: number]>): Promise<Position> {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  const offsets: Array<{ topic: string; partition: number; offset: bigint }> = []
  try {
    for (const [user, timestamp] of clicks) {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: user, value: 'click', timestamp: String(timestamp) }],
      })
      offsets.push({ topic, partition: meta!.partition, offset: BigInt(meta!.baseOffset!) })
    }
  } finally {
    await producer.disconnect()
  }
  return Position.fromOffsets(offsets)
}

const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`)

describe('interactive queries of window and session stores on two instances', () => {
  it('routes window and session fetches to the owner, gathers key ranges, honours position tokens', async () => {
    const input = 'iqw-clicks'
    await ensureTopic(admin.admin, input, { partitions: PARTITIONS })
    const a = instance('iqw-app', input)
    const b = instance('iqw-app', input)
    await a.start()
    await b.start()
    await until('both instances running with two partitions each', () => {
      if (a.state !== 'RUNNING' || b.state !== 'RUNNING') return false
      const all = a.metadataForAllStreamsClients()
      return (
        all.length === 2 &&
        all.every((m) => m.topicPartitions.length === 2) &&
        b.metadataForAllStreamsClients().length === 2
      )
    })
    const hostA = `127.0.0.1:${a.queriesPort}`
    const hostB = `127.0.0.1:${b.queriesPort}`

    // Each user: two clicks in the first minute (one session), one in the next minute (a second session).
    const base = Date.now() - (Date.now() % MINUTE) - 10 * MINUTE
    // The first minute's clicks of every user before any of the second (without grace, a click after the
    // partition's stream time passed its window's end would be dropped as late).
    const written = await click(input, [
      ...USERS.flatMap(
        (u): Array<[string, number]> => [
          [u, base + 1_000],
          [u, base + 2_000],
        ],
      ),
      ...USERS.map((u): [string, number] => [u, base + MINUTE + 1_000]),
    ])
    const token = encodeURIComponent(written.toString())
    const owner = new Map<string, string>()
    for (const user of USERS) {
      const meta = a.queryMetadataForKey('clicks-per-minute', user)
      owner.set(user, `${meta.activeHost.host}:${meta.activeHost.port}`)
    }
    const onA = USERS.filter((u) => owner.get(u) === hostA)
    const onB = USERS.filter((u) => owner.get(u) === hostB)
    assert.ok(onA.length > 0 && onB.length > 0, `users spread over both instances: ${[...owner]}`)

    // A key's windows, asked of A for every user (B's are routed to B), waiting for the clicks.
    for (const user of USERS) {
      const { status, body } = await get(
        a.queriesPort!,
        `/stores/clicks-per-minute/keys/${user}/windows?position=${token}`,
      )
      assert.equal(status, 200, JSON.stringify(body))
      assert.equal(body.host, owner.get(user))
      assert.equal(body.key, user)
      assert.deepEqual(
        body.windows.map((w: Record<string, number>) => [w.start, w.end, w.value]),
        [
          [base, base + MINUTE, 2],
          [base + MINUTE, base + 2 * MINUTE, 1],
        ],
      )
      assert.equal(typeof body.windows[0].timestamp, 'number')
      const meta = a.queryMetadataForKey('clicks-per-minute', user)
      assert.equal(body.partition, meta.partition)
      assert.ok(Position.parse(body.positionToken).dominates(written, meta.partition), body.positionToken)
    }
    const later = await get(b.queriesPort!, `/stores/clicks-per-minute/keys/${onA[0]}/windows?from=${base + 1}`)
    assert.deepEqual(
      later.body.windows.map((w: Record<string, number>) => w.start),
      [base + MINUTE],
    )
    const backward = await get(b.queriesPort!, `/stores/clicks-per-minute/keys/${onA[0]}/windows?reverse=true`)
    assert.deepEqual(
      backward.body.windows.map((w: Record<string, number>) => w.start),
      [base + MINUTE, base],
    )
    const none = await get(b.queriesPort!, `/stores/clicks-per-minute/keys/nobody/windows`)
    assert.equal(none.status, 200)
    assert.deepEqual(none.body.windows, [])

    // All keys' windows in a time range, gathered from both instances, whichever is asked.
    const sorted = [...USERS].sort()
    for (const port of [a.queriesPort!, b.queriesPort!]) {
      const first = await get(port, `/stores/clicks-per-minute/windows?from=${base}&to=${base}&position=${token}`)
      assert.equal(first.status, 200, JSON.stringify(first.body))
      assert.deepEqual(
        first.body.entries.map((e: Record<string, unknown>) => [e.key, e.start, e.value]),
        sorted.map((u) => [u, base, 2]),
      )
      assert.deepEqual(first.body.partitions, [0, 1, 2, 3])
      assert.ok(Position.parse(first.body.positionToken).dominates(written))
      const range = await get(port, `/stores/clicks-per-minute/windows?keyFrom=user-1&keyTo=user-2`)
      assert.deepEqual(
        range.body.entries.map((e: Record<string, unknown>) => `${e.key}@${(e.start as number) - base}`),
        [
          'user-1@0',
          'user-10@0',
          'user-11@0',
          'user-2@0',
          'user-1@60000',
          'user-10@60000',
          'user-11@60000',
          'user-2@60000',
        ],
      )
      const limited = await get(port, `/stores/clicks-per-minute/windows?limit=3`)
      assert.equal(limited.body.entries.length, 3)
      assert.equal(limited.body.truncated, true)
    }

    // A key's sessions, routed to the owner; a session range query gathered from both.
    for (const user of [onA[0]!, onB[0]!]) {
      const { status, body } = await get(
        b.queriesPort!,
        `/stores/click-sessions/keys/${user}/sessions?position=${token}`,
      )
      assert.equal(status, 200, JSON.stringify(body))
      assert.equal(body.host, owner.get(user))
      assert.deepEqual(
        body.sessions.map((s: Record<string, number>) => [s.start - base, s.end - base, s.value]),
        [
          [1_000, 2_000, 2],
          [MINUTE + 1_000, MINUTE + 1_000, 1],
        ],
      )
      // Sessions ending at or after `from`.
      const recent = await get(a.queriesPort!, `/stores/click-sessions/keys/${user}/sessions?from=${base + 30_000}`)
      assert.deepEqual(
        recent.body.sessions.map((s: Record<string, number>) => s.value),
        [1],
      )
    }
    const sessions = await get(a.queriesPort!, `/stores/click-sessions/sessions?keyFrom=user-3&keyTo=user-3`)
    assert.equal(sessions.status, 200, JSON.stringify(sessions.body))
    assert.deepEqual(
      sessions.body.entries.map((e: Record<string, unknown>) => [e.key, (e.start as number) - base, e.value]),
      [
        ['user-3', 1_000, 2],
        ['user-3', MINUTE + 1_000, 1],
      ],
    )
    const allSessions = await get(b.queriesPort!, `/stores/click-sessions/sessions`)
    assert.equal(allSessions.body.entries.length, USERS.length * 2)

    // The wrong kind of store, or a bad time, is a clear 400.
    const mismatch = await get(a.queriesPort!, `/stores/clicks-per-minute/keys/${onA[0]}/sessions?local=true`)
    assert.equal(mismatch.status, 400)
    assert.equal(mismatch.body.code, 'TRB_STREAMS_STORE_TYPE_MISMATCH')
    const badTime = await get(a.queriesPort!, `/stores/clicks-per-minute/windows?from=yesterday`)
    assert.equal(badTime.status, 400)
    assert.equal(badTime.body.code, 'TRB_STREAMS_INVALID_QUERY')
  })
})
