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

/** One reason two schemas are incompatible: where (a JSON-pointer-like path) and why. */
export interface Incompatibility {
  type: string
  path: string
  message: string
}
