/**
 * KTable.transformValues, as Kafka Streams 4.x (KTableTransformValues): the cases of Kafka's KTableTransformValuesTest
 * with their expected outputs, and what its processor and value getter do beyond them (checked against Kafka Streams
 * 4.1.1's TopologyTestDriver): tombstones reach the transformer, a materialized result is queryable and gives the old
 * values, an unmaterialized one recomputes them and answers lookups by transforming the parent's value (a missing
 * one too), versioned semantics pass through as for mapValues, and forwarding from a transformer fails.
 * test-interop/streams-transform-values-vs-kafka-streams.test.ts compares the same topologies on random inputs.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SUPPRESS_VERSIONED_UPSTREAM } from '../../src/streams/dsl/versioned.ts'
import {
  BufferConfig,
  Consumed,
  Grouped,
  KeyValue,
  type KeyValueStore,
  type KTable,
  Materialized,
  Named,
  Record,
  Serdes,
  Stores,
  StreamsBuilder,
  type StreamsError,
  Suppressed,
  type ValueTransformerContext,
  type ValueTransformerWithKey,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'
import { pipeStrings, type StringInput, type StringOutput } from '../helpers/string-topology.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'transform-values',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}
type Out = StringOutput
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`

function run(
  build: (b: StreamsBuilder) => void,
  inputs: StringInput[],
  outputs: string[],
  config: { [name: string]: unknown } = {},
): { out: { [topic: string]: Out[] }; driver: TopologyTestDriver } {
  return pipeStrings(build, inputs, outputs, { ...cfg, ...config })
}

/** Kafka's ExclamationValueTransformer: `key->value!`, checking at init that the named stores are reachable. */
function exclamation(...stores: string[]) {
  return (): ValueTransformerWithKey<string, string, string> => ({
    init(context) {
      for (const s of stores) assert.ok(context.getStateStore(s), `store ${s} is reachable`)
    },
    transform: (key, value) => `${key}->${value}!`,
  })
}

const longStore = (name: string) =>
  Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.Long(), Serdes.Long())

