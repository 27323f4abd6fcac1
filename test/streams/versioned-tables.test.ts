/**
 * Versioned tables (KIP-914) and stream-table joins with a grace period (KIP-923) on the test driver, with the
 * behaviour Kafka Streams documents: a versioned source table stores out-of-order updates (and forwards them), drops
 * updates older than its history retention; a stream-table join looks the table up as of the stream record's
 * timestamp; with Joined.withGracePeriod the stream side waits in a buffer so late table updates are seen.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  Consumed,
  Joined,
  Materialized,
  Serdes,
  Stores,
  StreamsBuilder,
  type VersionedKeyValueStore,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'versioned',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`
type In = [topic: string, key: string, value: string | null, timestamp: number]
type Out = [key: string, value: string | null, timestamp: number]

function versionedTable(b: StreamsBuilder, topic: string, store: string, historyMs: number) {
  return b.table<string, string>(
    topic,
    Consumed.with(S, S),
    Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore(store, historyMs)),
  )
}

function run(
  build: (b: StreamsBuilder) => void,
  inputs: In[],
  outputs: string[],
  inspect?: (driver: TopologyTestDriver) => void,
): Record<string, Out[]> {
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build(), cfg)
  try {
    const topics = new Map<string, ReturnType<typeof driver.createInputTopic<string, string>>>()
    const outs = outputs.map((t) => [t, driver.createOutputTopic(t, S, S)] as const)
    const result: Record<string, Out[]> = Object.fromEntries(outputs.map((t) => [t, [] as Out[]]))
    for (const [topic, key, value, ts] of inputs) {
      if (!topics.has(topic)) topics.set(topic, driver.createInputTopic(topic, S, S))
      topics.get(topic)!.pipeInput(key, value, ts)
      for (const [t, o] of outs)
        for (const r of o.readRecordsToList()) result[t].push([r.key as string, r.value, r.timestamp])
    }
    inspect?.(driver)
    return result
  } finally {
    driver.close()
  }
}

describe('versioned KTable source', () => {
  it('stores and forwards out-of-order updates, drops updates older than the history retention', () => {
    const out = run(
      (b) => versionedTable(b, 'tbl', 'tbl-store', 1000).toStream().to('out'),
      [
        ['tbl', 'A', 'a1', 10],
        ['tbl', 'A', 'a2', 20],
        ['tbl', 'A', 'a-old', 15],
        ['tbl', 'A', null, 5],
        ['tbl', 'B', 'b1', 2000],
        ['tbl', 'A', 'too-old', 500],
        ['tbl', 'A', 'a3', 1500],
      ],
      ['out'],
      (driver) => {
        const store = driver.getStateStore<VersionedKeyValueStore<string, string>>('tbl-store')!
        assert.equal(store.versioned, true)
        assert.deepEqual({ ...store.get('A', 1499) }, { value: 'a2', timestamp: 20, validTo: 1500 })
        assert.equal(store.get('A', 999), null, 'older than stream time - history, and not the latest')
        assert.deepEqual({ ...store.get('A', 1700) }, { value: 'a3', timestamp: 1500 })
        assert.equal(driver.metrics().get('stream-task-metrics:dropped-records-total'), 1)
      },
    ).out
    assert.deepEqual(out, [
      ['A', 'a1', 10],
      ['A', 'a2', 20],
      ['A', 'a-old', 15],
      ['A', null, 5],
      ['B', 'b1', 2000],
      ['A', 'a3', 1500],
    ])
  })
})

describe('stream-table join against a versioned table', () => {
  const build = (b: StreamsBuilder) => {
    const s = b.stream<string, string>('orders')
    const t = versionedTable(b, 'users', 'users-store', 10_000)
    s.join(t, joiner).to('inner-out')
    s.leftJoin(t, joiner).to('left-out')
  }

  it('joins each stream record with the table version valid at its timestamp', () => {
    const out = run(
      build,
      [
        ['users', 'u', 'x', 10],
        ['users', 'u', 'y', 20],
        ['orders', 'u', 'o1', 15],
        ['orders', 'u', 'o2', 25],
        ['orders', 'u', 'o3', 5],
        ['users', 'u', 'w', 12],
        ['orders', 'u', 'o4', 13],
        ['users', 'u', null, 30],
        ['orders', 'u', 'o5', 31],
        ['orders', 'u', 'o6', 29],
      ],
      ['inner-out', 'left-out'],
    )
    assert.deepEqual(out['inner-out'], [
      ['u', '[o1,x]', 15],
      ['u', '[o2,y]', 25],
      ['u', '[o4,w]', 13],
      ['u', '[o6,y]', 29],
    ])
    assert.deepEqual(out['left-out'], [
      ['u', '[o1,x]', 15],
      ['u', '[o2,y]', 25],
      ['u', '[o3,null]', 5],
      ['u', '[o4,w]', 13],
      ['u', '[o5,null]', 31],
      ['u', '[o6,y]', 29],
    ])
  })
})

describe('stream-table join with a grace period', () => {
  const build = (b: StreamsBuilder) => {
    const s = b.stream<string, string>('orders')
    const t = versionedTable(b, 'users', 'users-store', 10_000)
    s.join(t, joiner, Joined.with(S, S, S).withGracePeriod(10)).to('inner-out')
    s.leftJoin(t, joiner, Joined.with(S, S, S).withGracePeriod(10)).to('left-out')
  }

  it('buffers stream records until stream time passes timestamp + grace, so late table updates are seen', () => {
    const out = run(
      build,
      [
        ['users', 'u', 'x', 10],
        ['orders', 'u', 'o1', 20],
        ['users', 'u', 'late', 18],
        ['orders', 'u', 'o2', 31],
        ['orders', 'u', 'o3', 5],
        ['orders', 'v', 'p', 41],
      ],
      ['inner-out', 'left-out'],
    )
    // o1 (20) leaves the buffer when stream time reaches 31 and sees the update at 18; o3 is older than stream
    // time - grace, so it joins at once (nothing valid at 5); o2 leaves at 41.
    assert.deepEqual(out['inner-out'], [
      ['u', '[o1,late]', 20],
      ['u', '[o2,late]', 31],
    ])
    assert.deepEqual(out['left-out'], [
      ['u', '[o1,late]', 20],
      ['u', '[o3,null]', 5],
      ['u', '[o2,late]', 31],
    ])
  })

  it('lets buffered records out in timestamp order, equal timestamps in key order', () => {
    const out = run(
      build,
      [
        ['users', 'a', 'A', 1],
        ['users', 'b', 'B', 1],
        ['users', 'c', 'C', 1],
        ['orders', 'b', 'b10', 10],
        ['orders', 'a', 'a10', 10],
        ['orders', 'c', 'c8', 8],
        ['orders', 'a', 'a10bis', 10],
        ['orders', 'z', 'z20', 20],
      ],
      ['inner-out'],
    )
    assert.deepEqual(out['inner-out'], [
      ['c', '[c8,C]', 8],
      ['a', '[a10,A]', 10],
      ['a', '[a10bis,A]', 10],
      ['b', '[b10,B]', 10],
    ])
  })

  it('works through mapValues of a versioned table', () => {
    const out = run(
      (b) => {
        const t = versionedTable(b, 'users', 'users-store', 10_000).mapValues((v) => v.toUpperCase())
        b.stream<string, string>('orders')
          .join(t, joiner, Joined.with(S, S, S).withGracePeriod(0))
          .to('inner-out')
      },
      [
        ['users', 'u', 'x', 10],
        ['users', 'u', 'y', 20],
        ['orders', 'u', 'o', 15],
      ],
      ['inner-out'],
    )
    assert.deepEqual(out['inner-out'], [['u', '[o,X]', 15]])
  })

  it('is refused without a versioned table, as Kafka Streams refuses it', () => {
    const b = new StreamsBuilder()
    const t = b.table<string, string>('users')
    assert.throws(
      () => b.stream<string, string>('orders').join(t, joiner, Joined.with(S, S, S).withGracePeriod(10)),
      /KTable must be versioned to use a grace period in a stream table join/,
    )
  })

  it('names the buffer <join name>-Buffer, logged to its own changelog', () => {
    const b = new StreamsBuilder()
    const t = versionedTable(b, 'users', 'users-store', 10_000)
    b.stream<string, string>('orders').join(t, joiner, Joined.as<string, string, string>('enrich').withGracePeriod(5))
    const described = b.build().describe().toString()
    assert.match(described, /Processor: enrich \(stores: \[users-store, enrich-Buffer\]\)/)
  })
})
