/**
 * tributary/streams against Kafka Streams itself: the same topology, built with each library, fed the same
 * random input records (fast-check: keys, values, tombstones, timestamps out of order), compared record for
 * record (topic, key, value, timestamp). Kafka Streams runs on kafka-streams-test-utils' TopologyTestDriver
 * through test/helpers/streams-oracle.ts, every case of a property in one JVM.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Grouped, KeyValue, Materialized, Produced, Serdes, StreamsBuilder } from '../src/streams/index.ts'
import { TopologyTestDriver } from '../src/streams/testing/index.ts'
import { type OracleRecord, type OracleTopology, runStreamsOracleCases } from '../test/helpers/streams-oracle.ts'

const RUNS = 60

/** The TypeScript twin of a StreamsOracle topology: pipes each record, reads every output topic after it. */
type Twin = (records: OracleRecord[]) => OracleRecord[]

function wordCount(records: OracleRecord[]): OracleRecord[] {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>('text-lines')
    .flatMapValues((line) => line.toLowerCase().split(/\W+/))
    .filter((_key, word) => word.length > 0)
    .groupBy((_key, word) => word, Grouped.with(Serdes.String(), Serdes.String()))
    .count(Materialized.as<string, number>('counts'))
    .toStream()
    .to('word-counts', Produced.with(Serdes.String(), Serdes.Long()))
  return drive(builder, records, 'text-lines', 'word-counts')
}

function ktableAggregate(records: OracleRecord[]): OracleRecord[] {
  const builder = new StreamsBuilder()
  builder
    .table('user-regions', undefined, Materialized.with(Serdes.String(), Serdes.String()))
    .groupBy((user, region) => KeyValue.pair(region, user), Grouped.with(Serdes.String(), Serdes.String()))
    .aggregate(
      () => 0,
      (_region, _user, count) => count + 1,
      (_region, _user, count) => count - 1,
      Materialized.as<string, number>('region-counts-store').withValueSerde(Serdes.Long()),
    )
    .toStream()
    .to('region-counts', Produced.with(Serdes.String(), Serdes.Long()))
  return drive(builder, records, 'user-regions', 'region-counts')
}

function drive(builder: StreamsBuilder, records: OracleRecord[], inputTopic: string, outputTopic: string) {
  const driver = new TopologyTestDriver(builder.build(), {
    'application.id': 'streams-oracle',
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'default.dsl.store': 'in_memory',
    'statestore.cache.max.bytes': 0,
  })
  try {
    const input = driver.createInputTopic(inputTopic, Serdes.String(), Serdes.String())
    const output = driver.createOutputTopic(outputTopic, Serdes.String(), Serdes.Long())
    const out: OracleRecord[] = []
    for (const r of records) {
      input.pipeInput(r.key, r.value as string | null, r.timestamp)
      for (const o of output.readRecordsToList()) {
        out.push({ topic: outputTopic, key: o.key, value: o.value, timestamp: o.timestamp })
      }
    }
    return out
  } finally {
    driver.close()
  }
}

const timestamp = fc.integer({ min: 0, max: 10_000 })

const textLines = fc.array(
  fc.record({
    topic: fc.constant('text-lines'),
    key: fc.option(fc.constantFrom('k1', 'k2'), { nil: null }),
    value: fc
      .array(fc.constantFrom('Kafka', 'streams', 'tributary', 'log', 'KAFKA', '', '42'), { maxLength: 6 })
      .chain((words) => fc.constantFrom(' ', ', ', '!  ').map((sep) => words.join(sep))),
    timestamp,
  }),
  { maxLength: 12 },
)

const userRegions = fc.array(
  fc.record({
    topic: fc.constant('user-regions'),
    key: fc.constantFrom('alice', 'bob', 'carol', 'dave'),
    value: fc.option(fc.constantFrom('eu', 'us', 'asia'), { nil: null, freq: 4 }),
    timestamp,
  }),
  { maxLength: 14 },
)

/** Draws RUNS cases, asks Kafka Streams for all of them at once, then checks the twin on each. */
async function compare(topology: OracleTopology, inputs: fc.Arbitrary<OracleRecord[]>, twin: Twin): Promise<void> {
  const cases = fc.sample(inputs, { numRuns: RUNS, seed: 11 })
  cases.push([]) // nothing in, nothing out
  const expected = await runStreamsOracleCases(topology, cases)
  const outputs = expected.flat()
  assert.ok(outputs.length > RUNS, `Kafka Streams answered ${outputs.length} records for ${RUNS} cases`)
  assert.ok(
    outputs.some((o, i) => i > 0 && o.timestamp < outputs[i - 1]!.timestamp),
    'some outputs arrive out of timestamp order',
  )
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(twin(cases[i]!), expected[i], `case ${i}: input ${JSON.stringify(cases[i])}`)
  }
}

describe('tributary/streams against Kafka Streams 4.x (TopologyTestDriver), random inputs', () => {
  test('word count', async () => {
    await compare('word-count', textLines, wordCount)
  })

  test('KTable aggregation with adder and subtractor', async () => {
    await compare('ktable-aggregate', userRegions, ktableAggregate)
  })
})
