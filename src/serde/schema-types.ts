/**
 * What a schema is, in the words of Confluent Schema Registry's wire format and REST API: its format, its
 * references to other subjects' schemas, and a registered version. Serdes and the registry server share it.
 */

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF'
export const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'JSON', 'PROTOBUF']

export interface SchemaReference {
  /** Avro: full name of the referenced type; JSON Schema: the `$ref` URL; Protobuf: the import path. */
  name: string
  subject: string
  version: number
}

/** One registered version of a subject as the REST API shows it. */
export interface SchemaVersion {
  subject: string
  version: number
  id: number
  schemaType: SchemaType
  schema: string
  references: SchemaReference[]
  deleted: boolean
}

/** A schema as submitted or stored, without subject/version. */
export interface SchemaInput {
  schemaType: SchemaType
  schema: string
  references: SchemaReference[]
}
