/**
 * Record keys and values between the shell and Kafka: text, JSON, base64, and the registry's formats (Avro, JSON
 * Schema, Protobuf in the Confluent wire format, given and shown as JSON).
 */
import { readFileSync } from 'node:fs'
import { TributaryError } from '../../errors.ts'
import { notFoundError, usageError } from '../context.ts'

export const RECORD_FORMATS = ['text', 'json', 'base64', 'avro', 'json-schema', 'protobuf'] as const
export type RecordFormat = (typeof RECORD_FORMATS)[number]

const SCHEMA_TYPES = { avro: 'AVRO', 'json-schema': 'JSON', protobuf: 'PROTOBUF' } as const

export function parseRecordFormat(raw: string, what: string): RecordFormat {
  const f = raw.toLowerCase() as RecordFormat
  if (!RECORD_FORMATS.includes(f)) throw usageError(`unknown ${what} '${raw}': use ${RECORD_FORMATS.join(', ')}`)
  return f
}

export function usesRegistry(f: RecordFormat): f is keyof typeof SCHEMA_TYPES {
  return f in SCHEMA_TYPES
}

type SchemaSerdeModule = typeof import('../../serde/index.ts')
type AnySerde = InstanceType<SchemaSerdeModule['AvroSerde']>

async function serdeModule(): Promise<SchemaSerdeModule> {
  return import('../../serde/index.ts')
}

function cause(err: unknown): string {
  return (err as Error)?.message ?? String(err)
}

/** Turns input text into record bytes; `prepare` resolves the schema once, before any record is encoded. */
export interface Encoder {
  prepare(): Promise<void>
  encode(text: string): Promise<Buffer>
}

export interface EncoderOptions {
  registry: string
  topic: string
  isKey: boolean
  subject?: string
  schemaFile?: string
  register?: boolean
}

export function encoderFor(format: RecordFormat, options: EncoderOptions): Encoder {
  switch (format) {
    case 'text':
      return { prepare: async () => {}, encode: async (t) => Buffer.from(t, 'utf8') }
    case 'base64':
      return {
        prepare: async () => {},
        encode: async (t) => {
          if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t.trim())) throw usageError('not base64')
          return Buffer.from(t.trim(), 'base64')
        },
      }
    case 'json':
      return {
        prepare: async () => {},
        encode: async (t) => {
          try {
            return Buffer.from(JSON.stringify(JSON.parse(t)), 'utf8')
          } catch (err) {
            throw usageError(`not JSON: ${cause(err)}`)
          }
        },
      }
    default:
      return registryEncoder(format, options)
  }
}

function registryEncoder(format: keyof typeof SCHEMA_TYPES, o: EncoderOptions): Encoder {
  let serde: AnySerde | undefined
  const subject = o.subject ?? `${o.topic}-${o.isKey ? 'key' : 'value'}`
  return {
    async prepare() {
      const m = await serdeModule()
      const Serde = format === 'avro' ? m.AvroSerde : format === 'json-schema' ? m.JsonSchemaSerde : m.ProtobufSerde
      try {
        let schema: string
        let references: { name: string; subject: string; version: number }[] = []
        if (o.schemaFile !== undefined) {
          schema = readSchemaFile(o.schemaFile)
        } else {
          // The subject's latest schema (Confluent's use.latest.version); its id is then looked up like any other.
          const latest = await new m.AvroSerde({ registry: o.registry }).client.getVersion(subject, 'latest')
          const wanted = SCHEMA_TYPES[format]
          if (latest.schemaType !== wanted) {
            throw usageError(
              `subject ${subject} holds a schema of type ${latest.schemaType}, not ${wanted}: use --format ${formatOf(latest.schemaType)}`,
            )
          }
          schema = latest.schema
          references = latest.references
        }
        serde = new Serde({
          registry: o.registry,
          schema,
          references,
          autoRegister: o.register === true,
          subjectNameStrategy: () => subject,
          isKey: o.isKey,
        }) as AnySerde
        await serde.prepareSerialize(o.topic, { isKey: o.isKey })
      } catch (err) {
        throw registryProblem(err, subject, o, format)
      }
    },
    async encode(text) {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (err) {
        throw usageError(`not JSON: ${cause(err)}`)
      }
      try {
        return serde!.serializeSync(o.topic, value, { isKey: o.isKey })
      } catch (err) {
        throw usageError(`does not match the ${format} schema of subject ${subject}: ${cause(err)}`)
      }
    },
  }
}

