import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BufferConfig,
  KeyValue,
  Materialized,
  type ProcessorContext,
  Serdes,
  type SessionStore,
  SessionWindow,
  SessionWindows,
  SlidingWindows,
  Stores,
  type Record as StreamRecord,
  StreamsBuilder,
  Suppressed,
  TimeWindow,
  TimeWindows,
  Topology,
  Windowed,
  WindowedSerdes,
  type WindowStore,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'win',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}

type In = [string, string, number]
const fmt = (w: Windowed<string>) => `${w.key}@${w.window.startMs}/${w.window.endMs}`

/** Builds, pipes and returns [windowed key, value, timestamp] of the output, plus the driver. */
function run(build: (b: StreamsBuilder) => void, inputs: In[], extra: Record<string, unknown> = {}) {
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build(), { ...cfg, ...extra })
  const input = driver.createInputTopic('in', S, S)
  for (const [k, v, t] of inputs) input.pipeInput(k, v, t)
  const out = driver
    .createOutputTopic('out', S, S)
    .readRecordsToList()
    .map((r) => [r.key, r.value, r.timestamp] as const)
  const dropped = driver.metrics().get('stream-task-metrics:dropped-records-total')
  driver.close()
  return { out, dropped }
}

function toOut<V>(t: import('../../src/streams/index.ts').KTable<Windowed<string>, V>) {
  t.toStream()
    .map((w, v) => KeyValue.pair(fmt(w), v === null ? null : String(v)))
    .to('out')
}

describe('time windows', () => {
  it('tumbling count: one window per size, late records dropped and counted in dropped-records', () => {
    const { out, dropped } = run(
      (b) => toOut(b.stream<string, string>('in').groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count()),
      [
        ['a', '1', 0],
        ['a', '2', 5],
        ['a', '3', 10],
        ['b', '4', 3],
        ['a', '5', 4],
      ],
    )
    // b@3 arrives at stream time 10: window [0,10) closed (end 10 <= 10 - 0), so it is late too.
    assert.deepEqual(out, [
      ['a@0/10', '1', 0],
      ['a@0/10', '2', 5],
      ['a@10/20', '1', 10],
    ])
    assert.equal(dropped, 2)
  })

  it('late.records.dead.letter.topic receives the late input records with the reason in headers', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in').groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count()
    const driver = new TopologyTestDriver(b.build(), { ...cfg, 'late.records.dead.letter.topic': 'late' })
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('a', 'on-time', 15)
    input.pipeInput('a', 'late', 3)
    const late = driver.createOutputTopic('late', S, S).readRecordsToList()
    assert.deepEqual(
      late.map((r) => [r.key, r.value, r.timestamp]),
      [['a', 'late', 3]],
    )
    const exception = late[0]!.headers.lastHeader('__streams.errors.exception')?.value?.toString()
    assert.match(exception ?? '', /too late/)
    driver.close()
  })

  it('hopping windows: a record counts in every window that holds it; timestamp is the max of the window', () => {
    const { out } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>('in')
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(10, 100).advanceBy(5))
            .count(),
        ),
      [
        ['a', 'x', 7],
        ['a', 'y', 3],
        ['a', 'z', 12],
      ],
    )
    assert.deepEqual(out, [
      ['a@0/10', '1', 7],
      ['a@5/15', '1', 7],
      ['a@0/10', '2', 7],
      ['a@5/15', '2', 12],
      ['a@10/20', '1', 12],
    ])
  })

  it('grace: out-of-order records are accepted until window end + grace', () => {
    const { out, dropped } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>('in')
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
            .reduce((a, v) => a + v),
        ),
      [
        ['k', 'a', 12],
        ['k', 'b', 4], // stream time 12, close time 7 < 10: accepted
        ['k', 'c', 16], // close time 11
        ['k', 'd', 3], // window [0,10) closed: dropped
      ],
    )
    assert.deepEqual(out, [
      ['k@10/20', 'a', 12],
      ['k@0/10', 'b', 4],
      ['k@10/20', 'ac', 16],
    ])
    assert.equal(dropped, 1)
  })

  it('aggregate with a named window store, queried through the window store API', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .aggregate(
        () => '',
        (_k, v, agg) => agg + v,
        Materialized.as<string, string>('agg-store').withValueSerde(S).withRetention(1000),
      )
    const driver = new TopologyTestDriver(b.build(), cfg)
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('a', 'x', 1)
    input.pipeInput('a', 'y', 11)
    input.pipeInput('b', 'z', 12)
    input.pipeInput('a', 'w', 15)
    const store = driver.getWindowStore<string, { value: string; timestamp: number }>('agg-store')!
    assert.deepEqual(store.fetch('a', 10), { value: 'yw', timestamp: 15 })
    assert.deepEqual(
      [...store.fetch('a', 0, 100)].map((kv) => [kv.key, kv.value.value]),
      [
        [0, 'x'],
        [10, 'yw'],
      ],
    )
    assert.deepEqual(
      [...store.backwardFetch('a', 0, 100)].map((kv) => kv.key),
      [10, 0],
    )
    assert.deepEqual(
      [...store.fetchAll(10, 10)].map((kv) => `${fmt(kv.key)}=${kv.value.value}`),
      ['a@10/20=yw', 'b@10/20=z'],
    )
    assert.deepEqual(
      [...store.all()].map((kv) => fmt(kv.key)),
      ['a@0/10', 'a@10/20', 'b@10/20'],
    )
    driver.close()
  })

  it('rejects a retention shorter than window size + grace, and bad window specs', () => {
    const b = new StreamsBuilder()
    assert.throws(
      () =>
        b
          .stream<string, string>('in')
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
          .count(Materialized.as<string, number>('s').withRetention(12)),
      { code: 'TRB_STREAMS_INVALID_ARGUMENT' },
    )
    assert.throws(() => TimeWindows.ofSizeWithNoGrace(0), { code: 'TRB_STREAMS_INVALID_ARGUMENT' })
    assert.throws(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11), { code: 'TRB_STREAMS_INVALID_ARGUMENT' })
  })
})

