import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { JoinWindows, type KStream, Serdes, Stores, StreamJoined, StreamsBuilder } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

const S = Serdes.String()
const cfg = {
  'application.id': 'ssj',
  'default.key.serde': S,
  'default.value.serde': S,
  'default.dsl.store': 'in_memory' as const,
}

type Side = 'L' | 'R'
type In = [Side, string | null, string | null, number]

function run(
  join: (l: KStream<string, string>, r: KStream<string, string>) => KStream<string, string>,
  inputs: In[],
  extra: Record<string, unknown> = {},
) {
  const b = new StreamsBuilder()
  join(b.stream<string, string>('left'), b.stream<string, string>('right')).to('out')
  const driver = new TopologyTestDriver(b.build(), { ...cfg, ...extra })
  const l = driver.createInputTopic('left', S, S)
  const r = driver.createInputTopic('right', S, S)
  const out = driver.createOutputTopic('out', S, S)
  const seen: string[] = []
  for (const [side, k, v, t] of inputs) {
    ;(side === 'L' ? l : r).pipeInput(k, v, t)
    for (const o of out.readRecordsToList()) seen.push(`${o.key}:${o.value}@${o.timestamp}`)
  }
  const dropped = driver.metrics().get('stream-task-metrics:dropped-records-total')
  driver.close()
  return { seen, dropped }
}

const joiner = (a: string | null, b: string | null) => `${a}+${b}`
const W = JoinWindows.ofTimeDifferenceWithNoGrace(10)

describe('KStream-KStream join', () => {
  it('inner join: pairs within the window, output timestamp = max of the two, null keys/values skipped', () => {
    const { seen, dropped } = run(
      (l, r) => l.join(r, joiner, W),
      [
        ['L', 'a', 'A', 0],
        ['R', 'a', 'a', 5],
        ['R', 'a', 'b', 20],
        ['L', 'a', 'B', 15],
        ['L', 'a', 'C', 3], // out of order: still joins a@5 (retention = size + grace = 20)
        ['L', null, 'X', 16],
        ['R', 'a', null, 16],
        ['L', 'b', 'D', 21],
      ],
    )
    assert.deepEqual(seen, ['a:A+a@5', 'a:B+a@15', 'a:B+b@20', 'a:C+a@5'])
    assert.equal(dropped, 2)
  })

  it('before/after: asymmetric windows', () => {
    const w = JoinWindows.ofTimeDifferenceWithNoGrace(0).before(5).after(0)
    const { seen } = run(
      (l, r) => l.join(r, joiner, w),
      [
        ['R', 'a', 'r1', 10],
        ['L', 'a', 'l1', 12], // right records in [7, 12]: r1
        ['L', 'a', 'l2', 9], // [4, 9]: none
        ['R', 'a', 'r2', 13], // left records in [13, 18]: none (the right side sees [t - after, t + before])
        ['R', 'a', 'r3', 11], // left in [11, 16]: l1
      ],
    )
    assert.deepEqual(seen, ['a:l1+r1@12', 'a:l1+r3@12'])
  })

  it('left join: an unmatched left record is emitted with null only once its window closes (no spurious result)', () => {
    const { seen } = run(
      (l, r) => l.leftJoin(r, joiner, JoinWindows.ofTimeDifferenceAndGrace(10, 5)),
      [
        ['L', 'a', 'A', 0],
        ['R', 'a', 'x', 8], // joins A
        ['L', 'b', 'B', 1], // no match yet: held
        ['R', 'c', 'y', 15], // stream time 15: B's window closes at 1 + 10 + 5 = 16
        ['R', 'c', 'z', 17], // now B is emitted with null, at its own timestamp
        ['R', 'b', 'late', 2], // B is still in the left store (retention 25), so it joins, as in Kafka Streams
        ['R', 'e', 'unmatched', 18], // right records never emit unmatched in a left join
      ],
    )
    assert.deepEqual(seen, ['a:A+x@8', 'b:B+null@1', 'b:B+late@2'])
  })

  it('outer join: unmatched records of both sides are emitted after their windows close, in time order', () => {
    const { seen } = run(
      (l, r) => l.outerJoin(r, joiner, W),
      [
        ['L', 'a', 'A', 1],
        ['R', 'b', 'b', 2],
        ['L', 'c', 'C', 3],
        ['R', 'c', 'c', 4], // matches C: C is no longer pending
        ['L', 'd', 'D', 30], // closes everything before 20
      ],
    )
    assert.deepEqual(seen, ['c:C+c@4', 'a:A+null@1', 'b:null+b@2'])
  })

  it('an outer/left record already out of its window when it arrives is emitted with null at once', () => {
    const { seen } = run(
      (l, r) => l.leftJoin(r, joiner, W),
      [
        ['L', 'a', 'A', 50],
        ['L', 'b', 'B', 20], // 20 + 10 < 50: cannot be joined any more
      ],
    )
    assert.deepEqual(seen, ['b:B+null@20'])
  })

  it('self join: a record joins itself and its neighbours', () => {
    const b = new StreamsBuilder()
    const s = b.stream<string, string>('left')
    s.join(s, joiner, W).to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    const l = driver.createInputTopic('left', S, S)
    l.pipeInput('a', '1', 0)
    l.pipeInput('a', '2', 5)
    const seen = driver
      .createOutputTopic('out', S, S)
      .readRecordsToList()
      .map((o) => `${o.value}@${o.timestamp}`)
    assert.deepEqual(seen, ['1+1@0', '2+1@5', '1+2@5', '2+2@5'])
    driver.close()
  })

  it('StreamJoined names the stores; store suppliers must retain duplicates and match the windows', () => {
    const b = new StreamsBuilder()
    b.stream<string, string>('left')
      .leftJoin(b.stream<string, string>('right'), joiner, W, StreamJoined.as<string, string, string>('orders'))
      .to('out')
    const driver = new TopologyTestDriver(b.build(), cfg)
    assert.deepEqual([...driver.getAllStateStores().keys()].sort(), [
      'orders-left-shared-join-store',
      'orders-outer-other-join-store',
      'orders-this-join-store',
    ])
    driver.close()
    const b2 = new StreamsBuilder()
    assert.throws(
      () =>
        b2
          .stream<string, string>('left')
          .join(
            b2.stream<string, string>('right'),
            joiner,
            W,
            StreamJoined.withStoreSuppliers(
              Stores.inMemoryWindowStore('x', 20, 20, false),
              Stores.inMemoryWindowStore('y', 20, 20, true),
            ),
          ),
      { code: 'TRB_STREAMS_INVALID_ARGUMENT' },
    )
  })

  it('replay equals live: shuffling within grace gives the same set of inner-join results', () => {
    const records: In[] = []
    for (let i = 0; i < 40; i++) records.push([i % 3 === 0 ? 'R' : 'L', `k${i % 2}`, `v${i}`, i * 2])
    let seed = 3
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    // Shuffle only within blocks of 4 records (8 ms), inside the 20 ms grace.
    const shuffled: In[] = []
    for (let i = 0; i < records.length; i += 4) shuffled.push(...records.slice(i, i + 4).sort(() => rand() - 0.5))
    const w = JoinWindows.ofTimeDifferenceAndGrace(5, 20)
    const live = run((l, r) => l.join(r, joiner, w), records).seen.sort()
    const replay = run((l, r) => l.join(r, joiner, w), shuffled).seen.sort()
    assert.ok(live.length > 10)
    assert.deepEqual(replay, live)
  })
})
