/**
 * suppress()'s buffer is a changelogged state store (Kafka Streams' in-memory time-ordered buffer): the test
 * driver shows what it writes to `<application.id>-<name>-store-changelog` at each commit, and a task rebuilt from
 * those changelogs (as the runtime restores one after a restart) emits each held-back result exactly once.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BufferConfig,
  KeyValue,
  Materialized,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Topology,
} from '../../../src/streams/index.ts'
import type { ProducedRecord, RecordCollector } from '../../../src/streams/processor/record-collector.ts'
import { streamsConfig } from '../../../src/streams/runtime/config.ts'
import { StreamTask } from '../../../src/streams/runtime/stream-task.ts'
import { TopologyTestDriver } from '../../../src/streams/testing/index.ts'

const S = Serdes.String()
const B = Serdes.ByteArray()
const cfg = {
  'application.id': 'sup',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}
const BUFFER_CHANGELOG = 'sup-final-store-changelog'

type Kind = 'tumbling' | 'session' | 'time-limit'

function topology(kind: Kind, buffer: BufferConfig): Topology {
  const b = new StreamsBuilder()
  const grouped = b.stream<string, string>('in').groupByKey()
  const windowed =
    kind === 'tumbling'
      ? grouped.windowedBy(TimeWindows.ofSizeAndGrace(10, 2)).count(Materialized.as<string, number>('counts'))
      : kind === 'session'
        ? grouped
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 2))
            .count(Materialized.as<string, number>('counts'))
        : undefined
  if (windowed) {
    windowed
      .suppress(Suppressed.untilWindowCloses(buffer).withName('final'))
      .toStream()
      .map((w, n) => KeyValue.pair(`${w.key}@${w.window.startMs}/${w.window.endMs}`, String(n)))
      .to('out')
  } else {
    grouped
      .count(Materialized.as<string, number>('counts'))
      .suppress(Suppressed.untilTimeLimit(10, buffer).withName('final'))
      .toStream()
      .mapValues((n) => String(n))
      .to('out')
  }
  return b.build()
}

type In = [key: string, timestamp: number]

/** Runs `inputs` through the test driver; returns the outputs and every changelog record written, by topic. */
function firstRun(kind: Kind, buffer: BufferConfig, inputs: In[]) {
  const driver = new TopologyTestDriver(topology(kind, buffer), cfg)
  try {
    const input = driver.createInputTopic('in', S, S)
    for (const [key, timestamp] of inputs) input.pipeInput(key, 'x', timestamp)
    const out = driver.createOutputTopic('out', S, S).readKeyValuesToList()
    const changelogs = new Map<string, Array<{ key: Buffer; value: Buffer | null; timestamp: number }>>()
    for (const topic of driver.producedTopicNames().filter((t) => t.endsWith('-changelog'))) {
      changelogs.set(
        topic,
        driver
          .createOutputTopic(topic, B, B)
          .readRecordsToList()
          .map((r) => ({ key: r.key!, value: r.value, timestamp: r.timestamp })),
      )
    }
    return { out: out.map((kv) => `${kv.key}=${kv.value}`), changelogs }
  } finally {
    driver.close()
  }
}

/**
 * A task as the runtime builds it after a restart on an empty state directory: every store restored from its
 * changelog, then `inputs` processed. Returns what it writes to 'out'.
 */
async function restartedRun(
  kind: Kind,
  buffer: BufferConfig,
  changelogs: Map<string, Array<{ key: Buffer; value: Buffer | null; timestamp: number }>>,
  inputs: In[],
): Promise<string[]> {
  const produced: ProducedRecord[] = []
  const collector: RecordCollector = {
    send: (r) => void produced.push(r),
    partitionsFor: () => 1,
    flush: async () => {},
    offsets: () => new Map<string, number>(),
  }
  const task = new StreamTask({
    id: '0_0',
    topology: topology(kind, buffer),
    partitions: [{ topic: 'in', partition: 0 }],
    config: streamsConfig(cfg),
    collector,
  })
  try {
    for (const { store, topic } of task.changelogPartitions()) {
      const records = (changelogs.get(topic) ?? []).map((r, offset) => ({ ...r, offset }))
      task.restore(store, records)
    }
    await task.prepare()
    task.completeRestoration()
    task.addRecords(
      { topic: 'in', partition: 0 },
      inputs.map(([key, timestamp], i) => ({
        topic: 'in',
        partition: 0,
        offset: 100 + i,
        timestamp,
        key: Buffer.from(key),
        value: Buffer.from('x'),
        headers: [],
      })),
    )
    task.updateLag({ topic: 'in', partition: 0 }, 0)
    while (task.process()) {}
    task.prepareCommit()
    return produced
      .filter((r) => r.topic === 'out')
      .map((r) => `${r.key!.toString()}=${r.value ? r.value.toString() : null}`)
  } finally {
    await task.close()
  }
}

