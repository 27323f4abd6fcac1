import { Ajv, type AnySchema } from 'ajv'
import Ajv2019 from 'ajv/dist/2019.js'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { SchemaInput } from '../schema-types.ts'
import {
  type Incompatibility,
  invalidSchema,
  type ParsedSchema,
  type ResolvedReference,
  type SchemaFormat,
} from './format.ts'
import { incompatibilities } from './json-schema-diff.ts'
import { type JsonValue as ModelJson, SchemaModelLoader } from './json-schema-model.ts'

// ajv-formats ships CommonJS with a default export; under NodeNext the callable may sit on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
type JsonSchema = boolean | { [key: string]: JsonValue }

export interface JsonSchemaModel {
  schema: JsonSchema
  /** Referenced schemas by reference name (the `$ref` URL), for the compatibility check. */
  references: Map<string, JsonValue>
  draft: 'draft-07' | '2019-09' | '2020-12'
  validate: (value: unknown) => boolean
  errors: () => string
}

export function draftOf(schema: JsonSchema): JsonSchemaModel['draft'] {
  const uri = typeof schema === 'object' && typeof schema.$schema === 'string' ? schema.$schema : ''
  if (uri.includes('2020-12')) return '2020-12'
  if (uri.includes('2019-09')) return '2019-09'
  return 'draft-07'
}

function newAjv(draft: JsonSchemaModel['draft']): Ajv {
  const options = { strict: false, allErrors: false, validateSchema: true, validateFormats: true }
  const ajv =
    draft === '2020-12'
      ? (new (Ajv2020 as unknown as typeof Ajv)(options) as Ajv)
      : draft === '2019-09'
        ? (new (Ajv2019 as unknown as typeof Ajv)(options) as Ajv)
        : new Ajv(options)
  addFormats(ajv)
  return ajv
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out: { [key: string]: JsonValue } = {}
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key])
  return out
}

export function parseJsonSchema(input: SchemaInput, references: ResolvedReference[]): ParsedSchema {
  let schema: JsonSchema
  try {
    schema = JSON.parse(input.schema) as JsonSchema
  } catch {
    throw invalidSchema(`not valid JSON: ${input.schema.slice(0, 80)}`)
  }
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    throw invalidSchema('a JSON Schema must be an object or a boolean')
  }
  const draft = draftOf(schema)
  const ajv = newAjv(draft)
  let validate: ReturnType<Ajv['compile']>
  const referenced = new Map<string, JsonValue>()
  try {
    for (const ref of references) {
      const refSchema = JSON.parse(ref.schema) as AnySchema
      referenced.set(ref.name, refSchema as JsonValue)
      // Referenced schemas may be written for another draft; meta-validation per draft would reject them.
      if (!ajv.getSchema(ref.name)) ajv.addSchema(refSchema, ref.name, undefined, false)
    }
    const uri = typeof schema === 'object' && typeof schema.$schema === 'string' ? schema.$schema : undefined
    const knownDraft = uri === undefined || /draft-07|2019-09|2020-12/.test(uri)
    // Older drafts (4, 6) that clients still emit are validated with draft-7 semantics rather than refused.
    validate = ajv.compile(
      knownDraft ? (schema as AnySchema) : ({ ...(schema as object), $schema: undefined } as AnySchema),
    )
  } catch (error) {
    throw invalidSchema((error as Error).message)
  }
  const model: JsonSchemaModel = {
    schema,
    references: referenced,
    draft,
    validate: (value) => validate(value) as boolean,
    errors: () => ajv.errorsText(validate.errors),
  }
  return {
    schemaType: 'JSON',
    canonical: JSON.stringify(schema),
    normalized: JSON.stringify(sortKeys(schema as JsonValue)),
    references: input.references,
    model,
  }
}

/**
 * Lists the changes from an original (writer) schema to an update (reader) schema that Confluent's registry calls
 * incompatible (its JSON Schema `SchemaDiff` under the default STRICT policy), with their paths.
 */
export function checkJsonSchema(
  reader: JsonSchema,
  writer: JsonSchema,
  references: { reader?: Map<string, JsonValue>; writer?: Map<string, JsonValue> } = {},
): Incompatibility[] {
  const original = new SchemaModelLoader(writer as ModelJson, references.writer).load()
  const update = new SchemaModelLoader(reader as ModelJson, references.reader).load()
  return incompatibilities(original, update)
}

export const jsonSchemaFormat: SchemaFormat = {
  type: 'JSON',
  parse: parseJsonSchema,
  check: (reader, writer) => {
    const r = reader.model as JsonSchemaModel
    const w = writer.model as JsonSchemaModel
    return checkJsonSchema(r.schema, w.schema, { reader: r.references, writer: w.references })
  },
}
