/**
 * The envelope of a client's request and the broker's response: the size prefix, the request header (v1, or v2
 * with tagged fields for flexible versions) and the response header (the correlation id, plus tagged fields for
 * flexible versions except ApiVersions, whose response header stays v0 so any client can read it). Pure: the wire
 * client in src/client writes and reads these bytes.
 */
import { TributaryError } from '../errors.ts'
import { type ApiCodec, ApiKeys, apiCodecs } from './generated/api-table.ts'
import { encodeRequestHeader } from './generated/request-header.ts'
import { Reader, Writer } from './primitives.ts'

/** The codec of an API; an unknown key is a TRB_UNKNOWN_API error. */
export function apiCodec(apiKey: number): ApiCodec {
  const codec = apiCodecs.get(apiKey)
  if (!codec) throw new TributaryError('TRB_UNKNOWN_API', `unknown API key ${apiKey}`)
  return codec
}

/** Whether `version` of the API uses the flexible (compact, tagged-field) encoding. */
export function isFlexibleVersion(apiKey: number, version: number): boolean {
  const codec = apiCodecs.get(apiKey)
  return codec !== undefined && codec.flexibleMin >= 0 && version >= codec.flexibleMin
}

export interface RequestHeaderFields {
  apiKey: number
  version: number
  correlationId: number
  clientId: string | null
}

/** Writes the request header for the API version: v2 when it is flexible, else v1. */
export function writeRequestHeader(w: Writer, h: RequestHeaderFields): void {
  encodeRequestHeader(w, isFlexibleVersion(h.apiKey, h.version) ? 2 : 1, {
    requestApiKey: h.apiKey,
    requestApiVersion: h.version,
    correlationId: h.correlationId,
    clientId: h.clientId,
  })
}

/** A request's header and body without the size prefix (what the broker reads after the size). */
export function encodeRequestPayload(h: RequestHeaderFields, body: unknown): Buffer {
  const w = new Writer(256)
  writeRequestHeader(w, h)
  apiCodec(h.apiKey).encodeRequest(w, h.version, body)
  return w.toBuffer()
}

/** `payload` behind its int32 size; `size` overrides the size written (to send a frame that lies about it). */
export function sizePrefixed(payload: Buffer, size = payload.length): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeInt32BE(size, 0)
  return Buffer.concat([head, payload])
}

/** Reads a response header; returns its correlation id and leaves `r` at the body. */
export function readResponseHeader(r: Reader, apiKey: number, version: number): number {
  const correlationId = r.int32()
  if (apiKey !== ApiKeys.ApiVersions && isFlexibleVersion(apiKey, version)) r.taggedFields()
  return correlationId
}

/** Decodes a response frame (without its size prefix) of `apiKey` at `version`. */
export function decodeResponseFrame(
  frame: Buffer,
  apiKey: number,
  version: number,
): { correlationId: number; body: unknown } {
  const r = new Reader(frame)
  const correlationId = readResponseHeader(r, apiKey, version)
  return { correlationId, body: apiCodec(apiKey).decodeResponse(r, version) }
}
