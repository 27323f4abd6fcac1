/**
 * Stream-table and table-table joins, row by row from the "Join semantics" tables of Kafka Streams' developer guide
 * (stream-table inner/left, table-table inner/left/outer), plus foreign-key joins under updates, deletes and foreign
 * key changes of both sides, global-table joins and self joins.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  Consumed,
  Joined,
  KeyValue,
  Materialized,
  Serdes,
  StreamsBuilder,
  TableJoined,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'joins',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}
const joiner = (l: string | null, r: string | null) => `[${l},${r}]`

type Row = { left?: string | null; right?: string | null }

function driveJoin(build: (b: StreamsBuilder) => void, rows: Row[]): Array<Array<[string | null, number]>> {
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build(), cfg)
  try {
    const left = driver.createInputTopic('left', S, S)
    const right = driver.createInputTopic('right', S, S)
    const out = driver.createOutputTopic('out', S, S)
    const perRow: Array<Array<[string | null, number]>> = []
    rows.forEach((row, i) => {
      if ('left' in row) left.pipeInput('k', row.left ?? null, i + 1)
      if ('right' in row) right.pipeInput('k', row.right ?? null, i + 1)
      perRow.push(out.readRecordsToList().map((r) => [r.value, r.timestamp]))
    })
    return perRow
  } finally {
    driver.close()
  }
}

// The developer guide's input sequence (timestamps 1..14), shared by the stream-table and table-table tables.
const inputs: Row[] = [
  { left: null },
  { right: null },
  { left: 'A' },
  { right: 'a' },
  { left: 'B' },
  { right: 'b' },
  { left: null },
  { right: null },
  { left: 'C' },
  { right: 'c' },
  { left: null },
  { right: null },
  { right: 'd' },
  { left: 'D' },
]

function check(results: Array<Array<[string | null, number]>>, expected: Array<string | null | undefined>): void {
  results.forEach((got, i) => {
    const want = expected[i]
    assert.deepEqual(
      got.map(([v]) => v),
      want === undefined ? [] : [want],
      `row at timestamp ${i + 1}: got ${JSON.stringify(got)}`,
    )
  })
}

describe('KStream-KTable join (developer guide table)', () => {
  //                 ts: 1          2          3           4          5        6          7          8
  const inner = [
    undefined,
    undefined,
    undefined,
    undefined,
    '[B,a]',
    undefined,
    undefined,
    undefined,
    //  9          10         11         12         13         14
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    '[D,d]',
  ]
  const left = [
    undefined,
    undefined,
    '[A,null]',
    undefined,
    '[B,a]',
    undefined,
    undefined,
    undefined,
    '[C,null]',
    undefined,
    undefined,
    undefined,
    undefined,
    '[D,d]',
  ]

  for (const [name, expected] of [
    ['join', inner],
    ['leftJoin', left],
  ] as const) {
    it(`${name}: only stream records trigger, with the stream record's timestamp`, () => {
      const res = driveJoin((b) => {
        const t = b.table<string, string>('right')
        const s = b.stream<string, string>('left')
        const j = name === 'join' ? s.join(t, joiner) : s.leftJoin(t, joiner)
        j.to('out')
      }, inputs)
      check(res, expected)
      for (const [i, rows] of res.entries()) for (const [, ts] of rows) assert.equal(ts, i + 1)
    })
  }

  it('passes the key to a ValueJoinerWithKey and keeps null-key records in a left join', () => {
    const b = new StreamsBuilder()
    const t = b.table<string, string>('right')
    b.stream<string, string>('left')
      .leftJoin(t, (v, tv, k) => `${k}:${v}+${tv}`)
      .to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    const l = driver.createInputTopic('left', S, S)
    driver.createInputTopic('right', S, S).pipeInput('k', 't', 1)
    l.pipeInput('k', 'v', 2)
    l.pipeInput(null, 'w', 3)
    assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [
      KeyValue.pair('k', 'k:v+t'),
      KeyValue.pair(null, 'null:w+null'),
    ])
    driver.close()
  })

  it('repartitions a stream whose key changed before joining (co-partitioned with the table)', () => {
    const b = new StreamsBuilder()
    const t = b.table<string, string>('right')
    b.stream<string, string>('left')
      .selectKey((_k, v) => v.split(':')[0])
      .join(t, (v, tv) => `${v}|${tv}`, Joined.as('enrich'))
      .to('out')
    const topo = b.build()
    const desc = topo.describe().toString()
    assert.match(desc, /enrich-repartition/)
    const driver = new TopologyTestDriver(topo, cfg)
    driver.createInputTopic('right', S, S).pipeInput('u1', 'Ann', 1)
    driver.createInputTopic('left', S, S).pipeInput('x', 'u1:click', 2)
    assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [KeyValue.pair('u1', 'u1:click|Ann')])
    driver.close()
  })

  it('rejects a grace period: tables here are not versioned', () => {
    const b = new StreamsBuilder()
    const t = b.table<string, string>('right')
    assert.throws(
      () =>
        b.stream<string, string>('left').join(t, joiner, Joined.as<string, string, string>('j').withGracePeriod(10)),
      (e: Error & { code?: string }) => e.code === 'TRB_STREAMS_INVALID_ARGUMENT' && /versioned/.test(e.message),
    )
  })
})

describe('KStream-GlobalKTable join', () => {
  for (const left of [false, true]) {
    it(`${left ? 'leftJoin' : 'join'} maps each record to the table key with the key selector`, () => {
      const b = new StreamsBuilder()
      const g = b.globalTable<string, string>('users')
      const s = b.stream<string, string>('left')
      const sel = (_k: string, v: string) => (v.includes(':') ? v.split(':')[0] : (null as unknown as string))
      const j = left ? s.leftJoin(g, sel, (v, u) => `${v}/${u}`) : s.join(g, sel, (v, u) => `${v}/${u}`)
      j.to('out')
      const driver = new TopologyTestDriver(b.build(), cfg)
      driver.createInputTopic('users', S, S).pipeInput('u1', 'Ann', 1)
      const l = driver.createInputTopic('left', S, S)
      l.pipeInput('a', 'u1:x', 2)
      l.pipeInput('b', 'u2:y', 3)
      l.pipeInput('c', 'nokey', 4)
      const out = driver.createOutputTopic('out', S, S).readKeyValuesToList()
      assert.deepEqual(
        out,
        left
          ? [KeyValue.pair('a', 'u1:x/Ann'), KeyValue.pair('b', 'u2:y/null'), KeyValue.pair('c', 'nokey/null')]
          : [KeyValue.pair('a', 'u1:x/Ann')],
      )
      driver.close()
    })
  }
})

describe('KTable-KTable join (developer guide table)', () => {
  const inner = [
    undefined,
    undefined,
    undefined,
    '[A,a]',
    '[B,a]',
    '[B,b]',
    null,
    undefined,
    undefined,
    '[C,c]',
    null,
    undefined,
    undefined,
    '[D,d]',
  ]
  const left = [
    undefined,
    undefined,
    '[A,null]',
    '[A,a]',
    '[B,a]',
    '[B,b]',
    null,
    undefined,
    '[C,null]',
    '[C,c]',
    null,
    undefined,
    undefined,
    '[D,d]',
  ]
  const outer = [
    undefined,
    undefined,
    '[A,null]',
    '[A,a]',
    '[B,a]',
    '[B,b]',
    '[null,b]',
    null,
    '[C,null]',
    '[C,c]',
    '[null,c]',
    null,
    '[null,d]',
    '[D,d]',
  ]
  for (const [name, expected] of [
    ['join', inner],
    ['leftJoin', left],
    ['outerJoin', outer],
  ] as const) {
    it(`${name}: either side triggers; the result timestamp is the larger input timestamp`, () => {
      const res = driveJoin((b) => {
        const l = b.table<string, string>('left')
        const r = b.table<string, string>('right')
        const j =
          name === 'join' ? l.join(r, joiner) : name === 'leftJoin' ? l.leftJoin(r, joiner) : l.outerJoin(r, joiner)
        j.toStream().to('out')
      }, inputs)
      check(res, expected)
      for (const [i, rows] of res.entries()) for (const [, ts] of rows) assert.equal(ts, i + 1)
    })
  }

  it('timestamps: an update of the older side carries the newer side timestamp', () => {
    const b = new StreamsBuilder()
    b.table<string, string>('left').join(b.table<string, string>('right'), joiner).toStream().to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    driver.createInputTopic('right', S, S).pipeInput('k', 'r', 50)
    driver.createInputTopic('left', S, S).pipeInput('k', 'l', 10)
    const [rec] = driver.createOutputTopic('out', S, S).readRecordsToList()
    assert.equal(rec.value, '[l,r]')
    assert.equal(rec.timestamp, 50)
    driver.close()
  })

  it('materialized result is queryable, and old values propagate downstream (groupBy subtracts them)', () => {
    const b = new StreamsBuilder()
    const l = b.table<string, string>('left')
    const r = b.table<string, string>('right')
    l.join(r, (_a, c) => `${c}`, Materialized.as<string, string>('joined'))
      .groupBy((k, v) => KeyValue.pair(v, k))
      .count()
      .toStream()
      .to('out', { valueSerde: Serdes.Long() } as never)
    const driver = new TopologyTestDriver(b.build(), cfg)
    const li = driver.createInputTopic('left', S, S)
    const ri = driver.createInputTopic('right', S, S)
    ri.pipeInput('k1', 'red', 1)
    ri.pipeInput('k2', 'red', 1)
    li.pipeInput('k1', 'x', 2)
    li.pipeInput('k2', 'y', 3)
    ri.pipeInput('k1', 'blue', 4)
    const store = driver.getKeyValueStore<string, string>('joined')
    assert.ok(store, 'the materialized join result is a store')
    assert.equal(store.get('k1'), 'blue')
    assert.equal(store.get('k2'), 'red')
    const counts = driver.createOutputTopic('out', S, Serdes.Long()).readKeyValuesToMap()
    assert.equal(Number(counts.get('red')), 1)
    assert.equal(Number(counts.get('blue')), 1)
    driver.close()
  })

  it('self join: a table joined with itself', () => {
    const b = new StreamsBuilder()
    const t = b.table<string, string>('left')
    t.join(t, (a, c) => `${a}${c}`)
      .toStream()
      .to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    const li = driver.createInputTopic('left', S, S)
    li.pipeInput('k', 'x', 1)
    li.pipeInput('k', null, 2)
    const out = driver.createOutputTopic('out', S, S).readValuesToList()
    // Both join processors see the same change and look up the same (already updated) store, as in Kafka Streams:
    // the insert is emitted by each side, and the delete by neither (the other side is already gone).
    assert.deepEqual(out, ['xx', 'xx'])
    driver.close()
  })

  it('self join: a stream joined with its own table', () => {
    const b = new StreamsBuilder()
    const s = b.stream<string, string>('left')
    const t = b.table<string, string>('right')
    s.join(t, joiner).to('out')
    s.leftJoin(t, joiner).to('out2')
    const driver = new TopologyTestDriver(b.build(), cfg)
    driver.createInputTopic('left', S, S).pipeInput('k', 'v', 1)
    assert.deepEqual(driver.createOutputTopic('out2', S, S).readValuesToList(), ['[v,null]'])
    assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), [])
    driver.close()
  })
})

describe('foreign-key KTable-KTable join', () => {
  // Orders (left, value "<product>:<qty>") joined with products (right) on the product id.
  function fk(left: boolean, named?: string) {
    const b = new StreamsBuilder()
    const orders = b.table<string, string>('orders')
    const products = b.table<string, string>('products')
    const fkOf = (v: string) => (v.split(':')[0] === '' ? (null as unknown as string) : v.split(':')[0])
    const j = (a: string | null, p: string | null) => `${a}&${p}`
    const tj = named ? TableJoined.as<string, string>(named) : undefined
    const res = left ? orders.leftJoin(products, fkOf, j, tj) : orders.join(products, fkOf, j, tj)
    res.toStream().to('out')
    const topology = b.build()
    const driver = new TopologyTestDriver(topology, cfg)
    return {
      topology,
      driver,
      order: driver.createInputTopic('orders', S, S),
      product: driver.createInputTopic('products', S, S),
      out: driver.createOutputTopic('out', S, S),
    }
  }

  it('names the subscription and response topics as Kafka Streams does', () => {
    const { topology, driver } = fk(false)
    const desc = topology.describe().toString()
    assert.match(desc, /KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-\d{10}-topic/)
    assert.match(desc, /KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-\d{10}-topic/)
    driver.close()
    const named = fk(false, 'enrich')
    const d2 = named.topology.describe().toString()
    assert.match(d2, /enrich-subscription-registration-topic/)
    assert.match(d2, /enrich-subscription-response-topic/)
    named.driver.close()
  })

  for (const left of [false, true]) {
    it(`${left ? 'leftJoin' : 'join'}: updates, deletes and foreign-key changes on both sides`, () => {
      const { driver, order, product, out } = fk(left)
      const step = (f: () => void) => {
        f()
        return out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])
      }
      // Order before its product: a left join emits with null, an inner join nothing.
      assert.deepEqual(
        step(() => order.pipeInput('o1', 'p1:2', 1)),
        left ? [['o1', 'p1:2&null', 1]] : [],
      )
      // The product arrives: the order is joined; timestamp is the max.
      assert.deepEqual(
        step(() => product.pipeInput('p1', 'Pen', 5)),
        [['o1', 'p1:2&Pen', 5]],
      )
      // The order changes but keeps its foreign key.
      assert.deepEqual(
        step(() => order.pipeInput('o1', 'p1:3', 6)),
        [['o1', 'p1:3&Pen', 6]],
      )
      // The product changes: every subscriber is updated.
      order.pipeInput('o2', 'p1:1', 7)
      out.readRecordsToList()
      const upd = step(() => product.pipeInput('p1', 'Pencil', 8))
      assert.deepEqual(upd.sort(), [
        ['o1', 'p1:3&Pencil', 8],
        ['o2', 'p1:1&Pencil', 8],
      ])
      // Foreign key change to a product that does not exist.
      assert.deepEqual(
        step(() => order.pipeInput('o1', 'p2:3', 9)),
        [['o1', left ? 'p2:3&null' : null, 9]],
      )
      // The old product changes: o1 no longer subscribed to it.
      assert.deepEqual(
        step(() => product.pipeInput('p1', 'Pen2', 10)),
        [['o2', 'p1:1&Pen2', 10]],
      )
      // The new product arrives.
      assert.deepEqual(
        step(() => product.pipeInput('p2', 'Ink', 11)),
        [['o1', 'p2:3&Ink', 11]],
      )
      // The product is deleted.
      assert.deepEqual(
        step(() => product.pipeInput('p2', null, 12)),
        [['o1', left ? 'p2:3&null' : null, 12]],
      )
      // The order is deleted.
      assert.deepEqual(
        step(() => order.pipeInput('o2', null, 13)),
        [['o2', null, 13]],
      )
      // A deleted order no longer follows its product.
      assert.deepEqual(
        step(() => product.pipeInput('p1', 'Pen3', 14)),
        [],
      )
      // A null foreign key: left join keeps the row (with null), inner join deletes the earlier result.
      order.pipeInput('o3', 'p1:1', 15)
      out.readRecordsToList()
      assert.deepEqual(
        step(() => order.pipeInput('o3', ':1', 16)),
        [['o3', left ? ':1&null' : null, 16]],
      )
      driver.close()
    })
  }

  it('a response overtaken by a newer left value is dropped (hash check)', () => {
    // A foreign-key change and back within one batch: only results for the current value are emitted.
    const { driver, order, product, out } = fk(false)
    product.pipeInput('p1', 'Pen', 1)
    product.pipeInput('p2', 'Ink', 1)
    order.pipeInput('o1', 'p1:1', 2)
    order.pipeInput('o1', 'p2:1', 3)
    const values = out.readRecordsToList().map((r) => r.value)
    assert.equal(values.at(-1), 'p2:1&Ink')
    assert.ok(
      !values.includes(null as unknown as string) || values.indexOf(null as unknown as string) < values.length - 1,
    )
    driver.close()
  })
})

describe('join argument errors', () => {
  it('rejects a joiner that is not a function and tables from another builder', () => {
    const b = new StreamsBuilder()
    const other = new StreamsBuilder()
    const t = b.table<string, string>('right', Consumed.with(S, S))
    assert.throws(() => b.stream<string, string>('left').join(t, 'x' as never), /joiner/)
    assert.throws(
      () => b.stream<string, string>('left').join(other.table<string, string>('x'), joiner),
      /same StreamsBuilder/,
    )
  })
})
