/**
 * A bare Kafka connection for protocol-level transaction tests: encode a request with the generated codecs, await
 * its response. One request in flight at a time.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { ApiKeys, apiCodecs } from '../../../src/protocol/generated/api-table.ts'
import { Reader, Writer } from '../../../src/protocol/primitives.ts'
import { decodeRecordBatches, encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'

export { ApiKeys }

export class Wire {
  private pending = Buffer.alloc(0)
  private waiting: ((frame: Buffer) => void)[] = []
  private correlationId = 0

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.pending = Buffer.concat([this.pending, d])
      while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
        const size = this.pending.readInt32BE(0)
        const frame = this.pending.subarray(4, 4 + size)
        this.pending = this.pending.subarray(4 + size)
        this.waiting.shift()?.(frame)
      }
    })
    socket.on('error', () => {})
  }

  static connect(bootstrap: string): Promise<Wire> {
    const [host, port] = bootstrap.split(':')
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), host!, () => resolve(new Wire(socket)))
      socket.once('error', reject)
    })
  }

  // biome-ignore lint/suspicious/noExplicitAny: the response type depends on the API key chosen at run time
  async call<T = any>(apiKey: number, version: number, body: unknown): Promise<T> {
    const codec = apiCodecs.get(apiKey)!
    const correlationId = ++this.correlationId
    const w = new Writer()
    w.int16(apiKey).int16(version).int32(correlationId).nullableString('txn-test')
    const flexible = codec.flexibleMin >= 0 && version >= codec.flexibleMin
    if (flexible) w.uvarint(0)
    codec.encodeRequest(w, version, body)
    const payload = w.toBuffer()
    const head = Buffer.allocUnsafe(4)
    head.writeInt32BE(payload.length, 0)
    const frame = new Promise<Buffer>((resolve) => this.waiting.push(resolve))
    this.socket.write(Buffer.concat([head, payload]))
    const r = new Reader(await frame)
    assert.equal(r.int32(), correlationId)
    if (flexible && apiKey !== ApiKeys.ApiVersions) r.taggedFields()
    return codec.decodeResponse(r, version) as T
  }

  close(): void {
    this.socket.destroy()
  }
}

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
export async function readCommitted(wire: Wire, topic: string, partition: number): Promise<CommittedRead> {
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