describe("KTable.transformValues: Kafka's KTableTransformValuesTest", () => {
  it('transforms values with the key, tombstones included; not materialized without a Materialized', () => {
    const { out, driver } = run(
      (b) => {
        b.addStateStore(longStore('someStore')).addStateStore(longStore('otherStore'))
        b.table<string, string>('inputTopic', Consumed.with(S, S))
          .transformValues(exclamation('someStore', 'otherStore'), 'someStore', 'otherStore')
          .toStream()
          .to('out')
      },
      [
        ['inputTopic', 'A', 'a', 5],
        ['inputTopic', 'B', 'b', 10],
        ['inputTopic', 'D', null, 15],
      ],
      ['out'],
    )
    assert.deepEqual(out.out, [
      ['A', 'A->a!', 5],
      ['B', 'B->b!', 10],
      ['D', 'D->null!', 15],
    ])
    assert.equal(driver.getKeyValueStore('queryable-store'), undefined)
    driver.close()
  })

  it('materializes into a queryable (timestamped) store, with the named stores reachable', () => {
    const { out, driver } = run(
      (b) => {
        b.addStateStore(longStore('someStore'))
        b.table<string, string>('inputTopic', Consumed.with(S, S))
          .transformValues(
            exclamation('someStore', 'queryable-store'),
            Materialized.as<string, string>('queryable-store').withKeySerde(S).withValueSerde(S),
            'someStore',
          )
          .toStream()
          .to('out')
      },
      [
        ['inputTopic', 'A', 'a', 5],
        ['inputTopic', 'B', 'b', 10],
        ['inputTopic', 'C', null, 15],
      ],
      ['out'],
    )
    assert.deepEqual(out.out, [
      ['A', 'A->a!', 5],
      ['B', 'B->b!', 10],
      ['C', 'C->null!', 15],
    ])
    const store = driver.getKeyValueStore<string, string>('queryable-store')!
    assert.deepEqual(
      ['A', 'B', 'C'].map((k) => store.get(k)),
      ['A->a!', 'B->b!', 'C->null!'],
    )
    const timestamped = driver.getTimestampedKeyValueStore<string, string>('queryable-store')!
    assert.deepEqual(timestamped.get('C'), { value: 'C->null!', timestamp: 15 })
    driver.close()
  })

  // groupBy with the same key and value forces the table to send old values (Kafka's toForceSendingOfOldValues).
  const sum = (table: KTable<string, number>) =>
    table
      .groupBy((k, v) => KeyValue.pair(k, v), Grouped.with(S, Serdes.Integer()))
      .reduce(
        (a, v) => a + v,
        (a, v) => a - v,
      )
      .mapValues((v) => String(v))
      .toStream()
      .to('out')

  it('materialized, a stateful transformer still gives the right old values (read from the store)', () => {
    const { out, driver } = run(
      (b) => {
        const table = b.table<string, string>('inputTopic', Consumed.with(S, S)).transformValues(() => {
          let counter = 0
          return { transform: () => ++counter }
        }, Materialized.as<string, number>('queryable-store').withKeySerde(S).withValueSerde(Serdes.Integer()))
        sum(table)
      },
      [
        ['inputTopic', 'A', 'ignored', 5],
        ['inputTopic', 'A', 'ignored1', 15],
        ['inputTopic', 'A', 'ignored2', 10],
      ],
      ['out'],
    )
    assert.deepEqual(out.out, [
      ['A', '1', 5],
      ['A', '2', 15],
      ['A', '3', 15],
    ])
    assert.equal(driver.getKeyValueStore<string, number>('queryable-store')!.get('A'), 3)
    driver.close()
  })

  it('not materialized, a stateless transformer gives the right old values (transforming the old value)', () => {
    const { out, driver } = run(
      (b) => {
        const table = b
          .table<string, string>('inputTopic', Consumed.with(S, S))
          .transformValues(() => ({ transform: (_k: string, v: string | null) => (v === null ? null : v.length) }))
        sum(table)
      },
      [
        ['inputTopic', 'A', 'a', 5],
        ['inputTopic', 'A', 'aa', 15],
        ['inputTopic', 'A', 'aaa', 10],
      ],
      ['out'],
    )
    assert.deepEqual(out.out, [
      ['A', '1', 5],
      ['A', '2', 15],
      ['A', '3', 15],
    ])
    driver.close()
  })
})

