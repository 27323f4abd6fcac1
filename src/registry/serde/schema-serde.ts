import type avsc from 'avsc'
import protobuf from 'protobufjs'
import type { Serde, SyncSerde } from '../../serde/serde.ts'
import type { AvroModel } from '../formats/avro.ts'
import { FORMATS, type ParsedSchema, type ResolvedReference } from '../formats/index.ts'
import type { JsonSchemaModel } from '../formats/json-schema.ts'
import type { ProtobufModel } from '../formats/protobuf.ts'
import type { SchemaInput, SchemaReference, SchemaType } from '../types.ts'
import { SchemaRegistryClient } from './registry-client.ts'
import { type SubjectNameStrategy, topicNameStrategy } from './subject-strategy.ts'
import { decodeMessageIndexes, decodeWire, encodeWire, type RecordLocation, SerdeError } from './wire-format.ts'

export type { Serde, SyncSerde }

interface Codec {
  parsed: ParsedSchema
  recordName: string | undefined
  /** The complete wire record: header with `schemaId`, then the payload. */
  encode(value: unknown, schemaId: number): Buffer
  /** Decodes `data` from `offset` (just after the 5-byte header) to its end. */
  decode(data: Buffer, offset: number): unknown
}

/** For formats that produce a payload separately: prefix it with the header. */
const framed =
  (encodePayload: (value: unknown) => { payload: Uint8Array; indexes?: number[] }) => (value: unknown, id: number) => {
    const { payload, indexes } = encodePayload(value)
    return encodeWire(id, payload, indexes)
  }

export interface SchemaSerdeOptions {
  /** Registry client or its base URL. */
  registry: SchemaRegistryClient | string
  /** Writer schema used to serialize (string or, for Avro/JSON, an object). Optional when only deserializing. */
  schema?: string | object
  references?: SchemaReference[]
  subjectNameStrategy?: SubjectNameStrategy
  /** Register the writer schema when missing (default true); otherwise it must already be registered. */
  autoRegister?: boolean
  /** Serialize with the subject's latest registered schema instead of `schema`. */
  useLatestVersion?: boolean
  normalize?: boolean
  isKey?: boolean
}

/**
 * Serde in the Confluent wire format for one schema format. Caches the writer schema id per subject and every
 * reader schema per id, so after the first record per topic and id no request reaches the registry.
 */
export abstract class SchemaSerde<T> implements SyncSerde<T> {
  abstract readonly schemaType: SchemaType
  readonly client: SchemaRegistryClient
  readonly options: SchemaSerdeOptions
  #valueWriters = new Map<string, { id: number; codec: Codec }>()
  #keyWriters = new Map<string, { id: number; codec: Codec }>()
  #writerPromises = new Map<string, Promise<{ id: number; codec: Codec }>>()
  #readers = new Map<number, Codec>()
  #readerPromises = new Map<number, Promise<Codec>>()
  #localCodec?: Promise<Codec>

  constructor(options: SchemaSerdeOptions) {
    this.options = options
    this.client = typeof options.registry === 'string' ? new SchemaRegistryClient(options.registry) : options.registry
  }

  protected abstract makeCodec(parsed: ParsedSchema): Codec
  protected abstract schemaText(schema: string | object): string