describe('session windows', () => {
  it('a record between two sessions merges them: old sessions are deleted, the merged one emitted', () => {
    const { out } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>('in')
            .groupByKey()
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 100))
            .count(),
        ),
      [
        ['a', '1', 0],
        ['a', '2', 10],
        ['a', '3', 5],
        ['a', '4', 30],
      ],
    )
    assert.deepEqual(out, [
      ['a@0/0', '1', 0],
      ['a@10/10', '1', 10],
      ['a@0/0', null, 0],
      ['a@10/10', null, 10],
      ['a@0/10', '3', 10],
      ['a@30/30', '1', 30],
    ])
  })

  it('late sessions (end < stream time - gap - grace) are dropped; reduce and aggregate with a merger', () => {
    const { out, dropped } = run(
      (b) => {
        const w = b.stream<string, string>('in').groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5))
        w.reduce((a, v) => a + v)
          .toStream()
          .map((k, v) => KeyValue.pair(fmt(k), v))
          .to('out')
        w.aggregate(
          () => '',
          (_k, v, a) => a + v,
          (_k, a1, a2) => `${a1}|${a2}`,
          Materialized.with<string, string>(S, S),
        )
          .toStream()
          .map((k, v) => KeyValue.pair(`agg:${fmt(k)}`, v))
          .to('out')
      },
      [
        ['a', 'x', 0],
        ['a', 'y', 4],
        ['a', 'z', 20],
        ['a', 'late', 1], // stream time 20, close time 15: session [0,4] would end at 4 < 15
      ],
    )
    assert.deepEqual(
      out.map(([k, v]) => `${k}=${v}`),
      [
        'a@0/0=x',
        'agg:a@0/0=x',
        'a@0/0=null',
        'a@0/4=xy',
        'agg:a@0/0=null',
        'agg:a@0/4=|xy',
        'a@20/20=z',
        'agg:a@20/20=z',
      ],
    )
    assert.equal(dropped, 2)
  })

  it('session store API: findSessions, fetchSession, fetch', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('in')
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 1000))
      .count(Materialized.as<string, number>('sessions'))
    const driver = new TopologyTestDriver(b.build(), cfg)
    const input = driver.createInputTopic('in', S, S)
    for (const [k, t] of [
      ['a', 0],
      ['a', 3],
      ['a', 20],
      ['b', 2],
    ] as const)
      input.pipeInput(k, 'v', t)
    const store = driver.getSessionStore<string, number>('sessions')!
    assert.deepEqual(
      [...store.findSessions('a', 0, 100)].map((kv) => `${fmt(kv.key)}=${kv.value}`),
      ['a@0/3=2', 'a@20/20=1'],
    )
    assert.deepEqual(
      [...store.findSessions('a', 10, 100)].map((kv) => fmt(kv.key)),
      ['a@20/20'],
    )
    assert.equal(store.fetchSession('a', 0, 3), 2)
    assert.equal(store.fetchSession('a', 0, 4), undefined)
    assert.deepEqual(
      [...store.backwardFetch('a')].map((kv) => fmt(kv.key)),
      ['a@20/20', 'a@0/3'],
    )
    assert.deepEqual(
      [...store.fetch('a', 'b')].map((kv) => fmt(kv.key)),
      ['a@0/3', 'a@20/20', 'b@2/2'],
    )
    driver.close()
  })
})

