/**
 * Broker-internal state kept in compacted topics (__consumer_offsets, __transaction_state, __cluster_metadata):
 * append key/value records durably to the local partition, and replay them from the start at startup. In the
 * broker the appends go through ReplicaManager.appendInternal, which also wakes fetches waiting on the partition.
 */
import type { KeyedLog, KeyedRecord, LoggedRecord, ReplayOptions } from '../common/keyed-log.ts'
import type { PartitionLog } from '../log/index.ts'
import { decodeRecordBatch, encodeRecordBatchSync, iterateBatches } from '../protocol/record-batch.ts'

/** Every record of the log from its start (or `from`) to its current end, in offset order. */
export async function* replayLog(log: PartitionLog, from = 0): AsyncGenerator<LoggedRecord> {
  let offset = Math.max(from, log.logStartOffset)
  const end = log.logEndOffset
  while (offset < end) {
    const { records } = await log.read(offset, 1024 * 1024, { minOneMessage: true })
    if (records.length === 0) break
    let progressed = false
    for (const { start, header } of iterateBatches(records)) {
      const batchEnd = header.baseOffset + header.lastOffsetDelta + 1
      if (batchEnd <= offset) continue
      if (!header.isControl) {
        const batch = await decodeRecordBatch(records, start)
        for (const r of batch.records) {
          if (r.offset < offset || !r.key) continue
          yield { key: r.key, value: r.value, offset: r.offset }
        }
      }
      offset = batchEnd
      progressed = true
    }
    if (!progressed) break
  }
}

/** Appends records as one batch and resolves with the last offset once they are durable (no fetch is woken). */
export async function appendDurably(log: PartitionLog, records: readonly KeyedRecord[], timestamp = Date.now()) {
  if (records.length === 0) return log.logEndOffset - 1
  const batch = encodeRecordBatchSync({
    records: records.map((r) => ({ key: r.key, value: r.value, timestamp })),
  })
  const res = log.append(batch)
  await log.waitDurable(res.lastOffset)
  return res.lastOffset
}

/**
 * A KeyedLog on one partition of the broker's own log. The broker-internal state it holds has one writer, this
 * object, so followers are fed from its own appends (nothing else appends to an internal partition: clients'
 * produce requests to internal topics are refused).
 */
export class PartitionKeyedLog implements KeyedLog {
  readonly log: PartitionLog
  readonly #appendBatch: (records: readonly KeyedRecord[]) => Promise<number>
  #followers = new Set<(record: LoggedRecord) => void>()
  #closed = false

  /** `appendBatch` writes one batch durably (default: straight to the log, as in tests without a broker). */
  constructor(log: PartitionLog, appendBatch?: (records: readonly KeyedRecord[]) => Promise<number>) {
    this.log = log
    this.#appendBatch = appendBatch ?? ((records) => appendDurably(log, records))
  }

  async append(records: readonly KeyedRecord[]): Promise<number> {
    const last = await this.#appendBatch(records)
    if (this.#followers.size > 0) {
      const first = last - records.length + 1
      records.forEach((r, i) => {
        const logged = { key: r.key, value: r.value, offset: first + i }
        for (const f of this.#followers) f(logged)
      })
    }
    return last
  }

  async replay(onRecord: (record: LoggedRecord) => void, options: ReplayOptions = {}): Promise<void> {
    // Appends that complete while the replay reads are queued, then delivered after it; offsets already
    // delivered by the replay are not delivered twice.
    let next = options.from ?? 0
    const deliver = (r: LoggedRecord) => {
      if (r.offset < next) return
      next = r.offset + 1
      onRecord(r)
    }
    let queued: LoggedRecord[] | null = []
    if (options.follow && !this.#closed) this.#followers.add((r) => (queued ? queued.push(r) : deliver(r)))
    for await (const r of replayLog(this.log, next)) deliver(r)
    const pending = queued
    queued = null
    for (const r of pending) deliver(r)
  }

  async endOffset(): Promise<number> {
    return this.log.logEndOffset
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#followers.clear()
  }
}
