import type avsc from 'avsc'
import { TributaryError } from '../../errors.ts'
import type { SchemaInput } from '../schema-types.ts'
import { avscTypeFor } from './avro-avsc.ts'
import { type PlainJson, toPlain } from './avro-json.ts'
import { type AvroNode, AvroParseError, AvroSchemaParser, PRIMITIVES } from './avro-parser.ts'
import {
  type Incompatibility,
  invalidSchema,
  type ParsedSchema,
  type ParseOptions,
  type ResolvedReference,
  type SchemaFormat,
} from './format.ts'

export type { AvroField, AvroNode, AvroPrimitive } from './avro-parser.ts'

export interface AvroModel {
  root: AvroNode
  /** avsc type used by the serdes, built on first use (see avro-avsc.ts for how it differs from the schema). */
  readonly type: avsc.Type
}

type Json = PlainJson

function qualify(name: string, namespace: string | undefined): string {
  if (name.includes('.') || !namespace) return name
  return `${namespace}.${name}`
}

function namespaceOf(fullName: string): string | undefined {
  const i = fullName.lastIndexOf('.')
  return i < 0 ? undefined : fullName.slice(0, i)
}

const ATTRIBUTE_ORDER = [
  'type',
  'name',
  'namespace',
  'doc',
  'aliases',
  'fields',
  'symbols',
  'default',
  'items',
  'values',
  'size',
  'order',
]

/**
 * Normal form used for `normalize=true`: names fully qualified (namespace folded into name), attributes in one
 * fixed order, `{"type": "int"}` collapsed to `"int"` when it carries nothing else.
 */
function normalizeAvro(schema: Json, namespace: string | undefined, seen: Set<string>): Json {
  if (typeof schema === 'string') {
    return PRIMITIVES.has(schema) ? schema : qualify(schema, namespace)
  }
  if (Array.isArray(schema)) return schema.map((s) => normalizeAvro(s, namespace, seen))
  if (schema === null || typeof schema !== 'object') return schema
  const type = schema.type
  if (typeof type === 'string' && PRIMITIVES.has(type) && Object.keys(schema).length === 1) return type
  let ns = namespace
  const out: { [key: string]: Json } = {}
  const keys = Object.keys(schema).sort((a, b) => {
    const ia = ATTRIBUTE_ORDER.indexOf(a)
    const ib = ATTRIBUTE_ORDER.indexOf(b)
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b)
  })
  if (
    typeof schema.name === 'string' &&
    (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed')
  ) {
    const fullName = qualify(schema.name, typeof schema.namespace === 'string' ? schema.namespace || undefined : ns)
    ns = namespaceOf(fullName)
    seen.add(fullName)
    for (const key of keys) {
      if (key === 'namespace') continue
      if (key === 'name') out.name = fullName
      else if (key === 'fields' && Array.isArray(schema.fields)) {
        out.fields = schema.fields.map((f) => {
          const field = f as { [key: string]: Json }
          const fieldOut: { [key: string]: Json } = {}
          for (const fk of Object.keys(field).sort(
            (a, b) => ATTRIBUTE_ORDER.indexOf(a) - ATTRIBUTE_ORDER.indexOf(b) || a.localeCompare(b),
          )) {
            fieldOut[fk] = fk === 'type' ? normalizeAvro(field[fk], ns, seen) : field[fk]
          }
          return fieldOut
        })
      } else if (key === 'aliases' && Array.isArray(schema.aliases)) {
        out.aliases = schema.aliases.map((a) => qualify(String(a), ns))
      } else out[key] = schema[key]
    }
    return out
  }
  for (const key of keys) {
    if (key === 'type' || key === 'items' || key === 'values') out[key] = normalizeAvro(schema[key], ns, seen)
    else out[key] = schema[key]
  }
  return out
}

/**
 * Parses with Avro Java's rules (avro-parser.ts). `validateAsNew` (registration) checks names strictly and
 * validates defaults, as Confluent does for new schemas; stored schemas are re-read leniently.
 */
export function parseAvro(
  input: SchemaInput,
  references: ResolvedReference[],
  options: ParseOptions = {},
): ParsedSchema {
  const parser = new AvroSchemaParser({ validateAsNew: options.validateAsNew === true })
  let root: AvroNode
  let json: Json
  try {
    for (const ref of references) parser.parse(ref.schema)
    const parsed = parser.parse(input.schema)
    root = parsed.root
    json = toPlain(parsed.json)
  } catch (error) {
    if (error instanceof AvroParseError) throw invalidSchema(error.message)
    throw error
  }
  let type: avsc.Type | undefined
  const model: AvroModel = {
    root,
    get type() {
      if (!type) {
        try {
          type = avscTypeFor(root)
        } catch (error) {
          throw new TributaryError(
            'TRB_SERDE_UNSUPPORTED_SCHEMA',
            `the Avro serdes cannot encode this schema (avsc: ${(error as Error).message})`,
            { cause: error },
          )
        }
      }
      return type
    },
  }
  return {
    schemaType: 'AVRO',
    canonical: JSON.stringify(json),
    normalized: JSON.stringify(normalizeAvro(json, undefined, new Set())),
    references: input.references,
    model,
  }
}

// Writer type → reader types it may be promoted to (Avro specification, "Schema Resolution").
const PROMOTIONS: Record<string, string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
}

