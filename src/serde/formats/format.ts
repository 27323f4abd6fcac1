import type { Incompatibility, SchemaInput, SchemaReference, SchemaType } from '../types.ts'

/** A referenced schema with its own references already resolved, deepest first. */
export interface ResolvedReference extends SchemaReference {
  schemaType: SchemaType
  schema: string
}

/** A schema that parsed: what the registry stores and compares. */
export interface ParsedSchema {
  schemaType: SchemaType
  /** Text stored and returned by the API: the submitted schema with insignificant whitespace removed. */
  canonical: string
  /** Deterministic form compared when `normalize=true`. */
  normalized: string
  /** Text stored when registering with `normalize=true` (defaults to `normalized`). */
  normalizedSchema?: string
  references: SchemaReference[]
  /** Format-specific parsed representation (Avro node graph, JSON Schema object, protobufjs Root). */
  readonly model: unknown
}

export interface ParseOptions {
  /**
   * The schema is being registered (or tested) rather than re-read from the store: apply the checks Confluent
   * applies to new schemas only (for Avro: strict names and valid defaults). Stored schemas are re-read leniently
   * so that a rule added later never makes registered versions unreadable.
   */
  validateAsNew?: boolean
}

/**
 * One schema format. `check(reader, writer)` answers whether data written with `writer` can be read with
 * `reader`, listing every reason it cannot.
 */
export interface SchemaFormat {
  readonly type: SchemaType
  parse(input: SchemaInput, references: ResolvedReference[], options?: ParseOptions): ParsedSchema
  check(reader: ParsedSchema, writer: ParsedSchema): Incompatibility[]
}
