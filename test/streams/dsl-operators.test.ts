import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  Branched,
  Consumed,
  DeadLetterHeaders,
  KeyValue,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  Serdes,
  StreamsBuilder,
  Topology,
} from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'ops',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}

function run(
  build: (b: StreamsBuilder) => void,
  inputs: Array<[string | null, string | null, number?]>,
  outTopic = 'out',
  extra = {},
) {
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build(), { ...cfg, ...extra })
  const input = driver.createInputTopic('in', S, S)
  for (const [k, v, t] of inputs) input.pipeInput(k, v, t)
  const out = driver
    .createOutputTopic(outTopic, S, S)
    .readKeyValuesToList()
    .map((kv) => [kv.key, kv.value])
  return { driver, out }
}

describe('KStream operators', () => {
  it('filter, filterNot, map, mapValues, selectKey, flatMap, peek, foreach', () => {
    const seen: string[] = []
    const { out, driver } = run(
      (b) => {
        const s = b.stream<string, string>('in')
        s.filter((_k, v) => v.startsWith('a'))
          .mapValues((v) => v.toUpperCase())
          .to('out')
        s.filterNot((_k, v) => v.startsWith('a'))
          .map((k, v) => KeyValue.pair(v, k))
          .to('out')
        s.selectKey((_k, v) => `sel-${v}`)
          .peek((k) => seen.push(k))
          .flatMap((k, v) => [KeyValue.pair(k, v), KeyValue.pair(k, `${v}!`)])
          .to('out2')
        s.foreach((k) => seen.push(`each-${k}`))
      },
      [
        ['k1', 'apple'],
        ['k2', 'banana'],
      ],
    )
    assert.deepEqual(out, [
      ['k1', 'APPLE'],
      ['banana', 'k2'],
    ])
    assert.deepEqual(driver.createOutputTopic('out2', S, S).readValuesToList(), [
      'apple',
      'apple!',
      'banana',
      'banana!',
    ])
    assert.deepEqual(seen, ['sel-apple', 'each-k1', 'sel-banana', 'each-k2'])
    driver.close()
  })

  it('split into named branches with a default, and merge', () => {
    const { out, driver } = run(
      (b) => {
        const branches = b
          .stream<string, string>('in')
          .split(Named.as('by-'))
          .branch((_k, v) => v.length < 4, Branched.as('short'))
          .branch(
            (_k, v) => v.length < 7,
            Branched.withFunction((s) => s.mapValues((v) => `[${v}]`), 'mid'),
          )
          .defaultBranch(Branched.as('long'))
        assert.deepEqual([...branches.keys()], ['by-short', 'by-mid', 'by-long'])
        branches.get('by-short')!.merge(branches.get('by-long')!).to('out')
        branches.get('by-mid')!.to('mid')
      },
      [
        ['1', 'abc'],
        ['2', 'abcdef'],
        ['3', 'abcdefghij'],
      ],
    )
    assert.deepEqual(out, [
      ['1', 'abc'],
      ['3', 'abcdefghij'],
    ])
    assert.deepEqual(driver.createOutputTopic('mid', S, S).readValuesToList(), ['[abcdef]'])
    driver.close()
  })

  it('to() with a topic per record and a partitioner; repartition() through <app>-<name>-repartition', () => {
    const { driver } = run(
      (b) => {
        const s = b.stream<string, string>('in')
        s.to(
          (k) => `topic-${k}`,
          Produced.with(S, S, () => 0),
        )
        s.repartition(Repartitioned.as<string, string>('rekeyed').withNumberOfPartitions(4)).to('after')
      },
      [
        ['x', '1'],
        ['y', '2'],
      ],
    )
    assert.deepEqual(driver.createOutputTopic('topic-x', S, S).readValuesToList(), ['1'])
    assert.deepEqual(driver.createOutputTopic('topic-y', S, S).readValuesToList(), ['2'])
    assert.deepEqual(driver.createOutputTopic('ops-rekeyed-repartition', S, S).readValuesToList(), ['1', '2'])
    assert.deepEqual(driver.createOutputTopic('after', S, S).readValuesToList(), ['1', '2'])
    driver.close()
  })

  it('groupByKey().reduce, toTable, and a KStream aggregate emitting old values downstream', () => {
    const { out, driver } = run(
      (b) => {
        const s = b.stream<string, string>('in')
        s.groupByKey()
          .reduce((agg, v) => `${agg}+${v}`, Materialized.as('reduced'))
          .toStream()
          .to('out')
        s.toTable(undefined, Materialized.as('latest')).toStream().to('latest-out')
      },
      [
        ['a', '1'],
        ['a', '2'],
        ['b', '3'],
        ['a', null],
      ],
    )
    assert.deepEqual(out, [
      ['a', '1'],
      ['a', '1+2'],
      ['b', '3'],
    ])
    assert.deepEqual(driver.createOutputTopic('latest-out', S, S).readValuesToList(), ['1', '2', '3', null])
    assert.equal(driver.getKeyValueStore('latest')!.get('a'), undefined)
    driver.close()
  })

  it('cogroup aggregates two grouped streams into one table', () => {
    const b = new StreamsBuilder()
    const clicks = b.stream<string, string>('clicks').groupByKey()
    const views = b.stream<string, string>('views').groupByKey()
    clicks
      .cogroup<number>((_k, _v, agg) => agg + 10)
      .cogroup(views, (_k, _v, agg) => agg + 1)
      .aggregate(() => 0, Materialized.as<string, number>('score').withValueSerde(Serdes.Long()))
      .toStream()
      .to('scores', Produced.with(S, Serdes.Long()))
    const driver = new TopologyTestDriver(b.build(), cfg)
    driver.createInputTopic('clicks', S, S).pipeInput('u', 'c', 1)
    driver.createInputTopic('views', S, S).pipeInput('u', 'v', 2)
    assert.deepEqual(driver.createOutputTopic('scores', S, Serdes.Long()).readValuesToList(), [10, 11])
    driver.close()
  })
})

