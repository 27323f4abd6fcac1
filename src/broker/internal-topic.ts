/**
 * Broker-internal state kept in compacted topics (__consumer_offsets, __cluster_metadata, later
 * __transaction_state): the records are key/value pairs, appended through ReplicaManager.appendInternal and
 * replayed from the start at startup.
 */
import type { PartitionLog } from '../log/index.ts'
import { decodeRecordBatch, iterateBatches } from '../protocol/record-batch.ts'

export interface KeyValue {
  key: Buffer
  value: Buffer | null
}

/** Every record of the log from its start, in offset order. */
export async function* replayLog(log: PartitionLog): AsyncGenerator<KeyValue & { offset: number }> {
  let offset = log.logStartOffset
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
