/**
 * One request frame: its header read, checked against what the connection may send (SASL state, the APIs and
 * versions this broker serves), its body decoded; and the frame of its response. A frame that fails a check
 * closes the connection, as Kafka does, except an ApiVersions request in a version we do not speak (KIP-511).
 */
import type { LogLevel } from '../common/logger.ts'
import { type ApiCodec, ApiKeys, apiCodecs } from '../protocol/generated/api-table.ts'
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions-response.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { Reader, Writer } from '../protocol/primitives.ts'
import type { HandlerSpec } from './handler.ts'
import { type ConnectionSession, PRE_AUTHENTICATION_APIS } from './security/session.ts'

export interface DecodedRequest {
  kind: 'request'
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
  handler: HandlerSpec
  codec: ApiCodec
  /** Flexible versions carry tagged fields in their headers. */
  flexible: boolean
  request: unknown
}

/** What to do with a frame: dispatch its request, answer it at once, or close the connection (and log why). */
export type FrameOutcome =
  | DecodedRequest
  | { kind: 'answer'; response: Writer }
  | { kind: 'close'; level: LogLevel; message: string; fields: Record<string, unknown> }

export interface ServedApis {
  handlers: ReadonlyMap<number, HandlerSpec>
  /** The version ranges ApiVersions advertises. */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[]
}

/** Reads a request frame (without its size prefix) as the connection's session allows. */
export function decodeRequestFrame(frame: Buffer, apis: ServedApis, session: ConnectionSession): FrameOutcome {
  const r = new Reader(frame)
  let apiKey: number
  let apiVersion: number
  let correlationId: number
  try {
    apiKey = r.int16()
    apiVersion = r.int16()
    correlationId = r.int32()
  } catch {
    return { kind: 'close', level: 'warn', message: 'closing connection: truncated request header', fields: {} }
  }
  const handler = apis.handlers.get(apiKey)
  const codec = apiCodecs.get(apiKey)
  if (!session.authenticated && !PRE_AUTHENTICATION_APIS.has(apiKey)) {
    // Kafka closes a SASL connection that sends anything else before authenticating.
    return {
      kind: 'close',
      level: 'info',
      message: 'closing connection: request before SASL authentication',
      fields: { apiKey },
    }
  }
  if (!handler || !codec) {
    return { kind: 'close', level: 'warn', message: 'closing connection: unsupported API key', fields: { apiKey } }
  }
  if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
    if (apiKey === ApiKeys.ApiVersions) {
      // KIP-511: answer an unknown ApiVersions version with a v0 body carrying UNSUPPORTED_VERSION and our ranges,
      // so the client can retry with a version we speak.
      const w = new Writer(512)
      w.int32(correlationId)
      encodeApiVersionsResponse(w, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apis.apiVersions() })
      return { kind: 'answer', response: w }
    }
    return {
      kind: 'close',
      level: 'warn',
      message: 'closing connection: unsupported API version',
      fields: { api: codec.name, version: apiVersion, supported: `${handler.minVersion}-${handler.maxVersion}` },
    }
  }
  const flexible = codec.flexibleMin >= 0 && apiVersion >= codec.flexibleMin
  try {
    const clientId = r.nullableString()
    if (flexible) r.taggedFields()
    const request = codec.decodeRequest(r, apiVersion)
    return { kind: 'request', apiKey, apiVersion, correlationId, clientId, handler, codec, flexible, request }
  } catch (err) {
    return {
      kind: 'close',
      level: 'warn',
      message: 'closing connection: malformed request',
      fields: { api: codec.name, version: apiVersion, err },
    }
  }
}

/** The response to a decoded request, with its header, in the request's version. */
export function encodeResponse(req: DecodedRequest, response: unknown): Writer {
  const w = new Writer(256)
  w.int32(req.correlationId)
  // ApiVersions responses always use header v0, even for flexible versions, so clients can parse them
  // before they know what the broker supports.
  if (req.flexible && req.apiKey !== ApiKeys.ApiVersions) w.uvarint(0)
  req.codec.encodeResponse(w, req.apiVersion, response)
  return w
}

/** The response's chunks behind their size prefix, ready for the socket. */
export function framed(w: Writer): Buffer[] {
  const chunks = w.chunksView()
  const size = Buffer.allocUnsafe(4)
  size.writeInt32BE(w.length, 0)
  return [size, ...chunks]
}