describe('KTable.transformValues: the value getter of an unmaterialized result', () => {
  it('transforms the parent value on each lookup, a missing one too (timestamp -1, no record metadata)', () => {
    const calls: string[] = []
    const closed: string[] = []
    let made = 0
    const { out, driver } = run(
      (b) => {
        const tv = b.table<string, string>('tbl', Consumed.with(S, S)).transformValues(() => {
          const id = made++
          let context: ValueTransformerContext
          return {
            init: (c) => {
              context = c
            },
            transform: (key, value) => {
              const m = context.recordMetadata()
              calls.push(`${key},${value} @${context.timestamp()} ${m ? `${m.topic}@${m.offset}` : 'no-metadata'}`)
              return `${key}->${value}!`
            },
            close: () => closed.push(String(id)),
          }
        })
        b.stream<string, string>('str', Consumed.with(S, S)).join(tv, joiner).to('joined')
        b.table<string, string>('other', Consumed.with(S, S)).join(tv, joiner).toStream().to('tjoined')
      },
      [
        ['tbl', 'A', 'a', 5],
        ['str', 'A', 'x', 7],
        ['str', 'B', 'y', 9],
        ['tbl', 'A', null, 11],
        ['str', 'A', 'z', 12],
        ['other', 'C', 'o', 13],
        ['other', 'C', 'o2', 3],
      ],
      ['joined', 'tjoined'],
    )
    // Kafka Streams 4.1.1 outputs the same: a key the table lacks joins with transform(key, null).
    assert.deepEqual(out.joined, [
      ['A', '[x,A->a!]', 7],
      ['B', '[y,B->null!]', 9],
      ['A', '[z,A->null!]', 12],
    ])
    assert.deepEqual(out.tjoined, [
      ['C', '[o,C->null!]', 13],
      ['C', '[o2,C->null!]', 3],
    ])
    assert.deepEqual(calls, [
      'A,a @5 tbl@0',
      'A,a @5 no-metadata',
      'B,null @-1 no-metadata',
      'A,null @11 tbl@1',
      'A,null @-1 no-metadata',
      'C,null @-1 no-metadata',
      'C,null @-1 no-metadata',
    ])
    // Two supplier calls check it at build; then the processor and a getter for each join, each closed.
    assert.equal(made, 5)
    driver.close()
    assert.deepEqual(closed.sort(), ['2', '3', '4'])
  })

  it('materialized, lookups read the store (the transformer is not called again)', () => {
    let transforms = 0
    const { out, driver } = run(
      (b) => {
        const tv = b.table<string, string>('tbl', Consumed.with(S, S)).transformValues(
          () => ({
            transform: (_k: string, v: string | null) => {
              transforms++
              return v === null ? null : v.toUpperCase()
            },
          }),
          Materialized.as<string, string>('tv-store'),
        )
        b.stream<string, string>('str').leftJoin(tv, joiner).to('joined')
      },
      [
        ['tbl', 'A', 'a', 5],
        ['str', 'A', 'x', 7],
        ['str', 'B', 'y', 9],
      ],
      ['joined'],
    )
    assert.deepEqual(out.joined, [
      ['A', '[x,A]', 7],
      ['B', '[y,null]', 9],
    ])
    assert.equal(transforms, 1)
    driver.close()
  })

  it('not materialized, old values transform the old value, a missing one too (null in, value out)', () => {
    const { out, driver } = run(
      (b) =>
        b
          .table<string, string>('tbl', Consumed.with(S, S))
          .transformValues(() => ({
            transform: (_k: string, v: string | null) => (v === null ? 'gone' : v.toUpperCase()),
          }))
          .groupBy((_k, v) => KeyValue.pair(v, v), Grouped.with(S, S))
          .count()
          .toStream()
          .mapValues((n) => String(n))
          .to('out'),
      [
        ['tbl', 'A', 'a', 1],
        ['tbl', 'B', 'a', 2],
        ['tbl', 'A', null, 3],
        ['tbl', 'A', 'b', 4],
      ],
      ['out'],
      { 'statestore.cache.max.bytes': 0 },
    )
    // Kafka Streams 4.1.1's output: the first update of a key subtracts transform(key, null) = 'gone' from nothing.
    assert.deepEqual(out.out, [
      ['gone', 'null', 1],
      ['A', '1', 1],
      ['gone', 'null', 2],
      ['A', '2', 2],
      ['A', '1', 3],
      ['gone', '1', 3],
      ['gone', '0', 4],
      ['B', '1', 4],
    ])
    driver.close()
  })
})

