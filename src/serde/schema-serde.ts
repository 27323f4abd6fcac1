import { FORMATS, type ParsedSchema } from './formats/index.ts'
import { SchemaRegistryClient } from './registry-client.ts'
import type { SchemaInput, SchemaReference, SchemaType } from './schema-types.ts'
import { type RecordLocation, SerdeError, type SyncSerde } from './serde.ts'
import { type SubjectNameStrategy, topicNameStrategy } from './subject-strategy.ts'
import { decodeWire, encodeWire } from './wire-format.ts'

/** A schema compiled for one serde: encodes values into the wire format and decodes its payloads. */
export interface Codec {
  parsed: ParsedSchema
  recordName: string | undefined
  /** The complete wire record: header with `schemaId`, then the payload. */
  encode(value: unknown, schemaId: number): Buffer
  /** Decodes `data` from `offset` (just after the 5-byte header) to its end. */
  decode(data: Buffer, offset: number): unknown
}

/** For formats that produce a payload separately: prefix it with the header. */
export const framed =
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
    const references = await this.client.resolveReferences(input.references)
    return this.makeCodec(FORMATS[input.schemaType].parse(input, references))
  }
}
