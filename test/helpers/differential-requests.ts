/**
 * The raw requests of the differential checks (test-interop/differential-*.test.ts): one helper per API, over a
 * KafkaWireClient (the generated codecs, so nothing a client library would hide), answering error names so that
 * Kafka's and Tributary's answers compare field by field; and `comparing()`, which starts the pair for a suite.
 */
import { after, before } from 'node:test'
import type { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode, errorInfo } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches, type EncodeBatchOptions, encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { compareScenario, type KnownDifference, type Pair, type Side, startPair, until } from './differential.ts'

export const err = (code: number): string => errorInfo.get(code)?.name ?? String(code)

// Versions both brokers serve and real clients send.
export const V = {
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

export async function createTopics(
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

export async function listOffset(
  c: KafkaWireClient,
  topic: string,
  timestamp: bigint,
  partition = 0,
  isolationLevel = 0,
) {
  const res = await c.call(ApiKeys.ListOffsets, V.listOffsets, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  })
  const p = res.topics[0].partitions[0] as { errorCode: number; offset: bigint; timestamp: bigint }
  return { error: err(p.errorCode), offset: p.offset, timestamp: p.timestamp }
}

/** Creates topics and waits until every partition is led (Kafka's broker learns it just after the controller). */
export async function topic(c: KafkaWireClient, name: string, numPartitions = 1, configs: Record<string, string> = {}) {
  const created = await createTopics(c, [{ name, numPartitions, configs }])
  if (created[name] !== 'NONE') throw new Error(`creating ${name}: ${created[name]}`)
  for (let p = 0; p < numPartitions; p++) {
    await until(async () => (await listOffset(c, name, -1n, p)).error === 'NONE', `a leader for ${name}-${p}`)
  }
}

export async function produce(
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

export async function fetch(c: KafkaWireClient, topicName: string, offset: bigint, isolationLevel = 0, partition = 0) {
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

export async function findCoordinator(c: KafkaWireClient, key: string, keyType: 0 | 1): Promise<string> {
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
export async function addPartitionsV3(c: KafkaWireClient, body: Record<string, unknown>) {
  const r = await c.call(ApiKeys.AddPartitionsToTxn, V.addPartitionsToTxn, body)
  return { ...r, errorCode: r.errorCode || r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode }
}

/** Sends `call` again while the answer is an error a client retries (coordinator loading, transaction ending). */
export async function retrying<T extends { errorCode: number }>(call: () => Promise<T>, what: string): Promise<T> {
  let res!: T
  await until(async () => {
    res = await call()
    return !RETRIABLE_COORDINATOR.includes(res.errorCode)
  }, what)
  return res
}

export async function initProducerId(c: KafkaWireClient, transactionalId: string | null, timeoutMs = 60000) {
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

export function batch(values: string[], opts: Partial<EncodeBatchOptions> = {}) {
  return encodeRecordBatchSync({ ...opts, records: values.map((value) => ({ key: null, value })) })
}

export type RunScenario = (
  t: { diagnostic(message: string): void },
  scenario: (side: Side) => Promise<Record<string, unknown>>,
  known?: Record<string, KnownDifference>,
) => Promise<void>

/** Starts Kafka and Tributary before the enclosing suite's tests and stops them after; runs scenarios on them. */
export function comparing(): RunScenario {
  let pair: Pair | undefined
  before(async () => {
    pair = await startPair()
  })
  after(async () => {
    await pair?.close()
  })
  return (t, scenario, known = {}) => {
    if (!pair) throw new Error('the Kafka/Tributary pair did not start')
    return compareScenario(pair, scenario, known, (m) => t.diagnostic(m))
  }
}
