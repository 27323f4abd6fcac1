/**
 * Idempotent and transactional producer bookkeeping for one partition, following the rules of Kafka's
 * ProducerStateManager: the last five batches per producer detect duplicates, sequences must be contiguous within an
 * epoch, a new epoch restarts at sequence 0, and a producer the log knows nothing about (first write, or its records
 * were removed by retention) may start at any sequence.
 */
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { type BatchHeader, LogError, NO_PRODUCER_EPOCH } from '../protocol/record-batch.ts'

export const MAX_CACHED_BATCHES = 5
const INT32_MAX = 2147483647

export interface BatchMetadata {
  firstSeq: number
  lastSeq: number
  firstOffset: number
  lastOffset: number
  timestamp: number
}

export interface ProducerEntry {
  producerId: number
  epoch: number
  coordinatorEpoch: number
  batches: BatchMetadata[]
  /** First offset of the ongoing transaction, -1 when none. */
  currentTxnFirstOffset: number
  /** Last offset this producer wrote (data or marker). */
  lastOffset: number
  lastTimestamp: number
}

export interface AbortedTxn {
  producerId: number
  firstOffset: number
  lastOffset: number
}

export interface ProducerSnapshot {
  version: 1
  offset: number
  producers: ProducerEntry[]
  aborted: AbortedTxn[]
}

