/**
 * Differential checks against Apache Kafka 4.x (started by the test from test-interop/java's Maven classpath), the
 * data path: scripted scenarios over raw connections, run against Kafka and against Tributary configured alike,
 * answers compared field by field. Error codes for unknown topics and bad CreateTopics, Fetch and ListOffsets out
 * of range, ListOffsets by timestamp, DescribeConfigs defaults of a topic and idempotent produce. Coordinators
 * (transactions, groups, ACLs) are in differential-coordinators.test.ts. See test/helpers/differential.ts for the
 * rules and docs/broker/compatibility.md for every known difference.
 */
import { describe, test } from 'node:test'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { encodeRecordBatchSync } from '../src/protocol/record-batch.ts'
import type { KnownDifference } from '../test/helpers/differential.ts'
import {
  batch,
  comparing,
  createTopics,
  err,
  fetch,
  initProducerId,
  listOffset,
  produce,
  topic,
  V,
} from '../test/helpers/differential-requests.ts'

describe('differential: Apache Kafka 4.x and Tributary answer alike (topics, reads and writes)', () => {
  const run = comparing()

  test('unknown topics with auto-creation off', async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      const md = await c.call(ApiKeys.Metadata, V.metadata, {
        topics: [{ name: 'diff-nowhere' }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      })
      const after = await c.call(ApiKeys.Metadata, V.metadata, {
        topics: [{ name: 'diff-nowhere' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      })
      return {
        'metadata allowing creation': err(md.topics[0].errorCode),
        'metadata afterwards': err(after.topics[0].errorCode),
        produce: (await produce(c, 'diff-nowhere', batch(['x']))).error,
        fetch: (await fetch(c, 'diff-nowhere', 0n)).error,
        'listOffsets latest': (await listOffset(c, 'diff-nowhere', -1n)).error,
      }
    })
  })

  test('CreateTopics: invalid names, partitions, replication factors and configs', async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      const names = await createTopics(c, [
        { name: 'bad name' },
        { name: 'bad/name' },
        { name: '.' },
        { name: '..' },
        { name: 'x'.repeat(250) },
        { name: 'ünïcode' },
      ])
      const shapes = await createTopics(c, [
        { name: 'diff-zero-partitions', numPartitions: 0 },
        { name: 'diff-negative-partitions', numPartitions: -5 },
        { name: 'diff-rf-3', replicationFactor: 3 },
        { name: 'diff-rf-0', replicationFactor: 0 },
      ])
      const configs = await createTopics(c, [
        { name: 'diff-bad-policy', configs: { 'cleanup.policy': 'shred' } },
        { name: 'diff-bad-retention', configs: { 'retention.ms': 'soon' } },
        { name: 'diff-unknown-config', configs: { 'no.such.config': '1' } },
        { name: 'diff-bad-segment', configs: { 'segment.bytes': '10' } },
        { name: 'diff-bad-timestamp-type', configs: { 'message.timestamp.type': 'Whenever' } },
        { name: 'diff-bad-compression', configs: { 'compression.type': 'brotli' } },
      ])
      const validate = await createTopics(c, [{ name: 'diff-validate-only', numPartitions: 2 }], true)
      await topic(c, 'diff.collide')
      const collide = await createTopics(c, [{ name: 'diff_collide' }, { name: 'diff.collide' }])
      return {
        ...Object.fromEntries(Object.entries(names).map(([n, e]) => [`name ${n.slice(0, 20)}`, e])),
        ...Object.fromEntries(Object.entries(shapes).map(([n, e]) => [n, e])),
        ...Object.fromEntries(Object.entries(configs).map(([n, e]) => [n, e])),
        'validateOnly answer': validate['diff-validate-only'],
        'validateOnly created nothing': (await listOffset(c, 'diff-validate-only', -1n)).error,
        'name colliding on . and _': collide.diff_collide,
        'existing topic': collide['diff.collide'],
      }
    })
  })

  test('Fetch and ListOffsets out of range, before and after DeleteRecords', async (t) => {
    await run(
      t,
      async (side) => {
        const c = await side.connect()
        await topic(c, 'diff-range')
        for (const v of ['a', 'b', 'c', 'd']) await produce(c, 'diff-range', batch([v]))
        const atEnd = await fetch(c, 'diff-range', 4n)
        const past = await fetch(c, 'diff-range', 9n)
        const negative = await fetch(c, 'diff-range', -3n)
        const del = await c.call(ApiKeys.DeleteRecords, 2, {
          topics: [{ name: 'diff-range', partitions: [{ partitionIndex: 0, offset: 2n }] }],
          timeoutMs: 5000,
        })
        const delPast = await c.call(ApiKeys.DeleteRecords, 2, {
          topics: [{ name: 'diff-range', partitions: [{ partitionIndex: 0, offset: 99n }] }],
          timeoutMs: 5000,
        })
        const before = await fetch(c, 'diff-range', 1n)
        const fromStart = await fetch(c, 'diff-range', 2n)
        return {
          'fetch at the log end': [atEnd.error, atEnd.highWatermark, atEnd.records],
          'fetch past the end': [past.error, past.highWatermark, past.logStartOffset, past.records],
          'fetch at a negative offset': [negative.error, negative.records],
          'deleteRecords to 2': [err(del.topics[0].partitions[0].errorCode), del.topics[0].partitions[0].lowWatermark],
          'deleteRecords past the end': err(delPast.topics[0].partitions[0].errorCode),
          'fetch before the log start': [before.error, before.logStartOffset],
          'fetch at the log start': [fromStart.error, fromStart.logStartOffset, fromStart.records],
          'earliest after delete': await listOffset(c, 'diff-range', -2n),
          'unknown partition': (await fetch(c, 'diff-range', 0n, 0, 3)).error,
        }
      },
      {
        'fetch past the end': {
          kafka: ['OFFSET_OUT_OF_RANGE', -1n, -1n, []],
          tributary: ['OFFSET_OUT_OF_RANGE', 4n, 0n, []],
          why: 'Tributary tells the high watermark and log start with OFFSET_OUT_OF_RANGE; Kafka answers -1',
        },
        'fetch before the log start': {
          kafka: ['OFFSET_OUT_OF_RANGE', -1n],
          tributary: ['OFFSET_OUT_OF_RANGE', 2n],
          why: 'as above',
        },
      },
    )
  })

  test('ListOffsets by timestamp, earliest, latest and max-timestamp', async (t) => {
    const base = 1_700_000_000_000n
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-times', 2)
      const empty = {
        'empty earliest': await listOffset(c, 'diff-times', -2n),
        'empty latest': await listOffset(c, 'diff-times', -1n),
        'empty max-timestamp': await listOffset(c, 'diff-times', -3n),
        'empty by time': await listOffset(c, 'diff-times', base),
      }
      const stamped = (values: [string, bigint][]) =>
        encodeRecordBatchSync({
          records: values.map(([value, ts]) => ({ key: null, value, timestamp: Number(ts) })),
        })
      await produce(
        c,
        'diff-times',
        stamped([
          ['a', base],
          ['b', base + 10n],
        ]),
      )
      await produce(c, 'diff-times', stamped([['c', base + 500n]]))
      await produce(
        c,
        'diff-times',
        stamped([
          ['d', base + 20n],
          ['e', base + 20n],
        ]),
      )
      const out: Record<string, unknown> = { ...empty }
      for (const ts of [
        -2n,
        -1n,
        -3n,
        0n,
        base - 1n,
        base,
        base + 5n,
        base + 10n,
        base + 15n,
        base + 20n,
        base + 21n,
        base + 500n,
        base + 501n,
      ]) {
        out[`ts ${ts}`] = await listOffset(c, 'diff-times', ts)
      }
      out['other partition latest'] = await listOffset(c, 'diff-times', -1n, 1)
      out['other partition by time'] = await listOffset(c, 'diff-times', base, 1)
      out['unknown partition'] = (await listOffset(c, 'diff-times', -1n, 9)).error
      return out
    })
  })

  test('DescribeConfigs of a topic created with defaults', async (t) => {
    // Kafka's topic defaults come from its broker defaults; both brokers run with their defaults here.
    await run(
      t,
      async (side) => {
        const c = await side.connect()
        await topic(c, 'diff-configs', 1, { 'retention.ms': '3600000' })
        const res = await c.call(ApiKeys.DescribeConfigs, V.describeConfigs, {
          resources: [{ resourceType: 2, resourceName: 'diff-configs', configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        })
        const r = res.results[0]
        const out: Record<string, unknown> = { error: err(r.errorCode) }
        for (const e of r.configs as {
          name: string
          value: string | null
          readOnly: boolean
          isDefault: boolean
          configSource: number
          isSensitive: boolean
          configType: number
        }[]) {
          out[e.name] = {
            value: e.value,
            source: e.configSource,
            readOnly: e.readOnly,
            sensitive: e.isSensitive,
            type: e.configType,
          }
        }
        const unknown = await c.call(ApiKeys.DescribeConfigs, V.describeConfigs, {
          resources: [{ resourceType: 2, resourceName: 'diff-no-such-topic', configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        })
        out['unknown topic'] = err(unknown.results[0].errorCode)
        return out
      },
      KNOWN_CONFIG_DIFFERENCES,
    )
  })

  test('idempotent produce: duplicates, sequence gaps, epochs, unknown producer ids', async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-idem')
      const init = await initProducerId(c, null)
      const pid = Number(init.producerId)
      const b = (values: string[], baseSequence: number, producerEpoch = 0, producerId = pid) =>
        batch(values, { producerId, producerEpoch, baseSequence })
      const first = b(['a', 'b'], 0)
      const out: Record<string, unknown> = {
        init: [init.error, init.producerEpoch],
        first: await produce(c, 'diff-idem', first),
        'same batch again': await produce(c, 'diff-idem', first),
        'sequence gap': await produce(c, 'diff-idem', b(['x'], 5)),
        next: await produce(c, 'diff-idem', b(['c'], 2)),
        'older sequence, not the last batch': await produce(c, 'diff-idem', b(['y'], 1)),
        'epoch bumped, sequence 0': await produce(c, 'diff-idem', b(['d'], 0, 1)),
        'stale epoch': await produce(c, 'diff-idem', b(['z'], 3, 0)),
        'unknown producer id, sequence 7': await produce(c, 'diff-idem', b(['u'], 7, 0, 987_654_321)),
        'unknown producer id, sequence 0': await produce(c, 'diff-idem', b(['v'], 0, 0, 987_654_322)),
        'acks=1 duplicate of the last batch': await produce(c, 'diff-idem', b(['d'], 0, 1), { acks: 1 }),
      }
      out.log = (await fetch(c, 'diff-idem', 0n)).records
      return out
    })
  })
})

