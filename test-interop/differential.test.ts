/**
 * Differential checks against Apache Kafka 4.x (started by the test from test-interop/java's Maven classpath):
 * scripted scenarios over raw connections (the generated codecs, so nothing a client library would hide), run
 * against Kafka and against Tributary configured alike, answers compared field by field. Error codes for bad
 * requests, ListOffsets by timestamp, DescribeConfigs defaults of a topic, consumer group states across
 * join/sync/leave, transaction outcomes and ACL denials. See test/helpers/differential.ts for the rules and
 * docs/broker/compatibility.md for every known difference.
 */
import { after, before, describe, test } from 'node:test'
import { AclOperation, AclPermission, PatternType, ResourceType } from '../src/broker/security/acl.ts'
import type { KafkaWireClient } from '../src/client/wire-client.ts'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { ErrorCode, errorInfo } from '../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, type EncodeBatchOptions, encodeRecordBatchSync } from '../src/protocol/record-batch.ts'
import {
  compareScenario,
  type KnownDifference,
  type Pair,
  type Side,
  startPair,
  until,
} from '../test/helpers/differential.ts'

const err = (code: number): string => errorInfo.get(code)?.name ?? String(code)

// Versions both brokers serve and real clients send.
const V = {
  produce: 9,
  fetch: 11,
  listOffsets: 7,
  metadata: 9,
  createTopics: 5,
  describeConfigs: 4,
  initProducerId: 4,
  addPartitionsToTxn: 3,
  addOffsetsToTxn: 3,
  txnOffsetCommit: 3,
  endTxn: 3,
  findCoordinator: 3,
  joinGroup: 5,
  syncGroup: 3,
  heartbeat: 3,
  leaveGroup: 3,
  describeGroups: 5,
  listGroups: 4,
  offsetCommit: 7,
  offsetFetch: 7,
  createAcls: 2,
  describeTransactions: 0,
} as const

async function createTopics(
  c: KafkaWireClient,
  topics: { name: string; numPartitions?: number; replicationFactor?: number; configs?: Record<string, string> }[],
  validateOnly = false,
): Promise<Record<string, string>> {
  const res = await c.call(ApiKeys.CreateTopics, V.createTopics, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.numPartitions ?? 1,
      replicationFactor: t.replicationFactor ?? 1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs: 10000,
    validateOnly,
  })
  const out: Record<string, string> = {}
  for (const t of res.topics as { name: string; errorCode: number }[]) out[t.name] = err(t.errorCode)
  return out
}

async function listOffset(c: KafkaWireClient, topic: string, timestamp: bigint, partition = 0, isolationLevel = 0) {
  const res = await c.call(ApiKeys.ListOffsets, V.listOffsets, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  })
  const p = res.topics[0].partitions[0] as { errorCode: number; offset: bigint; timestamp: bigint }
  return { error: err(p.errorCode), offset: p.offset, timestamp: p.timestamp }
}

/** Creates topics and waits until every partition is led (Kafka's broker learns it just after the controller). */
async function topic(c: KafkaWireClient, name: string, numPartitions = 1, configs: Record<string, string> = {}) {
  const created = await createTopics(c, [{ name, numPartitions, configs }])
  if (created[name] !== 'NONE') throw new Error(`creating ${name}: ${created[name]}`)
  for (let p = 0; p < numPartitions; p++) {
    await until(async () => (await listOffset(c, name, -1n, p)).error === 'NONE', `a leader for ${name}-${p}`)
  }
}

async function produce(
  c: KafkaWireClient,
  topicName: string,
  batch: Buffer,
  opts: { partition?: number; transactionalId?: string | null; acks?: number } = {},
) {
  const res = await c.call(ApiKeys.Produce, V.produce, {
    transactionalId: opts.transactionalId ?? null,
    acks: opts.acks ?? -1,
    timeoutMs: 10000,
    topicData: [{ name: topicName, partitionData: [{ index: opts.partition ?? 0, records: batch }] }],
  })
  const p = res.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint; logStartOffset: bigint }
  return { error: err(p.errorCode), baseOffset: p.baseOffset }
}

