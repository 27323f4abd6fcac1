import type { SchemaType } from '../schema-types.ts'
import { avroFormat } from './avro.ts'
import type { SchemaFormat } from './format.ts'
import { jsonSchemaFormat } from './json-schema.ts'
import { protobufFormat } from './protobuf.ts'

export const FORMATS: Record<SchemaType, SchemaFormat> = {
  AVRO: avroFormat,
  JSON: jsonSchemaFormat,
  PROTOBUF: protobufFormat,
}

export type { Incompatibility, ParsedSchema, ParseOptions, ResolvedReference, SchemaFormat } from './format.ts'
export { InvalidSchemaError } from './format.ts'
