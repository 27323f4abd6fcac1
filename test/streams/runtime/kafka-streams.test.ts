/**
 * KafkaStreams on one instance against a real broker on loopback: end to end, internal topics, restore from the
 * changelog and from the checkpoint, errors at start, the production exception handler, exactly_once_v2 aborts.
 */
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import kafkajs from 'kafkajs'
import { ensureTopic, KafkaCluster, listOffsets } from '../../../src/client/index.ts'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { readBatchHeader } from '../../../src/protocol/record-batch.ts'
import {
  KafkaStreams,
  type KeyValueStore,
  Materialized,
  type ProcessorContext,
  Produced,
  type Record,
  Serdes,
  StreamsBuilder,
  StreamsMetricNames,
  Topology,
} from '../../../src/streams/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { fetchRecordBytes } from '../../helpers/wire.ts'
import { kafka, readTableUntil, readTopicUntil, stateRecorder } from './helpers.ts'

const { ConfigResourceTypes } = kafkajs
let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []

function stateDir(): string {
  const d = tempDir('trb-streams-rt-')
  dirs.push(d)
  return d.path
}

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

function baseConfig(applicationId: string, dir: string) {
  return {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': dir,
    'commit.interval.ms': 100,
    'session.timeout.ms': 1500,
    'heartbeat.interval.ms': 200,
    'log.level': 'warn' as const,
  }
}

async function produce(topic: string, messages: Array<{ key: string; value: string | Buffer }>) {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({ topic, acks: -1, messages })
  await producer.disconnect()
}

function wordCount(input: string, output: string) {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(input)
    .flatMapValues((line) =>
      line
        .toLowerCase()
        .split(/\W+/)
        .filter((w) => w.length > 0),
    )
    .groupBy((_k, word) => word)
    .count(Materialized.as<string, number>('counts-store'))
    .toStream()
    .to(output, Produced.with(Serdes.String(), Serdes.Long()))
  return builder.build()
}

