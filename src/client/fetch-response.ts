/**
 * Fetch v12–v17 with the records left as bytes: @platformatic/kafka builds the request and reads the frame, the
 * generated codec (src/protocol) decodes the response and keeps each partition's record section as one Buffer,
 * which the fetcher decodes with src/protocol's record batch decoder straight into its own records (no intermediate
 * record objects, no BigInt per record, every codec including zstd).
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
  type Reader as PlatformaticReader,
  ResponseError,
} from '@platformatic/kafka'
import { TributaryError } from '../errors.ts'
import { apiCodec } from '../protocol/framing.ts'
import { ApiKeys } from '../protocol/generated/api-table.ts'
import type { FetchResponse } from '../protocol/generated/fetch-response.ts'
import { Reader } from '../protocol/primitives.ts'

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

/**
 * The response decoded by the generated codec (src/protocol) from the bytes @platformatic/kafka's connection read:
 * the record sections stay views of those bytes. Errors are raised as the library's ResponseError, so callers
 * recognise them as they do the library's own answers.
 */
function parser(version: number) {
  const codec = apiCodec(ApiKeys.Fetch)
  return (_correlationId: number, apiKey: number, apiVersion: number, reader: PlatformaticReader): RawFetchResponse => {
    const bytes = reader.buffer.slice(reader.position, reader.buffer.length)
    const decoded = codec.decodeResponse(new Reader(bytes), version) as FetchResponse
    const errors: Array<[string, [number, null]]> = []
    if (decoded.errorCode !== 0) errors.push(['', [decoded.errorCode, null]])
    const response: RawFetchResponse = {
      responses: decoded.responses.map((t, i) => ({
        topicId: version >= 13 ? t.topicId : t.topic,
        partitions: t.partitions.map((p, j) => {
          if (p.errorCode !== 0) errors.push([`/responses/${i}/partitions/${j}`, [p.errorCode, null]])
          return {
            partitionIndex: p.partitionIndex,
            errorCode: p.errorCode,
            highWatermark: p.highWatermark,
            lastStableOffset: p.lastStableOffset,
            abortedTransactions: p.abortedTransactions ?? [],
            records: p.records !== null && p.records.length > 0 ? p.records : null,
          }
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
