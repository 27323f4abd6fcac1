/**
 * A real Kafka Streams 4.x application (test-interop/java/src/KafkaStreamsApp.java) against Tributary's broker:
 * word count under exactly_once_v2 (a repartition topic, a changelogged store, transactions with offsets), so
 * everything Kafka Streams needs from a broker is exercised by the Java implementation itself. Then a restart of
 * the application on the same state (fresh state dir: restored from the changelog) continues the counts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestBroker, type TestBroker, tempDir } from '../test/helpers/broker.ts'
import { startKafkaStreamsApp } from '../test/helpers/kafka-streams-app.ts'
import { kafka, readTableUntil } from '../test/streams/runtime/helpers.ts'

let broker: TestBroker
before(async () => {
  broker = await startTestBroker()
})
after(() => broker.close())

async function produceLines(topic: string, lines: string[]): Promise<void> {
  const producer = kafka(broker.bootstrap).producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: lines.map((value, i) => ({ key: `line-${i}`, value })) })
  } finally {
    await producer.disconnect()
  }
}

function wordCounts(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of lines)
    for (const word of line.toLowerCase().split(/\W+/)) if (word) counts.set(word, (counts.get(word) ?? 0) + 1)
  return counts
}

const sameCounts = (expected: Map<string, number>) => (table: Map<string, number>) =>
  [...expected].every(([w, n]) => table.get(w) === n)

describe('Kafka Streams (Java) on Tributary', () => {
  test('word count under exactly_once_v2: repartition and changelog topics, transactions, restore after restart', async () => {
    const applicationId = 'kstreams-word-count'
    const admin = kafka(broker.bootstrap).admin()
    await admin.connect()
    const state = tempDir('kstreams-state-')
    const state2 = tempDir('kstreams-state-')
    try {
      await admin.createTopics({
        topics: [
          { topic: 'ks-lines', numPartitions: 2 },
          { topic: 'ks-counts', numPartitions: 2 },
        ],
      })
      const first = ['the quick brown fox', 'jumps over the lazy dog', 'The dog barks', 'a fox, a dog']
      await produceLines('ks-lines', first)
      const options = {
        topology: 'word-count' as const,
        bootstrap: broker.bootstrap,
        applicationId,
        input: 'ks-lines',
        output: 'ks-counts',
        guarantee: 'exactly_once_v2' as const,
        stateDir: state.path,
        // A restarted Kafka Streams member does not leave the group on close; a short session lets the second run's
        // member take over without waiting out Kafka Streams' default 45 s.
        config: { 'commit.interval.ms': 100, 'session.timeout.ms': 6000 },
      }
      let app = await startKafkaStreamsApp(options)
      try {
        await app.running
        await readTableUntil(broker.bootstrap, 'ks-counts', sameCounts(wordCounts(first)), 120000)
      } finally {
        assert.equal(await app.stop(), first.length, app.stderr())
      }

      // Kafka Streams created its internal topics on our broker, named and configured as it does on Kafka.
      const topics = await admin.listTopics()
      const internal = topics.filter((t) => t.startsWith(`${applicationId}-`)).sort()
      assert.deepEqual(
        internal.map((t) => t.replace(/\d{10}/, 'N')),
        [`${applicationId}-counts-changelog`, `${applicationId}-counts-repartition`].sort(),
        `internal topics: ${internal.join(', ')}`,
      )
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: `${applicationId}-counts-changelog` }],
      })
      const policy = configs.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy')
      assert.equal(policy?.configValue, 'compact')

      // A second run with an empty state directory restores the store from the changelog and goes on counting.
      state.remove()
      const second = ['the end of the fox']
      await produceLines('ks-lines', second)
      app = await startKafkaStreamsApp({ ...options, stateDir: state2.path })
      try {
        await app.running
        const { table } = await readTableUntil(
          broker.bootstrap,
          'ks-counts',
          sameCounts(wordCounts([...first, ...second])),
          120000,
        )
        assert.equal(table.get('the'), 5)
        assert.equal(table.get('fox'), 3)
      } finally {
        // Only the new line was processed: the input offsets were committed in the first run's transactions, and
        // the counts before it came from the changelog into the empty state directory.
        assert.equal(await app.stop(), second.length, app.stderr())
      }
    } finally {
      await admin.disconnect()
      state.remove()
      state2.remove()
    }
  })
})