describe('KafkaStreams on one instance', () => {
  it('runs word count end to end, with internal topics named and configured as Kafka Streams does', async () => {
    await ensureTopic(admin.admin, 'wc-lines', { partitions: 3 })
    await ensureTopic(admin.admin, 'wc-counts', { partitions: 3 })
    const streams = new KafkaStreams(wordCount('wc-lines', 'wc-counts'), {
      ...baseConfig('wordcount', stateDir()),
      'repartition.purge.interval.ms': 0,
      'application.server': 'localhost:7070',
    })
    const recorder = stateRecorder(streams)
    await streams.start()
    await recorder.reach('RUNNING')
    await produce('wc-lines', [
      { key: '1', value: 'all streams lead to kafka' },
      { key: '2', value: 'hello kafka streams' },
      { key: '3', value: 'join kafka summit' },
    ])
    // The counts of different words come from different tasks, so they arrive in any order: wait for the whole
    // final table (a count that overshoots never matches, and the test fails on its timeout).
    const expected = { all: 1, hello: 1, join: 1, kafka: 3, lead: 1, streams: 2, summit: 1, to: 1 }
    const { table } = await readTableUntil(broker.bootstrap, 'wc-counts', (t) =>
      Object.entries(expected).every(([word, count]) => t.get(word) === count),
    )
    assert.deepEqual(Object.fromEntries([...table].sort()), expected)
    const kadmin = kafka(broker.bootstrap).admin()
    await kadmin.connect()
    const topics = await kadmin.fetchTopicMetadata({
      topics: ['wordcount-counts-store-repartition', 'wordcount-counts-store-changelog'],
    })
    assert.deepEqual(topics.topics.map((t) => [t.name, t.partitions.length]).sort(), [
      ['wordcount-counts-store-changelog', 3],
      ['wordcount-counts-store-repartition', 3],
    ])
    const configs = await kadmin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'wordcount-counts-store-changelog', configNames: ['cleanup.policy'] },
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'wordcount-counts-store-repartition',
          configNames: ['cleanup.policy'],
        },
      ],
    })
    assert.deepEqual(
      configs.resources.map((r) => [
        r.resourceName,
        r.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue,
      ]),
      [
        ['wordcount-counts-store-changelog', 'compact'],
        ['wordcount-counts-store-repartition', 'delete'],
      ],
    )
    await kadmin.disconnect()
    // Committed repartition records are purged (DeleteRecords): the topic's start moves past them.
    const repartition = [0, 1, 2].map((partition) => ({ topic: 'wordcount-counts-store-repartition', partition }))
    const [ends] = [await listOffsets(admin, repartition, 'latest')]
    for (;;) {
      const starts = await listOffsets(admin, repartition, 'earliest')
      if ([...ends].every(([k, end]) => starts.get(k) === end)) break
      await delay(20)
    }
    // The assignment tells which instance (application.server) holds which partitions, for interactive queries.
    assert.deepEqual(streams.metadataForAllStreamsClients(), [
      {
        hostInfo: { host: 'localhost', port: 7070 },
        host: 'localhost',
        port: 7070,
        stateStoreNames: ['counts-store'],
        standbyStateStoreNames: [],
        topicPartitions: [
          'wc-lines:0',
          'wc-lines:1',
          'wc-lines:2',
          'wordcount-counts-store-repartition:0',
          'wordcount-counts-store-repartition:1',
          'wordcount-counts-store-repartition:2',
        ],
        standbyTopicPartitions: [],
      },
    ])
    const metrics = await streams.metrics().render()
    assert.match(metrics, new RegExp(`${StreamsMetricNames.PROCESSED}\\{[^}]*task_id="0_0"[^}]*\\} \\d+`))
    assert.match(metrics, new RegExp(`${StreamsMetricNames.COMMITS}\\{[^}]*\\} [1-9]`))
    assert.match(metrics, new RegExp(`${StreamsMetricNames.LAG}\\{[^}]*topic="wc-lines"[^}]*\\} 0`))
    assert.match(metrics, new RegExp(`${StreamsMetricNames.STATE}\\{[^}]*\\} 2`))
    assert.equal(await streams.close(), true)
    assert.deepEqual(recorder.states, ['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING'])
  })

  it('compresses outputs, repartition and changelog records with compression.type', async () => {
    await ensureTopic(admin.admin, 'gz-lines', { partitions: 1 })
    await ensureTopic(admin.admin, 'gz-counts', { partitions: 1 })
    const streams = new KafkaStreams(wordCount('gz-lines', 'gz-counts'), {
      ...baseConfig('gzipped', stateDir()),
      'compression.type': 'gzip',
    })
    const recorder = stateRecorder(streams)
    try {
      await streams.start()
      await recorder.reach('RUNNING')
      await produce('gz-lines', [{ key: '1', value: 'gzip gzip gzip' }])
      const { table } = await readTableUntil(broker.bootstrap, 'gz-counts', (t) => t.get('gzip') === 3)
      assert.equal(table.get('gzip'), 3)
    } finally {
      await streams.close()
    }
    const wire = await KafkaWireClient.connect(broker.bootstrap)
    try {
      for (const topic of ['gz-counts', 'gzipped-counts-store-repartition', 'gzipped-counts-store-changelog']) {
        const records = await fetchRecordBytes(wire, topic)
        assert.ok(records && records.length > 0, `${topic} has records`)
        assert.equal(readBatchHeader(records).compression, 1, `${topic} holds gzip batches`)
      }
    } finally {
      wire.close()
      await wire.closed
    }
  })

  it('restores a store from its changelog, and from the checkpoint without replay after a clean stop', async () => {
    await ensureTopic(admin.admin, 'rs-in', { partitions: 2 })
    await ensureTopic(admin.admin, 'rs-out', { partitions: 2 })
    const topology = () => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('rs-in')
        .groupByKey()
        .count(Materialized.as<string, number>('rs-store'))
        .toStream()
        .to('rs-out', Produced.with(Serdes.String(), Serdes.Long()))
      return builder.build()
    }
    const config = (dir: string) => ({ ...baseConfig('restoring', dir), 'statestore.cache.max.bytes': 0 })
    const run = async (
      dir: string,
      input: Array<{ key: string; value: string }>,
      until: (t: Map<string, number>) => boolean,
    ) => {
      const streams = new KafkaStreams(topology(), config(dir))
      const recorder = stateRecorder(streams)
      await streams.start()
      await recorder.reach('RUNNING')
      await produce('rs-in', input)
      await readTableUntil(broker.bootstrap, 'rs-out', until)
      const restored = streams.restoredRecords
      assert.equal(await streams.close(), true)
      return restored
    }
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
    const first = stateDir()
    const initial = keys.flatMap((key) => Array.from({ length: 20 }, () => ({ key, value: 'x' })))
    assert.equal(await run(first, initial, (t) => keys.every((k) => t.get(k) === 20)), 0)
    const checkpoints = ['0_0', '0_1'].map((task) => join(first, 'restoring', task, '.checkpoint'))
    assert.ok(
      checkpoints.every((p) => existsSync(p)),
      'a clean close leaves a checkpoint per task',
    )
    // Clean restart on the same state directory: nothing to replay, and the counts go on from the stores.
    assert.equal(await run(first, [{ key: 'k0', value: 'x' }], (t) => t.get('k0') === 21), 0)
    // A fresh state directory: every changelog record is restored, and the counts still go on.
    const ends = await listOffsets(
      admin,
      [0, 1].map((partition) => ({ topic: 'restoring-rs-store-changelog', partition })),
      'latest',
    )
    const changelogRecords = [...ends.values()].reduce((a, b) => a + b, 0)
    assert.equal(changelogRecords, 201)
    assert.equal(await run(stateDir(), [{ key: 'k1', value: 'x' }], (t) => t.get('k1') === 21), changelogRecords)
    // Without its checkpoint (as after a crash) the first directory replays the changelog from the start.
    for (const p of checkpoints) rmSync(p)
    assert.equal(await run(first, [{ key: 'k2', value: 'x' }], (t) => t.get('k2') === 21), changelogRecords + 1)
  })

  it('refuses to start when a source topic is missing', async () => {
    const streams = new KafkaStreams(wordCount('no-such-topic', 'wc-counts'), baseConfig('missing', stateDir()))
    const recorder = stateRecorder(streams)
    await assert.rejects(streams.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'TRB_STREAMS_MISSING_SOURCE_TOPIC')
      assert.match(e.message, /no-such-topic/)
      return true
    })
    assert.equal(streams.state, 'ERROR')
    assert.deepEqual(recorder.states, ['REBALANCING', 'PENDING_ERROR', 'ERROR'])
  })

  it('refuses a state directory another live instance uses', async () => {
    await ensureTopic(admin.admin, 'wc-lines', { partitions: 3 })
    await ensureTopic(admin.admin, 'wc-counts', { partitions: 3 })
    const dir = stateDir()
    const first = new KafkaStreams(wordCount('wc-lines', 'wc-counts'), baseConfig('shared-dir', dir))
    await first.start()
    const second = new KafkaStreams(wordCount('wc-lines', 'wc-counts'), baseConfig('shared-dir', dir))
    await assert.rejects(second.start(), { code: 'TRB_STREAMS_STATE_DIR_LOCKED' })
    await first.close()
  })

  it('checks at start that co-partitioned inputs have the same number of partitions', async () => {
    await ensureTopic(admin.admin, 'cp-left', { partitions: 2 })
    await ensureTopic(admin.admin, 'cp-right', { partitions: 3 })
    const topology = new Topology()
      .addSource({ name: 'left', keySerde: Serdes.String(), valueSerde: Serdes.String() }, 'cp-left')
      .addSource({ name: 'right', keySerde: Serdes.String(), valueSerde: Serdes.String() }, 'cp-right')
      .addProcessor('join', () => ({ process() {} }), 'left', 'right')
      .copartitionSources(['left', 'right'])
    const streams = new KafkaStreams(topology, baseConfig('copartition', stateDir()))
    await assert.rejects(streams.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'TRB_STREAMS_COPARTITIONING')
      assert.match(e.message, /cp-left \(2\), cp-right \(3\)/)
      return true
    })
  })

  it('sends a record the broker refuses to the production exception handler', async () => {
    await ensureTopic(admin.admin, 'pe-in', { partitions: 1 })
    await ensureTopic(admin.admin, 'pe-out', { partitions: 1, configs: { 'max.message.bytes': '300' } })
    await ensureTopic(admin.admin, 'pe-dlq', { partitions: 1 })
    const topology = () => {
      const builder = new StreamsBuilder()
      builder
        .stream<string, string>('pe-in')
        .mapValues((v) => v.toUpperCase())
        .to('pe-out')
      return builder.build()
    }
    await produce('pe-in', [
      { key: 'small-1', value: 'a' },
      { key: 'large', value: 'x'.repeat(2000) },
      { key: 'small-2', value: 'b' },
    ])
    const tolerant = new KafkaStreams(topology(), {
      ...baseConfig('production-errors', stateDir()),
      'production.exception.handler': 'logAndContinue',
      'errors.dead.letter.queue.topic.name': 'pe-dlq',
    })
    await tolerant.start()
    const out = await readTopicUntil(broker.bootstrap, 'pe-out', (r) => r.length === 2)
    assert.deepEqual(
      out.map((r) => [r.key, r.value?.toString()]),
      [
        ['small-1', 'A'],
        ['small-2', 'B'],
      ],
    )
    const [dead] = await readTopicUntil(broker.bootstrap, 'pe-dlq', (r) => r.length === 1)
    assert.equal(dead.key, 'large')
    assert.equal(dead.value?.toString(), 'x'.repeat(2000))
    assert.equal(dead.headers['__streams.errors.topic'], 'pe-in')
    assert.match(dead.headers['__streams.errors.message'], /MESSAGE_TOO_LARGE/)
    await tolerant.close()

    const strict = new KafkaStreams(topology(), baseConfig('production-errors-strict', stateDir()))
    const recorder = stateRecorder(strict)
    const failures: Error[] = []
    strict.setUncaughtExceptionHandler((error) => {
      failures.push(error)
      return 'SHUTDOWN_CLIENT'
    })
    await strict.start()
    await recorder.reach('ERROR')
    assert.equal((failures[0] as Error & { code?: string }).code, 'TRB_STREAMS_PRODUCTION_FAILED')
    assert.match(failures[0].message, /pe-out/)
  })

  it('exactly_once_v2: output of a transaction that fails is never visible to read_committed readers', async () => {
    await ensureTopic(admin.admin, 'eos-in', { partitions: 1 })
    await ensureTopic(admin.admin, 'eos-out', { partitions: 1 })
    const topology = new Topology()
      .addSource({ name: 'in', keySerde: Serdes.String(), valueSerde: Serdes.String() }, 'eos-in')
      .addProcessor(
        'echo',
        () => {
          let forward: (r: Record<string, string>) => void
          return {
            init(ctx: { forward(r: Record<string, string>): void }) {
              forward = (r) => ctx.forward(r)
            },
            process(r: Record<string, string>) {
              forward(r)
              if (r.value === 'poison') throw new Error('cannot process poison')
            },
          }
        },
        'in',
      )
      .addSink({ name: 'out', keySerde: Serdes.String(), valueSerde: Serdes.String() }, 'eos-out', 'echo')
    const streams = new KafkaStreams(topology, {
      ...baseConfig('eos-abort', stateDir()),
      'processing.guarantee': 'exactly_once_v2',
      // One transaction holds everything: the commit interval is far longer than the test.
      'commit.interval.ms': 600000,
    })
    const recorder = stateRecorder(streams)
    await streams.start()
    await recorder.reach('RUNNING')
    await produce('eos-in', [
      { key: 'a', value: 'one' },
      { key: 'b', value: 'two' },
    ])
    // The transaction is open: its records are in the log (read_uncommitted sees them)...
    const uncommitted = await readTopicUntil(broker.bootstrap, 'eos-out', (r) => r.length === 2, {
      readUncommitted: true,
    })
    assert.deepEqual(
      uncommitted.map((r) => r.value?.toString()),
      ['one', 'two'],
    )
    // ...then processing fails: the client stops and aborts it.
    await produce('eos-in', [{ key: 'c', value: 'poison' }])
    await recorder.reach('ERROR')
    assert.equal((streams.lastError as Error & { code?: string }).code, 'TRB_STREAMS_PROCESSING_FAILED')
    await produce('eos-out', [{ key: 'marker', value: 'after' }])
    const committed = await readTopicUntil(broker.bootstrap, 'eos-out', (r) => r.some((x) => x.key === 'marker'))
    assert.deepEqual(
      committed.map((r) => r.key),
      ['marker'],
    )
  })

  it('REPLACE_THREAD: after an uncaught error the instance rejoins and goes on from the last commit', async () => {
    await ensureTopic(admin.admin, 'rt-in', { partitions: 1 })
    await ensureTopic(admin.admin, 'rt-out', { partitions: 1 })
    let failures = 0
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('rt-in')
      .mapValues((v) => {
        // Fails the first time it meets 'flaky' (a transient fault), then works.
        if (v === 'flaky' && failures++ === 0) throw new Error('transient failure')
        return v.toUpperCase()
      })
      .to('rt-out')
    const streams = new KafkaStreams(builder.build(), baseConfig('replace-thread', stateDir()))
    const recorder = stateRecorder(streams)
    const seen: string[] = []
    streams.setUncaughtExceptionHandler((error) => {
      seen.push(error.message)
      return 'REPLACE_THREAD'
    })
    await streams.start()
    await recorder.reach('RUNNING')
    await produce('rt-in', [
      { key: 'a', value: 'one' },
      { key: 'b', value: 'flaky' },
      { key: 'c', value: 'three' },
    ])
    const out = await readTopicUntil(broker.bootstrap, 'rt-out', (r) => r.some((x) => x.key === 'c'))
    assert.deepEqual([...new Set(out.map((r) => `${r.key}=${r.value}`))], ['a=ONE', 'b=FLAKY', 'c=THREE'])
    assert.equal(seen.length, 1)
    assert.match(seen[0], /transient failure/)
    assert.equal(streams.state, 'RUNNING')
    await streams.close()
  })

  it('SHUTDOWN_APPLICATION: one instance’s failure stops every instance of the application', async () => {
    await ensureTopic(admin.admin, 'sa-in', { partitions: 2 })
    const topology = () => {
      const builder = new StreamsBuilder()
      builder.stream<string, string>('sa-in').foreach((_k, v) => {
        if (v === 'poison') throw new Error('poison record')
      })
      return builder.build()
    }
    const instances = [0, 1].map(() => new KafkaStreams(topology(), baseConfig('shutdown-app', stateDir())))
    const recorders = instances.map((i) => stateRecorder(i))
    for (const i of instances) i.setUncaughtExceptionHandler(() => 'SHUTDOWN_APPLICATION')
    for (const i of instances) await i.start()
    // Both run (one task each) before the poison arrives.
    for (;;) {
      if (instances.every((i) => i.state === 'RUNNING' && i.metadataForLocalThreads()[0]?.activeTasks.length === 1))
        break
      await Promise.race(recorders.map((r, n) => r.reach(instances[n].state === 'RUNNING' ? 'REBALANCING' : 'RUNNING')))
    }
    await produce('sa-in', [{ key: 'x', value: 'poison' }])
    await Promise.all(recorders.map((r) => r.reach('ERROR')))
    for (const i of instances)
      assert.equal((i.lastError as Error & { code?: string }).code, 'TRB_STREAMS_APPLICATION_SHUTDOWN')
  })

  it('loads a global table before processing, and keeps it up to date', async () => {
    await ensureTopic(admin.admin, 'gt-prices', { partitions: 2 })
    await ensureTopic(admin.admin, 'gt-orders', { partitions: 2 })
    await ensureTopic(admin.admin, 'gt-priced', { partitions: 2 })
    await produce('gt-prices', [
      { key: 'apple', value: '3' },
      { key: 'pear', value: '5' },
    ])
    const builder = new StreamsBuilder()
    builder.globalTable<string, string>('gt-prices', undefined, Materialized.as<string, string>('prices'))
    builder
      .stream<string, string>('gt-orders')
      .process(() => {
        let ctx: ProcessorContext<string, string>
        let prices: KeyValueStore<string, { value: string }>
        return {
          init(c: ProcessorContext<string, string>) {
            ctx = c
            prices = c.getStateStore('prices')
          },
          process(r: Record<string, string>) {
            ctx.forward(r.withValue(`${r.value}@${prices.get(r.value)?.value ?? '?'}`))
          },
        }
      })
      .to('gt-priced')
    const streams = new KafkaStreams(builder.build(), baseConfig('global-table', stateDir()))
    const recorder = stateRecorder(streams)
    await streams.start()
    await recorder.reach('RUNNING')
    await produce('gt-orders', [{ key: 'o1', value: 'apple' }])
    await readTopicUntil(broker.bootstrap, 'gt-priced', (r) => r.some((x) => x.value?.toString() === 'apple@3'))
    // An update of the global topic reaches the store while the application runs.
    await produce('gt-prices', [{ key: 'apple', value: '4' }])
    for (let n = 2; ; n++) {
      await produce('gt-orders', [{ key: `o${n}`, value: 'apple' }])
      const out = await readTopicUntil(broker.bootstrap, 'gt-priced', (r) => r.some((x) => x.key === `o${n}`))
      if (out.find((x) => x.key === `o${n}`)!.value?.toString() === 'apple@4') break
    }
    await streams.close()
  })
})