function describe(node: AvroNode): string {
  if (node.kind === 'primitive') return node.type
  if (node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed') return node.fullName
  return node.kind
}

/**
 * Avro schema resolution as the specification defines it: can a reader with `reader` decode what `writer` wrote?
 * Named types match by unqualified name or by a reader alias of the writer's full name.
 */
export function checkAvro(reader: AvroNode, writer: AvroNode): Incompatibility[] {
  const out: Incompatibility[] = []
  const inProgress = new Set<string>()
  const ids = new WeakMap<AvroNode, number>()
  let nextId = 0
  const idOf = (n: AvroNode) => {
    let id = ids.get(n)
    if (id === undefined) {
      id = nextId++
      ids.set(n, id)
    }
    return id
  }

  const namesMatch = (r: AvroNode & { name: string; fullName: string; aliases: string[] }, w: typeof r) =>
    r.name === w.name || r.aliases.includes(w.fullName)

  const check = (r: AvroNode, w: AvroNode, path: string, sink: Incompatibility[]): void => {
    const key = `${idOf(r)}:${idOf(w)}`
    if (inProgress.has(key)) return // recursive types: assume compatible while the outer check is running
    if (w.kind === 'union') {
      if (r.kind === 'union') {
        w.types.forEach((branch, i) => {
          if (!r.types.some((rb) => attempt(rb, branch, `${path}/${i}`))) {
            sink.push({
              type: 'MISSING_UNION_BRANCH',
              path: `${path}/${i}`,
              message: `The new schema is missing a type inside a union field at path '${path}/${i}' in the old schema: reader union lacks ${describe(branch)}`,
            })
          }
        })
        return
      }
      w.types.forEach((branch, i) => {
        check(r, branch, `${path}/${i}`, sink)
      })
      return
    }
    if (r.kind === 'union') {
      if (!r.types.some((rb) => attempt(rb, w, path))) {
        sink.push({
          type: 'MISSING_UNION_BRANCH',
          path,
          message: `reader union at path '${path}' has no branch that can read writer type ${describe(w)}`,
        })
      }
      return
    }
    if (r.kind === 'primitive' && w.kind === 'primitive') {
      if (r.type !== w.type && !PROMOTIONS[w.type]?.includes(r.type)) {
        sink.push({
          type: 'TYPE_MISMATCH',
          path,
          message: `reader type ${r.type} not compatible with writer type ${w.type} at path '${path}'`,
        })
      }
      return
    }
    if (r.kind !== w.kind) {
      sink.push({
        type: 'TYPE_MISMATCH',
        path,
        message: `reader type ${describe(r)} not compatible with writer type ${describe(w)} at path '${path}'`,
      })
      return
    }
    inProgress.add(key)
    try {
      switch (r.kind) {
        case 'array':
          check(r.items, (w as typeof r).items, `${path}/items`, sink)
          return
        case 'map':
          check(r.values, (w as typeof r).values, `${path}/values`, sink)
          return
        case 'fixed': {
          const wf = w as typeof r
          if (!namesMatch(r, wf)) {
            sink.push(nameMismatch(path, r.fullName, wf.fullName))
          } else if (r.size !== wf.size) {
            sink.push({
              type: 'FIXED_SIZE_MISMATCH',
              path: `${path}/size`,
              message: `expected: ${wf.size}, found: ${r.size} for fixed ${r.fullName} at path '${path}/size'`,
            })
          }
          return
        }
        case 'enum': {
          const we = w as typeof r
          if (!namesMatch(r, we)) {
            sink.push(nameMismatch(path, r.fullName, we.fullName))
            return
          }
          const missing = we.symbols.filter((s) => !r.symbols.includes(s))
          if (missing.length > 0 && r.default === undefined) {
            sink.push({
              type: 'MISSING_ENUM_SYMBOLS',
              path: `${path}/symbols`,
              message: `The new schema is missing enum symbols '${missing.join(', ')}' at path '${path}/symbols' in the old schema and has no enum default`,
            })
          }
          return
        }
        case 'record': {
          const wr = w as typeof r
          if (!namesMatch(r, wr)) {
            sink.push(nameMismatch(path, r.fullName, wr.fullName))
            return
          }
          r.fields.forEach((field, i) => {
            const writerField =
              wr.fields.find((f) => f.name === field.name) ??
              wr.fields.find((f) => field.aliases.includes(f.name)) ??
              wr.fields.find((f) => f.aliases.includes(field.name))
            if (!writerField) {
              if (!field.hasDefault) {
                sink.push({
                  type: 'READER_FIELD_MISSING_DEFAULT_VALUE',
                  path: `${path}/fields/${i}`,
                  message: `The field '${field.name}' at path '${path}/fields/${i}' in the new schema has no default value and is missing in the old schema`,
                })
              }
              return
            }
            check(field.type, writerField.type, `${path}/fields/${i}/type`, sink)
          })
          return
        }
        default:
          return
      }
    } finally {
      inProgress.delete(key)
    }
  }

  const attempt = (r: AvroNode, w: AvroNode, path: string): boolean => {
    const scratch: Incompatibility[] = []
    check(r, w, path, scratch)
    return scratch.length === 0
  }

  check(reader, writer, '', out)
  return out.map((i) => ({ ...i, path: i.path || '/' }))
}

function nameMismatch(path: string, readerName: string, writerName: string): Incompatibility {
  return {
    type: 'NAME_MISMATCH',
    path: `${path}/name`,
    message: `expected: ${writerName}, found: ${readerName} at path '${path}/name' (rename needs an alias)`,
  }
}

export const avroFormat: SchemaFormat = {
  type: 'AVRO',
  parse: parseAvro,
  check: (reader, writer) => checkAvro((reader.model as AvroModel).root, (writer.model as AvroModel).root),
}
