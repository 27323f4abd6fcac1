/**
 * The transaction coordinator (KIP-98, KIP-447) of a single-node broker: it maps transactional ids to producer ids
 * and epochs, fences zombies, tracks the partitions and groups of each ongoing transaction, and ends a transaction by
 * writing COMMIT/ABORT markers to every partition in it and committing or dropping its transactional offsets.
 *
 * Every state change is written durably to the state store (`__transaction_state`) before it takes effect in memory,
 * in Kafka's two phases: PrepareCommit/PrepareAbort first, then the markers, then CompleteCommit/CompleteAbort. After a
 * restart, load() replays the store and finishes whatever a crash interrupted, as Kafka's coordinator does after a
 * failover: prepared transactions are completed (markers written again — a second marker for a producer without an
 * ongoing transaction changes nothing), ongoing ones keep running and are aborted when their timeout passes.
 *
 * Operations on one transactional id run one at a time (a per-id queue), so a request never observes a half-done
 * transition. The table of ids, its durable store, the queues, loading and expiration are the
 * TransactionStateManager's (transaction-state-manager.ts); this class is the state machine, the markers and the
 * timeouts. Unlike Kafka, EndTxn answers once the markers are written rather than after PrepareCommit, and
 * InitProducerId that must abort an ongoing transaction waits for that abort instead of answering
 * CONCURRENT_TRANSACTIONS: both save clients a retry and are indistinguishable otherwise.
 */

import type { KeyedLog } from '../../common/keyed-log.ts'
import { type Logger, noopLogger } from '../../common/logger.ts'
import { type Clock, systemClock, systemTimers, type Timers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetCommitTopic, PendingTxnOffset, TopicPartitionsResult } from '../group/group-coordinator.ts'
import {
  cloneTransactionRecord,
  TRANSACTION_STATES,
  type TransactionRecord,
  type TransactionState,
  type TxnOffset,
} from './transaction-state.ts'
import { TransactionStateManager, type TxnEntry } from './transaction-state-manager.ts'

/** What the coordinator needs from the group coordinator for TxnOffsetCommit. */
export interface TxnGroupOffsets {
  validateTxnOffsetCommit(p: {
    groupId: string
    generationId: number
    memberId: string
    groupInstanceId: string | null
  }): number
  offsetMetadataError(metadata: string | null): number
  addPendingTxnOffsets(producerId: number, groupId: string, offsets: PendingTxnOffset[]): void
  completeTxnOffsets(producerId: number, groupIds: string[], commit: boolean): Promise<void>
}

export interface TransactionCoordinatorOptions {
  /** Where transaction state is kept: the broker's `__transaction_state` partition. */
  store: KeyedLog
  groups: TxnGroupOffsets
  /** Writes a COMMIT/ABORT marker for the producer to the partition and resolves once it is durable. */
  writeMarker(topic: string, partition: number, producerId: number, epoch: number, commit: boolean): Promise<void>
  partitionExists(topic: string, partition: number): boolean
  allocateProducerId(): Promise<number>
  clock?: Clock
  timers?: Timers
  logger?: Logger
  /** transaction.max.timeout.ms (Kafka default 900000). */
  maxTransactionTimeoutMs?: number
  /** transactional.id.expiration.ms (Kafka default 7 days): idle ids are forgotten after this long. */
  transactionalIdExpirationMs?: number
  /** Delay before retrying a completion whose marker writes failed. */
  retryBackoffMs?: number
}

/** The highest epoch handed out before a producer id is replaced by a fresh one (Kafka: Short.MAX_VALUE - 1). */
const MAX_EPOCH = 32766

export interface InitProducerIdParams {
  transactionalId: string
  transactionTimeoutMs: number
  /** KIP-360: the producer's current id and epoch, or -1/-1. */
  producerId: number
  producerEpoch: number
}

export interface ProducerIdAndEpoch {
  errorCode: number
  producerId: number
  producerEpoch: number
}

export interface TxnIdentity {
  transactionalId: string
  producerId: number
  producerEpoch: number
}

