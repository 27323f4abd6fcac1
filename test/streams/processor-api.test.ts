import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ProcessorContext } from '../../src/streams/processor/api.ts'
import { Record } from '../../src/streams/processor/record.ts'
import { Serdes } from '../../src/streams/serdes.ts'
import type { KeyValueStore } from '../../src/streams/state/key-value-store.ts'
import { Stores } from '../../src/streams/state/stores.ts'
import { TopologyTestDriver } from '../../src/streams/testing/topology-test-driver.ts'
import { Topology } from '../../src/streams/topology/topology.ts'

describe('Processor API through the test driver', () => {
  it('counts per key in a store, forwards, and punctuates on stream time and wall-clock time', () => {
    const topology = new Topology()
      .addSource({ name: 'in', keySerde: Serdes.String(), valueSerde: Serdes.String() }, 'input')
      .addProcessor(
        'counter',
        () => {
          let ctx: ProcessorContext<string, number>
          let store: KeyValueStore<string, number>
          return {
            init(c: ProcessorContext<string, number>) {
              ctx = c
              store = c.getStateStore('counts')
              c.schedule(10, 'stream-time', (t) => ctx.forward(new Record('tick-stream', t, t)))
              c.schedule(1000, 'wall-clock-time', (t) => ctx.forward(new Record('tick-wall', t, t)))
            },
            process(r: Record<string, string>) {
              const n = (store.get(r.key) ?? 0) + 1
              store.put(r.key, n)
              ctx.forward(r.withValue(n))
            },
          }
        },
        'in',
      )
      .addStateStore(
        Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('counts'), Serdes.String(), Serdes.Long()),
        'counter',
      )
      .addSink({ name: 'out', keySerde: Serdes.String(), valueSerde: Serdes.Long() }, 'output', 'counter')
    const driver = new TopologyTestDriver(topology, { 'application.id': 'papi' }, { initialWallClockTimeMs: 0 })
    const input = driver.createInputTopic('input', Serdes.String(), Serdes.String())
    const output = driver.createOutputTopic('output', Serdes.String(), Serdes.Long())
    input.pipeInput('a', 'x', 5)
    input.pipeInput('a', 'y', 12)
    input.pipeInput('b', 'z', 13)
    assert.deepEqual(
      output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]),
      [
        ['a', 1, 5],
        ['tick-stream', 5, 5],
        ['a', 2, 12],
        ['tick-stream', 12, 12],
        ['b', 1, 13],
      ],
    )
    driver.advanceWallClockTime(1000)
    assert.deepEqual({ ...output.readKeyValue() }, { key: 'tick-wall', value: 1000 })
    assert.equal(driver.getKeyValueStore<string, number>('counts')!.get('a'), 2)
    assert.equal(driver.getKeyValueStore<string, number>('counts')!.approximateNumEntries(), 2)
    driver.close()
  })

  it('describes the topology in Kafka Streams text form', () => {
    const topology = new Topology()
      .addSource('src', 'input')
      .addProcessor('p', () => ({ process() {} }), 'src')
      .addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('s')), 'p')
      .addSink('sink', 'output', 'p')
    assert.equal(
      topology.describe().toString(),
      'Topologies:\n' +
        '   Sub-topology: 0\n' +
        '    Source: src (topics: [input])\n' +
        '      --> p\n' +
        '    Processor: p (stores: [s])\n' +
        '      --> sink\n' +
        '      <-- src\n' +
        '    Sink: sink (topic: output)\n' +
        '      <-- p\n\n',
    )
  })
})