/** The final sliding-window table by definition: a left window [t-d, t] per record (all early ones in [0, d]) and a
 * right window [t+1, t+1+d] per record when a later record falls in it. */
function slidingByDefinition(times: number[], d: number): Map<string, number> {
  const out = new Map<string, number>()
  const count = (s: number, e: number) => times.filter((t) => t >= s && t <= e).length
  for (const t of times) {
    const s = Math.max(0, t - d)
    out.set(`k@${s}/${s + d}`, count(s, s + d))
    if (times.some((u) => u > t && u <= t + 1 + d)) out.set(`k@${t + 1}/${t + 1 + d}`, count(t + 1, t + 1 + d))
  }
  return out
}

describe('sliding windows', () => {
  it('final counts equal the definition, in order and shuffled within grace', () => {
    const d = 10
    const times = [3, 8, 15, 15, 22, 40, 41, 47, 60, 65, 66, 90]
    const expected = slidingByDefinition(times, d)
    let seed = 7
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (const order of [times, [...times].sort(() => rand() - 0.5)]) {
      const { out, dropped } = run(
        (b) =>
          toOut(
            b
              .stream<string, string>('in')
              .groupByKey()
              .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(d, 1000))
              .count(),
          ),
        order.map((t) => ['k', 'v', t] as In),
      )
      const final = new Map<string, number>()
      for (const [k, v] of out) final.set(k!, Number(v))
      assert.deepEqual(final, expected)
      assert.equal(dropped, 0)
    }
  })
})

