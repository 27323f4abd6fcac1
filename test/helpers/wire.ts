/** Helpers for tests that talk to the broker with the raw KafkaWireClient. */
import assert from 'node:assert/strict'
import type { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches } from '../../src/protocol/record-batch.ts'

/** The record batches of a partition from offset 0 (up to 8 MiB), as the broker sends them. */
export async function fetchRecordBytes(wire: KafkaWireClient, topic: string, partition = 0): Promise<Buffer> {
  const res = await wire.call(ApiKeys.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 16 * 1024 * 1024,
    isolationLevel: 0,
    topics: [
      { topic, partitions: [{ partition, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 8 * 1024 * 1024 }] },
    ],
  })
  const p = res.responses[0].partitions[0]
  assert.equal(p.errorCode, ErrorCode.NONE)
  return p.records ?? Buffer.alloc(0)
}

/** Every value of a partition from offset 0 (up to 8 MiB), as strings; a null value reads `<null>`. */
export async function fetchValues(wire: KafkaWireClient, topic: string, partition = 0): Promise<string[]> {
  const values: string[] = []
  for (const b of await decodeRecordBatches(await fetchRecordBytes(wire, topic, partition))) {
    for (const r of b.records) values.push(r.value?.toString() ?? '<null>')
  }
  return values
}
