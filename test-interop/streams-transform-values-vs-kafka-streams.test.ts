/**
 * tributary/streams KTable.transformValues against Kafka Streams itself (test-interop/java/src/
 * TransformValuesTopologies.java): a stateless transformer seeing tombstones, looked up by a stream-table and a
 * table-table join (the value getter transforms the parent's value, a missing one too) and re-grouped (old values
 * transformed again); a stateful one counting in a named store, materialized (old values from its store); below a
 * versioned table, unmaterialized and materialized in versioned and timestamped stores. Built with each library,
 * fed the same random inputs with timestamps out of order, compared record for record.
 *
 * Run: node --test --import tsx test-interop/streams-transform-values-vs-kafka-streams.test.ts (needs mvn and a JDK).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  Consumed,
  Grouped,
  KeyValue,
  type KeyValueStore,
  Materialized,
  Serdes,
  Stores,
  type StreamsBuilder,
  type ValueTransformerWithKey,
} from '../src/streams/index.ts'
import {
  driveStringTopology,
  type OracleRecord,
  type OracleTopology,
  runStreamsOracleCases,
} from '../test/helpers/streams-oracle.ts'

const RUNS = 60
const S = Serdes.String()
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`
const g = Grouped.with(S, S)
const inputs = ['orders', 'users', 'left-table']

const drive = (build: (b: StreamsBuilder) => void, outputs: string[]) => driveStringTopology(build, inputs, outputs)

const exclamation = () => ({ transform: (key: string, value: string | null) => `${key}->${value}!` })
const upper = () => ({
  transform: (_key: string, value: string | null) => (value === null ? null : value.toUpperCase()),
})
const counting = (): ValueTransformerWithKey<string, string, string> => {
  let counts: KeyValueStore<string, number>
  return {
    init: (context) => {
      counts = context.getStateStore('tv-counts')
    },
    transform: (key, value) => {
      const next = (counts.get(key) ?? 0) + 1
      counts.put(key, next)
      return value === null ? null : `${value}#${next}`
    },
  }
}
const firstLetterOfValue = (v: string) => v.charAt(v.indexOf('>') + 1)
const inMemory = (name: string) =>
  Materialized.as<string, string>(Stores.inMemoryKeyValueStore(name)).withKeySerde(S).withValueSerde(S)
const versionedStore = (name: string) =>
  Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore(name, 3000)).withKeySerde(S).withValueSerde(S)
const countToString = (n: number | null) => String(n)

const transformValues = drive(
  (b) => {
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('tv-counts'), S, Serdes.Long()))
    const orders = b.stream<string, string>('orders', Consumed.with(S, S))
    const users = b.table<string, string>('users', Consumed.with(S, S))
    const left = b.table<string, string>('left-table', Consumed.with(S, S))
    const tv = users.transformValues(exclamation)
    tv.toStream().to('tv-out')
    orders.leftJoin(tv, joiner).to('stream-join-out')
    left.join(tv, joiner).toStream().to('table-join-out')
    tv.groupBy((_k, v) => KeyValue.pair(firstLetterOfValue(v), v), g)
      .count()
      .toStream()
      .mapValues(countToString)
      .to('count-out')
    const mat = users.transformValues(counting, inMemory('tv-store'), 'tv-counts')
    mat.toStream().to('mat-out')
    mat
      .groupBy((_k, v) => KeyValue.pair(v.slice(v.indexOf('#') + 1), v), g)
      .count()
      .toStream()
      .mapValues(countToString)
      .to('mat-count-out')
  },
  ['tv-out', 'stream-join-out', 'table-join-out', 'count-out', 'mat-out', 'mat-count-out'],
)

const transformValuesVersioned = drive(
  (b) => {
    const orders = b.stream<string, string>('orders', Consumed.with(S, S))
    const users = b.table<string, string>('users', Consumed.with(S, S), versionedStore('users-store'))
    const left = b.table<string, string>('left-table', Consumed.with(S, S))
    const tv = users.transformValues(upper)
    tv.toStream().to('stream-out')
    left.join(tv, joiner).toStream().to('inherited-join-out')
    tv.groupBy((_k, v) => KeyValue.pair(v, v), g)
      .count()
      .toStream()
      .mapValues(countToString)
      .to('count-out')
    orders.join(tv, joiner).to('stream-join-out')
    users.transformValues(upper, versionedStore('tv-versioned')).toStream().to('versioned-out')
    left
      .join(users.transformValues(upper, inMemory('tv-plain')), joiner)
      .toStream()
      .to('plain-join-out')
  },
  ['stream-out', 'inherited-join-out', 'count-out', 'stream-join-out', 'versioned-out', 'plain-join-out'],
)

// Timestamps jump around a wide range so that versioned updates come out of order and some expire (3000 ms).
const keys = fc.constantFrom('k1', 'k2', 'k3')
const record = (topic: string, values: string[]) =>
  fc.record({
    topic: fc.constant(topic),
    key: keys,
    value: fc.option(fc.constantFrom(...values), { nil: null, freq: 5 }),
    timestamp: fc.integer({ min: 0, max: 8_000 }),
  })
const arb = fc.array(
  fc.oneof(record('orders', ['A', 'B']), record('users', ['a', 'b', 'c']), record('left-table', ['L', 'M'])),
  { maxLength: 32 },
)

async function compare(topology: OracleTopology, twin: (r: OracleRecord[]) => OracleRecord[]) {
  const cases = fc.sample(arb, { numRuns: RUNS, seed: 29 })
  cases.push([])
  const expected = await runStreamsOracleCases(topology, cases)
  assert.ok(expected.flat().length > RUNS, `Kafka Streams answered ${expected.flat().length} records`)
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(twin(cases[i]!), expected[i], `case ${i}: input ${JSON.stringify(cases[i])}`)
  }
}

describe('tributary/streams KTable.transformValues against Kafka Streams 4.x (TopologyTestDriver), random inputs', () => {
  test('stateless and stateful transformers: tombstones, value getter lookups, old values for groupBy', async () => {
    await compare('transform-values', transformValues)
  })
  test('below a versioned table: inherited versioned semantics, versioned and timestamped stores', async () => {
    await compare('transform-values-versioned', transformValuesVersioned)
  })
})