describe('suppress', () => {
  it('untilWindowCloses emits one final result per window once stream time passes end + grace', () => {
    const { out } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>('in')
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(10, 2))
            .count()
            .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded())),
        ),
      [
        ['b', '1', 1],
        ['a', '1', 2],
        ['a', '1', 9],
        ['a', '1', 11], // stream time 11 < 10 + 2: nothing yet
        ['b', '1', 8], // accepted late (close time 9)
        ['c', '1', 12], // stream time 12: [0,10) closes
        ['a', '1', 25],
      ],
    )
    assert.deepEqual(out, [
      ['a@0/10', '2', 9],
      ['b@0/10', '2', 8],
      ['a@10/20', '1', 11],
      ['c@10/20', '1', 12],
    ])
  })

  it('untilTimeLimit: at most one update per key per time limit; maxRecords emits early when full', () => {
    const build = (config: BufferConfig) => (b: StreamsBuilder) =>
      b.stream<string, string>('in').toTable().suppress(Suppressed.untilTimeLimit(10, config)).toStream().to('out')
    const inputs: In[] = [
      ['a', '1', 0],
      ['a', '2', 5],
      ['b', '1', 6],
      ['a', '3', 10], // a's first buffered time 0 <= 10 - 10: emits a=3
      ['c', '1', 30], // b emitted (6 <= 20)
    ]
    assert.deepEqual(
      run(build(BufferConfig.unbounded()), inputs).out.map(([k, v, t]) => `${k}=${v}@${t}`),
      ['a=3@10', 'b=1@6'],
    )
    assert.deepEqual(
      run(build(BufferConfig.maxRecords(1)), inputs).out.map(([k, v, t]) => `${k}=${v}@${t}`),
      ['a=2@5', 'b=1@6', 'a=3@10'],
    )
  })

  it('shutDownWhenFull fails with TRB_STREAMS_BUFFER_FULL', () => {
    assert.throws(
      () =>
        run(
          (b) =>
            toOut(
              b
                .stream<string, string>('in')
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
                .count()
                .suppress(Suppressed.untilWindowCloses(BufferConfig.maxRecords(1).shutDownWhenFull())),
            ),
          [
            ['a', '1', 1],
            ['b', '1', 2],
          ],
        ),
      (e: Error & { code?: string; cause?: { code?: string } }) =>
        e.code === 'TRB_STREAMS_BUFFER_FULL' || e.cause?.code === 'TRB_STREAMS_BUFFER_FULL',
    )
  })

  it('untilWindowCloses on a table that is not windowed is a clear error', () => {
    const b = new StreamsBuilder()
    assert.throws(
      () => b.stream<string, string>('in').toTable().suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded())),
      { code: 'TRB_STREAMS_INVALID_TOPOLOGY' },
    )
  })
})

