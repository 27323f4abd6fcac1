import type protobuf from 'protobufjs'
import type { ParsedSchema } from '../registry/formats/index.ts'
import type { ProtobufModel } from '../registry/formats/protobuf.ts'
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
        const problem = writerType.verify(value as Record<string, unknown>)
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