describe('KTable operators and materialization', () => {
  it('filter forwards a tombstone when a row stops matching; mapValues without a name is not materialized', () => {
    const b = new StreamsBuilder()
    const table = b.table<string, string>('in', Consumed.with(S, S), Materialized.as('source-store'))
    table
      .filter((_k, v) => v !== 'drop', Materialized.as('kept'))
      .toStream()
      .to('out')
    const mapped = table.mapValues((v) => v.length)
    assert.equal(mapped.queryableStoreName, undefined)
    mapped.toStream().to('lengths', Produced.with(S, Serdes.Long()))
    const topology = b.build()
    assert.deepEqual(
      topology.describe().stores.map((s) => s.name),
      ['source-store', 'kept'],
    )
    const driver = new TopologyTestDriver(topology, cfg)
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('k', 'keep', 1)
    input.pipeInput('k', 'drop', 2)
    input.pipeInput('k', 'drop', 3)
    assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['keep', null])
    assert.deepEqual(driver.createOutputTopic('lengths', S, Serdes.Long()).readValuesToList(), [4, 4, 4])
    assert.equal(driver.getKeyValueStore('kept')!.get('k'), undefined)
    driver.close()
  })

  it('caching: updates of a key within one commit are forwarded once; with cache size 0, every update', () => {
    // The driver commits after each input record, as Kafka's; two updates of one key made while processing one
    // record are held in the cache and forwarded once at that commit.
    const b = new StreamsBuilder()
    b.stream<string, string>('in')
      .flatMapValues((v) => [`${v}-1`, `${v}-2`])
      .toTable(undefined, Materialized.as('t'))
      .toStream()
      .to('out')
    const cached = new TopologyTestDriver(b.build(), cfg)
    cached.createInputTopic('in', S, S).pipeInput('k', 'v')
    assert.deepEqual(cached.createOutputTopic('out', S, S).readValuesToList(), ['v-2'])
    cached.close()
    const b2 = new StreamsBuilder()
    b2.stream<string, string>('in')
      .flatMapValues((v) => [`${v}-1`, `${v}-2`])
      .toTable(undefined, Materialized.as('t'))
      .toStream()
      .to('out')
    const uncached = new TopologyTestDriver(b2.build(), { ...cfg, 'statestore.cache.max.bytes': 0 })
    uncached.createInputTopic('in', S, S).pipeInput('k', 'v')
    assert.deepEqual(uncached.createOutputTopic('out', S, S).readValuesToList(), ['v-1', 'v-2'])
    uncached.close()
  })
})