describe('window stores: Kafka layouts, LMDB, serdes', () => {
  it('changelog keys are Kafka window/session store keys; values are logged with the window timestamp', () => {
    const b = new StreamsBuilder()
    const g = b.stream<string, string>('in').groupByKey()
    g.windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count(Materialized.as<string, number>('tw'))
    g.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5)).count(Materialized.as<string, number>('sw'))
    const driver = new TopologyTestDriver(b.build(), cfg)
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('ab', 'x', 12)
    input.pipeInput('ab', 'y', 14)
    const tw = driver.createOutputTopic('win-tw-changelog', Serdes.Bytes(), Serdes.Long()).readRecordsToList()
    const key = (start: number, seq: number) => {
      const k = Buffer.alloc(14)
      k.write('ab')
      k.writeBigInt64BE(BigInt(start), 2)
      k.writeUInt32BE(seq, 10)
      return k.toString('hex')
    }
    assert.deepEqual(
      tw.map((r) => [r.key?.toString('hex'), r.value, r.timestamp]),
      [
        [key(10, 0), 1, 12],
        [key(10, 0), 2, 14],
      ],
    )
    const sw = driver.createOutputTopic('win-sw-changelog', Serdes.Bytes(), Serdes.Long()).readRecordsToList()
    const skey = (start: number, end: number) => {
      const k = Buffer.alloc(18)
      k.write('ab')
      k.writeBigInt64BE(BigInt(end), 2)
      k.writeBigInt64BE(BigInt(start), 10)
      return k.toString('hex')
    }
    assert.deepEqual(
      sw.map((r) => [r.key?.toString('hex'), r.value]),
      [
        [skey(12, 12), 1],
        [skey(12, 12), null],
        [skey(12, 14), 2],
      ],
    )
    driver.close()
  })

  it('LMDB window and session stores from the Processor API, with retention', () => {
    const topology = new Topology()
      .addSource('src', 'in')
      .addProcessor(
        'p',
        () => {
          let w: WindowStore<string, string>
          let s: SessionStore<string, string>
          return {
            init(c: ProcessorContext<string, string>) {
              w = c.getStateStore('w')
              s = c.getStateStore('s')
            },
            process(r: StreamRecord<string, string>) {
              w.put(r.key, r.value, r.timestamp)
              s.put(new Windowed(r.key, new SessionWindow(r.timestamp, r.timestamp + 1)), r.value)
            },
          }
        },
        'src',
      )
      .addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore('w', 100, 10), S, S), 'p')
      .addStateStore(Stores.sessionStoreBuilder(Stores.persistentSessionStore('s', 100), S, S), 'p')
    const driver = new TopologyTestDriver(topology, cfg)
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('k', 'a', 5)
    input.pipeInput('k', 'b', 50)
    const w = driver.getWindowStore<string, string>('w')!
    const s = driver.getSessionStore<string, string>('s')!
    assert.equal(w.persistent(), true)
    assert.deepEqual(
      [...w.fetch('k', 0, 1000)].map((kv) => `${kv.key}=${kv.value}`),
      ['5=a', '50=b'],
    )
    input.pipeInput('k', 'c', 200) // stream time 200: windows before 101 expired
    assert.deepEqual(
      [...w.fetch('k', 0, 1000)].map((kv) => `${kv.key}=${kv.value}`),
      ['200=c'],
    )
    // One window by its start: a point lookup; an expired window reads as absent even before it is deleted.
    assert.equal(w.fetch('k', 200), 'c')
    assert.equal(w.fetch('k', 201), undefined)
    assert.equal(w.fetch('k', 50), undefined)
    input.pipeInput('k', 'old', 20) // older than stream time - retention: not written
    assert.equal(w.fetch('k', 20), undefined)
    assert.deepEqual(
      [...s.findSessions('k', 0, 1000)].map((kv) => `${kv.key.window.startMs}=${kv.value}`),
      ['200=c'],
    )
    driver.close()
  })

  it('windowed serdes use Kafka layouts and reject short input', () => {
    const t = WindowedSerdes.timeWindowedSerdeFrom(S, 10)
    const bytes = t.serializeSync('t', new Windowed('k', new TimeWindow(20, 30)))
    assert.equal(bytes.toString('hex'), `6b${(20).toString(16).padStart(16, '0')}`)
    assert.equal(fmt(t.deserializeSync(bytes)), 'k@20/30')
    const s = WindowedSerdes.sessionWindowedSerdeFrom(S)
    const sb = s.serializeSync('t', new Windowed('k', new SessionWindow(3, 9)))
    assert.equal(sb.toString('hex'), `6b${'9'.padStart(16, '0')}${'3'.padStart(16, '0')}`)
    assert.equal(fmt(s.deserializeSync(sb)), 'k@3/9')
    assert.throws(() => t.deserializeSync(Buffer.alloc(3)), { code: 'TRB_STREAMS_INVALID_ARGUMENT' })
  })

  it('replay equals live: tumbling and session final tables are the same in order and shuffled within grace', () => {
    const records: In[] = []
    for (let i = 0; i < 60; i++) records.push([`k${i % 3}`, 'v', i * 4])
    let seed = 5
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const shuffled: In[] = []
    for (let i = 0; i < records.length; i += 5) shuffled.push(...records.slice(i, i + 5).sort(() => rand() - 0.5))
    const finalTable = (inputs: In[]) => {
      const { out, dropped } = run((b) => {
        const g = b.stream<string, string>('in').groupByKey()
        toOut(g.windowedBy(TimeWindows.ofSizeAndGrace(25, 30)).count())
        g.windowedBy(SessionWindows.ofInactivityGapAndGrace(11, 30))
          .count()
          .toStream()
          .map((w, v) => KeyValue.pair(`s:${fmt(w)}`, v === null ? null : String(v)))
          .to('out')
      }, inputs)
      assert.equal(dropped, 0)
      const table = new Map<string, string | null>()
      for (const [k, v] of out) table.set(k!, v)
      for (const [k, v] of [...table]) if (v === null) table.delete(k)
      return table
    }
    const live = finalTable(records)
    assert.ok(live.size > 10)
    assert.deepEqual(finalTable(shuffled), live)
  })
})
