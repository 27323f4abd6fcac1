import type avsc from 'avsc'
import type { AvroModel } from './formats/avro.ts'
import { FORMATS, type ParsedSchema } from './formats/index.ts'
import { type Codec, SchemaSerde, type SchemaSerdeOptions } from './schema-serde.ts'
import { SerdeError } from './serde.ts'

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