  serialize(topic: string, value: T, options: { isKey?: boolean } = {}): Promise<Buffer> {
    // Hot path without an extra await: the writer schema is almost always cached already.
    if (this.#writersFor(options).has(topic)) {
      try {
        return Promise.resolve(this.serializeSync(topic, value, options))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return this.prepareSerialize(topic, options).then(() => this.serializeSync(topic, value, options))
  }

  serializeSync(topic: string, value: T, options: { isKey?: boolean } = {}): Buffer {
    const writer = this.#writersFor(options).get(topic)
    if (!writer) {
      throw new SerdeError('TRB_SERDE_NOT_READY', 'writer schema not resolved yet: call prepareSerialize first', {
        topic,
      })
    }
    try {
      return writer.codec.encode(value, writer.id)
    } catch (error) {
      if (error instanceof SerdeError) throw new SerdeError(error.code, error.message, { topic }, error)
      throw new SerdeError(
        'TRB_SERDE_INVALID_VALUE',
        `value does not match schema ${writer.id}: ${(error as Error).message}`,
        { topic },
        error,
      )
    }
  }

  async prepareSerialize(topic: string, options: { isKey?: boolean } = {}): Promise<void> {
    const writers = this.#writersFor(options)
    if (writers.has(topic)) return
    const isKey = options.isKey ?? this.options.isKey ?? false
    const key = `${isKey ? 'k' : 'v'}:${topic}`
    let pending = this.#writerPromises.get(key)
    if (!pending) {
      pending = this.#resolveWriter(topic, isKey)
      this.#writerPromises.set(key, pending)
      pending.catch(() => this.#writerPromises.delete(key))
    }
    writers.set(topic, await pending)
  }

  deserialize(data: Buffer, where: RecordLocation & { isKey?: boolean } = {}): Promise<T> {
    // Hot path: a cached reader schema decodes straight from the buffer, no await, no copies.
    if (data && data.length >= 5 && data[0] === 0) {
      const codec = this.#readers.get(data.readUInt32BE(1))
      if (codec) {
        try {
          return Promise.resolve(this.#decode(codec, data, where))
        } catch (error) {
          return Promise.reject(error)
        }
      }
    }
    return this.prepareDeserialize(data, where).then(() => this.deserializeSync(data, where))
  }

  deserializeSync(data: Buffer, where: RecordLocation & { isKey?: boolean } = {}): T {
    const { schemaId } = decodeWire(data, where)
    const codec = this.#readers.get(schemaId)
    if (!codec) {
      throw new SerdeError(
        'TRB_SERDE_NOT_READY',
        `schema ${schemaId} not fetched yet: call prepareDeserialize first`,
        where,
      )
    }
    return this.#decode(codec, data, where)
  }

  #decode(codec: Codec, data: Buffer, where: RecordLocation): T {
    try {
      return codec.decode(data, 5) as T
    } catch (error) {
      if (error instanceof SerdeError) throw new SerdeError(error.code, error.message, where, error)
      throw new SerdeError(
        'TRB_SERDE_UNDECODABLE',
        `payload cannot be decoded with schema ${data.readUInt32BE(1)}: ${(error as Error).message}`,
        where,
        error,
      )
    }
  }

  #writersFor(options: { isKey?: boolean }) {
    return (options.isKey ?? this.options.isKey ?? false) ? this.#keyWriters : this.#valueWriters
  }

  async prepareDeserialize(data: Buffer, where: RecordLocation = {}): Promise<void> {
    const { schemaId } = decodeWire(data, where)
    if (this.#readers.has(schemaId)) return
    let pending = this.#readerPromises.get(schemaId)
    if (!pending) {
      pending = this.#readerCodec(schemaId, where)
      this.#readerPromises.set(schemaId, pending)
      pending.catch(() => this.#readerPromises.delete(schemaId))
    }
    this.#readers.set(schemaId, await pending)
  }

  async #resolveWriter(topic: string, isKey: boolean): Promise<{ id: number; codec: Codec }> {
    const strategy = this.options.subjectNameStrategy ?? topicNameStrategy
    if (this.options.useLatestVersion) {
      if (
        this.options.subjectNameStrategy &&
        this.options.subjectNameStrategy !== topicNameStrategy &&
        this.options.schema === undefined
      ) {
        throw new SerdeError(
          'TRB_SERDE_CONFIG',
          'useLatestVersion with a record-name strategy needs `schema` to name the record',
          { topic },
        )
      }
      const local = this.options.schema === undefined ? undefined : await this.#local()
      const subject = strategy(topic, isKey, local?.recordName)
      const latest = await this.client.getVersion(subject, 'latest')
      return { id: latest.id, codec: await this.#codecFor(latest) }
    }
    if (this.options.schema === undefined) {
      throw new SerdeError('TRB_SERDE_CONFIG', 'no writer schema: pass `schema` or set useLatestVersion', { topic })
    }
    const codec = await this.#local()
    const subject = strategy(topic, isKey, codec.recordName)
    const input = this.#input()
    const id =
      this.options.autoRegister === false
        ? (await this.client.lookup(subject, input, { normalize: this.options.normalize })).id
        : await this.client.register(subject, input, { normalize: this.options.normalize })
    return { id, codec }
  }

  #input(): SchemaInput {
    return {
      schemaType: this.schemaType,
      schema: this.schemaText(this.options.schema!),
      references: this.options.references ?? [],
    }
  }

  #local(): Promise<Codec> {
    this.#localCodec ??= this.#codecFor(this.#input())
    return this.#localCodec
  }

  async #readerCodec(id: number, where: RecordLocation): Promise<Codec> {
    let schema: SchemaInput
    try {
      schema = await this.client.getSchemaById(id)
    } catch (error) {
      const status = (error as { status?: number }).status
      throw new SerdeError(
        status === 404 ? 'TRB_SERDE_UNKNOWN_SCHEMA_ID' : 'TRB_SERDE_REGISTRY_UNAVAILABLE',
        status === 404
          ? `schema id ${id} is not known to the registry at ${this.client.url}`
          : `could not fetch schema id ${id}: ${(error as Error).message}`,
        where,
        error,
      )
    }
    if (schema.schemaType !== this.schemaType) {
      throw new SerdeError(
        'TRB_SERDE_WRONG_SCHEMA_TYPE',
        `schema id ${id} is ${schema.schemaType}, this deserializer reads ${this.schemaType}`,
        where,
      )
    }
    return this.#codecFor(schema)
  }

  async #codecFor(input: SchemaInput): Promise<Codec> {
    const references = await this.#resolveReferences(input.references)
    return this.makeCodec(FORMATS[input.schemaType].parse(input, references))
  }