/** The socket error code (ECONNREFUSED, ...) somewhere in an error's cause chain. */
function networkCause(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 6;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code
  }
  return undefined
}

function formatOf(schemaType: string): string {
  return schemaType === 'AVRO' ? 'avro' : schemaType === 'JSON' ? 'json-schema' : 'protobuf'
}

function readSchemaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw usageError(`cannot read the schema file ${file}: ${(err as NodeJS.ErrnoException).code ?? cause(err)}`)
  }
}

function registryProblem(err: unknown, subject: string, o: EncoderOptions, format: string): Error {
  const e = err as { status?: number; errorCode?: number; message?: string; cause?: unknown }
  const status = e.status ?? (e.cause as { status?: number } | undefined)?.status
  const msg = cause(err)
  if (status === 404 || /40401|40402|40403|not found/i.test(msg)) {
    return notFoundError(
      o.schemaFile === undefined
        ? `no schema is registered under subject ${subject} (register one first, or pass --schema-file with --register)`
        : `the schema in ${o.schemaFile} is not registered under subject ${subject} (pass --register to register it)`,
    )
  }
  if (status === 409) return usageError(`the schema in ${o.schemaFile} is incompatible with subject ${subject}: ${msg}`)
  if (status === 422) return usageError(`the ${format} schema is invalid: ${msg}`)
  if (/fetch failed|ECONNREFUSED|ENOTFOUND/i.test(msg + String((e.cause as Error)?.message ?? ''))) {
    return new TributaryError(
      'TRB_CONNECTION_FAILED',
      `cannot reach the schema registry at ${o.registry}: ${networkCause(err) ?? msg}`,
    )
  }
  return err instanceof TributaryError ? err : new TributaryError('TRB_ADMIN_FAILED', msg)
}

/** Turns record bytes into something to print: a string, or a JSON-able value for json/registry formats. */
export interface Decoder {
  decode(bytes: Buffer | null, where: { topic: string; partition: number; offset: bigint }): Promise<unknown>
}

export function decoderFor(format: RecordFormat, registry: string, isKey: boolean): Decoder {
  switch (format) {
    case 'text':
      return { decode: async (b) => (b === null ? null : b.toString('utf8')) }
    case 'base64':
      return { decode: async (b) => (b === null ? null : b.toString('base64')) }
    case 'json':
      return {
        decode: async (b, where) => {
          if (b === null) return null
          try {
            return JSON.parse(b.toString('utf8'))
          } catch {
            throw usageError(
              `${where.topic}:${where.partition} offset ${where.offset} is not JSON (read it with --format text or base64)`,
            )
          }
        },
      }
    default:
      return registryDecoder(registry, isKey)
  }
}

/** Decodes any registry format by the schema id in the record, whatever `--format` named (Avro, JSON, Protobuf). */
function registryDecoder(registry: string, isKey: boolean): Decoder {
  const serdes = new Map<string, AnySerde>()
  let client: InstanceType<SchemaSerdeModule['SchemaSerde']>['client'] | undefined
  return {
    async decode(b, where) {
      if (b === null) return null
      const m = await serdeModule()
      if (b.length < 5 || b[0] !== 0) {
        throw usageError(
          `${where.topic}:${where.partition} offset ${where.offset} is not in the schema registry's wire format (read it with --format text or base64)`,
        )
      }
      const id = b.readUInt32BE(1)
      if (!client) client = new m.AvroSerde({ registry }).client
      let type: string
      try {
        type = (await client.getSchemaById(id)).schemaType
      } catch (err) {
        throw new TributaryError(
          'TRB_ADMIN_FAILED',
          `cannot fetch schema id ${id} of ${where.topic}:${where.partition} offset ${where.offset} from ${registry}: ${cause(err)}`,
        )
      }
      let serde = serdes.get(type)
      if (!serde) {
        const Serde = type === 'AVRO' ? m.AvroSerde : type === 'JSON' ? m.JsonSchemaSerde : m.ProtobufSerde
        serde = new Serde({ registry: client, isKey }) as AnySerde
        serdes.set(type, serde)
      }
      return serde.deserialize(b, { topic: where.topic, partition: where.partition, offset: where.offset, isKey })
    },
  }
}
