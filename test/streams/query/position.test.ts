/**
 * Position and PositionBound (KIP-796): the token and JSON forms, merging, and the per-partition bound check; and
 * a StreamTask's position: the offsets it has applied per input partition, seeded by the committed offsets.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Materialized, Serdes, StreamsBuilder } from '../../../src/streams/index.ts'
import { Position, PositionBound } from '../../../src/streams/query/position.ts'
import { streamsConfig } from '../../../src/streams/runtime/config.ts'
import { StreamTask } from '../../../src/streams/runtime/stream-task.ts'

describe('Position', () => {
  it('prints as a token and as JSON, and parses both back', () => {
    const p = Position.empty().withComponent('clicks', 2, 17).withComponent('clicks', 0, 5).withComponent('views', 1, 0)
    assert.equal(p.toString(), 'clicks:0:5,clicks:2:17,views:1:0')
    assert.deepEqual(p.toJSON(), { clicks: { '0': 5, '2': 17 }, views: { '1': 0 } })
    assert.ok(Position.parse(p.toString()).equals(p))
    assert.ok(Position.parse(JSON.stringify(p.toJSON())).equals(p))
    assert.ok(Position.fromMap(p.toJSON()).equals(p))
    assert.equal(Position.parse('').isEmpty(), true)
    assert.equal(Position.empty().toString(), '')
  })

  it('merges by keeping the higher offset; withComponent sets; copies are independent', () => {
    const a = Position.empty().withComponent('t', 0, 10).withComponent('t', 1, 3)
    const b = Position.empty().withComponent('t', 0, 7).withComponent('t', 1, 9).withComponent('u', 0, 1)
    const copy = a.copy()
    a.merge(b)
    assert.equal(a.toString(), 't:0:10,t:1:9,u:0:1')
    assert.equal(copy.toString(), 't:0:10,t:1:3')
    a.withComponent('t', 0, 2)
    assert.equal(a.offset('t', 0), 2)
    assert.deepEqual([...a.partitionPositions('t')].sort(), [
      [0, 2],
      [1, 9],
    ])
  })

  it('builds from a producer’s offsets (numbers or bigints), keeping the highest per partition', () => {
    const p = Position.fromOffsets([
      { topic: 'orders', partition: 1, offset: 4n },
      { topic: 'orders', partition: 1, offset: 6n },
      { topic: 'orders', partition: 0, offset: 2 },
    ])
    assert.equal(p.toString(), 'orders:0:2,orders:1:6')
  })

  it('dominates a bound when every component is reached; per partition when one is given', () => {
    const store = Position.empty().withComponent('t', 0, 10).withComponent('t', 1, 3)
    const bound = Position.empty().withComponent('t', 0, 10).withComponent('t', 1, 4)
    assert.equal(store.dominates(bound), false)
    assert.equal(store.dominates(bound, 0), true)
    assert.equal(store.dominates(bound, 1), false)
    assert.equal(store.missing(bound).toString(), 't:1:4')
    // A component the store has never seen is not reached, even at offset 0.
    assert.equal(store.dominates(Position.empty().withComponent('t', 2, 0), 2), false)
    assert.equal(store.dominates(Position.empty().withComponent('u', 0, 0)), false)
    assert.equal(store.dominates(Position.empty()), true)
  })

  it('refuses malformed tokens and components with a coded error', () => {
    for (const bad of ['t:0', 't:x:1', 't:0:-1', 'a b:0:1', 't:0:1,', '{"t":{"0":"x"}}', '{"t":[1]}', '{nope']) {
      assert.throws(
        () => Position.parse(bad),
        (e: Error & { code?: string }) => e.code === 'TRB_STREAMS_INVALID_ARGUMENT',
        bad,
      )
    }
    assert.throws(() => Position.empty().withComponent('t', -1, 0), /partition -1/)
    assert.throws(() => Position.empty().withComponent('t', 0, 1.5), /offset 1.5/)
  })

  it('PositionBound: unbounded, or at a copy of a position', () => {
    assert.equal(PositionBound.unbounded().isUnbounded(), true)
    assert.equal(PositionBound.at(Position.empty()).isUnbounded(), true)
    const p = Position.empty().withComponent('t', 0, 1)
    const bound = PositionBound.at(p)
    p.withComponent('t', 0, 99)
    assert.equal(bound.position.toString(), 't:0:1')
    assert.equal(bound.toString(), 'at t:0:1')
  })
})

describe('StreamTask position', () => {
  const topology = () => {
    const builder = new StreamsBuilder()
    builder
      .stream<string, string>('clicks')
      .filter((_k, v) => v !== 'ignored')
      .groupByKey()
      .count(Materialized.as('counts'))
    return builder.build()
  }
  const collector = {
    send() {},
    partitionsFor: () => 2,
    flush: async () => {},
    offsets: () => new Map<string, number>(),
  }
  const record = (offset: number, value: string) => ({
    topic: 'clicks',
    partition: 1,
    offset,
    timestamp: 1000 + offset,
    key: Buffer.from('user'),
    value: Buffer.from(value),
    headers: [],
  })

  it('is the seeded committed offset, then the last record applied — filtered records included', async () => {
    const task = new StreamTask({
      id: '0_1',
      topology: topology(),
      subtopologies: [0],
      partitions: [{ topic: 'clicks', partition: 1 }],
      config: streamsConfig({
        'application.id': 'pos',
        'default.key.serde': Serdes.String(),
        'default.value.serde': Serdes.String(),
        'default.dsl.store': 'in_memory',
        'statestore.cache.max.bytes': 0,
      }),
      collector,
    })
    for (const { store, topic, partition } of task.changelogPartitions()) {
      task.restore(store, [])
      assert.equal(topic, 'pos-counts-changelog')
      assert.equal(partition, 1)
    }
    await task.prepare()
    task.completeRestoration()
    assert.equal(task.position().toString(), '')
    task.seedPosition('clicks', 1, 41)
    assert.equal(task.position().toString(), 'clicks:1:41')
    task.addRecords({ topic: 'clicks', partition: 1 }, [record(42, 'a'), record(43, 'ignored')])
    task.updateLag({ topic: 'clicks', partition: 1 }, 0)
    assert.equal(task.process(), true)
    assert.equal(task.position().toString(), 'clicks:1:42')
    assert.equal(task.process(), true)
    // The filtered record changed nothing, but it is applied: a bound at its offset is reached.
    assert.equal(task.position().toString(), 'clicks:1:43')
    assert.ok(task.position().dominates(Position.empty().withComponent('clicks', 1, 43), 1))
    await task.close()
  })
})