describe('KTable.transformValues below a versioned table (KIP-914), as mapValues', () => {
  const versioned = (store: string, historyMs: number) =>
    Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore(store, historyMs))
      .withKeySerde(S)
      .withValueSerde(S)
  const up = () => ({ transform: (_k: string, v: string | null) => (v === null ? null : v.toUpperCase()) })

  it('keeps versioned semantics unless materialized in a timestamped store; a versioned store refuses expired puts', () => {
    const { out, driver } = run(
      (b) => {
        const t = b.table<string, string>('tbl', Consumed.with(S, S), versioned('tbl-store', 10_000))
        const other = b.table<string, string>('other', Consumed.with(S, S))
        t.transformValues(up).join(other, joiner).toStream().to('inherited')
        t.transformValues(up, versioned('tv-versioned', 10_000)).join(other, joiner).toStream().to('versioned')
        t.transformValues(up, Materialized.as<string, string>('tv-plain'))
          .join(other, joiner)
          .toStream()
          .to('timestamped')
        t.transformValues(up).toStream().to('stream')
        t.transformValues(up, versioned('tv-short', 3)).toStream().to('short')
        t.transformValues(up)
          .groupBy((_k, v) => KeyValue.pair(v.slice(0, 1), v), Grouped.with(S, S))
          .count()
          .toStream()
          .mapValues((n) => String(n))
          .to('count')
      },
      [
        ['other', 'A', 'x', 5],
        ['tbl', 'A', 'a1', 10],
        ['tbl', 'A', 'a2', 20],
        ['tbl', 'A', 'a-old', 15],
        ['tbl', 'A', 'a3', 30],
        ['tbl', 'B', 'b1', 40],
        ['tbl', 'B', null, 35],
        ['tbl', 'B', null, 50],
      ],
      ['inherited', 'versioned', 'timestamped', 'stream', 'short', 'count'],
      { 'statestore.cache.max.bytes': 0 },
    )
    // Kafka Streams 4.1.1's outputs for the same topology and input.
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
    assert.deepEqual(out.stream, [
      ['A', 'A1', 10],
      ['A', 'A2', 20],
      ['A', 'A-OLD', 15],
      ['A', 'A3', 30],
      ['B', 'B1', 40],
      ['B', null, 35],
      ['B', null, 50],
    ])
    assert.deepEqual(out.short, [
      ['A', 'A1', 10],
      ['A', 'A2', 20],
      ['A', 'A3', 30],
      ['B', 'B1', 40],
      ['B', null, 50],
    ])
    assert.deepEqual(out.count, [
      ['A', '1', 10],
      ['A', '1', 20],
      ['A', '1', 30],
      ['B', '1', 40],
      ['B', '0', 50],
    ])
    driver.close()
  })

  it('suppress() refuses an unmaterialized transformValues of a versioned table, at build()', () => {
    const b = new StreamsBuilder()
    b.table<string, string>('tbl', Consumed.with(S, S), versioned('tbl-store', 10_000))
      .transformValues(up)
      .suppress(Suppressed.untilTimeLimit(1000, BufferConfig.unbounded()))
    assert.throws(() => b.build(), { code: 'TRB_STREAMS_INVALID_ARGUMENT', message: SUPPRESS_VERSIONED_UPSTREAM })
    const plain = new StreamsBuilder()
    plain
      .table<string, string>('tbl', Consumed.with(S, S), versioned('tbl-store', 10_000))
      .transformValues(up, Materialized.as<string, string>('plain'))
      .suppress(Suppressed.untilTimeLimit(1000, BufferConfig.unbounded()))
    assert.doesNotThrow(() => plain.build())
  })
})

