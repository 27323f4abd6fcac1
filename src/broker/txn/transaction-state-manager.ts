/**
 * The table of transactional ids (Kafka's TransactionStateManager): each id's current TransactionRecord, kept
 * durably in the state store (`__transaction_state`) and made current only once written; the per-id queue that runs
 * one operation at a time; loading by replaying the store; and forgetting ids idle for
 * transactional.id.expiration.ms. What the states mean and when they change is the coordinator's
 * (transaction-coordinator.ts).
 */

import type { KeyedLog } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import type { Clock, Timers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import {
  decodeTransactionKey,
  decodeTransactionValue,
  encodeTransactionKey,
  encodeTransactionValue,
  type TransactionRecord,
} from './transaction-state.ts'

/** One transactional id: its current record, its operation queue and the coordinator's timers for it. */
export interface TxnEntry {
  record: TransactionRecord
  /** Tail of the per-id operation queue. */
  queue: Promise<unknown>
  timeoutTimer: unknown
  retryTimer: unknown
}

export interface TransactionStateManagerOptions {
  store: KeyedLog
  clock: Clock
  timers: Timers
  logger: Logger
  /** transactional.id.expiration.ms. */
  expirationMs: number
}

export class TransactionStateManager {
  private readonly entries = new Map<string, TxnEntry>()
  private state: 'loading' | 'active' | 'closed' = 'loading'
  private expirationTimer: unknown = null

  constructor(private readonly opts: TransactionStateManagerOptions) {}

  get status(): 'loading' | 'active' | 'closed' {
    return this.state
  }

  /** COORDINATOR_LOAD_IN_PROGRESS while loading, COORDINATOR_NOT_AVAILABLE once closed, else NONE. */
  availabilityError(): number {
    if (this.state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    if (this.state === 'closed') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    return ErrorCode.NONE
  }

  /**
   * Replays the store: the latest record of every id becomes its entry (unreadable records are skipped and
   * counted), and the table becomes active. Does nothing more when closed meanwhile.
   */
  async load(): Promise<{ loaded: boolean; skipped: number }> {
    const latest = new Map<string, TransactionRecord | null>()
    let skipped = 0
    await this.opts.store.replay((r) => {
      try {
        latest.set(decodeTransactionKey(r.key), r.value ? decodeTransactionValue(r.value) : null)
      } catch (err) {
        skipped++
        this.opts.logger.warn('skipping unreadable transaction state record', { err })
      }
    })
    if (this.state === 'closed') return { loaded: false, skipped }
    for (const [id, record] of latest) {
      if (record) this.entries.set(id, { record, queue: Promise.resolve(), timeoutTimer: null, retryTimer: null })
    }
    this.state = 'active'
    this.scheduleExpiration()
    return { loaded: true, skipped }
  }

  /** Refuses new operations and stops expiration; `drain()` waits for the ones in flight. */
  close(): void {
    this.state = 'closed'
    if (this.expirationTimer !== null) this.opts.timers.clearTimeout(this.expirationTimer)
    this.expirationTimer = null
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.entries.values()].map((e) => e.queue))
  }

  get(transactionalId: string): TxnEntry | undefined {
    return this.entries.get(transactionalId)
  }

  /** Puts `entry` back under its id (an id that expired while a request for it waited starts over with it). */
  restore(transactionalId: string, entry: TxnEntry): void {
    if (this.entries.get(transactionalId) !== entry) this.entries.set(transactionalId, entry)
  }

  [Symbol.iterator](): IterableIterator<[string, TxnEntry]> {
    return this.entries[Symbol.iterator]()
  }

  get size(): number {
    return this.entries.size
  }

  getOrCreate(transactionalId: string): TxnEntry {
    let entry = this.entries.get(transactionalId)
    if (!entry) {
      entry = {
        record: {
          producerId: -1,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          timeoutMs: 0,
          state: 'Empty',
          startTimestamp: -1,
          updateTimestamp: this.opts.clock.now(),
          partitions: new Map(),
          groups: new Set(),
          offsets: [],
        },
        queue: Promise.resolve(),
        timeoutTimer: null,
        retryTimer: null,
      }
      this.entries.set(transactionalId, entry)
    }
    return entry
  }

  /** Runs `op` after every operation queued before it on this id. */
  enqueue<T>(entry: TxnEntry, op: () => Promise<T>): Promise<T> {
    const run = entry.queue.then(op, op)
    entry.queue = run.catch(() => {})
    return run
  }

  /** Writes `next` durably, then makes it current. Returns an error code when the write failed. */
  async persist(transactionalId: string, entry: TxnEntry, next: TransactionRecord): Promise<number> {
    try {
      await this.opts.store.append([
        { key: encodeTransactionKey(transactionalId), value: encodeTransactionValue(next) },
      ])
    } catch (err) {
      this.opts.logger.warn('storing transaction state failed', { transactionalId, err })
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    entry.record = next
    return ErrorCode.NONE
  }

  /** Forgets transactional ids idle for transactional.id.expiration.ms (tombstones let compaction drop them). */
  private scheduleExpiration(): void {
    if (this.state !== 'active') return
    const interval = Math.min(this.opts.expirationMs, 60 * 60 * 1000)
    this.expirationTimer = this.opts.timers.setTimeout(() => {
      this.expirationTimer = null
      this.expireIds()
        .catch((err) => this.opts.logger.warn('expiring transactional ids failed', { err }))
        .finally(() => this.scheduleExpiration())
    }, interval)
  }

  async expireIds(): Promise<number> {
    const now = this.opts.clock.now()
    let expired = 0
    for (const [id, entry] of this.entries) {
      await this.enqueue(entry, async () => {
        const r = entry.record
        const idle = r.state === 'Empty' || r.state === 'CompleteCommit' || r.state === 'CompleteAbort'
        if (!idle || now - r.updateTimestamp < this.opts.expirationMs || this.entries.get(id) !== entry) return
        await this.opts.store.append([{ key: encodeTransactionKey(id), value: null }])
        entry.record = { ...r, state: 'Dead' }
        this.entries.delete(id)
        expired++
      })
    }
    return expired
  }
}