async function fetch(c: KafkaWireClient, topicName: string, offset: bigint, isolationLevel = 0, partition = 0) {
  const res = await c.call(ApiKeys.Fetch, V.fetch, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: topicName,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  })
  const p = res.responses[0].partitions[0] as {
    errorCode: number
    highWatermark: bigint
    lastStableOffset: bigint
    logStartOffset: bigint
    abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null
    records: Buffer | null
  }
  const batches = p.records && p.records.length > 0 ? await decodeRecordBatches(p.records) : []
  return {
    error: err(p.errorCode),
    highWatermark: p.highWatermark,
    lastStableOffset: p.lastStableOffset,
    logStartOffset: p.logStartOffset,
    aborted: (p.abortedTransactions ?? []).map((a) => a.firstOffset),
    // Data records only (control batches carry the commit/abort markers), as offset:value.
    records: batches.filter((b) => !b.header.isControl).flatMap((b) => b.records.map((r) => `${r.offset}:${r.value}`)),
    controls: batches.filter((b) => b.header.isControl).map((b) => b.header.baseOffset),
  }
}

async function findCoordinator(c: KafkaWireClient, key: string, keyType: 0 | 1): Promise<string> {
  let last = 0
  await until(async () => {
    last = (await c.call(ApiKeys.FindCoordinator, V.findCoordinator, { key, keyType })).errorCode
    return last !== ErrorCode.COORDINATOR_NOT_AVAILABLE
  }, `the coordinator of ${key}`)
  return err(last)
}

const RETRIABLE_COORDINATOR: number[] = [
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.CONCURRENT_TRANSACTIONS,
]

/** AddPartitionsToTxn v3 and below answer per partition; the first partition's error stands for the call. */
async function addPartitionsV3(c: KafkaWireClient, body: Record<string, unknown>) {
  const r = await c.call(ApiKeys.AddPartitionsToTxn, V.addPartitionsToTxn, body)
  return { ...r, errorCode: r.errorCode || r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode }
}

/** Sends `call` again while the answer is an error a client retries (coordinator loading, transaction ending). */
async function retrying<T extends { errorCode: number }>(call: () => Promise<T>, what: string): Promise<T> {
  let res!: T
  await until(async () => {
    res = await call()
    return !RETRIABLE_COORDINATOR.includes(res.errorCode)
  }, what)
  return res
}

async function initProducerId(c: KafkaWireClient, transactionalId: string | null, timeoutMs = 60000) {
  if (transactionalId !== null) await findCoordinator(c, transactionalId, 1)
  const res = await retrying(
    () =>
      c.call(ApiKeys.InitProducerId, V.initProducerId, {
        transactionalId,
        transactionTimeoutMs: timeoutMs,
        producerId: -1n,
        producerEpoch: -1,
      }),
    'InitProducerId',
  )
  return { error: err(res.errorCode), producerId: res.producerId as bigint, producerEpoch: res.producerEpoch as number }
}

function batch(values: string[], opts: Partial<EncodeBatchOptions> = {}) {
  return encodeRecordBatchSync({ ...opts, records: values.map((value) => ({ key: null, value })) })
}

