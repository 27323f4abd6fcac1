import { TributaryError, type TributaryErrorCode } from '../errors.ts'

/** Where a record came from, so decoding errors can name it. */
export interface RecordLocation {
  topic?: string
  partition?: number
  offset?: bigint | number
}

/**
 * Turns values into bytes and back. Implemented by the plain serdes here (string, bytes, JSON, numbers) and by
 * the schema registry's Avro / JSON Schema / Protobuf serdes. Serdes never see `null`: a null key or value (a
 * tombstone) is passed through as null by whoever calls them, as Kafka's own serdes do.
 */
export interface Serde<T> {
  serialize(topic: string, value: T, options?: { isKey?: boolean }): Promise<Buffer>
  deserialize(data: Buffer, where?: RecordLocation & { isKey?: boolean }): Promise<T>
}

/**
 * A Serde that can also run synchronously once what it needs is cached: what Kafka client serializers and the
 * stream processor's hot path need. `prepare*` does the asynchronous part (a schema registry lookup) and is a
 * no-op for serdes that need nothing.
 */
export interface SyncSerde<T> extends Serde<T> {
  serializeSync(topic: string, value: T, options?: { isKey?: boolean }): Buffer
  deserializeSync(data: Buffer, where?: RecordLocation & { isKey?: boolean }): T
  /** Makes serializeSync ready for this topic (registers or looks up the writer schema). */
  prepareSerialize(topic: string, options?: { isKey?: boolean }): Promise<void>
  /** Makes deserializeSync ready for this payload (fetches the writer schema by id). */
  prepareDeserialize(data: Buffer, where?: RecordLocation & { isKey?: boolean }): Promise<void>
}

export function describeLocation(where: RecordLocation = {}): string {
  const parts: string[] = []
  if (where.topic !== undefined) parts.push(`topic ${where.topic}`)
  if (where.partition !== undefined) parts.push(`partition ${where.partition}`)
  if (where.offset !== undefined) parts.push(`offset ${where.offset}`)
  return parts.length > 0 ? ` (${parts.join(', ')})` : ''
}

/** The declared codes a SerdeError carries. */
export type SerdeErrorCode = Extract<TributaryErrorCode, `TRB_SERDE_${string}`>

/** A value that cannot be serialized, or bytes that cannot be decoded; the message names the record. */
export class SerdeError extends TributaryError {
  declare readonly code: SerdeErrorCode
  readonly location: RecordLocation
  constructor(code: SerdeErrorCode, message: string, location: RecordLocation = {}, cause?: unknown) {
    super(code, `${message}${describeLocation(location)}`, cause === undefined ? undefined : { cause })
    this.name = 'SerdeError'
    this.location = { ...location }
  }
}