export function lastSeqOf(h: BatchHeader): number {
  const s = h.baseSequence + h.lastOffsetDelta
  return s > INT32_MAX ? s - INT32_MAX - 1 : s
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

function cloneEntry(e: ProducerEntry): ProducerEntry {
  return { ...e, batches: e.batches.map((b) => ({ ...b })) }
}

/** Result of checking a batch before it is appended. */
export type ProducerCheck = { kind: 'ok' } | { kind: 'duplicate'; batch: BatchMetadata }

export class ProducerStateManager {
  readonly producers = new Map<number, ProducerEntry>()
  /** Aborted transactions, ascending by lastOffset (markers are appended in offset order). */
  aborted: AbortedTxn[] = []

  get(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId)
  }

  /**
   * Validates a client batch against current state plus `staged` (entries already updated by earlier batches of the
   * same request). Throws LogError for fenced epochs, sequence gaps and transaction misuse.
   */
  check(h: BatchHeader, staged: Map<number, ProducerEntry>): ProducerCheck {
    const current = staged.get(h.producerId) ?? this.producers.get(h.producerId)
    if (h.isControl) {
      if (current && h.producerEpoch < current.epoch) {
        throw new LogError(
          ErrorCode.INVALID_PRODUCER_EPOCH,
          `transaction marker epoch ${h.producerEpoch} is older than producer ${h.producerId}'s epoch ${current.epoch}`,
        )
      }
      return { kind: 'ok' }
    }
    if (current) {
      if (h.producerEpoch < current.epoch) {
        throw new LogError(
          ErrorCode.INVALID_PRODUCER_EPOCH,
          `producer ${h.producerId} epoch ${h.producerEpoch} is older than current epoch ${current.epoch}`,
        )
      }
      if (h.producerEpoch === current.epoch) {
        const last = lastSeqOf(h)
        const dup = current.batches.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === last)
        if (dup) return { kind: 'duplicate', batch: dup }
      }
    }
    if (!current || current.epoch === NO_PRODUCER_EPOCH) {
      // Unknown producer (never seen, or all its records were removed): any sequence is accepted.
    } else if (h.producerEpoch !== current.epoch) {
      if (h.baseSequence !== 0) {
        throw new LogError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${h.producerId} new epoch ${h.producerEpoch} must start at sequence 0, got ${h.baseSequence}`,
        )
      }
    } else {
      const lastSeq = current.batches.length > 0 ? current.batches[current.batches.length - 1]!.lastSeq : -1
      if (current.batches.length > 0 && !inSequence(lastSeq, h.baseSequence)) {
        throw new LogError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${h.producerId} epoch ${h.producerEpoch}: expected sequence ${lastSeq + 1}, got ${h.baseSequence}`,
        )
      }
    }
    if (current && current.currentTxnFirstOffset >= 0 && !h.isTransactional && h.producerEpoch === current.epoch) {
      throw new LogError(
        ErrorCode.INVALID_TXN_STATE,
        `producer ${h.producerId} wrote a non-transactional batch while its transaction is ongoing`,
      )
    }
    return { kind: 'ok' }
  }

  /**
   * Applies an appended batch (with its assigned offsets) to `target` (a staging map or the live map).
   * Returns the aborted transaction it completed, if any (abort markers only).
   */
  apply(
    h: BatchHeader,
    target: Map<number, ProducerEntry>,
    controlType: number,
    coordinatorEpoch: number,
  ): AbortedTxn | null {
    const lastOffset = h.baseOffset + h.lastOffsetDelta
    let e = target.get(h.producerId)
    if (!e) {
      const live = this.producers.get(h.producerId)
      e = live
        ? cloneEntry(live)
        : {
            producerId: h.producerId,
            epoch: h.producerEpoch,
            coordinatorEpoch: -1,
            batches: [],
            currentTxnFirstOffset: -1,
            lastOffset: -1,
            lastTimestamp: -1,
          }
      target.set(h.producerId, e)
    }
    if (h.producerEpoch > e.epoch) {
      e.epoch = h.producerEpoch
      e.batches = []
    }
    e.lastOffset = lastOffset
    e.lastTimestamp = h.maxTimestamp
    if (h.isControl) {
      let completed: AbortedTxn | null = null
      if (e.currentTxnFirstOffset >= 0 && controlType === 0) {
        completed = { producerId: h.producerId, firstOffset: e.currentTxnFirstOffset, lastOffset }
      }
      e.currentTxnFirstOffset = -1
      e.coordinatorEpoch = coordinatorEpoch
      return completed
    }
    if (h.isTransactional && e.currentTxnFirstOffset < 0) e.currentTxnFirstOffset = h.baseOffset
    if (h.baseSequence >= 0) {
      e.batches.push({
        firstSeq: h.baseSequence,
        lastSeq: lastSeqOf(h),
        firstOffset: h.baseOffset,
        lastOffset,
        timestamp: h.maxTimestamp,
      })
      if (e.batches.length > MAX_CACHED_BATCHES) e.batches.shift()
    }
    return null
  }

  commit(staged: Map<number, ProducerEntry>, aborted: AbortedTxn[]): void {
    for (const [pid, e] of staged) this.producers.set(pid, e)
    for (const a of aborted) this.aborted.push(a)
  }

  /** First offset of the oldest ongoing transaction, or -1. */
  firstUnstableOffset(): number {
    let min = -1
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset >= 0 && (min < 0 || e.currentTxnFirstOffset < min)) min = e.currentTxnFirstOffset
    }
    return min
  }

  /**
   * Aborted transactions overlapping [fetchOffset, upperBoundOffset), sorted by first offset. The protocol leaves the
   * order open and librdkafka and the Java client sort the list themselves, but KafkaJS walks it assuming this order:
   * in marker (last offset) order, a transaction that started earlier but aborted later was not skipped.
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.aborted
      .filter((a) => a.lastOffset >= fetchOffset && a.firstOffset < upperBoundOffset)
      .sort((x, y) => x.firstOffset - y.firstOffset)
  }

  isAborted(producerId: number, offset: number): boolean {
    for (const a of this.aborted) {
      if (a.producerId === producerId && a.firstOffset <= offset && offset <= a.lastOffset) return true
    }
    return false
  }

  /** Forgets producers and aborted transactions entirely below the log start (retention, DeleteRecords). */
  onLogStartOffset(logStartOffset: number): void {
    for (const [pid, e] of this.producers) {
      if (e.lastOffset < logStartOffset && e.currentTxnFirstOffset < 0) this.producers.delete(pid)
    }
    this.aborted = this.aborted.filter((a) => a.lastOffset >= logStartOffset)
  }

  /** Drops state past `offset` (after truncation): callers rebuild by replaying from a snapshot. */
  clear(): void {
    this.producers.clear()
    this.aborted = []
  }

  toSnapshot(offset: number): ProducerSnapshot {
    return { version: 1, offset, producers: [...this.producers.values()], aborted: this.aborted }
  }

  loadSnapshot(s: ProducerSnapshot): void {
    this.clear()
    for (const e of s.producers) this.producers.set(e.producerId, cloneEntry(e))
    this.aborted = s.aborted.map((a) => ({ ...a }))
  }
}
