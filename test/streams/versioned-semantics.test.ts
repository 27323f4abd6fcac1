/**
 * Versioned semantics below versioned tables (KIP-914), as Kafka Streams 4.x: a versioned table forwards an
 * out-of-order update (older than the latest version) with isLatest false; table-table joins (both kinds) and
 * groupBy drop it, a filter forwards every update, toStream emits it; a versioned store may materialize any
 * table-producing operator (put by timestamp); suppress and global tables refuse versioned tables, and a null-key
 * record fails a left join with a grace period. Each case's outputs come from the test driver; the same topologies
 * are compared with Kafka Streams record for record in test-interop/streams-versioned-vs-kafka-streams.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BufferConfig,
  Consumed,
  Joined,
  type KTable,
  Materialized,
  Produced,
  Serdes,
  Stores,
  StreamsBuilder,
  Suppressed,
  type VersionedKeyValueStore,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'
import { pipeStrings, type StringInput, type StringOutput } from '../helpers/string-topology.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'versioned-semantics',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
  'statestore.cache.max.bytes': 0,
}
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`
type In = StringInput
type Out = StringOutput

const versioned = <V = string>(store: string, historyMs = 10_000) =>
  Materialized.as<string, V>(Stores.persistentVersionedKeyValueStore(store, historyMs))
const vtable = (b: StreamsBuilder, topic = 'tbl', store = 'tbl-store') =>
  b.table<string, string>(topic, Consumed.with(S, S), versioned(store))

function run(build: (b: StreamsBuilder) => void, inputs: In[], outputs: string[]): Record<string, Out[]> {
  const { out, driver } = pipeStrings(build, inputs, outputs, cfg)
  driver.close()
  return out
}

// The versioned table gets A's versions 10 and 20, then an out-of-order one (15), then a newer one (30).
const outOfOrder: In[] = [
  ['tbl', 'A', 'a1', 10],
  ['tbl', 'A', 'a2', 20],
  ['tbl', 'A', 'a-old', 15],
  ['tbl', 'A', 'a3', 30],
]

describe('table-table joins below a versioned table', () => {
  const inputs: In[] = [['other', 'A', 'x', 5], ...outOfOrder, ['other', 'A', 'y', 40]]
  const build = (b: StreamsBuilder) => {
    const t = vtable(b)
    const other = b.table<string, string>('other')
    t.join(other, joiner).toStream().to('inner')
    t.leftJoin(other, joiner).toStream().to('left')
    other.outerJoin(t, joiner).toStream().to('outer')
  }

  it('drop the out-of-order update (inner, left, outer), and join later updates with the latest version', () => {
    const out = run(build, inputs, ['inner', 'left', 'outer'])
    assert.deepEqual(out.inner, [
      ['A', '[a1,x]', 10],
      ['A', '[a2,x]', 20],
      ['A', '[a3,x]', 30],
      ['A', '[a3,y]', 40],
    ])
    assert.deepEqual(out.left, out.inner)
    assert.deepEqual(out.outer, [
      ['A', '[x,null]', 5],
      ['A', '[x,a1]', 10],
      ['A', '[x,a2]', 20],
      ['A', '[x,a3]', 30],
      ['A', '[y,a3]', 40],
    ])
  })

  it('a foreign-key join drops out-of-order updates of either versioned side', () => {
    const out = run(
      (b) => {
        const orders = vtable(b, 'orders', 'orders-store')
        const customers = vtable(b, 'customers', 'customers-store')
        orders
          .join(customers, (v: string) => v, joiner)
          .toStream()
          .to('fk')
        orders
          .leftJoin(customers, (v: string) => v, joiner)
          .toStream()
          .to('fk-left')
      },
      [
        ['customers', 'c1', 'alice', 5],
        ['customers', 'c2', 'bob', 6],
        ['orders', 'o1', 'c1', 10],
        ['orders', 'o1', 'c2', 20],
        ['orders', 'o1', 'c1', 15], // out of order: no subscription change
        ['customers', 'c2', 'bob-old', 3], // out of order: answers no subscriber
        ['customers', 'c2', 'bob2', 30],
      ],
      ['fk', 'fk-left'],
    )
    assert.deepEqual(out.fk, [
      ['o1', '[c1,alice]', 10],
      ['o1', '[c2,bob]', 20],
      ['o1', '[c2,bob2]', 30],
    ])
    assert.deepEqual(out['fk-left'], out.fk)
  })
})

describe('groupBy and aggregations below a versioned table', () => {
  it('groupBy leaves out-of-order updates out of count, reduce and aggregate', () => {
    const out = run(
      (b) => {
        const t = vtable(b)
        const grouped = t.groupBy((_k, v) => ({ key: v, value: v }))
        grouped
          .count()
          .toStream()
          .mapValues((n) => String(n))
          .to('count')
        const all = t.groupBy((_k, v) => ({ key: 'all', value: v }))
        all
          .reduce(
            (agg, v) => `${agg}+${v}`,
            (agg, v) => `${agg}-${v}`,
          )
          .toStream()
          .to('reduce')
        all
          .aggregate(
            () => '',
            (_k, v, agg) => `${agg}+${v}`,
            (_k, v, agg) => `${agg}-${v}`,
          )
          .toStream()
          .to('aggregate')
      },
      outOfOrder,
      ['count', 'reduce', 'aggregate'],
    )
    assert.deepEqual(out.count, [
      ['a1', '1', 10],
      ['a1', '0', 20],
      ['a2', '1', 20],
      ['a2', '0', 30],
      ['a3', '1', 30],
    ])
    assert.deepEqual(out.reduce, [
      ['all', 'a1', 10],
      ['all', 'a1-a1+a2', 20],
      ['all', 'a1-a1+a2-a2+a3', 30],
    ])
    assert.deepEqual(out.aggregate, [
      ['all', '+a1', 10],
      ['all', '+a1-a1+a2', 20],
      ['all', '+a1-a1+a2-a2+a3', 30],
    ])
  })

  it('an aggregation materialized in a versioned store keeps its history (put by timestamp)', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in')
      .groupByKey()
      .count(versioned<number>('counts'))
      .toStream()
      .mapValues((n) => String(n))
      .to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    try {
      const input = driver.createInputTopic('in', S, S)
      const output = driver.createOutputTopic('out', S, S)
      input.pipeInput('k', 'x', 10)
      input.pipeInput('k', 'y', 30)
      input.pipeInput('k', 'z', 20)
      assert.deepEqual(
        output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]),
        [
          ['k', '1', 10],
          ['k', '2', 30],
          ['k', '3', 30],
        ],
      )
      const store = driver.getStateStore<VersionedKeyValueStore<string, number>>('counts')!
      assert.equal(store.versioned, true)
      assert.equal(store.get('k', 15)?.value, 1)
      assert.deepEqual({ ...store.get('k') }, { value: 3, timestamp: 30 })
    } finally {
      driver.close()
    }
  })

  it('a cogrouped aggregation materialized in a versioned store keeps each version at its timestamp', () => {
    const b = new StreamsBuilder()
    const clicks = b.stream<string, string>('clicks').groupByKey()
    const views = b.stream<string, string>('views').groupByKey()
    clicks
      .cogroup<number>((_k, _v, agg) => agg + 10)
      .cogroup(views, (_k, _v, agg) => agg + 1)
      .aggregate(() => 0, versioned<number>('scores').withValueSerde(Serdes.Long()))
      .toStream()
      .to('out', Produced.with(S, Serdes.Long()))
    const driver = new TopologyTestDriver(b.build(), cfg)
    try {
      driver.createInputTopic('clicks', S, S).pipeInput('u', 'c', 10)
      driver.createInputTopic('views', S, S).pipeInput('u', 'v', 20)
      assert.deepEqual(driver.createOutputTopic('out', S, Serdes.Long()).readValuesToList(), [10, 11])
      const store = driver.getStateStore<VersionedKeyValueStore<string, number>>('scores')!
      assert.equal(store.versioned, true)
      assert.deepEqual({ ...store.get('u', 15) }, { value: 10, timestamp: 10, validTo: 20 })
      assert.deepEqual({ ...store.get('u') }, { value: 11, timestamp: 20 })
    } finally {
      driver.close()
    }
  })
})

describe('filter, mapValues, toStream and toTable below a versioned table', () => {
  it('toStream and a filter forward every update; the filter forwards null-to-null updates too', () => {
    const out = run(
      (b) => {
        const t = vtable(b)
        t.toStream().to('stream')
        t.filter((_k, v) => v.startsWith('a'))
          .toStream()
          .to('filtered')
        // Not versioned: the filter skips an update that is filtered out before and after.
        b.table<string, string>('plain', Consumed.with(S, S), Materialized.as('plain-store'))
          .filter((_k, v) => v.startsWith('a'))
          .toStream()
          .to('plain-filtered')
      },
      [...outOfOrder, ['tbl', 'B', 'b1', 40], ['plain', 'B', 'b1', 40]],
      ['stream', 'filtered', 'plain-filtered'],
    )
    assert.deepEqual(out.stream, [
      ['A', 'a1', 10],
      ['A', 'a2', 20],
      ['A', 'a-old', 15],
      ['A', 'a3', 30],
      ['B', 'b1', 40],
    ])
    assert.deepEqual(out.filtered, [
      ['A', 'a1', 10],
      ['A', 'a2', 20],
      ['A', 'a-old', 15],
      ['A', 'a3', 30],
      ['B', null, 40],
    ])
    assert.deepEqual(out['plain-filtered'], [])
  })

  it('filter/mapValues keep versioned semantics unless materialized in a timestamped store', () => {
    const out = run(
      (b) => {
        const t = vtable(b)
        const other = b.table<string, string>('other')
        const up = (_k: string, v: string) => v.toUpperCase()
        const join = (x: KTable<string, string>, topic: string) => x.join(other, joiner).toStream().to(topic)
        join(
          t.mapValues((v) => v.toUpperCase()),
          'inherited',
        )
        join(
          t.mapValues((v) => v.toUpperCase(), versioned('mapped-versioned')),
          'versioned',
        )
        // A timestamped store takes the out-of-order update as the latest: it reaches the join.
        join(
          t.mapValues((v) => v.toUpperCase(), Materialized.as('mapped-plain')),
          'timestamped',
        )
        join(
          t.filter((k, v) => up(k, v) !== 'X', versioned('filtered-versioned')),
          'filter-versioned',
        )
      },
      [['other', 'A', 'x', 5], ...outOfOrder],
      ['inherited', 'versioned', 'timestamped', 'filter-versioned'],
    )
    const latestOnly: Out[] = [
      ['A', '[A1,x]', 10],
      ['A', '[A2,x]', 20],
      ['A', '[A3,x]', 30],
    ]
    assert.deepEqual(out.inherited, latestOnly)
    assert.deepEqual(out.versioned, latestOnly)
    assert.deepEqual(out.timestamped, [
      ['A', '[A1,x]', 10],
      ['A', '[A2,x]', 20],
      ['A', '[A-OLD,x]', 15],
      ['A', '[A3,x]', 30],
    ])
    assert.deepEqual(out['filter-versioned'], [
      ['A', '[a1,x]', 10],
      ['A', '[a2,x]', 20],
      ['A', '[a3,x]', 30],
    ])
  })

  it('toTable and a table-table join materialized in a versioned store put by timestamp', () => {
    const out = run(
      (b) => {
        const other = b.table<string, string>('other')
        const t = b.stream<string, string>('in').toTable(undefined, versioned('to-table'))
        t.join(other, joiner).toStream().to('to-table-join')
        const joined = b.table<string, string>('left').join(other, joiner, versioned('joined'))
        joined.toStream().to('joined')
        joined
          .groupBy((_k, v) => ({ key: v, value: v }))
          .count()
          .toStream()
          .mapValues((n) => String(n))
          .to('joined-count')
      },
      [
        ['other', 'A', 'x', 50],
        ['in', 'A', 'i1', 10],
        ['in', 'A', 'i2', 60],
        ['in', 'A', 'i-old', 55],
        ['left', 'A', 'l1', 10],
        // The result's timestamp is the larger input's (50): l2 at 70 is newer, l-old at 60 then comes out of order.
        ['left', 'A', 'l2', 70],
        ['left', 'A', 'l-old', 60],
      ],
      ['to-table-join', 'joined', 'joined-count'],
    )
    assert.deepEqual(out['to-table-join'], [
      ['A', '[i1,x]', 50],
      ['A', '[i2,x]', 60],
    ])
    assert.deepEqual(out.joined, [
      ['A', '[l1,x]', 50],
      ['A', '[l2,x]', 70],
      ['A', '[l-old,x]', 60],
    ])
    assert.deepEqual(out['joined-count'], [
      ['[l1,x]', '1', 50],
      ['[l1,x]', '0', 70],
      ['[l2,x]', '1', 70],
    ])
  })
})

describe('what versioned tables refuse, as Kafka Streams', () => {
  it('suppress() of a versioned table: at once, or at build() when inherited through filter/mapValues', () => {
    const suppressed = Suppressed.untilTimeLimit(1000, BufferConfig.unbounded())
    assert.throws(() => vtable(new StreamsBuilder()).suppress(suppressed), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message: /^suppress\(\) is only supported for non-versioned KTables$/,
    })
    const b = new StreamsBuilder()
    vtable(b)
      .mapValues((v) => v)
      .suppress(suppressed)
    assert.throws(() => b.build(), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message:
        'suppress() is only supported for non-versioned KTables (note that version semantics might be inherited from upstream)',
    })
    // Materialized in a timestamped store, the table is not versioned any more.
    const ok = new StreamsBuilder()
    vtable(ok)
      .mapValues((v) => v, Materialized.as('plain'))
      .suppress(suppressed)
    ok.build()
  })

  it('a global table', () => {
    assert.throws(() => new StreamsBuilder().globalTable('g', Consumed.with(S, S), versioned('g-store')), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message: 'GlobalTables cannot be versioned.',
    })
  })

  it('a null-key record fails a left join with a grace period (the buffer refuses null keys)', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('orders')
      .leftJoin(vtable(b), joiner, Joined.with(S, S, S).withGracePeriod(100))
      .to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    try {
      const orders = driver.createInputTopic('orders', S, S)
      orders.pipeInput('k', 'v', 10)
      assert.throws(() => orders.pipeInput(null, 'v', 20), {
        code: 'TRB_STREAMS_PROCESSING_FAILED',
        message: /key cannot be null/,
      })
    } finally {
      driver.close()
    }
  })
})
