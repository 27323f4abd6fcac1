/**
 * tributary/streams' windows, suppress and stream-stream joins against Kafka Streams itself: the topologies of
 * test-interop/java/src/WindowTopologies.java, built with each library, fed the same random records (keys, null
 * values, timestamps out of order and late), compared record for record (topic, key, value, timestamp).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  BufferConfig,
  Grouped,
  JoinWindows,
  KeyValue,
  type KGroupedStream,
  type KTable,
  Produced,
  Serdes,
  SessionWindows,
  SlidingWindows,
  StreamJoined,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Windowed,
} from '../src/streams/index.ts'
import { TopologyTestDriver } from '../src/streams/testing/index.ts'
import { type OracleRecord, type OracleTopology, runStreamsOracleCases } from '../test/helpers/streams-oracle.ts'

const RUNS = 50
const S = Serdes.String()
const EMIT_INTERVAL = '__emit.interval.ms.kstreams.outer.join.spurious.results.fix__'

function drive(
  builder: StreamsBuilder,
  records: OracleRecord[],
  inputs: string[],
  output: string,
  longValues: boolean,
  extra: Record<string, unknown> = {},
): OracleRecord[] {
  const driver = new TopologyTestDriver(builder.build(), {
    'application.id': 'streams-oracle',
    'default.key.serde': S,
    'default.value.serde': S,
    'default.dsl.store': 'in_memory',
    'statestore.cache.max.bytes': 0,
    ...extra,
  })
  try {
    const topics = new Map(inputs.map((t) => [t, driver.createInputTopic(t, S, S)]))
    const out = driver.createOutputTopic<string, string | number>(output, S, longValues ? Serdes.Long() : S)
    const result: OracleRecord[] = []
    for (const r of records) {
      topics.get(r.topic)!.pipeInput(r.key, r.value as string | null, r.timestamp)
      for (const o of out.readRecordsToList()) {
        result.push({ topic: output, key: o.key, value: o.value, timestamp: o.timestamp })
      }
    }
    return result
  } finally {
    driver.close()
  }
}

const name = (w: Windowed<string>) => `${w.key}@${w.window.startMs}/${w.window.endMs}`

function counting(count: (g: KGroupedStream<string, string>) => KTable<Windowed<string>, number>) {
  return (records: OracleRecord[]) => {
    const b = new StreamsBuilder()
    count(b.stream<string, string>('events').groupByKey(Grouped.with(S, S)))
      .toStream()
      .map((w, v) => KeyValue.pair(name(w), v))
      .to('window-counts', Produced.with(S, Serdes.Long()))
    return drive(b, records, ['events'], 'window-counts', true)
  }
}

function ssJoin(records: OracleRecord[], extra: Record<string, unknown>) {
  const b = new StreamsBuilder()
  const l = b.stream<string, string>('left')
  const r = b.stream<string, string>('right')
  const w = JoinWindows.ofTimeDifferenceAndGrace(5, 5)
  const sj = StreamJoined.with(S, S, S)
  const p = Produced.with(S, S)
  l.join(r, (a, x) => `i:${a}+${x}`, w, sj).to('joined', p)
  l.leftJoin(r, (a, x) => `l:${a}+${x}`, w, sj).to('joined', p)
  l.outerJoin(r, (a, x) => `o:${a}+${x}`, w, sj).to('joined', p)
  return drive(b, records, ['left', 'right'], 'joined', false, extra)
}

// Timestamps mostly rising with jitter, so that windows fill, close, and some records arrive late.
function timed(topics: string[], keys: string[], maxLength: number) {
  return fc
    .array(
      fc.record({
        topic: fc.constantFrom(...topics),
        key: fc.option(fc.constantFrom(...keys), { nil: null, freq: 12 }),
        value: fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null, freq: 10 }),
        step: fc.integer({ min: -12, max: 9 }),
      }),
      { maxLength },
    )
    .map((rows) => {
      let t = 20
      return rows.map((r): OracleRecord => {
        t = Math.max(0, t + r.step)
        return { topic: r.topic, key: r.key, value: r.value, timestamp: t }
      })
    })
}

async function compare(
  topology: OracleTopology,
  inputs: fc.Arbitrary<OracleRecord[]>,
  twin: (records: OracleRecord[]) => OracleRecord[],
  config: Record<string, string> = {},
  minRecords = RUNS,
): Promise<void> {
  const cases = fc.sample(inputs, { numRuns: RUNS, seed: 17 })
  cases.push([])
  const expected = await runStreamsOracleCases(topology, cases, config)
  assert.ok(expected.flat().length > minRecords, `Kafka Streams answered ${expected.flat().length} records`)
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(twin(cases[i]!), expected[i], `case ${i}: input ${JSON.stringify(cases[i])}`)
  }
}

const events = timed(['events'], ['a', 'b', 'c'], 25)

describe('tributary/streams windows against Kafka Streams 4.x (TopologyTestDriver), random inputs', () => {
  test('tumbling window count (size 10, grace 5)', async () => {
    await compare(
      'window-tumbling-count',
      events,
      counting((g) => g.windowedBy(TimeWindows.ofSizeAndGrace(10, 5)).count()),
    )
  })

  test('hopping window count (size 10, advance 3, grace 5)', async () => {
    await compare(
      'window-hopping-count',
      events,
      counting((g) => g.windowedBy(TimeWindows.ofSizeAndGrace(10, 5).advanceBy(3)).count()),
    )
  })

  test('sliding window count (difference 10, grace 5)', async () => {
    await compare(
      'window-sliding-count',
      events,
      counting((g) => g.windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 5)).count()),
    )
  })

  test('session window count (gap 5, grace 5)', async () => {
    await compare(
      'window-session-count',
      events,
      counting((g) => g.windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 5)).count()),
    )
  })

  test('suppress(untilWindowCloses) over a tumbling count', async () => {
    await compare(
      'window-suppress',
      events,
      counting((g) =>
        g
          .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
          .count()
          .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded())),
      ),
      {},
      10,
    )
  })

  const sides = timed(['left', 'right'], ['a', 'b'], 25)
  test('stream-stream inner, left and outer joins (window 5, grace 5), drivers without emit throttle', async () => {
    await compare('ss-join', sides, (r) => ssJoin(r, {}))
  })

  test('stream-stream joins with the outer-join emit throttle at 1 s of a still wall clock', async () => {
    await compare('ss-join', sides, (r) => ssJoin(r, { [EMIT_INTERVAL]: 1000 }), { [EMIT_INTERVAL]: '1000' })
  })
})
