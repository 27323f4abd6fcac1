import { TributaryError } from '../../errors.ts'
import type { SchemaInput, SchemaReference, SchemaType } from '../schema-types.ts'

/** One reason two schemas are incompatible: where (a JSON-pointer-like path) and why. */
export interface Incompatibility {
  type: string
  path: string
  message: string
}

/**
 * A schema that does not parse in its format, or whose references do not resolve. The registry answers it as
 * Confluent's 42201; serdes and the REST proxy report it in their own words.
 */
export class InvalidSchemaError extends TributaryError {
  /** What is wrong, without the "Invalid schema: " prefix of the message. */
  readonly detail: string
  constructor(detail: string, options?: { cause?: unknown }) {
    super('TRB_SERDE_INVALID_SCHEMA', `Invalid schema: ${detail}`, options)
    this.detail = detail
    this.name = 'InvalidSchemaError'
  }
}

export const invalidSchema = (detail: string) => new InvalidSchemaError(detail)

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
