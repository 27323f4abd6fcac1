/** Offset specifications of `groups reset-offsets` and `consume --from`, parsed and planned without a broker. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type PartitionState,
  parseDateTime,
  parseDuration,
  parseStartSpec,
  parseTopicPartitions,
  planReset,
  resetSpecFromFlags,
} from '../../src/cli/commands/offset-specs.ts'
import { TributaryError } from '../../src/errors.ts'

const usage = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(
    fn,
    (err: unknown) => err instanceof TributaryError && err.code === 'TRB_CLI_USAGE' && pattern.test(err.message),
  )

describe('durations and times', () => {
  it('reads ISO-8601 and short durations', () => {
    assert.equal(parseDuration('PT15M'), 15 * 60_000)
    assert.equal(parseDuration('P1DT2H'), 26 * 3_600_000)
    assert.equal(parseDuration('PT1.5S'), 1500)
    assert.equal(parseDuration('P1W'), 7 * 86_400_000)
    assert.equal(parseDuration('15m'), 15 * 60_000)
    assert.equal(parseDuration('1h30m'), 90 * 60_000)
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('2d'), 2 * 86_400_000)
  })

  it('refuses what is not a duration', () => {
    for (const bad of ['', 'P', 'PT', '15', 'm15', '1y', 'soon', '-5m'])
      usage(() => parseDuration(bad), /not a duration/)
  })

  it('reads ISO-8601 date-times and epoch milliseconds', () => {
    assert.equal(parseDateTime('2026-01-31T12:00:00Z'), Date.UTC(2026, 0, 31, 12))
    assert.equal(parseDateTime('2026-01-31T12:00:00.250+01:00'), Date.UTC(2026, 0, 31, 11, 0, 0, 250))
    assert.equal(parseDateTime('1767182400000'), 1767182400000)
    for (const bad of ['yesterday', '2026-13-45T99:00:00Z', '31/01/2026'])
      usage(() => parseDateTime(bad), /not a date-time/)
  })
})

describe('reset specs', () => {
  const now = Date.UTC(2026, 5, 1)

  it('takes exactly one of Kafka’s reset options', () => {
    assert.deepEqual(resetSpecFromFlags({ toEarliest: true }), { kind: 'earliest' })
    assert.deepEqual(resetSpecFromFlags({ toLatest: true }), { kind: 'latest' })
    assert.deepEqual(resetSpecFromFlags({ toCurrent: true }), { kind: 'current' })
    assert.deepEqual(resetSpecFromFlags({ toOffset: '42' }), { kind: 'offset', offset: 42n })
    assert.deepEqual(resetSpecFromFlags({ shiftBy: '-3' }), { kind: 'shift', by: -3n })
    assert.deepEqual(resetSpecFromFlags({ shiftBy: '+3' }), { kind: 'shift', by: 3n })
    assert.deepEqual(resetSpecFromFlags({ toDatetime: '2026-01-31T12:00:00Z' }), {
      kind: 'timestamp',
      timestamp: Date.UTC(2026, 0, 31, 12),
    })
    assert.deepEqual(resetSpecFromFlags({ byDuration: 'PT1H' }, now), { kind: 'timestamp', timestamp: now - 3_600_000 })
    usage(() => resetSpecFromFlags({}), /exactly one/)
    usage(() => resetSpecFromFlags({ toEarliest: true, toLatest: true }), /got 2/)
    usage(() => resetSpecFromFlags({ toOffset: '-1' }), /non-negative/)
    usage(() => resetSpecFromFlags({ toOffset: 'abc' }), /non-negative/)
    usage(() => resetSpecFromFlags({ shiftBy: '1.5' }), /integer/)
  })

  const part = (p: Partial<PartitionState>): PartitionState => ({
    topic: 't',
    partition: 0,
    current: 50n,
    earliest: 10n,
    latest: 100n,
    ...p,
  })

  it('plans every kind, clamped into the log as Kafka’s tool does', () => {
    const target = (spec: Parameters<typeof planReset>[0], p: Partial<PartitionState> = {}) =>
      planReset(spec, [part(p)])[0]!
    assert.equal(target({ kind: 'earliest' }).target, 10n)
    assert.equal(target({ kind: 'latest' }).target, 100n)
    assert.equal(target({ kind: 'current' }).target, 50n)
    assert.equal(target({ kind: 'offset', offset: 70n }).target, 70n)
    const low = target({ kind: 'offset', offset: 3n })
    assert.equal(low.target, 10n)
    assert.match(low.note!, /before the log start/)
    const high = target({ kind: 'offset', offset: 500n })
    assert.equal(high.target, 100n)
    assert.match(high.note!, /past the log end/)
    assert.equal(target({ kind: 'shift', by: -20n }).target, 30n)
    assert.equal(target({ kind: 'shift', by: -100n }).target, 10n)
    assert.equal(target({ kind: 'shift', by: 80n }).target, 100n)
    assert.equal(target({ kind: 'timestamp', timestamp: 1 }, { atTimestamp: 60n }).target, 60n)
    const none = target({ kind: 'timestamp', timestamp: 1 }, { atTimestamp: -1n })
    assert.equal(none.target, 100n)
    assert.match(none.note!, /log end/)
  })

  it('refuses to shift or keep a partition that has no committed offset', () => {
    usage(() => planReset({ kind: 'shift', by: 1n }, [part({ current: null })]), /no committed offset to shift/)
    usage(() => planReset({ kind: 'current' }, [part({ current: null })]), /no committed offset to keep/)
    assert.equal(planReset({ kind: 'earliest' }, [part({ current: null })])[0]!.target, 10n)
  })

  it('reads topic and topic:partitions', () => {
    assert.deepEqual(parseTopicPartitions('orders'), { topic: 'orders' })
    assert.deepEqual(parseTopicPartitions('orders:0,2'), { topic: 'orders', partitions: [0, 2] })
    usage(() => parseTopicPartitions('orders:'), /not topic/)
    usage(() => parseTopicPartitions('orders:a'), /not topic/)
    usage(() => parseTopicPartitions(':1'), /not topic/)
  })
})

describe('consume start positions', () => {
  const now = Date.UTC(2026, 5, 1)
  it('reads every form', () => {
    assert.deepEqual(parseStartSpec('earliest'), { kind: 'earliest' })
    assert.deepEqual(parseStartSpec('beginning'), { kind: 'earliest' })
    assert.deepEqual(parseStartSpec('end'), { kind: 'latest' })
    assert.deepEqual(parseStartSpec('latest'), { kind: 'latest' })
    assert.deepEqual(parseStartSpec('42'), { kind: 'offset', offset: 42n })
    assert.deepEqual(parseStartSpec('2026-01-31T12:00:00Z'), {
      kind: 'timestamp',
      timestamp: Date.UTC(2026, 0, 31, 12),
    })
    assert.deepEqual(parseStartSpec('@1767182400000'), { kind: 'timestamp', timestamp: 1767182400000 })
    assert.deepEqual(parseStartSpec('-15m', now), { kind: 'timestamp', timestamp: now - 15 * 60_000 })
    assert.deepEqual(parseStartSpec('-PT1H', now), { kind: 'timestamp', timestamp: now - 3_600_000 })
    for (const bad of ['yesterday', '-', '-x', '@soon', '4.5']) usage(() => parseStartSpec(bad), /./)
  })
})