describe('misuse and errors', () => {
  it('a missing serde, a store name used twice, an operator after build', () => {
    const b = new StreamsBuilder()
    b.stream('in').to('out')
    assert.throws(() => new TopologyTestDriver(b.build(), { 'application.id': 'x' }), {
      code: 'TRB_STREAMS_MISSING_SERDE',
    })
    assert.throws(() => b.stream('other'), { code: 'TRB_STREAMS_TOPOLOGY_BUILT' })
    const b2 = new StreamsBuilder()
    b2.stream('a').groupByKey().count(Materialized.as('dup'))
    b2.stream('b').groupByKey().count(Materialized.as('dup'))
    assert.throws(() => b2.build(), { code: 'TRB_STREAMS_STORE_EXISTS' })
    assert.throws(() => new Topology().addSource('s', 't').addSource('s', 'u'), { code: 'TRB_STREAMS_NAME_EXISTS' })
  })

  it('processing errors: fail by default; logAndContinue sends the input to the dead-letter topic', () => {
    const build = (b: StreamsBuilder) =>
      b
        .stream<string, string>('in')
        .mapValues((v) => {
          if (v === 'bad') throw new Error('cannot handle bad')
          return v
        })
        .to('out')
    const failing = new StreamsBuilder()
    build(failing)
    const d1 = new TopologyTestDriver(failing.build(), cfg)
    assert.throws(() => d1.createInputTopic('in', S, S).pipeInput('k', 'bad'), {
      code: 'TRB_STREAMS_PROCESSING_FAILED',
    })
    d1.close()
    const tolerant = new StreamsBuilder()
    build(tolerant)
    const warnings: string[] = []
    const d2 = new TopologyTestDriver(tolerant.build(), {
      ...cfg,
      'processing.exception.handler': 'logAndContinue',
      'errors.dead.letter.queue.topic.name': 'dlq',
    })
    process.on('warning', (w) => warnings.push(w.message))
    const input = d2.createInputTopic('in', S, S)
    input.pipeInput('k1', 'bad', 5)
    input.pipeInput('k2', 'good', 6)
    assert.deepEqual(d2.createOutputTopic('out', S, S).readValuesToList(), ['good'])
    const dead = d2.createOutputTopic('dlq', S, S).readRecord()
    assert.equal(dead.key, 'k1')
    assert.equal(dead.value, 'bad')
    assert.equal(dead.headers.lastText(DeadLetterHeaders.TOPIC), 'in')
    assert.equal(dead.headers.lastText(DeadLetterHeaders.OFFSET), '0')
    assert.equal(dead.headers.lastText(DeadLetterHeaders.MESSAGE), 'cannot handle bad')
    d2.close()
  })

  it('undecodable input: deserialization handler logAndContinue skips it', () => {
    const b = new StreamsBuilder()
    b.stream('in', Consumed.with(S, Serdes.Long()))
      .mapValues((v) => String(v))
      .to('out', Produced.with(S, S))
    const driver = new TopologyTestDriver(b.build(), { ...cfg, 'deserialization.exception.handler': 'logAndContinue' })
    const input = driver.createInputTopic('in', S, S)
    input.pipeInput('k', 'not eight bytes')
    driver.createInputTopic('in', S, Serdes.Long()).pipeInput('k', 42)
    assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['42'])
    driver.close()
  })
})
