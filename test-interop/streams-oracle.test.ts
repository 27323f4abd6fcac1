/**
 * The Kafka Streams oracle harness itself (test/helpers/streams-oracle.ts): fixed inputs through Kafka's
 * TopologyTestDriver, with the outputs Kafka Streams 4.x gives for them written out by hand, so that a change in
 * the harness (serdes, ordering, cases, configs) shows here before it misleads a streams comparison.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type OracleRecord, runStreamsOracle, runStreamsOracleCases } from '../test/helpers/streams-oracle.ts'

const line = (value: string, timestamp: number, key: string | null = null): OracleRecord => ({
  topic: 'text-lines',
  key,
  value,
  timestamp,
})
const count = (key: string, value: number, timestamp: number, topic = 'word-counts'): OracleRecord => ({
  topic,
  key,
  value,
  timestamp,
})
const region = (user: string, value: string | null, timestamp: number): OracleRecord => ({
  topic: 'user-regions',
  key: user,
  value,
  timestamp,
})

describe('Kafka Streams oracle (TopologyTestDriver, kafka-streams 4.x)', () => {
  test('word count: every update in order; an aggregate carries the newest timestamp it has seen', async () => {
    const out = await runStreamsOracle('word-count', [
      line('Hello hello world', 1000),
      line('world, again!', 500, 'k'),
      line('', 600),
      line('HELLO', 2000),
    ])
    assert.deepEqual(out, [
      count('hello', 1, 1000),
      count('hello', 2, 1000),
      count('world', 1, 1000),
      // An out-of-order record updates the count; the result keeps the larger timestamp (1000, not 500).
      count('world', 2, 1000),
      count('again', 1, 500),
      // An empty line splits into no words: no output.
      count('hello', 3, 2000),
    ])
  })

  test('KTable aggregation: the subtractor runs for the old value, the adder for the new one, tombstones subtract', async () => {
    const out = await runStreamsOracle('ktable-aggregate', [
      region('alice', 'eu', 1),
      region('bob', 'eu', 2),
      region('alice', 'us', 3),
      region('bob', null, 4),
      region('carol', 'us', 5),
    ])
    const rc = (key: string, value: number, timestamp: number) => count(key, value, timestamp, 'region-counts')
    assert.deepEqual(out, [
      rc('eu', 1, 1),
      rc('eu', 2, 2),
      // alice moves from eu to us: subtract from eu first, then add to us, both at the update's timestamp.
      rc('eu', 1, 3),
      rc('us', 1, 3),
      // bob deleted (tombstone): only the subtractor.
      rc('eu', 0, 4),
      rc('us', 2, 5),
    ])
  })

  test('cases run on fresh drivers in one JVM, and configs reach the driver', async () => {
    const [first, second, empty] = await runStreamsOracleCases('word-count', [[line('a b a', 10)], [line('a', 20)], []])
    assert.deepEqual(first, [count('a', 1, 10), count('b', 1, 10), count('a', 2, 10)])
    assert.deepEqual(second, [count('a', 1, 20)], 'a new case starts from empty state')
    assert.deepEqual(empty, [])
    // Configs go to StreamsConfig: an invalid one is refused by Kafka Streams itself.
    await assert.rejects(
      runStreamsOracle('word-count', [line('a', 1)], { 'statestore.cache.max.bytes': '-5' }),
      /statestore\.cache\.max\.bytes/,
    )
  })

  test('an unknown input topic is an error, not a silent empty output', async () => {
    await assert.rejects(
      runStreamsOracle('word-count', [{ topic: 'nope', key: null, value: 'x', timestamp: 0 }]),
      /not an input topic/,
    )
  })
})
