/**
 * Versioned tables on a real broker: the versioned store's changelog is created as Kafka Streams creates it
 * (compacted, min.compaction.lag.ms = history retention + 1 day), and after a restart on a fresh state directory the
 * store's history is restored from it, so stream records join the table versions valid at their timestamps.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import kafkajs from 'kafkajs'
import { ensureTopic, KafkaCluster, listOffsets } from '../../../src/client/index.ts'
import {
  Consumed,
  Joined,
  KafkaStreams,
  Materialized,
  Serdes,
  Stores,
  StreamsBuilder,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { kafka, readTopicUntil, stateRecorder } from './helpers.ts'

const { ConfigResourceTypes } = kafkajs
let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []
const S = Serdes.String()
const HISTORY_MS = 3_600_000

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
  const d = tempDir('trb-streams-versioned-')
  dirs.push(d)
  return d.path
}

async function produce(topic: string, messages: Array<{ key: string; value: string; timestamp: number }>) {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({
    topic,
    acks: -1,
    messages: messages.map((m) => ({ key: m.key, value: m.value, timestamp: String(m.timestamp) })),
  })
  await producer.disconnect()
}

const values = (records: Array<{ value: Buffer | null }>) => records.map((r) => r.value?.toString() ?? null)

describe('versioned tables on the runtime', () => {
  it('restores a versioned store from its changelog after a restart on a fresh state directory', async () => {
    for (const t of ['vr-users', 'vr-orders', 'vr-table-out', 'vr-out'])
      await ensureTopic(admin.admin, t, { partitions: 1 })
    const topology = () => {
      const builder = new StreamsBuilder()
      const users = builder.table<string, string>(
        'vr-users',
        Consumed.with(S, S),
        Materialized.as<string, string>(Stores.persistentVersionedKeyValueStore('vr-store', HISTORY_MS)),
      )
      users.toStream().to('vr-table-out')
      builder
        .stream<string, string>('vr-orders')
        .join(users, (o: string, u: string | null) => `[${o},${u}]`, Joined.with(S, S, S).withGracePeriod(0))
        .to('vr-out')
      return builder.build()
    }
    const start = async (dir: string) => {
      const streams = new KafkaStreams(topology(), {
        'application.id': 'versioned-restore',
        'bootstrap.servers': broker.bootstrap,
        'default.key.serde': S,
        'default.value.serde': S,
        'state.dir': dir,
        'commit.interval.ms': 100,
        'session.timeout.ms': 1500,
        'heartbeat.interval.ms': 200,
        'log.level': 'warn',
      })
      const recorder = stateRecorder(streams)
      await streams.start()
      await recorder.reach('RUNNING')
      return streams
    }
    const base = 1_700_000_000_000

    const first = await start(stateDir())
    await produce('vr-users', [
      { key: 'u1', value: 'v1', timestamp: base + 10 },
      { key: 'u1', value: 'v2', timestamp: base + 20 },
      { key: 'u2', value: 'w1', timestamp: base + 10 },
    ])
    await readTopicUntil(broker.bootstrap, 'vr-table-out', (r) => r.length >= 3)
    await produce('vr-orders', [{ key: 'u1', value: 'o1', timestamp: base + 15 }])
    assert.deepEqual(values(await readTopicUntil(broker.bootstrap, 'vr-out', (r) => r.length >= 1)), ['[o1,v1]'])
    assert.equal(await first.close(), true)

    const changelog = 'versioned-restore-vr-store-changelog'
    const ends = await listOffsets(admin, [{ topic: changelog, partition: 0 }], 'latest')
    assert.equal([...ends.values()][0], 3, 'one changelog record per version put')
    const kafkaAdmin = kafka(broker.bootstrap).admin()
    await kafkaAdmin.connect()
    try {
      const described = await kafkaAdmin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: changelog,
            configNames: ['cleanup.policy', 'min.compaction.lag.ms'],
          },
        ],
      })
      const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))
      assert.equal(entries.get('cleanup.policy'), 'compact')
      assert.equal(entries.get('min.compaction.lag.ms'), String(HISTORY_MS + 86_400_000))
    } finally {
      await kafkaAdmin.disconnect()
    }

    // A fresh state directory: the history comes back from the changelog, not from the (unread) input topic.
    const second = await start(stateDir())
    assert.ok(second.restoredRecords >= 3, `restored ${second.restoredRecords} records`)
    await produce('vr-orders', [
      { key: 'u1', value: 'o2', timestamp: base + 12 },
      { key: 'u1', value: 'o3', timestamp: base + 25 },
      { key: 'u2', value: 'o4', timestamp: base + 11 },
    ])
    const out = await readTopicUntil(broker.bootstrap, 'vr-out', (r) => r.length >= 4)
    assert.deepEqual(values(out), ['[o1,v1]', '[o2,v1]', '[o3,v2]', '[o4,w1]'])
    assert.equal(await second.close(), true)
  })
})
