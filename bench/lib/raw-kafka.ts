/**
 * A minimal Kafka connection for measuring the broker rather than a client library: pre-encoded record
 * batches go out as Produce requests and Fetch responses are counted without decoding records.
 * Built on the project's one wire client (src/client/wire-client.ts); only non-flexible request versions are used.
 */
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { encodeFetchRequest } from '../../src/protocol/generated/fetch-request.ts'
import { decodeFetchResponse } from '../../src/protocol/generated/fetch-response.ts'
import { encodeMetadataRequest } from '../../src/protocol/generated/metadata-request.ts'
import { decodeMetadataResponse, type MetadataResponse } from '../../src/protocol/generated/metadata-response.ts'
import { encodeProduceRequest } from '../../src/protocol/generated/produce-request.ts'
import { decodeProduceResponse } from '../../src/protocol/generated/produce-response.ts'
import { BatchOffsets, batchSizeAt, encodeRecordBatchSync, readInt64 } from '../../src/protocol/record-batch.ts'

const PRODUCE_VERSION = 7
const FETCH_VERSION = 11
const METADATA_VERSION = 4
const EMPTY = Buffer.alloc(0)

/** The bench's requests over the project's one wire client. */
export class RawKafkaConnection {
  private constructor(private readonly wire: KafkaWireClient) {}

  static async open(host: string, port: number): Promise<RawKafkaConnection> {
    return new RawKafkaConnection(await KafkaWireClient.connect({ host, port }, { clientId: 'bench' }))
  }

  close(): void {
    this.wire.close()
  }

  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const r = await this.wire.send(ApiKeys.Metadata, METADATA_VERSION, (w) =>
      encodeMetadataRequest(w, METADATA_VERSION, {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        allowAutoTopicCreation,
      }),
    )
    return decodeMetadataResponse(r, METADATA_VERSION)
  }

  /** Produces already-encoded batches, one per partition; throws on any partition error. */
  async produce(topic: string, batches: Map<number, Buffer>, acks = -1): Promise<void> {
    // With one partition its records are the request's last field: encode an empty one, then put the batch's
    // length in its place and send the batch itself behind the request, as a client writing its batch buffer would.
    const single = batches.size === 1 ? [...batches][0]! : undefined
    const r = await this.wire.send(
      ApiKeys.Produce,
      PRODUCE_VERSION,
      (w) => {
        encodeProduceRequest(w, PRODUCE_VERSION, {
          transactionalId: null,
          acks,
          timeoutMs: 30000,
          topicData: [
            {
              name: topic,
              partitionData: single
                ? [{ index: single[0], records: EMPTY }]
                : [...batches].map(([index, records]) => ({ index, records })),
            },
          ],
        })
      },
      single?.[1],
    )
    const res = decodeProduceResponse(r, PRODUCE_VERSION)
    for (const t of res.responses) {
      for (const p of t.partitionResponses) {
        if (p.errorCode !== 0) throw new Error(`produce ${topic}-${p.index} failed with error code ${p.errorCode}`)
      }
    }
  }

  /**
   * One Fetch for one partition. Returns the raw records bytes, the offset after the last complete batch and
   * the high watermark.
   */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    maxWaitMs = 500,
  ): Promise<{ bytes: number; records: Buffer | null; nextOffset: number; highWatermark: number }> {
    const r = await this.wire.send(ApiKeys.Fetch, FETCH_VERSION, (w) =>
      encodeFetchRequest(w, FETCH_VERSION, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(offset),
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: maxBytes,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }),
    )
    const res = decodeFetchResponse(r, FETCH_VERSION)
    if (res.errorCode !== 0) throw new Error(`fetch failed with error code ${res.errorCode}`)
    const p = res.responses[0]?.partitions[0]
    if (!p) throw new Error('fetch response without partition')
    if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition} failed with error code ${p.errorCode}`)
    const records = p.records
    let nextOffset = offset
    let bytes = 0
    if (records) {
      let pos = 0
      while (true) {
        const size = batchSizeAt(records, pos)
        if (size < 0 || pos + size > records.length) break
        nextOffset = readInt64(records, pos) + records.readInt32BE(pos + BatchOffsets.lastOffsetDelta) + 1
        bytes += size
        pos += size
      }
    }
    return { bytes, records, nextOffset, highWatermark: Number(p.highWatermark) }
  }
}

/** Waits until Metadata lists every topic with a leader for all its partitions. */
export async function waitForTopics(
  conn: RawKafkaConnection,
  topics: string[],
  partitions: number,
  autoCreate: boolean,
  timeoutMs = 60000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const md = await conn.metadata(topics, autoCreate)
    const ready = md.topics.filter(
      (t) => t.errorCode === 0 && t.partitions.length >= partitions && t.partitions.every((p) => p.leaderId >= 0),
    )
    // Apache Kafka names a leader in Metadata a moment before the leader serves the partition: a Fetch (leader
    // only) at offset 0 tells when every partition is really served.
    if (ready.length === topics.length && (await served(conn, ready))) return
    last = md.topics
      .filter((t) => t.errorCode !== 0)
      .slice(0, 3)
      .map((t) => `${t.name}: error ${t.errorCode}`)
      .join(', ')
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`topics not ready after ${timeoutMs} ms (${last || 'missing partitions'})`)
}

async function served(
  conn: RawKafkaConnection,
  topics: { name: string | null; partitions: { partitionIndex: number }[] }[],
): Promise<boolean> {
  try {
    for (const t of topics) {
      for (const p of t.partitions) await conn.fetch(t.name!, p.partitionIndex, 0, 1, 0)
    }
    return true
  } catch {
    return false
  }
}

/** One uncompressed batch of `count` records of `recordBytes` each (non-idempotent, so it can be re-sent). */
export function makeBatch(count: number, recordBytes: number, fill = 0x61): Buffer {
  const value = Buffer.alloc(recordBytes, fill)
  const records = Array.from({ length: count }, () => ({ value }))
  return encodeRecordBatchSync({ records })
}
