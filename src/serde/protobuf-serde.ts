import protobuf from 'protobufjs'
import type { ParsedSchema } from './formats/index.ts'
import type { ProtobufModel } from './formats/protobuf.ts'
import { type Codec, framed, SchemaSerde, type SchemaSerdeOptions } from './schema-serde.ts'
import { SerdeError } from './serde.ts'
import { decodeMessageIndexes } from './wire-format.ts'

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
