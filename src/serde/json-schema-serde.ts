import type { ParsedSchema } from './formats/index.ts'
import type { JsonSchemaModel } from './formats/json-schema.ts'
import { type Codec, framed, SchemaSerde, type SchemaSerdeOptions } from './schema-serde.ts'
import { SerdeError } from './serde.ts'

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