describe("KTable.transformValues: the transformer's context", () => {
  it('reaches its stores, schedules punctuations, sees the record; closes with the task', () => {
    const seen: string[] = []
    let closed = 0
    const { out, driver } = run(
      (b) => {
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('seen'), S, Serdes.Long()))
        b.table<string, string>('tbl', Consumed.with(S, S))
          .transformValues(() => {
            let context: ValueTransformerContext
            let store: KeyValueStore<string, number>
            return {
              init(c) {
                context = c
                seen.push(`init ${c.applicationId} ${c.taskId} ${c.keySerde === S}`)
                store = c.getStateStore('seen')
                c.schedule(1000, 'wall-clock-time', () => {
                  seen.push(`tick: ${[...store.all()].map((kv) => `${kv.key}=${kv.value}`).join(' ')}`)
                })
              },
              transform(key, value) {
                const n = (store.get(key) ?? 0) + 1
                store.put(key, n)
                seen.push(`${key} @${context.timestamp()} ${context.headers().lastText('h') ?? '-'}`)
                return value === null ? null : `${value}#${n}`
              },
              close: () => closed++,
            }
          }, 'seen')
          .toStream()
          .to('out')
      },
      [
        ['tbl', 'A', 'a', 5],
        ['tbl', 'A', 'b', 6],
        ['tbl', 'B', null, 7],
      ],
      ['out'],
    )
    assert.deepEqual(out.out, [
      ['A', 'a#1', 5],
      ['A', 'b#2', 6],
      ['B', null, 7],
    ])
    driver.createInputTopic('tbl', S, S).pipeRecord({ key: 'C', value: 'c', timestamp: 8, headers: [['h', 'x']] })
    driver.advanceWallClockTime(1000)
    assert.deepEqual(seen, [
      'init transform-values 0_0 true',
      'A @5 -',
      'A @6 -',
      'B @7 -',
      'C @8 x',
      'tick: A=2 B=1 C=1',
    ])
    driver.close()
    assert.equal(closed, 1)
  })

  it('cannot forward: the processing exception handler gets the error (fail, or skip the record)', () => {
    const build = (b: StreamsBuilder) =>
      b
        .table<string, string>('tbl', Consumed.with(S, S))
        .transformValues(() => {
          let context: ValueTransformerContext
          return {
            init: (c) => {
              context = c
            },
            transform: (key, value) => {
              if (value === 'bad') context.forward(new Record(key, value, 0))
              return value
            },
          }
        })
        .toStream()
        .to('out')
    const failing = run(build, [], ['out'])
    assert.throws(
      () => failing.driver.createInputTopic('tbl', S, S).pipeInput('A', 'bad', 1),
      (e: Error) => {
        assert.equal((e as StreamsError).code, 'TRB_STREAMS_PROCESSING_FAILED')
        assert.match(e.message, /KTABLE-TRANSFORMVALUES-0000000003.*ProcessorContext#forward\(\) is not supported/)
        return true
      },
    )
    failing.driver.close()
    const { out, driver } = run(
      build,
      [
        ['tbl', 'A', 'bad', 1],
        ['tbl', 'B', 'good', 2],
      ],
      ['out'],
      { 'processing.exception.handler': 'logAndContinue' },
    )
    assert.deepEqual(out.out, [['B', 'good', 2]])
    driver.close()
  })
})