describe('suppress buffer changelog', () => {
  it('logs the buffer at each commit: the latest entry per key, a tombstone once emitted', () => {
    const { out, changelogs } = firstRun('tumbling', BufferConfig.unbounded(), [
      ['a', 2],
      ['b', 3],
      ['a', 9],
      ['c', 12], // closes [0, 10): a and b are emitted and leave the buffer
    ])
    assert.deepEqual(out, ['a@0/10=2', 'b@0/10=1'])
    const log = changelogs.get(BUFFER_CHANGELOG)
    assert.ok(log, `changelogs written: ${[...changelogs.keys()]}`)
    // Keys: Kafka's time-windowed layout (key bytes + window start); the driver commits after every record.
    const key = (k: Buffer) => `${k.subarray(0, k.length - 8).toString()}@${k.readBigInt64BE(k.length - 8)}`
    assert.deepEqual(
      log.map((r) => `${key(r.key)}:${r.value === null ? 'tombstone' : 'entry'}`),
      ['a@0:entry', 'b@0:entry', 'a@0:entry', 'c@10:entry', 'a@0:tombstone', 'b@0:tombstone'],
    )
  })

  for (const kind of ['tumbling', 'session', 'time-limit'] as const) {
    it(`${kind}: a restarted task emits what was held back, once, from the restored buffer`, async () => {
      const before: In[] = [
        ['a', 2],
        ['b', 3],
        ['a', 4],
      ]
      const first = firstRun(kind, BufferConfig.unbounded(), before)
      assert.deepEqual(first.out, [], 'nothing is due before the restart')
      // After the restart, one record moves stream time past every held-back result.
      const after = await restartedRun(kind, BufferConfig.unbounded(), first.changelogs, [['z', 40]])
      const expected = {
        tumbling: ['a@0/10=2', 'b@0/10=1'],
        session: ['b@3/3=1', 'a@2/4=2'], // emitted in order of window end
        'time-limit': ['a=2', 'b=1'],
      }[kind]
      assert.deepEqual(after, expected)

      // Restarting from the changelog written up to the final results (tombstones included) emits nothing again.
      const full = firstRun(kind, BufferConfig.unbounded(), [...before, ['z', 40]])
      assert.deepEqual(full.out, expected)
      const again = await restartedRun(kind, BufferConfig.unbounded(), full.changelogs, [['y', 41]])
      assert.deepEqual(
        again.filter((r) => !r.startsWith('z')),
        [],
        'no result is emitted twice',
      )
    })
  }

  it('withLoggingDisabled(): no changelog, so a restart loses what was held back (as Kafka Streams)', async () => {
    const buffer = BufferConfig.unbounded().withLoggingDisabled()
    const first = firstRun('tumbling', buffer, [
      ['a', 2],
      ['b', 3],
    ])
    assert.equal(first.changelogs.get(BUFFER_CHANGELOG), undefined)
    assert.ok(first.changelogs.has('sup-counts-changelog'))
    assert.deepEqual(await restartedRun('tumbling', buffer, first.changelogs, [['z', 40]]), [])
  })

  it('the topology names the buffer store and its changelog topic', () => {
    const description = topology('tumbling', BufferConfig.unbounded()).describe()
    assert.match(description.toString(), /final-suppress \(stores: \[final-store\]\)/)
    const logged = topology('tumbling', BufferConfig.maxRecords(5).withLoggingEnabled({ 'segment.ms': '60000' }))
    assert.equal(logged.store('final-store')?.builder.logConfig['segment.ms'], '60000')
  })
})