describe('differential: Apache Kafka 4.x and Tributary answer alike', () => {
  let pair: Pair

  before(async () => {
    pair = await startPair()
  })
  after(async () => {
    await pair?.close()
  })

  const run = (
    t: { diagnostic(message: string): void },
    scenario: (side: Side) => Promise<Record<string, unknown>>,
    known: Record<string, KnownDifference> = {},
  ) => compareScenario(pair, scenario, known, (m) => t.diagnostic(m))

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

  test('transactions: commit and abort outcomes under both isolation levels', async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-tx-out')
      const txId = 'diff-tx'
      const init = await initProducerId(c, txId)
      const ids = { transactionalId: txId, producerId: init.producerId, producerEpoch: init.producerEpoch }
      let seq = 0
      const step = async (values: string[], commit: boolean) => {
        const added = await retrying(
          () =>
            addPartitionsV3(c, {
              v3AndBelowTransactionalId: txId,
              v3AndBelowProducerId: ids.producerId,
              v3AndBelowProducerEpoch: ids.producerEpoch,
              v3AndBelowTopics: [{ name: 'diff-tx-out', partitions: [0] }],
            }),
          'AddPartitionsToTxn',
        )
        const produced = await produce(
          c,
          'diff-tx-out',
          batch(values, {
            producerId: Number(ids.producerId),
            producerEpoch: ids.producerEpoch,
            baseSequence: seq,
            isTransactional: true,
          }),
          { transactionalId: txId },
        )
        seq += values.length
        const ended = await retrying(
          () =>
            c.call(ApiKeys.EndTxn, V.endTxn, {
              transactionalId: txId,
              producerId: ids.producerId,
              producerEpoch: ids.producerEpoch,
              committed: commit,
            }),
          'EndTxn',
        )
        return {
          add: err(added.errorCode),
          produce: produced,
          end: err(ended.errorCode),
        }
      }
      const out: Record<string, unknown> = {
        init: [init.error, init.producerEpoch],
        committed: await step(['c1', 'c2'], true),
        aborted: await step(['a1'], false),
        'committed again': await step(['c3'], true),
      }
      // Markers are written asynchronously by Kafka's coordinator: wait for the last one to be readable.
      await until(
        async () => (await fetch(c, 'diff-tx-out', 0n, 1)).lastStableOffset === 7n,
        `the last marker (${side.name}: ${JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? String(v) : v))})`,
      )
      const committedRead = await fetch(c, 'diff-tx-out', 0n, 1)
      const uncommittedRead = await fetch(c, 'diff-tx-out', 0n, 0)
      out['read_committed'] = committedRead
      out['read_uncommitted'] = uncommittedRead
      out['latest, read_committed'] = await listOffset(c, 'diff-tx-out', -1n, 0, 1)
      out['latest, read_uncommitted'] = await listOffset(c, 'diff-tx-out', -1n, 0, 0)
      const described = await c.call(ApiKeys.DescribeTransactions, V.describeTransactions, {
        transactionalIds: [txId, 'diff-tx-unknown'],
      })
      const unknown = described.transactionStates[1]
      out['describe an unknown id'] = [
        unknown.transactionState,
        unknown.transactionTimeoutMs,
        unknown.transactionStartTimeMs,
        unknown.producerId,
        unknown.producerEpoch,
      ]
      out.describe = described.transactionStates.map(
        (s: { errorCode: number; transactionState: string; producerEpoch: number; topics: unknown[] }) => [
          err(s.errorCode),
          s.transactionState,
          s.producerEpoch,
          s.topics,
        ],
      )
      return out
    })
  })

  test("transactions: misuse is refused with Kafka's errors", async (t) => {
    await run(t, async (side) => {
      const c = await side.connect()
      await topic(c, 'diff-misuse', 2)
      const txId = 'diff-tx-misuse'
      const first = await initProducerId(c, txId)
      const endTxn = (producerId: bigint, producerEpoch: number, transactionalId = txId, committed = true) =>
        retrying(
          () => c.call(ApiKeys.EndTxn, V.endTxn, { transactionalId, producerId, producerEpoch, committed }),
          'EndTxn',
        ).then((r) => err(r.errorCode))
      const addPartitions = (producerId: bigint, producerEpoch: number, partitions = [0]) =>
        retrying(
          () =>
            addPartitionsV3(c, {
              v3AndBelowTransactionalId: txId,
              v3AndBelowProducerId: producerId,
              v3AndBelowProducerEpoch: producerEpoch,
              v3AndBelowTopics: [{ name: 'diff-misuse', partitions }],
            }),
          'AddPartitionsToTxn',
        ).then((r) => err(r.errorCode))
      const txBatch = (producerId: bigint, producerEpoch: number, baseSequence: number) =>
        batch(['t'], { producerId: Number(producerId), producerEpoch, baseSequence, isTransactional: true })
      await findCoordinator(c, 'diff-tx-never', 1)
      const out: Record<string, unknown> = {
        'commit with nothing in the transaction': await endTxn(first.producerId, first.producerEpoch),
        'abort with nothing in the transaction': await endTxn(first.producerId, first.producerEpoch, txId, false),
        'EndTxn of an unknown transactional id': await endTxn(first.producerId, 0, 'diff-tx-never'),
        'AddPartitionsToTxn with a wrong producer id': await addPartitions(
          first.producerId + 1000n,
          first.producerEpoch,
        ),
        'transactional produce to a partition not added': (
          await produce(c, 'diff-misuse', txBatch(first.producerId, first.producerEpoch, 0), {
            transactionalId: txId,
            partition: 1,
          })
        ).error,
      }
      const second = await initProducerId(c, txId)
      out['epoch after a second InitProducerId'] = second.producerEpoch - first.producerEpoch
      out['AddPartitionsToTxn with the fenced epoch'] = await addPartitions(first.producerId, first.producerEpoch)
      out['EndTxn with the fenced epoch'] = await endTxn(first.producerId, first.producerEpoch)
      out['AddPartitionsToTxn, current epoch'] = await addPartitions(second.producerId, second.producerEpoch)
      out['transactional produce, fenced epoch'] = (
        await produce(c, 'diff-misuse', txBatch(first.producerId, first.producerEpoch, 0), { transactionalId: txId })
      ).error
      out['transactional produce, current epoch'] = (
        await produce(c, 'diff-misuse', txBatch(second.producerId, second.producerEpoch, 0), { transactionalId: txId })
      ).error
      out['non-transactional produce by the transactional producer'] = (
        await produce(
          c,
          'diff-misuse',
          batch(['n'], { producerId: Number(second.producerId), producerEpoch: second.producerEpoch, baseSequence: 1 }),
        )
      ).error
      const third = await initProducerId(c, txId)
      out['InitProducerId during a transaction'] = [third.error, third.producerEpoch - second.producerEpoch]
      await until(async () => (await fetch(c, 'diff-misuse', 0n, 1)).lastStableOffset >= 0n, 'a stable offset')
      const read = await fetch(c, 'diff-misuse', 0n, 1)
      out['the open transaction was aborted'] = [read.records, read.aborted]
      return out
    })
  })

  test('consumer group states across join, sync, heartbeat and leave', async (t) => {
    await run(t, async (side) => {
      const groupId = 'diff-group'
      const a = await side.connect()
      const b = await side.connect()
      const out: Record<string, unknown> = { coordinator: await findCoordinator(a, groupId, 0) }
      const names = new Map<string, string>()
      const who = (id: string) => (id === '' ? '' : (names.get(id) ?? `unknown(${names.size})`))
      const describe = async () => {
        // Kafka answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while its group coordinator loads.
        const g = await retrying(async () => {
          const res = await a.call(ApiKeys.DescribeGroups, V.describeGroups, {
            groups: [groupId],
            includeAuthorizedOperations: false,
          })
          return res.groups[0]
        }, 'DescribeGroups')
        return [
          err(g.errorCode),
          g.groupState,
          g.protocolType,
          g.protocolData,
          g.members.map((m: { memberId: string }) => who(m.memberId)).sort(),
        ]
      }
      const join = (via: KafkaWireClient, memberId: string, sessionTimeoutMs = 10000) =>
        via.call(ApiKeys.JoinGroup, V.joinGroup, {
          groupId,
          sessionTimeoutMs,
          rebalanceTimeoutMs: 10000,
          memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
        })
      const joined = (r: {
        errorCode: number
        generationId: number
        protocolName: string | null
        leader: string
        members: unknown[]
      }) => [err(r.errorCode), r.generationId, r.protocolName, who(r.leader), r.members.length]
      const sync = (
        via: KafkaWireClient,
        memberId: string,
        generationId: number,
        assignments: { memberId: string; assignment: Buffer }[],
      ) =>
        via
          .call(ApiKeys.SyncGroup, V.syncGroup, {
            groupId,
            generationId,
            memberId,
            groupInstanceId: null,
            assignments,
          })
          .then((r) => [err(r.errorCode), r.assignment.toString()])
      const heartbeat = (via: KafkaWireClient, memberId: string, generationId: number) =>
        via
          .call(ApiKeys.Heartbeat, V.heartbeat, { groupId, generationId, memberId, groupInstanceId: null })
          .then((r) => err(r.errorCode))

      out['describe before any member'] = await describe()
      out['join with a session timeout below the minimum'] = err((await join(a, '', 1)).errorCode)
      const needId = await retrying(() => join(a, ''), 'JoinGroup')
      const A = needId.memberId as string
      names.set(A, 'A')
      out['join without a member id'] = err(needId.errorCode)
      const a1 = await join(a, A)
      out['A joins'] = joined(a1)
      out['describe after the join'] = await describe()
      out['heartbeat while awaiting sync'] = await heartbeat(a, A, a1.generationId)
      out['sync with a wrong generation'] = await sync(a, A, a1.generationId + 5, [])
      out['sync by an unknown member'] = await sync(a, 'nobody', a1.generationId, [])
      out['A syncs'] = await sync(a, A, a1.generationId, [{ memberId: A, assignment: Buffer.from('p0,p1') }])
      out['describe when stable'] = await describe()
      out['heartbeat'] = await heartbeat(a, A, a1.generationId)
      out['heartbeat, unknown member'] = await heartbeat(a, 'nobody', a1.generationId)
      out['heartbeat, wrong generation'] = await heartbeat(a, A, a1.generationId + 1)

      const bFirst = await join(b, '')
      const B = bFirst.memberId as string
      names.set(B, 'B')
      const bJoin = join(b, B)
      await until(async () => (await describe())[1] === 'PreparingRebalance', 'a rebalance')
      out['describe while B joins'] = await describe()
      out['heartbeat of A during the rebalance'] = await heartbeat(a, A, a1.generationId)
      const a2 = await join(a, A)
      const b2 = await bJoin
      out['A rejoins'] = joined(a2)
      out['B joins'] = joined(b2)
      const bSync = sync(b, B, b2.generationId, [])
      out['A syncs both'] = await sync(a, A, a2.generationId, [
        { memberId: A, assignment: Buffer.from('p0') },
        { memberId: B, assignment: Buffer.from('p1') },
      ])
      out['B syncs'] = await bSync
      out['describe with two members'] = await describe()

      const left = await b.call(ApiKeys.LeaveGroup, V.leaveGroup, {
        groupId,
        members: [
          { memberId: B, groupInstanceId: null },
          { memberId: 'nobody', groupInstanceId: null },
        ],
      })
      out['B leaves (and an unknown member)'] = [
        err(left.errorCode),
        left.members.map((m: { memberId: string; errorCode: number }) => [who(m.memberId), err(m.errorCode)]),
      ]
      out['describe after B left'] = await describe()
      const a3 = await join(a, A)
      out['A rejoins alone'] = joined(a3)
      out['A syncs alone'] = await sync(a, A, a3.generationId, [{ memberId: A, assignment: Buffer.from('p0,p1') }])
      const commit = await a.call(ApiKeys.OffsetCommit, V.offsetCommit, {
        groupId,
        generationIdOrMemberEpoch: a3.generationId,
        memberId: A,
        groupInstanceId: null,
        topics: [
          {
            name: 'diff-group-topic',
            partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: 'm' }],
          },
        ],
      })
      out['commit for an unknown topic'] = err(commit.topics[0].partitions[0].errorCode)
      const aLeft = await a.call(ApiKeys.LeaveGroup, V.leaveGroup, {
        groupId,
        members: [{ memberId: A, groupInstanceId: null }],
      })
      out['A leaves'] = err(aLeft.errorCode)
      out['describe when empty'] = await describe()
      const listed = await a.call(ApiKeys.ListGroups, V.listGroups, { statesFilter: ['Empty'] })
      out['listed as Empty'] = listed.groups
        .filter((g: { groupId: string }) => g.groupId === groupId)
        .map((g: { groupState: string; protocolType: string }) => [g.groupState, g.protocolType])
      out['heartbeat after leaving'] = await heartbeat(a, A, a3.generationId)
      return out
    })
  })

  test('ACL denials and grants for a SASL user (StandardAuthorizer semantics)', async (t) => {
    await run(t, async (side) => {
      const admin = await side.connect('admin')
      await topic(admin, 'diff-acl')
      await topic(admin, 'diff-acl-w1')
      await produce(admin, 'diff-acl', batch(['secret']))
      const alice = await side.connect('alice')
      const metadataOf = async (via: KafkaWireClient, topics: string[] | null) => {
        const res = await via.call(ApiKeys.Metadata, V.metadata, {
          topics: topics === null ? null : topics.map((name) => ({ name })),
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
        return res.topics
          .filter((x: { name: string }) => topics !== null || x.name.startsWith('diff-acl'))
          .map((x: { name: string; errorCode: number }) => [x.name, err(x.errorCode)])
          .sort()
      }
      const probe = async (via: KafkaWireClient) => {
        const group = 'diff-acl-group'
        const joinRes = await via.call(ApiKeys.JoinGroup, V.joinGroup, {
          groupId: group,
          sessionTimeoutMs: 10000,
          rebalanceTimeoutMs: 10000,
          memberId: '',
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        })
        const commit = await via.call(ApiKeys.OffsetCommit, V.offsetCommit, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'diff-acl',
              partitions: [
                { partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
              ],
            },
          ],
        })
        const fetched = await via.call(ApiKeys.OffsetFetch, V.offsetFetch, {
          groupId: group,
          topics: [{ name: 'diff-acl', partitionIndexes: [0] }],
          requireStable: false,
        })
        const described = await via.call(ApiKeys.DescribeConfigs, V.describeConfigs, {
          resources: [{ resourceType: 2, resourceName: 'diff-acl', configurationKeys: ['retention.ms'] }],
          includeSynonyms: false,
          includeDocumentation: false,
        })
        const deleted = await via.call(ApiKeys.DeleteTopics, 4, { topicNames: ['diff-acl-w1'], timeoutMs: 5000 })
        const acls = await via.call(ApiKeys.DescribeAcls, 2, {
          resourceTypeFilter: 1,
          resourceNameFilter: null,
          patternTypeFilter: 1,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        })
        const groups = await via.call(ApiKeys.DescribeGroups, V.describeGroups, {
          groups: [group],
          includeAuthorizedOperations: false,
        })
        const initTx = await via.call(ApiKeys.InitProducerId, V.initProducerId, {
          transactionalId: 'diff-acl-tx',
          transactionTimeoutMs: 60000,
          producerId: -1n,
          producerEpoch: -1,
        })
        const initIdem = await via.call(ApiKeys.InitProducerId, V.initProducerId, {
          transactionalId: null,
          transactionTimeoutMs: 60000,
          producerId: -1n,
          producerEpoch: -1,
        })
        return {
          'metadata of the topic': await metadataOf(via, ['diff-acl', 'diff-acl-w1']),
          'metadata of all topics': await metadataOf(via, null),
          produce: (await produce(via, 'diff-acl', batch(['x']))).error,
          'produce to diff-acl-w1': (await produce(via, 'diff-acl-w1', batch(['w']))).error,
          fetch: (await fetch(via, 'diff-acl', 0n)).error,
          listOffsets: (await listOffset(via, 'diff-acl', -1n)).error,
          'create topic': (await createTopics(via, [{ name: 'diff-acl-w2' }]))['diff-acl-w2'],
          'delete topic': err(deleted.responses[0].errorCode),
          describeConfigs: err(described.results[0].errorCode),
          'find group coordinator': err(
            (await via.call(ApiKeys.FindCoordinator, V.findCoordinator, { key: group, keyType: 0 })).errorCode,
          ),
          'find transaction coordinator': err(
            (await via.call(ApiKeys.FindCoordinator, V.findCoordinator, { key: 'diff-acl-tx', keyType: 1 })).errorCode,
          ),
          joinGroup: err(joinRes.errorCode),
          offsetCommit: [err(commit.errorCode ?? 0), err(commit.topics[0].partitions[0].errorCode)],
          offsetFetch: [
            err(fetched.errorCode),
            fetched.topics.map((x: { partitions: { errorCode: number }[] }) => err(x.partitions[0]!.errorCode)),
          ],
          describeGroups: err(groups.groups[0].errorCode),
          describeAcls: err(acls.errorCode),
          'transactional InitProducerId': err(initTx.errorCode),
          'idempotent InitProducerId': err(initIdem.errorCode),
        }
      }
      const denied = await probe(alice)
      const acl = (
        resourceType: number,
        resourceName: string,
        operation: number,
        pattern: number = PatternType.LITERAL,
        permission: number = AclPermission.ALLOW,
      ) => ({
        resourceType,
        resourceName,
        resourcePatternType: pattern,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType: permission,
      })
      const creations = [
        acl(ResourceType.TOPIC, 'diff-acl', AclOperation.READ),
        acl(ResourceType.TOPIC, 'diff-acl-w', AclOperation.WRITE, PatternType.PREFIXED),
        acl(ResourceType.TOPIC, 'diff-acl-w1', AclOperation.DELETE, PatternType.LITERAL, AclPermission.DENY),
        acl(ResourceType.TOPIC, '*', AclOperation.DELETE),
        acl(ResourceType.GROUP, 'diff-acl-', AclOperation.READ, PatternType.PREFIXED),
        acl(ResourceType.TRANSACTIONAL_ID, 'diff-acl-tx', AclOperation.DESCRIBE),
      ]
      const created = await admin.call(ApiKeys.CreateAcls, V.createAcls, { creations })
      // Kafka's brokers learn new ACLs from the metadata log a moment after CreateAcls is answered.
      await until(async () => {
        const r = await alice.call(ApiKeys.Metadata, V.metadata, {
          topics: [{ name: 'diff-acl' }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
        const d = await admin.call(ApiKeys.DescribeAcls, 2, {
          resourceTypeFilter: 1,
          resourceNameFilter: null,
          patternTypeFilter: 1,
          principalFilter: 'User:alice',
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        })
        const count = d.resources.reduce((n: number, x: { acls: unknown[] }) => n + x.acls.length, 0)
        return r.topics[0].errorCode === ErrorCode.NONE && count === creations.length
      }, 'the ACLs to reach the broker')
      const granted = await probe(alice)
      const out: Record<string, unknown> = {
        createAcls: created.results.map((r: { errorCode: number }) => err(r.errorCode)),
      }
      for (const [k, v] of Object.entries(denied)) out[`without ACLs: ${k}`] = v
      for (const [k, v] of Object.entries(granted)) out[`with ACLs: ${k}`] = v
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