describe('KTable.transformValues: topology and misuse', () => {
  const same = () => ({ transform: (_k: string, v: string | null) => v })

  it('describe() names and connects the nodes as Kafka Streams does (no store name burned by a Materialized)', () => {
    const b = new StreamsBuilder()
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('someStore'), S, S))
    const t = b.table<string, string>('in', Consumed.with(S, S))
    t.transformValues(same, 'someStore').toStream().to('out')
    t.transformValues(same, Materialized.with(S, S)).toStream().to('out2')
    t.transformValues(same, Materialized.as<string, string>('tv-store'), Named.as('named-tv')).toStream().to('out3')
    b.stream<string, string>('str', Consumed.with(S, S))
      .join(t.transformValues(same), (l, r) => l + r)
      .to('joined')
    // Kafka Streams 4.1.1's describe() of the same program.
    assert.equal(
      b.build().describe().toString(),
      `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000001 (topics: [in])
      --> KTABLE-SOURCE-0000000002
    Processor: KTABLE-SOURCE-0000000002 (stores: [in-STATE-STORE-0000000000])
      --> KTABLE-TRANSFORMVALUES-0000000003, KTABLE-TRANSFORMVALUES-0000000006, named-tv, KTABLE-TRANSFORMVALUES-0000000013
      <-- KSTREAM-SOURCE-0000000001
    Source: KSTREAM-SOURCE-0000000012 (topics: [str])
      --> KSTREAM-JOIN-0000000014
    Processor: KTABLE-TRANSFORMVALUES-0000000003 (stores: [someStore])
      --> KTABLE-TOSTREAM-0000000004
      <-- KTABLE-SOURCE-0000000002
    Processor: KTABLE-TRANSFORMVALUES-0000000006 (stores: [])
      --> KTABLE-TOSTREAM-0000000007
      <-- KTABLE-SOURCE-0000000002
    Processor: named-tv (stores: [tv-store])
      --> KTABLE-TOSTREAM-0000000010
      <-- KTABLE-SOURCE-0000000002
    Processor: KSTREAM-JOIN-0000000014 (stores: [in-STATE-STORE-0000000000])
      --> KSTREAM-SINK-0000000015
      <-- KSTREAM-SOURCE-0000000012
    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])
      --> KSTREAM-SINK-0000000005
      <-- KTABLE-TRANSFORMVALUES-0000000003
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KTABLE-TRANSFORMVALUES-0000000006
    Processor: KTABLE-TOSTREAM-0000000010 (stores: [])
      --> KSTREAM-SINK-0000000011
      <-- named-tv
    Sink: KSTREAM-SINK-0000000005 (topic: out)
      <-- KTABLE-TOSTREAM-0000000004
    Sink: KSTREAM-SINK-0000000008 (topic: out2)
      <-- KTABLE-TOSTREAM-0000000007
    Sink: KSTREAM-SINK-0000000011 (topic: out3)
      <-- KTABLE-TOSTREAM-0000000010
    Sink: KSTREAM-SINK-0000000015 (topic: joined)
      <-- KSTREAM-JOIN-0000000014
    Processor: KTABLE-TRANSFORMVALUES-0000000013 (stores: [])
      --> none
      <-- KTABLE-SOURCE-0000000002

`,
    )
  })

  it('an unknown store name fails build(); a store not named is out of reach', () => {
    const unknown = new StreamsBuilder()
    unknown.table<string, string>('in').transformValues(same, 'nope')
    assert.throws(() => unknown.build(), { code: 'TRB_STREAMS_UNKNOWN_STORE', message: /nope/ })
    const unnamed = new StreamsBuilder()
    unnamed.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('s'), S, S))
    const t = unnamed.table<string, string>('in')
    t.transformValues(same, 's')
    t.transformValues(() => ({ init: (c) => c.getStateStore('s'), transform: (_k, v) => v }))
    assert.throws(() => new TopologyTestDriver(unnamed.build(), cfg), {
      code: 'TRB_STREAMS_UNKNOWN_STORE',
      message: /KTABLE-TRANSFORMVALUES-0000000004 has no access to state store s/,
    })
  })

  it("a lookup's transformer reaches only the stores of the processor looking up (Kafka Streams' limitation)", () => {
    const b = new StreamsBuilder()
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('s'), S, S))
    const tv = b
      .table<string, string>('tbl')
      .transformValues(() => ({ init: (c) => c.getStateStore('s'), transform: (_k, v) => v }), 's')
    b.stream<string, string>('str').join(tv, joiner).to('out')
    // Kafka Streams fails the same way: "failed to initialize processor KSTREAM-JOIN-0000000005".
    assert.throws(() => new TopologyTestDriver(b.build(), cfg), {
      code: 'TRB_STREAMS_UNKNOWN_STORE',
      message: /KSTREAM-JOIN-0000000005 has no access to state store s/,
    })
  })

  it('a supplier must make a new transformer on each call', () => {
    const t = new StreamsBuilder().table<string, string>('in')
    const shared = same()
    assert.throws(() => t.transformValues(() => shared), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message: /generates a single transformer reference/,
    })
    assert.throws(() => t.transformValues(() => null as never), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message: /returned null, not a transformer/,
    })
    assert.throws(() => t.transformValues({ get: same }, 'a', Named.as('late') as never), {
      code: 'TRB_STREAMS_INVALID_ARGUMENT',
      message: /store names must be strings/,
    })
  })
})
