/**
 * The embedded formats of Confluent's REST Proxy: how a JSON request's key or value becomes record bytes and back.
 * BINARY (base64), JSON, STRING need nothing else; AVRO, JSONSCHEMA and PROTOBUF go through the schema registry
 * and the Confluent wire format (magic byte, schema id, payload), using the registry module's codecs.
 */
import type { ParsedSchema } from '../../serde/formats/index.ts'
import { FORMATS } from '../../serde/formats/index.ts'
import { AvroSerde, JsonSchemaSerde, ProtobufSerde } from '../../serde/index.ts'
import { RegistryClientError, SchemaRegistryClient } from '../../serde/registry-client.ts'
import type { SchemaInput, SchemaType } from '../../serde/schema-types.ts'
import { SubjectNameStrategies } from '../../serde/subject-strategy.ts'
import { badRequest, invalidSchema, RestProxyError, serializationFailed } from './errors.ts'

export const EMBEDDED_TYPES = ['BINARY', 'JSON', 'STRING', 'AVRO', 'JSONSCHEMA', 'PROTOBUF'] as const
export type EmbeddedType = (typeof EMBEDDED_TYPES)[number]

export const SCHEMA_TYPE_OF: Partial<Record<EmbeddedType, SchemaType>> = {
  AVRO: 'AVRO',
  JSONSCHEMA: 'JSON',
  PROTOBUF: 'PROTOBUF',
}
export const EMBEDDED_TYPE_OF: Record<SchemaType, EmbeddedType> = {
  AVRO: 'AVRO',
  JSON: 'JSONSCHEMA',
  PROTOBUF: 'PROTOBUF',
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Decodes standard base64 strictly (Buffer.from ignores bad characters, which would write garbage). */
export function decodeBase64(data: unknown, what = 'data'): Buffer {
  if (typeof data !== 'string' || !BASE64.test(data.replace(/\s+/g, ''))) {
    throw badRequest(`Bad Request: ${what}=${JSON.stringify(data)} is not a base64 string.`)
  }
  return Buffer.from(data, 'base64')
}

/** Bytes of a schemaless value; `null`/`undefined` data is a null key or value. */
export function encodePlain(type: 'BINARY' | 'JSON' | 'STRING', data: unknown): Buffer | null {
  if (data === null || data === undefined) return null
  if (type === 'BINARY') return decodeBase64(data)
  if (type === 'STRING') {
    if (typeof data !== 'string') throw badRequest(`Bad Request: data=${JSON.stringify(data)} is not a string.`)
    return Buffer.from(data, 'utf8')
  }
  return Buffer.from(JSON.stringify(data), 'utf8')
}

/** One schema's encoder and decoder (the registry serdes' codecs). */
interface WireCodec {
  parsed: ParsedSchema
  recordName: string | undefined
  encode(value: unknown, schemaId: number): Buffer
  decode(data: Buffer, offset: number): unknown
}

// The serdes build their codecs in a protected method; these subclasses only expose it.
class AvroCodecs extends AvroSerde {
  codec(parsed: ParsedSchema): WireCodec {
    return this.makeCodec(parsed)
  }
}
class JsonSchemaCodecs extends JsonSchemaSerde {
  codec(parsed: ParsedSchema): WireCodec {
    return this.makeCodec(parsed)
  }
}
class ProtobufCodecs extends ProtobufSerde {
  codec(parsed: ParsedSchema): WireCodec {
    return this.makeCodec(parsed)
  }
}

/** What a v3 produce request says about a key's or value's schema. */
export interface SchemaSpec {
  type?: EmbeddedType
  subject?: string | null
  subjectNameStrategy?: string | null
  schemaId?: number | null
  schemaVersion?: number | null
  schema?: string | null
}

export interface ResolvedSchema {
  id: number
  schemaType: SchemaType
  subject: string | null
  version: number | null
  codec: WireCodec
}

const STRATEGIES: Record<string, (topic: string, isKey: boolean, recordName: string | undefined) => string> = {
  TOPIC_NAME: SubjectNameStrategies.TopicName,
  RECORD_NAME: SubjectNameStrategies.RecordName,
  TOPIC_RECORD_NAME: SubjectNameStrategies.TopicRecordName,
}

/** Answers within a second of a change; Confluent's proxy caches "latest" the same way. */
const LATEST_TTL_MS = 1000

/**
 * Resolves schemas for produce requests and decodes wire-format records for consumers, caching codecs per schema
 * id (ids never change) and the latest version of a subject for a second.
 */
export class SchemaCodecs {
  readonly client: SchemaRegistryClient
  readonly #factories: Record<SchemaType, { codec(parsed: ParsedSchema): WireCodec }>
  readonly #byId = new Map<number, Promise<ResolvedSchema>>()
  readonly #latest = new Map<string, { at: number; value: Promise<ResolvedSchema> }>()
  readonly #registered = new Map<string, Promise<ResolvedSchema>>()

  constructor(registry: SchemaRegistryClient | string) {
    this.client = typeof registry === 'string' ? new SchemaRegistryClient(registry) : registry
    this.#factories = {
      AVRO: new AvroCodecs({ registry: this.client }),
      JSON: new JsonSchemaCodecs({ registry: this.client }),
      PROTOBUF: new ProtobufCodecs({ registry: this.client }),
    }
  }

  async #codec(input: SchemaInput): Promise<WireCodec> {
    let parsed: ParsedSchema
    try {
      parsed = FORMATS[input.schemaType].parse(input, await this.client.resolveReferences(input.references))
    } catch (error) {
      if (error instanceof RestProxyError) throw error
      throw invalidSchema((error as Error).message)
    }
    return this.#factories[input.schemaType].codec(parsed)
  }

  /** The schema registered under `id`. */
  byId(id: number): Promise<ResolvedSchema> {
    let cached = this.#byId.get(id)
    if (!cached) {
      cached = (async () => {
        const schema = await registryCall(() => this.client.getSchemaById(id))
        return { id, schemaType: schema.schemaType, subject: null, version: null, codec: await this.#codec(schema) }
      })()
      cached.catch(() => this.#byId.delete(id))
      this.#byId.set(id, cached)
    }
    return cached
  }

  /** The schema a v3 record's key or value is written with (see Confluent's produce request). */
  async resolve(topic: string, isKey: boolean, spec: SchemaSpec): Promise<ResolvedSchema> {
    const declared = spec.type === undefined ? undefined : SCHEMA_TYPE_OF[spec.type]
    const strategyName = (spec.subjectNameStrategy ?? 'TOPIC_NAME').toUpperCase()
    const strategy = STRATEGIES[strategyName]
    if (!strategy) throw badRequest(`Bad Request: unknown subject_name_strategy '${spec.subjectNameStrategy}'`)
    const subjectFor = (recordName: string | undefined) => {
      if (spec.subject) return spec.subject
      try {
        return strategy(topic, isKey, recordName)
      } catch (error) {
        throw badRequest(`Bad Request: ${(error as Error).message}`)
      }
    }
    if (spec.schemaId !== undefined && spec.schemaId !== null) {
      const found = await this.byId(spec.schemaId)
      if (declared && found.schemaType !== declared) {
        throw serializationFailed(`Schema ${spec.schemaId} is ${found.schemaType}, not ${spec.type}.`)
      }
      const subject = subjectFor(found.codec.recordName)
      return { ...found, subject, version: await this.#versionOf(subject, found).catch(() => null) }
    }
    if (spec.schema !== undefined && spec.schema !== null) {
      if (!declared) throw badRequest('Bad Request: a raw schema needs type AVRO, JSONSCHEMA or PROTOBUF')
      const input: SchemaInput = { schemaType: declared, schema: spec.schema, references: [] }
      const local = await this.#codec(input)
      const subject = subjectFor(local.recordName)
      const key = JSON.stringify([subject, declared, spec.schema])
      let pending = this.#registered.get(key)
      if (!pending) {
        pending = (async () => {
          const id = await registryCall(() => this.client.register(subject, input))
          const found = await this.byId(id)
          return { ...found, subject, version: await this.#versionOf(subject, found).catch(() => null) }
        })()
        pending.catch(() => this.#registered.delete(key))
        this.#registered.set(key, pending)
      }
      return pending
    }
    const subject = subjectFor(undefined)
    const version = spec.schemaVersion ?? 'latest'
    const cacheKey = `${subject}\u0000${version}`
    const cached = this.#latest.get(cacheKey)
    if (cached && (version !== 'latest' || Date.now() - cached.at < LATEST_TTL_MS)) return cached.value
    const value = (async () => {
      const v = await registryCall(() => this.client.getVersion(subject, version))
      if (declared && v.schemaType !== declared) {
        throw serializationFailed(`Subject '${subject}' holds a ${v.schemaType} schema, not ${spec.type}.`)
      }
      const found = await this.byId(v.id)
      return { ...found, subject, version: v.version }
    })()
    value.catch(() => this.#latest.delete(cacheKey))
    this.#latest.set(cacheKey, { at: Date.now(), value })
    return value
  }

  async #versionOf(subject: string, found: ResolvedSchema): Promise<number | null> {
    const schema = await this.client.getSchemaById(found.id)
    const v = await this.client.lookup(subject, schema)
    return v.version
  }

  /** Encodes `data` with a resolved schema; a value that does not fit the schema is a 422 (42207). */
  encode(schema: ResolvedSchema, data: unknown): Buffer | null {
    if (data === null || data === undefined) return null
    try {
      return schema.codec.encode(data, schema.id)
    } catch (error) {
      throw serializationFailed((error as Error).message)
    }
  }

  /** Decodes a wire-format payload: the schema id picks the schema. */
  async decode(data: Buffer): Promise<{ schema: ResolvedSchema; value: unknown }> {
    if (data.length < 5 || data[0] !== 0) throw badRequest('payload is not in the schema registry wire format')
    const schema = await this.byId(data.readUInt32BE(1))
    return { schema, value: toJsonValue(schema.codec.decode(data, 5)) }
  }
}

/** Registry failures as REST answers: a missing subject/schema is the caller's error (422), the rest are ours. */
async function registryCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof RegistryClientError) {
      if (error.status === 404) throw serializationFailed(error.message)
      if (error.status === 409 || error.status === 422) throw invalidSchema(error.message)
      throw new RestProxyError(500, 50001, `Schema registry error: ${error.message}`, 'TRB_REST_REGISTRY')
    }
    if (error instanceof RestProxyError) throw error
    throw new RestProxyError(
      500,
      50001,
      `Schema registry unavailable: ${(error as Error).message}`,
      'TRB_REST_REGISTRY_UNAVAILABLE',
    )
  }
}

/** Decoded values as JSON: bytes as Avro's JSON encoding writes them (one char per byte), 64-bit ints as numbers. */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null
  if (Buffer.isBuffer(value)) return value.toString('latin1')
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return (value as { toJSON(): unknown }).toJSON()
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v)
    return out
  }
  return value
}

/** A record key or value shown to a reader that did not say which format to expect. */
export async function describeBytes(
  data: Buffer | null | undefined,
  codecs: SchemaCodecs | undefined,
): Promise<{ type: EmbeddedType; data: unknown; schema_id?: number } | null> {
  if (data === null || data === undefined) return null
  if (codecs && data.length >= 5 && data[0] === 0) {
    try {
      const { schema, value } = await codecs.decode(data)
      return { type: EMBEDDED_TYPE_OF[schema.schemaType], data: value, schema_id: schema.id }
    } catch {
      // Not ours to decode after all: fall through to the plain formats.
    }
  }
  const text = data.toString('utf8')
  if (Buffer.byteLength(text) === data.length && !text.includes('\uFFFD')) {
    try {
      return { type: 'JSON', data: JSON.parse(text) }
    } catch {
      return { type: 'STRING', data: text }
    }
  }
  return { type: 'BINARY', data: data.toString('base64') }
}