  async #resolveReferences(refs: SchemaReference[], seen = new Set<string>()): Promise<ResolvedReference[]> {
    const out: ResolvedReference[] = []
    for (const ref of refs) {
      const key = `${ref.subject}\u0000${ref.version}`
      if (seen.has(key)) continue
      seen.add(key)
      const v = await this.client.getVersion(ref.subject, ref.version === -1 ? 'latest' : ref.version)
      out.push(...(await this.#resolveReferences(v.references, seen)))
      out.push({ ...ref, version: v.version, schemaType: v.schemaType, schema: v.schema })
    }
    return out
  }
}

export interface AvroSerdeOptions extends SchemaSerdeOptions {
  /** Read into this schema (Avro schema resolution) instead of the writer's. */
  readerSchema?: string | object
}

export class AvroSerde<T = unknown> extends SchemaSerde<T> {
  readonly schemaType = 'AVRO' as const
  #reader?: avsc.Type

  constructor(options: AvroSerdeOptions) {
    super(options)
    if (options.readerSchema !== undefined) {
      const text = this.schemaText(options.readerSchema)
      this.#reader = (
        FORMATS.AVRO.parse({ schemaType: 'AVRO', schema: text, references: [] }, []).model as AvroModel
      ).type
    }
  }

  protected schemaText(schema: string | object): string {
    return typeof schema === 'string' ? schema : JSON.stringify(schema)
  }

  protected makeCodec(parsed: ParsedSchema): Codec {
    const { type, root } = parsed.model as AvroModel
    const reader = this.#reader
    const resolver = reader ? reader.createResolver(type) : undefined
    let scratch = Buffer.allocUnsafeSlow(16 * 1024)
    return {
      parsed,
      recordName: root.kind === 'record' || root.kind === 'enum' || root.kind === 'fixed' ? root.fullName : undefined,
      encode(value, id) {
        let end: number
        try {
          // avsc checks every value while writing, so invalid input throws here without a separate isValid pass.
          for (;;) {
            end = type.encode(value, scratch, 5)
            if (end >= 0) break
            scratch = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, scratch.length - end + 5))
          }
        } catch (error) {
          const paths: string[] = []
          type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '<root>') })
          throw new SerdeError(
            'TRB_SERDE_INVALID_VALUE',
            `value does not match Avro schema at ${paths.join(', ') || (error as Error).message}`,
          )
        }
        const out = Buffer.allocUnsafe(end)
        scratch.copy(out, 5, 5, end)
        out[0] = 0
        out.writeUInt32BE(id, 1)
        return out
      },
      decode(data, offset) {
        if (resolver) return reader!.fromBuffer(data.subarray(offset), resolver)
        const { value, offset: end } = type.decode(data, offset)
        if (end !== data.length) {
          throw new Error(end < 0 ? 'truncated payload' : `${data.length - end} trailing bytes after the record`)
        }
        return value
      },
    }
  }
}

export interface JsonSchemaSerdeOptions extends SchemaSerdeOptions {
  /** Validate values against the schema on serialize and deserialize (default true on serialize only). */
  validateOnSerialize?: boolean
  validateOnDeserialize?: boolean
}

export class JsonSchemaSerde<T = unknown> extends SchemaSerde<T> {
  readonly schemaType = 'JSON' as const

  constructor(options: JsonSchemaSerdeOptions) {
    super(options)
  }

  protected schemaText(schema: string | object): string {
    return typeof schema === 'string' ? schema : JSON.stringify(schema)
  }

