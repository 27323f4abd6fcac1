/**
 * Window stores on a real broker: a windowed count is changelogged with Kafka's window-store keys and restored from
 * the changelog into a fresh state directory after a restart, so the counts go on.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureTopic, KafkaCluster, listOffsets } from '../../../src/client/index.ts'
import {
  KafkaStreams,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  TimeWindows,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka, readTableUntil, stateRecorder } from './helpers.ts'

let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

function stateDir(): string {
  const d = tempDir('trb-streams-win-')
  dirs.push(d)
  return d.path
}

async function produce(messages: Array<{ key: string; timestamp: number }>) {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({
    topic: 'wr-in',
    acks: -1,
    messages: messages.map((m) => ({ key: m.key, value: 'x', timestamp: String(m.timestamp) })),
  })
  await producer.disconnect()
}

describe('window stores on the runtime', () => {
  it('restores a window store from its changelog after a restart on a fresh state directory', async () => {
    await ensureTopic(admin.admin, 'wr-in', { partitions: 2 })
    await ensureTopic(admin.admin, 'wr-out', { partitions: 2 })
    const topology = () => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('wr-in')
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 3_600_000))
        .count(Materialized.as<string, number>('wr-store'))
        .toStream()
        .map((w, n) => KeyValue.pair(`${w.key}@${w.window.startMs}`, n))
        .to('wr-out', Produced.with(Serdes.String(), Serdes.Long()))
      return builder.build()
    }
    const run = async (
      dir: string,
      input: Array<{ key: string; timestamp: number }>,
      until: (t: Map<string, number>) => boolean,
    ) => {
      const streams = new KafkaStreams(topology(), {
        'application.id': 'windows-restore',
        'bootstrap.servers': broker.bootstrap,
        'default.key.serde': Serdes.String(),
        'default.value.serde': Serdes.String(),
        'state.dir': dir,
        'commit.interval.ms': 100,
        'session.timeout.ms': 1500,
        'heartbeat.interval.ms': 200,
        'statestore.cache.max.bytes': 0,
        'log.level': 'warn',
      })
      const recorder = stateRecorder(streams)
      await streams.start()
      await recorder.reach('RUNNING')
      await produce(input)
      await readTableUntil(broker.bootstrap, 'wr-out', until)
      const restored = streams.restoredRecords
      assert.equal(await streams.close(), true)
      return restored
    }
    const keys = ['a', 'b', 'c', 'd']
    const base = 1_700_000_000_000 - (1_700_000_000_000 % 60_000)
    const first = keys.flatMap((key) => [
      { key, timestamp: base + 1_000 },
      { key, timestamp: base + 2_000 },
      { key, timestamp: base + 61_000 },
    ])
    assert.equal(
      await run(stateDir(), first, (t) =>
        keys.every((k) => t.get(`${k}@${base}`) === 2 && t.get(`${k}@${base + 60_000}`) === 1),
      ),
      0,
    )
    const ends = await listOffsets(
      admin,
      [0, 1].map((partition) => ({ topic: 'windows-restore-wr-store-changelog', partition })),
      'latest',
    )
    const changelogRecords = [...ends.values()].reduce((a, b) => a + b, 0)
    assert.equal(changelogRecords, 12, 'one changelog record per window update')
    // A fresh state directory: the window store is rebuilt from the changelog, and window [base, +60s) goes on at 3.
    const restored = await run(stateDir(), [{ key: 'a', timestamp: base + 3_000 }], (t) => t.get(`a@${base}`) === 3)
    assert.equal(restored, changelogRecords)
  })
})
