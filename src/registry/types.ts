/** Shared vocabulary of the schema registry, named as Confluent Schema Registry names it on the wire. */

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF'
export const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'JSON', 'PROTOBUF']

export interface SchemaReference {
  /** Avro: full name of the referenced type; JSON Schema: the `$ref` URL; Protobuf: the import path. */
  name: string
  subject: string
  version: number
}

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number]

export const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT'] as const
export type Mode = (typeof MODES)[number]

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

/** One reason two schemas are incompatible: where (a JSON-pointer-like path) and why. */
export interface Incompatibility {
  type: string
  path: string
  message: string
}