  protected makeCodec(parsed: ParsedSchema): Codec {
    const model = parsed.model as JsonSchemaModel
    const opts = this.options as JsonSchemaSerdeOptions
    const title =
      typeof model.schema === 'object' && typeof model.schema.title === 'string' ? model.schema.title : undefined
    return {
      parsed,
      recordName: title,
      encode: framed((value) => {
        if (opts.validateOnSerialize !== false && !model.validate(value)) {
          throw new SerdeError('TRB_SERDE_INVALID_VALUE', `value does not match JSON Schema: ${model.errors()}`)
        }
        return { payload: Buffer.from(JSON.stringify(value)) }
      }),
      decode(data, offset) {
        const value = JSON.parse(data.toString('utf8', offset))
        if (opts.validateOnDeserialize && !model.validate(value)) {
          throw new SerdeError('TRB_SERDE_INVALID_VALUE', `record does not match JSON Schema: ${model.errors()}`)
        }
        return value
      },
    }
  }
}

export interface ProtobufSerdeOptions extends SchemaSerdeOptions {
  /** Fully qualified message type to write; defaults to the first message in the file. */
  messageType?: string
  /** protobufjs toObject conversion for decoded messages. */
  toObject?: protobuf.IConversionOptions
}

export class ProtobufSerde<T = unknown> extends SchemaSerde<T> {
  readonly schemaType = 'PROTOBUF' as const

  constructor(options: ProtobufSerdeOptions) {
    super(options)
  }

  protected schemaText(schema: string | object): string {
    if (typeof schema !== 'string') throw new SerdeError('TRB_SERDE_CONFIG', 'a Protobuf schema is .proto text')
    return schema
  }

  protected makeCodec(parsed: ParsedSchema): Codec {
    const model = parsed.model as ProtobufModel
    const opts = this.options as ProtobufSerdeOptions
    const wanted = opts.messageType?.replace(/^\./, '')
    const writerType = wanted ? model.messages.find((m) => m.fullName.replace(/^\./, '') === wanted) : model.messages[0]
    const conversion: protobuf.IConversionOptions = opts.toObject ?? {
      longs: String,
      enums: String,
      bytes: Buffer as unknown as typeof String,
    }
    const byIndexes = new Map<string, protobuf.Type>()
    for (const m of model.messages) byIndexes.set(JSON.stringify(model.indexes.get(m.fullName.replace(/^\./, ''))), m)
    return {
      parsed,
      recordName: writerType?.fullName.replace(/^\./, ''),
      encode: framed((value) => {
        if (!writerType) throw new SerdeError('TRB_SERDE_CONFIG', `message type ${wanted ?? '(first)'} not in schema`)
        const problem = writerType.verify(verifiable(writerType, value) as Record<string, unknown>)
        if (problem)
          throw new SerdeError('TRB_SERDE_INVALID_VALUE', `value does not match ${writerType.fullName}: ${problem}`)
        const payload = Buffer.from(writerType.encode(writerType.fromObject(value as Record<string, unknown>)).finish())
        return { payload, indexes: model.indexes.get(writerType.fullName.replace(/^\./, '')) }
      }),
      decode(data, offset) {
        const { indexes, payload } = decodeMessageIndexes(data.subarray(offset))
        const type = byIndexes.get(JSON.stringify(indexes))
        if (!type) throw new Error(`no message at index path [${indexes.join(', ')}]`)
        return type.toObject(type.decode(payload), conversion)
      },
    }
  }
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'])

/**
 * Values as protobufjs `verify` checks them. Values may give 64-bit integers as decimal strings and enums by name,
 * as this serde decodes them and as the generated types declare them; `fromObject` converts both, `verify` only
 * accepts numbers, so they are checked here and replaced by a number of the right kind for `verify`.
 */
function verifiable(type: protobuf.Type, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 64) return value
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const field of type.fieldsArray) {
    const v = out[field.name]
    if (v === undefined || v === null) continue
    const resolved = field.resolvedType
    const one = (x: unknown): unknown => {
      if (typeof x === 'string' && LONG_TYPES.has(field.type) && /^-?\d+$/.test(x)) return 0
      if (typeof x === 'string' && resolved instanceof protobuf.Enum && Object.hasOwn(resolved.values, x)) {
        return resolved.values[x]
      }
      if (resolved instanceof protobuf.Type) return verifiable(resolved, x, depth + 1)
      return x
    }
    if (field instanceof protobuf.MapField) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        out[field.name] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, one(x)]))
      }
    } else if (field.repeated && Array.isArray(v)) out[field.name] = v.map(one)
    else out[field.name] = one(v)
  }
  return out
}