const cfg = (value: string, type: number, source = 5) => ({ value, source, readOnly: false, sensitive: false, type })
const ABSENT = undefined
// Each entry is documented in docs/broker/compatibility.md (Topic configurations). Config types: 1 BOOLEAN,
// 2 STRING, 3 INT, 5 LONG, 6 DOUBLE, 7 LIST; sources: 3 DYNAMIC_DEFAULT_BROKER_CONFIG, 5 DEFAULT_CONFIG.
const KNOWN_CONFIG_DIFFERENCES: Record<string, KnownDifference> = {
  'remote.storage.enable': { kafka: cfg('false', 1), tributary: ABSENT, why: 'no tiered storage' },
  'remote.log.copy.disable': { kafka: cfg('false', 1), tributary: ABSENT, why: 'no tiered storage' },
  'remote.log.delete.on.disable': { kafka: cfg('false', 1), tributary: ABSENT, why: 'no tiered storage' },
  'leader.replication.throttled.replicas': { kafka: cfg('', 7), tributary: ABSENT, why: 'no replication' },
  'follower.replication.throttled.replicas': { kafka: cfg('', 7), tributary: ABSENT, why: 'no replication' },
  'compression.gzip.level': { kafka: cfg('-1', 3), tributary: ABSENT, why: 'no recompression on the broker' },
  'compression.lz4.level': { kafka: cfg('9', 3), tributary: ABSENT, why: 'no recompression on the broker' },
  'compression.zstd.level': { kafka: cfg('3', 3), tributary: ABSENT, why: 'no recompression on the broker' },
  'min.insync.replicas': {
    kafka: cfg('1', 3, 3),
    tributary: cfg('1', 3),
    why: 'KRaft stores a cluster-wide min.insync.replicas when formatting (ELR); Tributary has no such record',
  },
  'min.cleanable.dirty.ratio': {
    kafka: cfg('0.5', 6),
    tributary: cfg('0.5', 2),
    why: 'Tributary declares the type STRING (src/log/config.ts), Kafka DOUBLE',
  },
  'message.timestamp.after.max.ms': {
    kafka: cfg('3600000', 5),
    tributary: cfg('9223372036854775807', 5),
    why: 'Kafka 4.0 lowered the default to one hour; Tributary keeps the 3.x default',
  },
  'message.downconversion.enable': {
    kafka: ABSENT,
    tributary: cfg('true', 1),
    why: 'removed in Kafka 4.0 (no message format v0/v1); Tributary still describes it',
  },
  'message.timestamp.difference.max.ms': {
    kafka: ABSENT,
    tributary: cfg('9223372036854775807', 5),
    why: 'removed in Kafka 4.0 (replaced by message.timestamp.before/after.max.ms); Tributary still describes it',
  },
}
