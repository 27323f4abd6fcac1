/**
 * Durable transaction state: one record per transactional id in the compacted internal topic `__transaction_state`
 * (Tributary's own format, not Kafka's).
 *
 * Key — int16 0 (key format version) | string transactionalId (int16 length + UTF-8). Equal ids encode to equal
 * bytes, so compaction keeps the latest state of each transactional id; a null value (tombstone) forgets an id.
 *
 * Value — UTF-8 JSON { v: 1, producerId, producerEpoch, lastProducerEpoch, timeoutMs, state, startTimestamp,
 * updateTimestamp, partitions: [{ topic, partitions: number[] }], groups: string[],
 * offsets: [{ group, topic, partition, offset: "<int64>", leaderEpoch, metadata }] }.
 * `offsets` are the TxnOffsetCommit offsets of the ongoing transaction, kept here so that a commit after a restart
 * still materializes them. Readers ignore unknown fields.
 */
import { TributaryError } from '../../errors.ts'
import { Reader, Writer } from '../../protocol/primitives.ts'

export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'
  | 'PrepareEpochFence'
  | 'Dead'

export const TRANSACTION_STATES: readonly TransactionState[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'PrepareEpochFence',
  'Dead',
]

export interface TxnOffset {
  group: string
  topic: string
  partition: number
  offset: bigint
  leaderEpoch: number
  metadata: string | null
}

/** What `__transaction_state` holds for one transactional id. */
export interface TransactionRecord {
  producerId: number
  producerEpoch: number
  /**
   * The epoch a transaction timeout took away (-1 when none): its producer may still re-initialize with it (KIP-360).
   * A bump by InitProducerId clears it, so a zombie fenced by a successor can never get the successor's epoch.
   */
  lastProducerEpoch: number
  timeoutMs: number
  state: TransactionState
  /** When the ongoing transaction started (first AddPartitionsToTxn/AddOffsetsToTxn), -1 when none. */
  startTimestamp: number
  updateTimestamp: number
  partitions: Map<string, Set<number>>
  groups: Set<string>
  offsets: TxnOffset[]
}

const KEY_VERSION = 0
const VALUE_VERSION = 1

export function encodeTransactionKey(transactionalId: string): Buffer {
  return new Writer(32).int16(KEY_VERSION).string(transactionalId).toBuffer()
}

export function decodeTransactionKey(key: Buffer): string {
  const r = new Reader(key)
  const version = r.int16()
  if (version !== KEY_VERSION) {
    throw new TributaryError('TRB_TXN_STATE_UNKNOWN_KEY', `unknown transaction state key version ${version}`)
  }
  return r.string()
}

export function encodeTransactionValue(t: TransactionRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      lastProducerEpoch: t.lastProducerEpoch,
      timeoutMs: t.timeoutMs,
      state: t.state,
      startTimestamp: t.startTimestamp,
      updateTimestamp: t.updateTimestamp,
      partitions: [...t.partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) })),
      groups: [...t.groups],
      offsets: t.offsets.map((o) => ({ ...o, offset: o.offset.toString() })),
    }),
  )
}

export function decodeTransactionValue(value: Buffer): TransactionRecord {
  // biome-ignore lint/suspicious/noExplicitAny: untrusted JSON, each field is read with a default
  const j = JSON.parse(value.toString('utf8')) as Record<string, any>
  if (j.v !== VALUE_VERSION) {
    throw new TributaryError('TRB_TXN_STATE_UNKNOWN_VERSION', `unsupported transaction state value version ${j.v}`)
  }
  if (!TRANSACTION_STATES.includes(j.state)) {
    throw new TributaryError('TRB_TXN_STATE_INVALID', `unknown transaction state ${j.state}`)
  }
  return {
    producerId: j.producerId,
    producerEpoch: j.producerEpoch,
    lastProducerEpoch: j.lastProducerEpoch ?? -1,
    timeoutMs: j.timeoutMs,
    state: j.state,
    startTimestamp: j.startTimestamp ?? -1,
    updateTimestamp: j.updateTimestamp ?? 0,
    partitions: new Map(
      ((j.partitions ?? []) as { topic: string; partitions: number[] }[]).map((p) => [p.topic, new Set(p.partitions)]),
    ),
    groups: new Set((j.groups ?? []) as string[]),
    // biome-ignore lint/suspicious/noExplicitAny: as above
    offsets: ((j.offsets ?? []) as Record<string, any>[]).map((o) => ({
      group: o.group,
      topic: o.topic,
      partition: o.partition,
      offset: BigInt(o.offset),
      leaderEpoch: o.leaderEpoch ?? -1,
      metadata: o.metadata ?? null,
    })),
  }
}

export function cloneTransactionRecord(t: TransactionRecord): TransactionRecord {
  return {
    ...t,
    partitions: new Map([...t.partitions].map(([topic, set]) => [topic, new Set(set)])),
    groups: new Set(t.groups),
    offsets: t.offsets.map((o) => ({ ...o })),
  }
}
