/**
 * tributary/streams joins against Kafka Streams itself (test-interop/java/src/JoinTopologies.java): stream-table,
 * table-table (inner, left, outer) and foreign-key joins built with each library, fed the same random inputs
 * (keys, tombstones, foreign-key changes, timestamps out of order), compared record for record.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Joined, Serdes } from '../src/streams/index.ts'
import {
  driveStringTopology,
  type OracleRecord,
  type OracleTopology,
  runStreamsOracleCases,
} from '../test/helpers/streams-oracle.ts'

const RUNS = 60
const S = Serdes.String()
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`
const foreignKey = (v: string) => {
  const i = v.indexOf(':')
  const fk = i < 0 ? v : v.slice(0, i)
  return fk === '' ? (null as unknown as string) : fk
}

const drive = driveStringTopology

const streamTable = drive(
  (b) => {
    const s = b.stream<string, string>('orders')
    const t = b.table<string, string>('users')
    s.join(t, joiner).to('inner-out')
    s.leftJoin(t, joiner).to('left-out')
  },
  ['orders', 'users'],
  ['inner-out', 'left-out'],
)

const tableTable = drive(
  (b) => {
    const l = b.table<string, string>('left-table')
    const r = b.table<string, string>('right-table')
    l.join(r, joiner).toStream().to('inner-out')
    l.leftJoin(r, joiner).toStream().to('left-out')
    l.outerJoin(r, joiner).toStream().to('outer-out')
  },
  ['left-table', 'right-table'],
  ['inner-out', 'left-out', 'outer-out'],
)

const fkJoin = drive(
  (b) => {
    const orders = b.table<string, string>('orders')
    const products = b.table<string, string>('products')
    orders.join(products, foreignKey, joiner).toStream().to('fk-inner-out')
    orders.leftJoin(products, foreignKey, joiner).toStream().to('fk-left-out')
  },
  ['orders', 'products'],
  ['fk-inner-out', 'fk-left-out'],
)

const selfJoin = drive(
  (b) => {
    const t = b.table<string, string>('left-table')
    t.join(t, joiner).toStream().to('inner-out')
    t.outerJoin(t, joiner).toStream().to('outer-out')
    b.stream<string, string>('orders').leftJoin(t, joiner).to('left-out')
  },
  ['left-table', 'orders'],
  ['inner-out', 'outer-out', 'left-out'],
)

const rekeyGlobal = drive(
  (b) => {
    const users = b.table<string, string>('users')
    const regions = b.globalTable<string, string>('regions')
    const clicks = b.stream<string, string>('clicks')
    clicks
      .selectKey((_k, v) => v.slice(0, v.indexOf(':')))
      .leftJoin(users, joiner, Joined.with(S, S, S, 'by-user'))
      .to('rekey-out')
    const sel = (k: string, v: string) => (v.endsWith('!') ? (null as unknown as string) : k)
    clicks.join(regions, sel, joiner).to('global-inner-out')
    clicks.leftJoin(regions, sel, joiner).to('global-left-out')
  },
  ['users', 'regions', 'clicks'],
  ['rekey-out', 'global-inner-out', 'global-left-out'],
)

const timestamp = fc.integer({ min: 0, max: 10_000 })
const keys = fc.constantFrom('k1', 'k2', 'k3')
const value = (topic: string, values: string[], nullKeys = false) =>
  fc.record({
    topic: fc.constant(topic),
    key: nullKeys ? fc.option(keys, { nil: null, freq: 8 }) : keys,
    value: fc.option(fc.constantFrom(...values), { nil: null, freq: 4 }),
    timestamp,
  })

const streamTableInputs = fc.array(fc.oneof(value('orders', ['A', 'B', 'C'], true), value('users', ['a', 'b', 'c'])), {
  maxLength: 16,
})
const tableTableInputs = fc.array(fc.oneof(value('left-table', ['A', 'B', 'C']), value('right-table', ['a', 'b'])), {
  maxLength: 16,
})
const selfJoinInputs = fc.array(fc.oneof(value('left-table', ['A', 'B']), value('orders', ['x', 'y'])), {
  maxLength: 14,
})
const rekeyGlobalInputs = fc.array(
  fc.oneof(
    value('users', ['Ann', 'Bob']),
    value('regions', ['eu', 'us']),
    fc.record({
      topic: fc.constant('clicks'),
      key: fc.option(keys, { nil: null, freq: 8 }),
      value: fc.constantFrom('k1:/a', 'k2:/b', 'k3:/c!', 'k1:/d!'),
      timestamp,
    }),
  ),
  { maxLength: 16 },
)
const fkInputs = fc.array(
  fc.oneof(
    value('orders', ['p1:1', 'p1:2', 'p2:1', 'p3:5', ':9']),
    fc.record({
      topic: fc.constant('products'),
      key: fc.constantFrom('p1', 'p2', 'p3'),
      value: fc.option(fc.constantFrom('Pen', 'Ink', 'Cap'), { nil: null, freq: 4 }),
      timestamp,
    }),
  ),
  { maxLength: 18 },
)

async function compare(
  topology: OracleTopology,
  inputs: fc.Arbitrary<OracleRecord[]>,
  twin: (r: OracleRecord[]) => OracleRecord[],
  tombstones = true,
) {
  const cases = fc.sample(inputs, { numRuns: RUNS, seed: 12 })
  cases.push([])
  const expected = await runStreamsOracleCases(topology, cases)
  assert.ok(expected.flat().length > RUNS, `Kafka Streams answered ${expected.flat().length} records`)
  if (tombstones)
    assert.ok(
      expected.flat().some((o) => o.value === null),
      'some cases produce tombstones',
    )
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(twin(cases[i]!), expected[i], `case ${i}: input ${JSON.stringify(cases[i])}`)
  }
}

describe('tributary/streams joins against Kafka Streams 4.x (TopologyTestDriver), random inputs', () => {
  test('KStream-KTable join and leftJoin', async () => {
    await compare('stream-table-join', streamTableInputs, streamTable, false)
  })
  test('KTable-KTable join, leftJoin and outerJoin', async () => {
    await compare('table-table-join', tableTableInputs, tableTable)
  })
  test('self joins: a table with itself, a stream with its own table', async () => {
    await compare('self-join', selfJoinInputs, selfJoin)
  })
  test('re-keyed stream-table join (repartitioned) and KStream-GlobalKTable join / leftJoin', async () => {
    await compare('rekey-global-join', rekeyGlobalInputs, rekeyGlobal, false)
  })
  test('foreign-key KTable-KTable join and leftJoin', async () => {
    await compare('fk-join', fkInputs, fkJoin)
  })
})
