/**
 * Fetch v12–v17 with the records left as bytes: @platformatic/kafka builds the request, and this parser reads the
 * response's structure and keeps each partition's record section as one Buffer, which the fetcher decodes with
 * src/protocol's record batch decoder straight into its own records (no intermediate record objects, no BigInt per
 * record, every codec including zstd).
 */
import {
  type API,
  createAPI,
  fetchV12,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  type Reader,
  ResponseError,
} from '@platformatic/kafka'
import { TributaryError } from '../errors.ts'

export interface RawFetchPartition {
  partitionIndex: number
  errorCode: number
  highWatermark: bigint
  lastStableOffset: bigint
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }>
  /** The record batches as the broker sent them (the last one may be partial), or null when there are none. */
  records: Buffer | null
}

export interface RawFetchResponse {
  responses: Array<{ topicId: string; partitions: RawFetchPartition[] }>
}

const REQUESTS: Record<number, { createRequest: (...args: never[]) => unknown }> = {
  12: fetchV12,
  13: fetchV13,
  14: fetchV14,
  15: fetchV15,
  16: fetchV16,
  17: fetchV17,
}

function parser(version: number) {
  return (_correlationId: number, apiKey: number, apiVersion: number, reader: Reader): RawFetchResponse => {
    const errors: Array<[string, [number, null]]> = []
    reader.readInt32() // throttle_time_ms
    const errorCode = reader.readInt16()
    if (errorCode !== 0) errors.push(['', [errorCode, null]])
    reader.readInt32() // session_id
    const response: RawFetchResponse = {
      responses: reader.readArray((r, i) => ({
        topicId: version >= 13 ? r.readUUID() : r.readString(),
        partitions: r.readArray((r, j) => {
          const partitionIndex = r.readInt32()
          const partitionError = r.readInt16()
          const highWatermark = r.readInt64()
          const lastStableOffset = r.readInt64()
          r.readInt64() // log_start_offset
          const abortedTransactions = r.readArray((r) => ({ producerId: r.readInt64(), firstOffset: r.readInt64() }))
          r.readInt32() // preferred_read_replica
          const partition: RawFetchPartition = {
            partitionIndex,
            errorCode: partitionError,
            highWatermark,
            lastStableOffset,
            abortedTransactions,
            records: null,
          }
          if (partition.errorCode !== 0) errors.push([`/responses/${i}/partitions/${j}`, [partition.errorCode, null]])
          // COMPACT_RECORDS: the length plus one, 0 for null.
          const size = r.readUnsignedVarInt() - 1
          if (size > 0) {
            partition.records = r.buffer.slice(r.position, r.position + size)
            r.skip(size)
          }
          return partition
        }),
      })),
    }
    if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response)
    return response
  }
}

const apis = new Map<number, API<unknown[], RawFetchResponse>>()

/** The Fetch API at `version` (12–17, what the broker and @platformatic/kafka negotiated), records kept as bytes. */
export function rawFetchApi(version: number): API<unknown[], RawFetchResponse> {
  let api = apis.get(version)
  if (!api) {
    const request = REQUESTS[version]
    if (!request) {
      throw new TributaryError(
        'TRB_CLIENT_UNSUPPORTED_VERSION',
        `the broker and client agreed on Fetch v${version}; the fetcher reads v12–v17 (Kafka 3.1 or later)`,
      )
    }
    api = createAPI(1, version, request.createRequest as never, parser(version) as never) as unknown as API<
      unknown[],
      RawFetchResponse
    >
    apis.set(version, api)
  }
  return api
}
