import { Ajv, type AnySchema } from 'ajv'
import Ajv2019 from 'ajv/dist/2019.js'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { invalidSchema } from '../errors.ts'
import type { Incompatibility, SchemaInput } from '../types.ts'
import type { ParsedSchema, ResolvedReference, SchemaFormat } from './format.ts'

// ajv-formats ships CommonJS with a default export; under NodeNext the callable may sit on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
type JsonSchema = boolean | { [key: string]: JsonValue }

export interface JsonSchemaModel {
  schema: JsonSchema
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
  try {
    for (const ref of references) {
      const refSchema = JSON.parse(ref.schema) as AnySchema
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

type Obj = { [key: string]: JsonValue }

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const acceptsAll = (s: JsonValue | undefined) =>
  s === undefined || s === true || (isObj(s) && Object.keys(s).length === 0)

function typesOf(s: Obj): string[] | undefined {
  if (typeof s.type === 'string') return [s.type]
  if (Array.isArray(s.type)) return s.type as string[]
  return undefined
}

function resolvePointer(root: JsonValue, ref: string): JsonValue | undefined {
  if (!ref.startsWith('#')) return undefined
  let node: JsonValue | undefined = root
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isObj(node) && !Array.isArray(node)) return undefined
    node = (node as Obj)[part]
  }
  return node
}

/**
 * Compares an original (writer) schema with an update (reader) schema and lists the changes that make the update
 * reject data the original accepted — the rules Confluent documents for JSON Schema, including its content-model
 * rules (open, closed, partially open objects).
 */
export function checkJsonSchema(reader: JsonSchema, writer: JsonSchema): Incompatibility[] {
  const out: Incompatibility[] = []
  const origRoot = writer as JsonValue
  const updRoot = reader as JsonValue
  const visiting = new Set<string>()

  const deref = (s: JsonValue, root: JsonValue): JsonValue => {
    let cur = s
    for (let i = 0; i < 32 && isObj(cur) && typeof cur.$ref === 'string'; i++) {
      const target = resolvePointer(root, cur.$ref)
      if (target === undefined) return cur
      const { $ref: _, ...rest } = cur
      cur = Object.keys(rest).length === 0 ? target : isObj(target) ? { ...target, ...rest } : target
    }
    return cur
  }

  const push = (type: string, path: string, message: string) => out.push({ type, path: path || '#', message })

  const compatible = (orig: JsonValue, upd: JsonValue, path: string): boolean => {
    const before = out.length
    compare(orig, upd, path)
    const ok = out.length === before
    out.length = before
    return ok
  }

  const compare = (origIn: JsonValue, updIn: JsonValue, path: string): void => {
    const orig = deref(origIn, origRoot)
    const upd = deref(updIn, updRoot)
    if (acceptsAll(upd) || orig === false) return
    if (upd === false) {
      push('TYPE_NARROWED', path, `schema at '${path || '#'}' no longer accepts any value`)
      return
    }
    if (!isObj(upd)) return
    const origObj: Obj = isObj(orig) ? orig : {}
    const key = `${path}|${JSON.stringify(origObj).length}|${JSON.stringify(upd).length}`
    if (visiting.has(key)) return
    visiting.add(key)
    try {
      compareCombined(origObj, upd, path)
      compareType(origObj, upd, path)
      compareEnum(origObj, upd, path)
      compareBounds(origObj, upd, path)
      compareObject(origObj, upd, path)
      compareArray(origObj, upd, path)
      if (upd.not !== undefined && origObj.not === undefined) {
        push(
          'NOT_TYPE_EXTENDED',
          `${path}/not`,
          `'not' added at '${path || '#'}' rejects values the old schema accepted`,
        )
      }
    } finally {
      visiting.delete(key)
    }
  }

  const compareCombined = (orig: Obj, upd: Obj, path: string) => {
    for (const kw of ['oneOf', 'anyOf'] as const) {
      const updBranches = upd[kw]
      if (!Array.isArray(updBranches)) continue
      const origBranches = Array.isArray(orig[kw])
        ? (orig[kw] as JsonValue[])
        : Array.isArray(orig.oneOf)
          ? (orig.oneOf as JsonValue[])
          : Array.isArray(orig.anyOf)
            ? (orig.anyOf as JsonValue[])
            : [stripCombinators(orig)]
      origBranches.forEach((ob, i) => {
        if (!updBranches.some((ub, j) => compatible(ob, ub, `${path}/${kw}/${j}`))) {
          push(
            'SUM_TYPE_NARROWED',
            `${path}/${kw}`,
            `no '${kw}' branch at '${path || '#'}' accepts what old branch ${i} accepted`,
          )
        }
      })
    }
    for (const kw of ['oneOf', 'anyOf'] as const) {
      const origBranches = orig[kw]
      if (!Array.isArray(origBranches) || Array.isArray(upd.oneOf) || Array.isArray(upd.anyOf)) continue
      origBranches.forEach((ob, i) => {
        if (!compatible(ob, stripCombinators(upd), `${path}`)) {
          push('COMBINED_TYPE_SUBSCHEMAS_CHANGED', `${path}/${kw}/${i}`, `'${kw}' branch ${i} is no longer accepted`)
        }
      })
    }
    if (Array.isArray(upd.allOf)) {
      const origAll = Array.isArray(orig.allOf) ? (orig.allOf as JsonValue[]) : []
      if (upd.allOf.length > origAll.length && origAll.length > 0) {
        push('PRODUCT_TYPE_EXTENDED', `${path}/allOf`, `'allOf' at '${path || '#'}' gained subschemas`)
      }
      upd.allOf.forEach((ub, j) => {
        const ob = origAll[j] ?? stripCombinators(orig)
        compare(ob, ub, `${path}/allOf/${j}`)
      })
    }
  }

  const stripCombinators = (s: Obj): Obj => {
    const { oneOf: _o, anyOf: _a, allOf: _l, ...rest } = s
    return rest
  }

  const compareType = (orig: Obj, upd: Obj, path: string) => {
    const u = typesOf(upd)
    if (!u) return
    const o = typesOf(orig)
    if (!o) {
      push('TYPE_NARROWED', `${path}/type`, `type restricted to ${u.join(', ')} at '${path || '#'}'`)
      return
    }
    const accepts = (t: string) => u.includes(t) || (t === 'integer' && u.includes('number'))
    const missing = o.filter((t) => !accepts(t))
    if (missing.length === 0) return
    const changed = missing.length === o.length
    push(
      changed ? 'TYPE_CHANGED' : 'TYPE_NARROWED',
      `${path}/type`,
      `type at '${path || '#'}' changed from ${o.join(', ')} to ${u.join(', ')}`,
    )
  }

  const compareEnum = (orig: Obj, upd: Obj, path: string) => {
    if (Array.isArray(upd.enum)) {
      const allowed = new Set(upd.enum.map((v) => JSON.stringify(v)))
      const origValues = Array.isArray(orig.enum) ? orig.enum : orig.const !== undefined ? [orig.const] : undefined
      if (!origValues) push('ENUM_ARRAY_NARROWED', `${path}/enum`, `'enum' added at '${path || '#'}'`)
      else if (origValues.some((v) => !allowed.has(JSON.stringify(v)))) {
        push('ENUM_ARRAY_NARROWED', `${path}/enum`, `'enum' at '${path || '#'}' lost values`)
      }
    }
    if (upd.const !== undefined) {
      const same =
        (orig.const !== undefined && JSON.stringify(orig.const) === JSON.stringify(upd.const)) ||
        (Array.isArray(orig.enum) &&
          orig.enum.length === 1 &&
          JSON.stringify(orig.enum[0]) === JSON.stringify(upd.const))
      if (!same) push('CONST_CHANGED', `${path}/const`, `'const' at '${path || '#'}' added or changed`)
    }
  }

  // [keyword, direction]: 'max' bounds may only grow, 'min' bounds may only shrink.
  const BOUNDS: [string, 'max' | 'min', string][] = [
    ['maxLength', 'max', 'MAX_LENGTH'],
    ['minLength', 'min', 'MIN_LENGTH'],
    ['maximum', 'max', 'MAXIMUM'],
    ['minimum', 'min', 'MINIMUM'],
    ['exclusiveMaximum', 'max', 'EXCLUSIVE_MAXIMUM'],
    ['exclusiveMinimum', 'min', 'EXCLUSIVE_MINIMUM'],
    ['maxItems', 'max', 'MAX_ITEMS'],
    ['minItems', 'min', 'MIN_ITEMS'],
    ['maxProperties', 'max', 'MAX_PROPERTIES'],
    ['minProperties', 'min', 'MIN_PROPERTIES'],
  ]

  const compareBounds = (orig: Obj, upd: Obj, path: string) => {
    for (const [kw, dir, name] of BOUNDS) {
      const u = upd[kw]
      if (typeof u !== 'number') continue
      const o = orig[kw]
      if (typeof o !== 'number') {
        push(`${name}_ADDED`, `${path}/${kw}`, `'${kw}' added at '${path || '#'}'`)
      } else if (dir === 'max' ? u < o : u > o) {
        push(
          `${name}_${dir === 'max' ? 'DECREASED' : 'INCREASED'}`,
          `${path}/${kw}`,
          `'${kw}' at '${path || '#'}' tightened from ${o} to ${u}`,
        )
      }
    }
    if (typeof upd.multipleOf === 'number') {
      const o = orig.multipleOf
      if (typeof o !== 'number')
        push('MULTIPLE_OF_ADDED', `${path}/multipleOf`, `'multipleOf' added at '${path || '#'}'`)
      else if (!Number.isInteger(o / upd.multipleOf)) {
        push(
          'MULTIPLE_OF_EXPANDED',
          `${path}/multipleOf`,
          `'multipleOf' at '${path || '#'}' changed from ${o} to ${upd.multipleOf}`,
        )
      }
    }
    if (typeof upd.pattern === 'string' && upd.pattern !== orig.pattern) {
      push(
        orig.pattern === undefined ? 'PATTERN_ADDED' : 'PATTERN_CHANGED',
        `${path}/pattern`,
        `'pattern' at '${path || '#'}' added or changed`,
      )
    }
    if (upd.uniqueItems === true && orig.uniqueItems !== true) {
      push('UNIQUE_ITEMS_ADDED', `${path}/uniqueItems`, `'uniqueItems' added at '${path || '#'}'`)
    }
  }

  type ContentModel = 'open' | 'closed' | 'partial'
  const contentModel = (s: Obj): ContentModel => {
    if (s.additionalProperties === false) return isObj(s.patternProperties) ? 'partial' : 'closed'
    if (isObj(s.additionalProperties) && !acceptsAll(s.additionalProperties)) return 'partial'
    if (isObj(s.patternProperties)) return 'partial'
    return 'open'
  }
  const coveringSchema = (s: Obj, name: string): JsonValue | undefined => {
    if (isObj(s.patternProperties)) {
      for (const [pattern, schema] of Object.entries(s.patternProperties)) {
        if (new RegExp(pattern, 'u').test(name)) return schema
      }
    }
    if (s.additionalProperties === false) return undefined
    return s.additionalProperties ?? true
  }

  const compareObject = (orig: Obj, upd: Obj, path: string) => {
    const origProps = isObj(orig.properties) ? orig.properties : {}
    const updProps = isObj(upd.properties) ? upd.properties : {}
    const origRequired = new Set(Array.isArray(orig.required) ? (orig.required as string[]) : [])
    const updRequired = new Set(Array.isArray(upd.required) ? (upd.required as string[]) : [])
    const origModel = contentModel(orig)
    const updModel = contentModel(upd)
    for (const [name, schema] of Object.entries(updProps)) {
      const p = `${path}/properties/${name}`
      if (Object.hasOwn(origProps, name)) {
        compare(origProps[name], schema, p)
        continue
      }
      if (origModel === 'open') {
        if (!acceptsAll(deref(schema, updRoot))) {
          push('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', p, `property '${name}' added to an open content model`)
        }
      } else if (origModel === 'closed') {
        if (updRequired.has(name) && !(isObj(schema) && schema.default !== undefined)) {
          push(
            'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
            p,
            `required property '${name}' added to a closed content model`,
          )
        }
      } else {
        const cover = coveringSchema(orig, name)
        if (cover === undefined || !compatible(cover, schema, p)) {
          push(
            'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
            p,
            `property '${name}' added but not covered by the partially open content model`,
          )
        }
      }
    }
    for (const [name, schema] of Object.entries(origProps)) {
      if (Object.hasOwn(updProps, name)) continue
      const p = `${path}/properties/${name}`
      if (updModel === 'closed') {
        push('PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', p, `property '${name}' removed from a closed content model`)
      } else if (updModel === 'partial') {
        const cover = coveringSchema(upd, name)
        if (cover === undefined || !compatible(schema, cover, p)) {
          push(
            'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
            p,
            `property '${name}' removed but not covered by the partially open content model`,
          )
        }
      }
    }
    for (const name of updRequired) {
      if (origRequired.has(name)) continue
      const prop = updProps[name]
      if (isObj(prop) && prop.default !== undefined) continue
      push('REQUIRED_ATTRIBUTE_ADDED', `${path}/required`, `property '${name}' became required`)
    }
    if (orig.additionalProperties !== false && upd.additionalProperties !== undefined) {
      if (upd.additionalProperties === false) {
        if (
          !acceptsAll(orig.additionalProperties) ||
          orig.additionalProperties === undefined ||
          orig.additionalProperties === true
        ) {
          push(
            'ADDITIONAL_PROPERTIES_REMOVED',
            `${path}/additionalProperties`,
            `additional properties no longer allowed`,
          )
        }
      } else if (isObj(upd.additionalProperties)) {
        compare(orig.additionalProperties ?? true, upd.additionalProperties, `${path}/additionalProperties`)
      }
    }
    const origDeps = isObj(orig.dependentRequired)
      ? orig.dependentRequired
      : isObj(orig.dependencies)
        ? orig.dependencies
        : {}
    const updDeps = isObj(upd.dependentRequired)
      ? upd.dependentRequired
      : isObj(upd.dependencies)
        ? upd.dependencies
        : {}
    for (const [name, dep] of Object.entries(updDeps)) {
      const before = origDeps[name]
      if (Array.isArray(dep)) {
        const had = new Set(Array.isArray(before) ? (before as string[]) : [])
        if ((dep as string[]).some((d) => !had.has(d))) {
          push('DEPENDENCY_ARRAY_EXTENDED', `${path}/dependencies/${name}`, `dependency of '${name}' extended`)
        }
      } else if (before === undefined) {
        push('DEPENDENCY_SCHEMA_ADDED', `${path}/dependencies/${name}`, `dependency schema for '${name}' added`)
      } else {
        compare(before, dep, `${path}/dependencies/${name}`)
      }
    }
  }

  const compareArray = (orig: Obj, upd: Obj, path: string) => {
    const tupleOf = (s: Obj): JsonValue[] | undefined =>
      Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined
    const restOf = (s: Obj): JsonValue | undefined =>
      Array.isArray(s.prefixItems) ? s.items : Array.isArray(s.items) ? s.additionalItems : s.items
    const ot = tupleOf(orig)
    const ut = tupleOf(upd)
    if (ut) {
      ut.forEach((item, i) => {
        compare(ot?.[i] ?? restOf(orig) ?? true, item, `${path}/items/${i}`)
      })
      if (ot && ot.length > ut.length) {
        const rest = restOf(upd)
        ot.slice(ut.length).forEach((item, i) => {
          if (rest === false)
            push('ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL', `${path}/items/${ut.length + i}`, 'tuple item removed')
          else if (rest !== undefined) compare(item, rest, `${path}/items/${ut.length + i}`)
        })
      }
    }
    const ur = restOf(upd)
    if (ur !== undefined && !(ut === undefined && ot !== undefined && ur === undefined)) {
      const or = restOf(orig)
      if (ur === false) {
        if (or !== false) push('ADDITIONAL_ITEMS_REMOVED', `${path}/items`, 'additional items no longer allowed')
      } else compare(or ?? true, ur, `${path}/items`)
    }
  }

  compare(origRoot, updRoot, '')
  return out
}

export const jsonSchemaFormat: SchemaFormat = {
  type: 'JSON',
  parse: parseJsonSchema,
  check: (reader, writer) =>
    checkJsonSchema((reader.model as JsonSchemaModel).schema, (writer.model as JsonSchemaModel).schema),
}