export interface DescribedTransaction {
  transactionalId: string
  errorCode: number
  state: TransactionState | ''
  timeoutMs: number
  startTimestamp: number
  producerId: number
  producerEpoch: number
  partitions: { topic: string; partitions: number[] }[]
}

export class TransactionCoordinator {
  private readonly opts: TransactionCoordinatorOptions
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly logger: Logger
  private readonly maxTimeoutMs: number
  private readonly retryBackoffMs: number
  /** The transactional ids, their durable records and per-id queues. */
  private readonly txns: TransactionStateManager

  constructor(options: TransactionCoordinatorOptions) {
    this.opts = options
    this.clock = options.clock ?? systemClock
    this.timers = options.timers ?? systemTimers
    this.logger = options.logger ?? noopLogger
    this.maxTimeoutMs = options.maxTransactionTimeoutMs ?? 900_000
    this.retryBackoffMs = options.retryBackoffMs ?? 1000
    this.txns = new TransactionStateManager({
      store: options.store,
      clock: this.clock,
      timers: this.timers,
      logger: this.logger,
      expirationMs: options.transactionalIdExpirationMs ?? 7 * 24 * 60 * 60 * 1000,
    })
  }

  // ---------------------------------------------------------------- lifecycle

  /** Replays the store, then completes prepared transactions and arms the timeouts of ongoing ones. */
  async load(): Promise<void> {
    const { loaded, skipped } = await this.txns.load()
    if (!loaded) return
    for (const [, { record }] of this.txns) {
      for (const o of record.offsets) this.opts.groups.addPendingTxnOffsets(record.producerId, o.group, [pendingOf(o)])
    }
    let completing = 0
    let ongoing = 0
    for (const [id, entry] of this.txns) {
      const s = entry.record.state
      if (s === 'PrepareCommit' || s === 'PrepareAbort') {
        completing++
        this.txns.enqueue(entry, () => this.complete(id, entry)).catch(() => {})
      } else if (s === 'Ongoing') {
        ongoing++
        this.armTimeout(id, entry)
      }
    }
    this.logger.info('transaction coordinator loaded', {
      transactionalIds: this.txns.size,
      completing,
      ongoing,
      skipped,
    })
  }

  /** Stops timers; operations in flight finish, new ones get COORDINATOR_NOT_AVAILABLE. */
  async close(): Promise<void> {
    if (this.txns.status === 'closed') return
    this.txns.close()
    for (const [, entry] of this.txns) this.clearTimers(entry)
    await this.txns.drain()
  }

  availabilityError(): number {
    return this.txns.availabilityError()
  }

  // ---------------------------------------------------------------- InitProducerId

