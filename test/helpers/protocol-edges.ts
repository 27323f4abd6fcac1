/**
 * The raw-request helpers of the protocol edge tests (test/conformance/protocol-edges-*.test.ts): a broker (the
 * in-process one, or TRIBUTARY_BOOTSTRAP's) started before a suite and stopped after it, a KafkaWireClient on it,
 * and one helper per request over the generated codecs, where client libraries hide the wire answer.
 */
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { type EncodeBatchOptions, encodeRecordBatch } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from './broker.ts'

export const SAFETY_MS = 20000

/** Polls another process's state until `ready` holds (there is no event to await across the wire). */
export async function until(ready: () => Promise<boolean>, what: string, ms = SAFETY_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export function within<T>(promise: Promise<T>, what: string, ms = SAFETY_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface PartitionFetch {
  errorCode: number
  highWatermark: bigint
  logStartOffset: bigint
  records: Buffer | null
}

// Produce v9 / Metadata v9 / ListOffsets v7 are flexible or near the top of what real clients send; Fetch v11 is
// the newest non-flexible version (KafkaJS, librdkafka) and addresses topics by name.
export const PRODUCE_V = 9
export const FETCH_V = 11
export const LIST_OFFSETS_V = 7
export const METADATA_V = 9

/**
 * Starts a broker before the enclosing suite's tests and stops it (and every connection opened) after them;
 * answers the request helpers bound to it.
 */
export function edgesOverTheWire() {
  let broker: TestBroker
  let wire: KafkaWireClient
  const opened: KafkaWireClient[] = []

  // An unanswered request fails its connection after SAFETY_MS instead of hanging the suite.
  const connectTo = (bootstrap: string) =>
    KafkaWireClient.connect(bootstrap, { clientId: 'protocol-edges', requestTimeoutMs: SAFETY_MS })
  async function connect(): Promise<KafkaWireClient> {
    const w = await connectTo(broker.bootstrap)
    opened.push(w)
    return w
  }
  async function createTopic(name: string, numPartitions = 1, configs: Record<string, string> = {}): Promise<void> {
    const res = await wire.call(ApiKeys.CreateTopics, 5, {
      topics: [
        {
          name,
          numPartitions,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    })
    assert.equal(res.topics[0].errorCode, ErrorCode.NONE)
    await leadersKnown([name])
  }
  /**
   * Kafka answers CreateTopics once the controller committed the topic; its broker learns the leaders a moment
   * later (NOT_LEADER_OR_FOLLOWER until then), so wait for Metadata to name a leader for every partition, as
   * clients do. Tributary has them at once.
   */
  async function leadersKnown(names: string[]): Promise<void> {
    await until(
      async () => {
        const md = await metadata(names, false)
        if (!md.topics.every((t) => t.errorCode === ErrorCode.NONE && t.partitions.every((p) => p.leaderId >= 0))) {
          return false
        }
        // Kafka's metadata cache names the leader just before its replica manager leads the partition.
        for (const t of md.topics) {
          for (const p of t.partitions) {
            if ((await listOffset(t.name, -1n, p.partitionIndex)).errorCode !== ErrorCode.NONE) return false
          }
        }
        return true
      },
      `leaders of ${names.join(', ')}`,
    )
  }
  /**
   * What every client does before talking to a coordinator: FindCoordinator until it answers. Kafka creates
   * `__consumer_offsets` / `__transaction_state` on the first lookup and answers COORDINATOR_NOT_AVAILABLE meanwhile.
   */
  async function findCoordinator(key: string, keyType: 0 | 1): Promise<void> {
    await until(async () => {
      const res = await wire.call(ApiKeys.FindCoordinator, 3, { key, keyType })
      return res.errorCode === ErrorCode.NONE
    }, `the coordinator of ${key}`)
  }
  /** InitProducerId, retried on the errors Kafka's clients retry (coordinator still loading or moving). */
  // biome-ignore lint/suspicious/noExplicitAny: the decoded InitProducerId response
  async function initProducerId(transactionalId: string | null): Promise<any> {
    if (transactionalId !== null) await findCoordinator(transactionalId, 1)
    const retriable: number[] = [
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      ErrorCode.NOT_COORDINATOR,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    ]
    // biome-ignore lint/suspicious/noExplicitAny: the decoded InitProducerId response
    let res: any
    await until(async () => {
      res = await wire.call(ApiKeys.InitProducerId, 4, {
        transactionalId,
        transactionTimeoutMs: 60000,
        producerId: -1n,
        producerEpoch: -1,
      })
      return !retriable.includes(res.errorCode)
    }, 'InitProducerId')
    return res
  }
  async function produce(
    topic: string,
    records: { key?: string; value: string; timestamp?: number }[],
    partition = 0,
    batchOptions: Partial<EncodeBatchOptions> = {},
    acks = -1,
  ): Promise<{ errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint; batch: Buffer }> {
    const batch = await encodeRecordBatch({ ...batchOptions, records })
    return produceBatch(topic, batch, partition, acks)
  }
  async function produceBatch(topic: string, batch: Buffer, partition = 0, acks = -1) {
    const res = await wire.call(ApiKeys.Produce, PRODUCE_V, {
      transactionalId: null,
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    })
    const p = res.responses[0].partitionResponses[0]
    return { errorCode: p.errorCode, baseOffset: p.baseOffset, logAppendTimeMs: p.logAppendTimeMs, batch }
  }
  function fetchBody(
    partitions: { topic: string; partition: number; offset: bigint; maxBytes?: number }[],
    opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number } = {},
  ) {
    const byTopic = new Map<string, { partition: number; fetchOffset: bigint; partitionMaxBytes: number }[]>()
    for (const p of partitions) {
      const list = byTopic.get(p.topic) ?? []
      list.push({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: p.maxBytes ?? 1048576 })
      byTopic.set(p.topic, list)
    }
    return {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: opts.minBytes ?? 0,
      maxBytes: opts.maxBytes ?? 52428800,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({ ...p, currentLeaderEpoch: -1, logStartOffset: -1n })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    }
  }
  async function fetchOne(
    topic: string,
    partition: number,
    offset: bigint,
    opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {},
    via = wire,
  ): Promise<PartitionFetch> {
    const res = await via.call(
      ApiKeys.Fetch,
      FETCH_V,
      fetchBody([{ topic, partition, offset, maxBytes: opts.partitionMaxBytes }], opts),
    )
    assert.equal(res.errorCode, ErrorCode.NONE)
    return res.responses[0].partitions[0]
  }
  async function listOffset(topic: string, timestamp: bigint, partition = 0) {
    const res = await wire.call(ApiKeys.ListOffsets, LIST_OFFSETS_V, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
    })
    return res.topics[0].partitions[0] as { errorCode: number; offset: bigint; timestamp: bigint }
  }
  async function metadata(names: string[], allowAutoTopicCreation: boolean, via = wire) {
    const res = await via.call(ApiKeys.Metadata, METADATA_V, {
      topics: names.map((name) => ({ name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    return res as {
      brokers: { nodeId: number }[]
      topics: { errorCode: number; name: string; partitions: { partitionIndex: number; leaderId: number }[] }[]
    }
  }

  before(async () => {
    broker = await startTestBroker()
    wire = await connect()
  })
  after(async () => {
    for (const w of opened) w.close()
    await broker?.close()
  })

  return {
    get broker(): TestBroker {
      return broker
    },
    get wire(): KafkaWireClient {
      return wire
    },
    connectTo,
    connect,
    createTopic,
    leadersKnown,
    findCoordinator,
    initProducerId,
    produce,
    produceBatch,
    fetchBody,
    fetchOne,
    listOffset,
    metadata,
  }
}
