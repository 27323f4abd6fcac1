import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Grouped, KeyValue, Materialized, Produced, Serdes, StreamsBuilder } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

describe("Kafka Streams' documented examples", () => {
  it('word count (WordCountDemo): counts, topology description, and the store', () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('streams-plaintext-input')
      .flatMapValues((value) =>
        value
          .toLowerCase()
          .split(/\W+/)
          .filter((w) => w.length > 0),
      )
      .groupBy((_key, word) => word)
      .count(Materialized.as<string, number>('counts-store'))
      .toStream()
      .to('streams-wordcount-output', Produced.with(Serdes.String(), Serdes.Long()))
    const topology = builder.build()
    assert.equal(
      topology.describe().toString(),
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])',
        '      --> KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])',
        '      --> KSTREAM-KEY-SELECT-0000000002',
        '      <-- KSTREAM-SOURCE-0000000000',
        '    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])',
        '      --> counts-store-repartition-filter',
        '      <-- KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: counts-store-repartition-filter (stores: [])',
        '      --> counts-store-repartition-sink',
        '      <-- KSTREAM-KEY-SELECT-0000000002',
        '    Sink: counts-store-repartition-sink (topic: counts-store-repartition)',
        '      <-- counts-store-repartition-filter',
        '',
        '  Sub-topology: 1',
        '    Source: counts-store-repartition-source (topics: [counts-store-repartition])',
        '      --> KSTREAM-AGGREGATE-0000000003',
        '    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])',
        '      --> KTABLE-TOSTREAM-0000000007',
        '      <-- counts-store-repartition-source',
        '    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])',
        '      --> KSTREAM-SINK-0000000008',
        '      <-- KSTREAM-AGGREGATE-0000000003',
        '    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)',
        '      <-- KTABLE-TOSTREAM-0000000007',
        '',
        '',
      ].join('\n'),
    )
    const driver = new TopologyTestDriver(topology, {
      'application.id': 'streams-wordcount',
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.String(),
      'default.dsl.store': 'in_memory',
    })
    const input = driver.createInputTopic('streams-plaintext-input', Serdes.String(), Serdes.String())
    const output = driver.createOutputTopic('streams-wordcount-output', Serdes.String(), Serdes.Long())
    input.pipeInput(null, 'all streams lead to kafka')
    input.pipeInput(null, 'hello kafka streams')
    input.pipeInput(null, 'join kafka summit')
    // The documented output of the WordCount demo, one update per word (the driver commits after every record).
    assert.deepEqual(
      output.readKeyValuesToList().map((kv) => [kv.key, kv.value]),
      [
        ['all', 1],
        ['streams', 1],
        ['lead', 1],
        ['to', 1],
        ['kafka', 1],
        ['hello', 1],
        ['kafka', 2],
        ['streams', 2],
        ['join', 1],
        ['kafka', 3],
        ['summit', 1],
      ],
    )
    assert.equal(driver.getKeyValueStore<string, number>('counts-store')!.get('kafka'), 3)
    driver.close()
  })

  it('KTable aggregation with adder and subtractor (regrouping users by region)', () => {
    // The developer guide's example: a table of user → region; count users per region, moving them on updates.
    const builder = new StreamsBuilder()
    builder
      .table('user-regions', undefined, Materialized.with(Serdes.String(), Serdes.String()))
      .groupBy((user, region) => KeyValue.pair(region, user), Grouped.with(Serdes.String(), Serdes.String()))
      .aggregate(
        () => 0,
        (_region, _user, agg) => agg + 1,
        (_region, _user, agg) => agg - 1,
        Materialized.as<string, number>('users-per-region').withValueSerde(Serdes.Long()),
      )
      .toStream()
      .to('region-counts', Produced.with(Serdes.String(), Serdes.Long()))
    const driver = new TopologyTestDriver(builder.build(), { 'application.id': 'regions' })
    const input = driver.createInputTopic('user-regions', Serdes.String(), Serdes.String())
    const output = driver.createOutputTopic('region-counts', Serdes.String(), Serdes.Long())
    input.pipeInput('alice', 'asia', 1)
    input.pipeInput('bob', 'europe', 2)
    input.pipeInput('alice', 'europe', 3) // alice moves: asia -1, europe +1
    input.pipeInput('bob', null, 4) // bob deleted: europe -1
    assert.deepEqual(
      output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]),
      [
        ['asia', 1, 1],
        ['europe', 1, 2],
        ['asia', 0, 3],
        ['europe', 2, 3],
        ['europe', 1, 4],
      ],
    )
    const store = driver.getKeyValueStore<string, number>('users-per-region')!
    assert.deepEqual(
      [...store.all()].map((kv) => [kv.key, kv.value]),
      [
        ['asia', 0],
        ['europe', 1],
      ],
    )
    driver.close()
  })
})
