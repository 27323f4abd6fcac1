/** Helpers for protocol-level transaction tests over a KafkaWireClient. */
import assert from 'node:assert/strict'
import type { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'

/** One transactional (or idempotent) batch of string values. */
export function txnBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  return encodeRecordBatchSync({
    producerId,
    producerEpoch,
    baseSequence,
    isTransactional: true,
    records: values.map((value) => ({ key: null, value })),
  })
}

export interface CommittedRead {
  values: string[]
  lastStableOffset: bigint
}

/**
 * Everything a read_committed client would show from `topic`/`partition`, read from offset 0 up to the last stable
 * offset: batches of aborted transactions (per the Fetch response's aborted list) are skipped up to their marker.
 */
export async function readCommitted(wire: KafkaWireClient, topic: string, partition: number): Promise<CommittedRead> {
  const lso = await wire
    .call(ApiKeys.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    .then((r) => r.topics[0].partitions[0].offset as bigint)
  const values: string[] = []
  let offset = 0n
  while (offset < lso) {
    const r = await wire.call(ApiKeys.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    const p = r.responses[0].partitions[0]
    assert.equal(p.errorCode, 0)
    const aborted = [...((p.abortedTransactions ?? []) as { producerId: bigint; firstOffset: bigint }[])]
    const skipping = new Set<number>()
    const batches = await decodeRecordBatches(p.records)
    if (batches.length === 0) break
    for (const { header: h, records } of batches) {
      const next = BigInt(h.baseOffset + h.lastOffsetDelta + 1)
      if (next <= offset) continue
      for (let i = aborted.length - 1; i >= 0; i--) {
        const a = aborted[i]!
        if (Number(a.producerId) === h.producerId && Number(a.firstOffset) <= h.baseOffset) {
          skipping.add(h.producerId)
          aborted.splice(i, 1)
        }
      }
      if (h.isControl) skipping.delete(h.producerId)
      else if (!skipping.has(h.producerId)) {
        for (const rec of records) if (BigInt(rec.offset) >= offset) values.push(rec.value!.toString())
      }
      offset = next
    }
  }
  return { values, lastStableOffset: lso }
}