  async initProducerId(p: InitProducerIdParams): Promise<ProducerIdAndEpoch> {
    const fail = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, producerId: -1, producerEpoch: -1 })
    const unavailable = this.availabilityError()
    if (unavailable) return fail(unavailable)
    if (!p.transactionalId) return fail(ErrorCode.INVALID_REQUEST)
    if (p.transactionTimeoutMs <= 0 || p.transactionTimeoutMs > this.maxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    }
    const entry = this.txns.getOrCreate(p.transactionalId)
    return this.txns.enqueue(entry, async () => {
      // The id may have expired while this request waited in the queue: it starts over as a new id.
      this.txns.restore(p.transactionalId, entry)
      const current = entry.record
      const isNew = current.producerId < 0 || current.state === 'Dead'
      if (!isNew && p.producerId >= 0) {
        // KIP-360: a producer naming its id must hold the current epoch, or the one its timed-out transaction lost.
        const sameProducer = p.producerId === current.producerId
        const knownEpoch = p.producerEpoch === current.producerEpoch || p.producerEpoch === current.lastProducerEpoch
        if (!sameProducer || !knownEpoch) return fail(ErrorCode.PRODUCER_FENCED)
      }
      if (current.state === 'Ongoing') {
        // A new incarnation of the producer: its predecessor's transaction is aborted under a bumped epoch, which
        // fences the predecessor everywhere the markers land.
        const fenced = await this.abortOngoing(p.transactionalId, entry, 'fenced by a new producer instance', false)
        if (fenced) return fail(fenced)
      } else if (current.state === 'PrepareCommit' || current.state === 'PrepareAbort') {
        await this.complete(p.transactionalId, entry)
        if (entry.record.state !== 'CompleteCommit' && entry.record.state !== 'CompleteAbort') {
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
        }
      }
      const next = cloneTransactionRecord(entry.record)
      if (isNew || next.producerEpoch >= MAX_EPOCH) {
        next.producerId = await this.opts.allocateProducerId()
        next.producerEpoch = 0
        next.lastProducerEpoch = -1
      } else {
        next.producerEpoch++
      }
      // Only a timeout abort leaves a re-initializable old epoch behind (see TransactionRecord.lastProducerEpoch).
      next.lastProducerEpoch = -1
      next.timeoutMs = p.transactionTimeoutMs
      next.state = 'Empty'
      next.startTimestamp = -1
      next.updateTimestamp = this.clock.now()
      next.partitions = new Map()
      next.groups = new Set()
      next.offsets = []
      const err = await this.txns.persist(p.transactionalId, entry, next)
      if (err) return fail(err)
      return { errorCode: ErrorCode.NONE, producerId: next.producerId, producerEpoch: next.producerEpoch }
    })
  }

  // ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

  /** Returns one error code for every requested partition (all equal unless some partitions are unknown). */
  async addPartitions(
    id: TxnIdentity,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ topic: string; partition: number; errorCode: number }[]> {
    const all = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
    const answer = (code: (tp: { topic: string; partition: number }) => number) =>
      all.map((tp) => ({ ...tp, errorCode: code(tp) }))
    const unknown = all.filter((tp) => !this.opts.partitionExists(tp.topic, tp.partition))
    if (unknown.length > 0) {
      return answer((tp) =>
        unknown.includes(tp) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED,
      )
    }
    const err = await this.extendTransaction(id, (next) => {
      for (const tp of all) {
        let set = next.partitions.get(tp.topic)
        if (!set) {
          set = new Set()
          next.partitions.set(tp.topic, set)
        }
        set.add(tp.partition)
      }
    })
    return answer(() => err)
  }

  addOffsets(id: TxnIdentity, groupId: string): Promise<number> {
    return this.extendTransaction(id, (next) => {
      next.groups.add(groupId)
    })
  }

  /** Validates the producer and moves the transaction to Ongoing with `change` applied, writing only if it changes. */
  private async extendTransaction(id: TxnIdentity, change: (next: TransactionRecord) => void): Promise<number> {
    const unavailable = this.availabilityError()
    if (unavailable) return unavailable
    const entry = this.txns.get(id.transactionalId)
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    return this.txns.enqueue(entry, async () => {
      const err = this.checkProducer(entry.record, id)
      if (err) return err
      const s = entry.record.state
      if (s === 'PrepareCommit' || s === 'PrepareAbort' || s === 'PrepareEpochFence') {
        return ErrorCode.CONCURRENT_TRANSACTIONS
      }
      if (s === 'Dead') return ErrorCode.INVALID_PRODUCER_ID_MAPPING
      const next = cloneTransactionRecord(entry.record)
      if (s !== 'Ongoing') {
        next.partitions = new Map()
        next.groups = new Set()
        next.offsets = []
        next.startTimestamp = this.clock.now()
      }
      next.state = 'Ongoing'
      change(next)
      if (s === 'Ongoing' && sameMembers(entry.record, next)) return ErrorCode.NONE
      next.updateTimestamp = this.clock.now()
      const stored = await this.txns.persist(id.transactionalId, entry, next)
      if (!stored && s !== 'Ongoing') this.armTimeout(id.transactionalId, entry)
      return stored
    })
  }

  // ---------------------------------------------------------------- TxnOffsetCommit

  async txnOffsetCommit(
    id: TxnIdentity,
    group: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null },
    topics: OffsetCommitTopic[],
  ): Promise<TopicPartitionsResult[]> {
    const answer = (code: (topic: string, partition: number, metadata: string | null) => number) =>
      topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: code(t.name, p.partitionIndex, p.committedMetadata),
        })),
      }))
    const unavailable = this.availabilityError()
    if (unavailable) return answer(() => unavailable)
    const entry = this.txns.get(id.transactionalId)
    if (!entry) return answer(() => ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    return this.txns.enqueue(entry, async () => {
      const producerErr = this.checkProducer(entry.record, id)
      if (producerErr) return answer(() => producerErr)
      // The group must have been added by AddOffsetsToTxn in this transaction (KIP-890's verification, part 1).
      if (entry.record.state !== 'Ongoing' || !entry.record.groups.has(group.groupId)) {
        return answer(() => ErrorCode.INVALID_TXN_STATE)
      }
      const groupErr = this.opts.groups.validateTxnOffsetCommit(group)
      if (groupErr) return answer(() => groupErr)
      const accepted: TxnOffset[] = []
      const results = answer((topic, partition, metadata) => {
        if (!this.opts.partitionExists(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return this.opts.groups.offsetMetadataError(metadata)
      })
      for (const t of topics) {
        for (const p of t.partitions) {
          if (!this.opts.partitionExists(t.name, p.partitionIndex)) continue
          if (this.opts.groups.offsetMetadataError(p.committedMetadata)) continue
          accepted.push({
            group: group.groupId,
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.committedMetadata,
          })
        }
      }
      if (accepted.length === 0) return results
      const next = cloneTransactionRecord(entry.record)
      for (const o of accepted) {
        const i = next.offsets.findIndex(
          (x) => x.group === o.group && x.topic === o.topic && x.partition === o.partition,
        )
        if (i >= 0) next.offsets[i] = o
        else next.offsets.push(o)
      }
      next.updateTimestamp = this.clock.now()
      const err = await this.txns.persist(id.transactionalId, entry, next)
      if (err) return answer(() => err)
      this.opts.groups.addPendingTxnOffsets(entry.record.producerId, group.groupId, accepted.map(pendingOf))
      return results
    })
  }

  // ---------------------------------------------------------------- EndTxn

  async endTxn(id: TxnIdentity, commit: boolean): Promise<number> {
    const unavailable = this.availabilityError()
    if (unavailable) return unavailable
    const entry = this.txns.get(id.transactionalId)
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    return this.txns.enqueue(entry, async () => {
      const err = this.checkProducer(entry.record, id)
      if (err) return err
      const s = entry.record.state
      if (s === 'Ongoing') {
        const prepared = cloneTransactionRecord(entry.record)
        prepared.state = commit ? 'PrepareCommit' : 'PrepareAbort'
        prepared.updateTimestamp = this.clock.now()
        const stored = await this.txns.persist(id.transactionalId, entry, prepared)
        if (stored) return stored
        this.clearTimeout(entry)
        await this.complete(id.transactionalId, entry)
        const done = entry.record.state
        return done === 'CompleteCommit' || done === 'CompleteAbort'
          ? ErrorCode.NONE
          : ErrorCode.CONCURRENT_TRANSACTIONS
      }
      // A retried EndTxn whose first attempt succeeded is answered as it was then.
      if (s === 'CompleteCommit') return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
      if (s === 'CompleteAbort') return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE
      if (s === 'PrepareCommit' || s === 'PrepareAbort') {
        if ((s === 'PrepareCommit') !== commit) return ErrorCode.INVALID_TXN_STATE
        return ErrorCode.CONCURRENT_TRANSACTIONS
      }
      return ErrorCode.INVALID_TXN_STATE
    })
  }

  // ---------------------------------------------------------------- produce verification

  /**
   * For transactional produce (KIP-890 part 1): the batch's producer must be the current one of its transactional id
   * and the partition must be in the ongoing transaction.
   */
  verifyTransactionalProduce(id: TxnIdentity, topic: string, partition: number): number {
    const unavailable = this.availabilityError()
    if (unavailable) return unavailable
    const entry = this.txns.get(id.transactionalId)
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    const err = this.checkProducer(entry.record, id)
    if (err) return err === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : err
    if (entry.record.state !== 'Ongoing' || !entry.record.partitions.get(topic)?.has(partition)) {
      return ErrorCode.INVALID_TXN_STATE
    }
    return ErrorCode.NONE
  }

  // ---------------------------------------------------------------- Describe / List

  describe(transactionalIds: string[]): DescribedTransaction[] {
    const unavailable = this.availabilityError()
    return transactionalIds.map((transactionalId) => {
      const entry = this.txns.get(transactionalId)
      const errorCode = unavailable || (entry ? ErrorCode.NONE : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
      if (errorCode || !entry) {
        // Kafka leaves every other field at the message's defaults (zeros) in an error answer.
        return {
          transactionalId,
          errorCode,
          state: '',
          timeoutMs: 0,
          startTimestamp: 0,
          producerId: 0,
          producerEpoch: 0,
          partitions: [],
        }
      }
      const r = entry.record
      return {
        transactionalId,
        errorCode,
        state: r.state,
        timeoutMs: r.timeoutMs,
        startTimestamp: r.state === 'Empty' || r.state.startsWith('Complete') ? -1 : r.startTimestamp,
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
        partitions: [...r.partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) })),
      }
    })
  }

  list(filter: { states: string[]; producerIds: number[]; minDurationMs: number }): {
    errorCode: number
    unknownStateFilters: string[]
    transactions: { transactionalId: string; producerId: number; state: TransactionState }[]
  } {
    const unavailable = this.availabilityError()
    const unknownStateFilters = filter.states.filter((s) => !TRANSACTION_STATES.includes(s as TransactionState))
    if (unavailable) return { errorCode: unavailable, unknownStateFilters, transactions: [] }
    const now = this.clock.now()
    const transactions: { transactionalId: string; producerId: number; state: TransactionState }[] = []
    for (const [transactionalId, { record: r }] of this.txns) {
      if (r.producerId < 0) continue
      if (filter.states.length > 0 && !filter.states.includes(r.state)) continue
      if (filter.producerIds.length > 0 && !filter.producerIds.includes(r.producerId)) continue
      if (filter.minDurationMs >= 0 && (r.startTimestamp < 0 || now - r.startTimestamp < filter.minDurationMs)) continue
      transactions.push({ transactionalId, producerId: r.producerId, state: r.state })
    }
    transactions.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId))
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactions }
  }

  // ---------------------------------------------------------------- internals

  private checkProducer(r: TransactionRecord, id: TxnIdentity): number {
    if (r.producerId < 0 || r.producerId !== id.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (id.producerEpoch !== r.producerEpoch) return ErrorCode.PRODUCER_FENCED
    return ErrorCode.NONE
  }

  /**
   * Second phase of EndTxn (and of recovery): markers to every partition, offsets committed or dropped, then the
   * Complete state. On failure the transaction stays prepared and is retried later.
   */
  private async complete(transactionalId: string, entry: TxnEntry): Promise<void> {
    const r = entry.record
    if (r.state !== 'PrepareCommit' && r.state !== 'PrepareAbort') return
    const commit = r.state === 'PrepareCommit'
    try {
      for (const [topic, partitions] of r.partitions) {
        for (const partition of partitions) {
          if (!this.opts.partitionExists(topic, partition)) continue // deleted meanwhile
          await this.opts.writeMarker(topic, partition, r.producerId, r.producerEpoch, commit)
        }
      }
      await this.opts.groups.completeTxnOffsets(r.producerId, [...r.groups], commit)
    } catch (err) {
      this.logger.warn('writing transaction markers failed; will retry', { transactionalId, err })
      this.scheduleRetry(transactionalId, entry)
      return
    }
    const done = cloneTransactionRecord(r)
    done.state = commit ? 'CompleteCommit' : 'CompleteAbort'
    done.partitions = new Map()
    done.groups = new Set()
    done.offsets = []
    done.updateTimestamp = this.clock.now()
    const err = await this.txns.persist(transactionalId, entry, done)
    if (err) this.scheduleRetry(transactionalId, entry)
  }

  /**
   * Aborts the ongoing transaction under a bumped epoch (Kafka's PrepareEpochFence then PrepareAbort), so the old
   * producer's later requests and writes are refused. Returns an error code when the abort could not be completed.
   */
  private async abortOngoing(
    transactionalId: string,
    entry: TxnEntry,
    reason: string,
    timedOut: boolean,
  ): Promise<number> {
    this.clearTimeout(entry)
    const prepared = cloneTransactionRecord(entry.record)
    // With no epoch left to fence with, the markers go out under the current one and a new producer id follows.
    if (prepared.producerEpoch < MAX_EPOCH) {
      prepared.lastProducerEpoch = timedOut ? prepared.producerEpoch : -1
      prepared.producerEpoch++
    }
    prepared.state = 'PrepareAbort'
    prepared.updateTimestamp = this.clock.now()
    const err = await this.txns.persist(transactionalId, entry, prepared)
    if (err) return err
    this.logger.info('aborting transaction', { transactionalId, producerId: prepared.producerId, reason })
    await this.complete(transactionalId, entry)
    return entry.record.state === 'CompleteAbort' ? ErrorCode.NONE : ErrorCode.CONCURRENT_TRANSACTIONS
  }

  private armTimeout(transactionalId: string, entry: TxnEntry): void {
    this.clearTimeout(entry)
    if (this.txns.status !== 'active') return
    const r = entry.record
    const delay = Math.max(0, r.startTimestamp + r.timeoutMs - this.clock.now())
    entry.timeoutTimer = this.timers.setTimeout(() => {
      entry.timeoutTimer = null
      this.txns
        .enqueue(entry, async () => {
          const cur = entry.record
          if (this.txns.status !== 'active' || cur.state !== 'Ongoing') return
          if (this.clock.now() < cur.startTimestamp + cur.timeoutMs) {
            this.armTimeout(transactionalId, entry)
            return
          }
          await this.abortOngoing(transactionalId, entry, `timed out after ${cur.timeoutMs} ms`, true)
        })
        .catch((err) => this.logger.warn('aborting a timed out transaction failed', { transactionalId, err }))
    }, delay)
  }

  private scheduleRetry(transactionalId: string, entry: TxnEntry): void {
    if (this.txns.status !== 'active' || entry.retryTimer !== null) return
    entry.retryTimer = this.timers.setTimeout(() => {
      entry.retryTimer = null
      this.txns.enqueue(entry, () => this.complete(transactionalId, entry)).catch(() => {})
    }, this.retryBackoffMs)
  }

  /** Forgets transactional ids idle for transactional.id.expiration.ms (also done on a timer). */
  expireIds(): Promise<number> {
    return this.txns.expireIds()
  }

  private clearTimeout(entry: TxnEntry): void {
    if (entry.timeoutTimer !== null) this.timers.clearTimeout(entry.timeoutTimer)
    entry.timeoutTimer = null
  }

  private clearTimers(entry: TxnEntry): void {
    this.clearTimeout(entry)
    if (entry.retryTimer !== null) this.timers.clearTimeout(entry.retryTimer)
    entry.retryTimer = null
  }
}

function pendingOf(o: TxnOffset): PendingTxnOffset {
  return {
    topic: o.topic,
    partition: o.partition,
    offset: {
      offset: o.offset,
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata ?? '',
      // Replaced by the time of the commit when the transaction commits.
      commitTimestamp: 0,
      expireTimestamp: null,
    },
  }
}

function sameMembers(a: TransactionRecord, b: TransactionRecord): boolean {
  if (a.groups.size !== b.groups.size) return false
  let na = 0
  let nb = 0
  for (const s of a.partitions.values()) na += s.size
  for (const s of b.partitions.values()) nb += s.size
  return na === nb
}

/** Clients older than KIP-588 know fencing only as INVALID_PRODUCER_EPOCH. */
export function fencingErrorFor(errorCode: number, apiVersion: number, firstVersionWithProducerFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithProducerFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode
}
