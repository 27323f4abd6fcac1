/**
 * Shared vocabulary of the schema registry, named as Confluent Schema Registry names it on the wire. What a
 * schema is (type, references, a registered version) belongs to the serde module, which the registry builds on.
 */
export * from '../serde/schema-types.ts'

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

/** One reason two schemas are incompatible; the schema formats (src/serde/formats) report them. */
export type { Incompatibility } from '../serde/formats/format.ts'
