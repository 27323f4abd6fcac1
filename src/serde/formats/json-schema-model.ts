/**
 * JSON Schema as Confluent's compatibility check sees it. Confluent loads a schema with the everit library (drafts
 * 4, 6 and 7; drafts 2019-09 and 2020-12 are translated into the same model) and compares the loaded schemas, not
 * the JSON. How a schema loads decides the answer: `{"type": "string", "enum": [...]}` is an `allOf` of a string
 * schema and an enum schema, `{"type": ["string", "null"]}` is an `anyOf`, a schema without `type` but with
 * `properties` is an object schema, and so on. This module builds that model; json-schema-diff.ts compares it.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
type Obj = { [key: string]: JsonValue }

export type Draft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12'
export type Criterion = 'allOf' | 'anyOf' | 'oneOf'

interface Common {
  /** Stable text of the loaded schema: equal text, equal schema (Confluent collapses equal `anyOf` branches). */
  key: string
  hasDefault: boolean
  /** Kafka Connect's `connect.type` annotation (two `bytes` schemas are equivalent whatever their shape). */
  connectType?: string
}

export type SchemaNode = Common &
  (
    | { kind: 'empty' }
    | { kind: 'true' }
    | { kind: 'false' }
    | { kind: 'null' }
    | { kind: 'boolean' }
    | { kind: 'conditional' }
    | { kind: 'string'; minLength?: number; maxLength?: number; pattern?: string }
    | {
        kind: 'number'
        integer: boolean
        minimum?: number
        maximum?: number
        exclusiveMinimum?: number
        exclusiveMaximum?: number
        multipleOf?: number
      }
    | {
        kind: 'object'
        properties: Map<string, SchemaNode>
        required: Set<string>
        additionalProperties: boolean
        additionalSchema?: SchemaNode
        patternProperties: [string, SchemaNode][]
        minProperties?: number
        maxProperties?: number
        propertyDependencies: Map<string, Set<string>>
        schemaDependencies: Map<string, SchemaNode>
        unevaluated?: SchemaNode
      }
    | {
        kind: 'array'
        allItems?: SchemaNode
        items?: SchemaNode[]
        additionalItems: boolean
        additionalSchema?: SchemaNode
        minItems?: number
        maxItems?: number
        uniqueItems: boolean
        minContains?: number
        maxContains?: number
        unevaluated?: SchemaNode
      }
    | { kind: 'combined'; criterion: Criterion; subschemas: SchemaNode[] }
    | { kind: 'enum'; values: Set<string> }
    | { kind: 'const'; value: string }
    | { kind: 'not'; mustNotMatch: SchemaNode }
    | { kind: 'ref'; ref: string; target: () => SchemaNode | undefined }
  )

export type NodeOf<K extends SchemaNode['kind']> = Extract<SchemaNode, { kind: K }>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const num = (v: JsonValue | undefined) => (typeof v === 'number' ? v : undefined)

/** JSON text with object keys sorted, so equal values have equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export function draftOf(schema: JsonValue): Draft {
  const uri = isObj(schema) && typeof schema.$schema === 'string' ? schema.$schema : ''
  if (uri.includes('2020-12')) return '2020-12'
  if (uri.includes('2019-09')) return '2019-09'
  if (uri.includes('draft-04')) return 'draft-04'
  if (uri.includes('draft-06')) return 'draft-06'
  return 'draft-07'
}

const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']
const STRING_KEYWORDS = ['minLength', 'maxLength', 'pattern', 'format']
const OBJECT_KEYWORDS = [
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'dependencies',
  'patternProperties',
  'additionalProperties',
  'propertyNames',
]
const MODERN_OBJECT_KEYWORDS = [...OBJECT_KEYWORDS, 'dependentRequired', 'dependentSchemas', 'unevaluatedProperties']
const ARRAY_KEYWORDS = ['items', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems', 'contains']
const MODERN_ARRAY_KEYWORDS = [...ARRAY_KEYWORDS, 'prefixItems', 'unevaluatedItems', 'minContains', 'maxContains']

interface Doc {
  root: JsonValue
  base: string
}

function decodePointer(part: string): string {
  let p = part
  try {
    p = decodeURIComponent(part)
  } catch {}
  return p.replace(/~1/g, '/').replace(/~0/g, '~')
}

function resolveUri(base: string, ref: string): string {
  if (!base) return ref
  try {
    return new URL(ref, base).href
  } catch {
    return ref
  }
}

/**
 * Loads schemas of one document set (a schema and the schemas it references by name), each JSON object once, so
 * that `$ref`s to one definition give one node (the comparison memoizes pairs of nodes, which bounds recursion).
 */
export class SchemaModelLoader {
  readonly #draft: Draft
  readonly #docs = new Map<string, Doc>()
  readonly #ids = new Map<string, { value: JsonValue; doc: Doc }>()
  readonly #cache = new Map<object, SchemaNode>()

  constructor(root: JsonValue, references: Map<string, JsonValue> = new Map()) {
    this.#draft = draftOf(root)
    for (const [name, schema] of references) this.#addDoc(name, schema)
    this.#main = this.#addDoc('', root)
  }

  readonly #main: Doc

  get draft(): Draft {
    return this.#draft
  }

  load(): SchemaNode {
    return this.#load(this.#main.root, this.#main)
  }

  get #modern() {
    return this.#draft === '2019-09' || this.#draft === '2020-12'
  }

  get #idKeyword() {
    return this.#draft === 'draft-04' ? 'id' : '$id'
  }

  #addDoc(name: string, root: JsonValue): Doc {
    const id = isObj(root) && typeof root[this.#idKeyword] === 'string' ? (root[this.#idKeyword] as string) : ''
    const doc: Doc = { root, base: id || name }
    if (name) this.#docs.set(name, doc)
    if (id) this.#docs.set(id.replace(/#$/, ''), doc)
    this.#collectIds(root, doc, doc.base)
    return doc
  }

  #collectIds(value: JsonValue, doc: Doc, base: string): void {
    if (Array.isArray(value)) {
      for (const v of value) this.#collectIds(v, doc, base)
      return
    }
    if (!isObj(value)) return
    let here = base
    const id = value[this.#idKeyword]
    if (typeof id === 'string' && value !== doc.root) {
      here = resolveUri(base, id)
      this.#ids.set(here, { value, doc })
      this.#ids.set(id, { value, doc })
    }
    const anchor = value.$anchor
    if (typeof anchor === 'string') this.#ids.set(`${here}#${anchor}`, { value, doc })
    for (const [k, v] of Object.entries(value)) if (k !== 'enum' && k !== 'const') this.#collectIds(v, doc, here)
  }

  #resolveRef(ref: string, doc: Doc): { value: JsonValue; doc: Doc } | undefined {
    const hash = ref.indexOf('#')
    const location = hash < 0 ? ref : ref.slice(0, hash)
    const fragment = hash < 0 ? '' : ref.slice(hash + 1)
    let target: Doc | undefined = doc
    if (location) {
      const absolute = resolveUri(doc.base, location)
      const byId = this.#ids.get(absolute) ?? this.#ids.get(location)
      target = this.#docs.get(location) ?? this.#docs.get(absolute)
      if (!target && byId && !fragment) return byId
      if (!target && byId) target = { root: byId.value, base: absolute }
      if (!target) return undefined
    }
    if (!fragment || fragment === '/') return { value: target.root, doc: target }
    if (!fragment.startsWith('/')) {
      const anchored = this.#ids.get(`${target.base}#${fragment}`) ?? this.#ids.get(`#${fragment}`)
      return anchored
    }
    let node: JsonValue | undefined = target.root
    for (const raw of fragment.slice(1).split('/')) {
      const part = decodePointer(raw)
      if (Array.isArray(node)) node = node[Number(part)]
      else if (isObj(node)) node = node[part]
      else return undefined
      if (node === undefined) return undefined
    }
    return { value: node, doc: target }
  }

  #load(value: JsonValue | undefined, doc: Doc): SchemaNode {
    if (value === true) return { kind: 'true', key: 'true', hasDefault: false }
    if (value === false) return { kind: 'false', key: 'false', hasDefault: false }
    if (!isObj(value)) return { kind: 'empty', key: '{}', hasDefault: false }
    const cached = this.#cache.get(value)
    if (cached) return cached
    const node = this.#loadObject(value, doc)
    this.#cache.set(value, node)
    return node
  }

  #ref(ref: string, doc: Doc): SchemaNode {
    let resolved: SchemaNode | undefined
    let done = false
    return {
      kind: 'ref',
      ref,
      key: `{"$ref":${JSON.stringify(ref)}}`,
      hasDefault: false,
      target: () => {
        if (!done) {
          done = true
          const found = this.#resolveRef(ref, doc)
          resolved = found ? this.#load(found.value, found.doc) : undefined
        }
        return resolved
      },
    }
  }

  #loadObject(o: Obj, doc: Doc): SchemaNode {
    const common = {
      hasDefault: Object.hasOwn(o, 'default'),
      ...(typeof o['connect.type'] === 'string' ? { connectType: o['connect.type'] as string } : {}),
    }
    const extracted: SchemaNode[] = []
    const consumed = new Set<string>()
    // The 2019-09/2020-12 loader makes nothing of an empty `properties` or `patternProperties`.
    if (this.#modern)
      for (const k of ['properties', 'patternProperties'])
        if (isObj(o[k]) && Object.keys(o[k]).length === 0) consumed.add(k)
    const has = (k: string) => Object.hasOwn(o, k) && !consumed.has(k)
    const child = (v: JsonValue | undefined) => this.#load(v, doc)

    if (typeof o.$ref === 'string' && !this.#modern) {
      // Drafts up to 7: $ref replaces every other keyword.
      return { ...this.#ref(o.$ref, doc), ...common }
    }
    if (typeof o.$ref === 'string') {
      extracted.push(this.#ref(o.$ref, doc))
      consumed.add('$ref')
    }
    if (Array.isArray(o.enum)) {
      extracted.push(this.#node({ kind: 'enum', values: new Set(o.enum.map(stableJson)) }))
      consumed.add('enum')
    }
    for (const criterion of ['allOf', 'anyOf', 'oneOf'] as const) {
      const subs = o[criterion]
      if (!Array.isArray(subs)) continue
      consumed.add(criterion)
      extracted.push(this.#node({ kind: 'combined', criterion, subschemas: subs.map(child) }))
    }
    if (has('not')) {
      consumed.add('not')
      extracted.push(this.#node({ kind: 'not', mustNotMatch: child(o.not) }))
    }
    if (this.#draft !== 'draft-04' && has('const')) {
      consumed.add('const')
      extracted.push(this.#node({ kind: 'const', value: stableJson(o.const) }))
    }
    if (has('type')) {
      consumed.add('type')
      const types = Array.isArray(o.type) ? o.type : [o.type]
      const typed = types.map((t) => this.#typed(String(t), o, consumed, doc))
      extracted.push(
        Array.isArray(o.type) ? this.#node({ kind: 'combined', criterion: 'anyOf', subschemas: typed }) : typed[0],
      )
    }
    // No (remaining) type: keywords of a kind make a schema of that kind that does not require the kind.
    const arrayKeywords = this.#modern ? MODERN_ARRAY_KEYWORDS : ARRAY_KEYWORDS
    const objectKeywords = this.#modern ? MODERN_OBJECT_KEYWORDS : OBJECT_KEYWORDS
    const stringKeywords = this.#modern ? STRING_KEYWORDS.filter((k) => k !== 'format') : STRING_KEYWORDS
    if (arrayKeywords.some(has)) extracted.push(this.#typed('array', o, consumed, doc))
    if (objectKeywords.some(has)) extracted.push(this.#typed('object', o, consumed, doc))
    if (NUMBER_KEYWORDS.some(has)) extracted.push(this.#typed('number', o, consumed, doc))
    if (stringKeywords.some(has)) extracted.push(this.#typed('string', o, consumed, doc))
    if (this.#draft !== 'draft-04' && this.#draft !== 'draft-06' && ['if', 'then', 'else'].some(has)) {
      extracted.push(this.#node({ kind: 'conditional' }))
    }

    let result: SchemaNode
    if (extracted.length === 0) result = this.#node({ kind: 'empty' })
    else if (extracted.length === 1) result = extracted[0]
    else result = this.#node({ kind: 'combined', criterion: 'allOf', subschemas: extracted })
    return { ...result, ...common, key: `${result.key}${common.hasDefault ? `|default=${stableJson(o.default)}` : ''}` }
  }

  #typed(type: string, o: Obj, consumed: Set<string>, doc: Doc): SchemaNode {
    const child = (v: JsonValue | undefined) => this.#load(v, doc)
    const take = (keys: string[]) => {
      for (const k of keys) consumed.add(k)
    }
    switch (type) {
      case 'string':
        take(STRING_KEYWORDS)
        return this.#node({
          kind: 'string',
          minLength: num(o.minLength),
          maxLength: num(o.maxLength),
          pattern: typeof o.pattern === 'string' ? o.pattern : undefined,
        })
      case 'integer':
      case 'number': {
        take(NUMBER_KEYWORDS)
        const node: NodeOf<'number'> = {
          kind: 'number',
          integer: type === 'integer',
          minimum: num(o.minimum),
          maximum: num(o.maximum),
          multipleOf: num(o.multipleOf),
          key: '',
          hasDefault: false,
        }
        if (this.#draft === 'draft-04') {
          // Draft 4's boolean exclusiveMinimum/exclusiveMaximum only qualify minimum/maximum.
        } else {
          node.exclusiveMinimum = num(o.exclusiveMinimum)
          node.exclusiveMaximum = num(o.exclusiveMaximum)
        }
        return this.#node(node)
      }
      case 'boolean':
        return this.#node({ kind: 'boolean' })
      case 'null':
        return this.#node({ kind: 'null' })
      case 'object':
        take(this.#modern ? MODERN_OBJECT_KEYWORDS : OBJECT_KEYWORDS)
        return this.#object(o, child)
      case 'array':
        take(this.#modern ? MODERN_ARRAY_KEYWORDS : ARRAY_KEYWORDS)
        return this.#array(o, child)
      default:
        return this.#node({ kind: 'empty' })
    }
  }

  #object(o: Obj, child: (v: JsonValue | undefined) => SchemaNode): SchemaNode {
    const properties = new Map<string, SchemaNode>()
    if (isObj(o.properties)) for (const [k, v] of Object.entries(o.properties)) properties.set(k, child(v))
    const patternProperties: [string, SchemaNode][] = isObj(o.patternProperties)
      ? Object.entries(o.patternProperties).map(([p, v]) => [p, child(v)])
      : []
    const propertyDependencies = new Map<string, Set<string>>()
    const schemaDependencies = new Map<string, SchemaNode>()
    const addDeps = (deps: JsonValue | undefined, arrays: boolean, schemas: boolean) => {
      if (!isObj(deps)) return
      for (const [k, v] of Object.entries(deps)) {
        if (Array.isArray(v) && arrays) propertyDependencies.set(k, new Set(v.map(String)))
        else if ((isObj(v) || typeof v === 'boolean') && schemas) schemaDependencies.set(k, child(v))
      }
    }
    addDeps(o.dependencies, true, true)
    if (this.#modern) {
      addDeps(o.dependentRequired, true, false)
      addDeps(o.dependentSchemas, false, true)
    }
    const ap = o.additionalProperties
    return this.#node({
      kind: 'object',
      properties,
      required: new Set(Array.isArray(o.required) ? o.required.map(String) : []),
      additionalProperties: ap !== false,
      ...(isObj(ap) ? { additionalSchema: child(ap) } : {}),
      patternProperties,
      minProperties: num(o.minProperties),
      maxProperties: num(o.maxProperties),
      propertyDependencies,
      schemaDependencies,
      ...(this.#modern && Object.hasOwn(o, 'unevaluatedProperties')
        ? { unevaluated: child(o.unevaluatedProperties) }
        : {}),
    })
  }

  #array(o: Obj, child: (v: JsonValue | undefined) => SchemaNode): SchemaNode {
    const node: NodeOf<'array'> = {
      kind: 'array',
      additionalItems: true,
      uniqueItems: o.uniqueItems === true,
      minItems: num(o.minItems),
      maxItems: num(o.maxItems),
      key: '',
      hasDefault: false,
    }
    const rest = (v: JsonValue | undefined) => {
      if (v === false) node.additionalItems = false
      else if (isObj(v)) node.additionalSchema = child(v)
    }
    if (this.#modern && Array.isArray(o.prefixItems)) {
      // 2020-12: prefixItems is the tuple, items covers the rest.
      node.items = o.prefixItems.map(child)
      if (Object.hasOwn(o, 'items')) rest(o.items)
    } else if (Array.isArray(o.items)) {
      node.items = o.items.map(child)
      if (Object.hasOwn(o, 'additionalItems')) rest(o.additionalItems)
    } else {
      if (Object.hasOwn(o, 'items')) {
        if (this.#modern && o.items === false) node.additionalItems = false
        else if (!(this.#modern && o.items === true)) node.allItems = child(o.items)
      }
      if (!this.#modern && Object.hasOwn(o, 'additionalItems')) rest(o.additionalItems)
    }
    if (this.#modern) {
      // `contains` alone means at least one match.
      node.minContains = num(o.minContains) ?? (Object.hasOwn(o, 'contains') ? 1 : undefined)
      node.maxContains = num(o.maxContains)
      if (Object.hasOwn(o, 'unevaluatedItems')) node.unevaluated = child(o.unevaluatedItems)
    }
    return this.#node(node)
  }

  /** Completes a node with its stable key. */
  #node<N extends { kind: SchemaNode['kind'] }>(partial: N): SchemaNode {
    const n = { hasDefault: false, ...partial } as unknown as SchemaNode
    n.key = keyOf(n)
    return n
  }
}

function keyOf(n: SchemaNode): string {
  const sub = (x: SchemaNode | undefined) => (x ? x.key : '-')
  switch (n.kind) {
    case 'string':
      return `string(${n.minLength},${n.maxLength},${JSON.stringify(n.pattern)})`
    case 'number':
      return `number(${n.integer},${n.minimum},${n.maximum},${n.exclusiveMinimum},${n.exclusiveMaximum},${n.multipleOf})`
    case 'object':
      return `object(${[...n.properties].map(([k, v]) => `${JSON.stringify(k)}:${v.key}`).join(',')};${[...n.required].sort().join(',')};${n.additionalProperties};${sub(n.additionalSchema)};${n.patternProperties.map(([p, v]) => `${JSON.stringify(p)}:${v.key}`).join(',')};${n.minProperties},${n.maxProperties};${[...n.propertyDependencies].map(([k, v]) => `${k}:${[...v].join('+')}`).join(',')};${[...n.schemaDependencies].map(([k, v]) => `${k}:${v.key}`).join(',')};${sub(n.unevaluated)})`
    case 'array':
      return `array(${sub(n.allItems)};${(n.items ?? []).map((i) => i.key).join(',')};${n.additionalItems};${sub(n.additionalSchema)};${n.minItems},${n.maxItems},${n.uniqueItems},${n.minContains},${n.maxContains};${sub(n.unevaluated)})`
    case 'combined':
      return `${n.criterion}(${n.subschemas.map((s) => s.key).join(',')})`
    case 'enum':
      return `enum(${[...n.values].join(',')})`
    case 'const':
      return `const(${n.value})`
    case 'not':
      return `not(${n.mustNotMatch.key})`
    case 'ref':
      return `ref(${n.ref})`
    default:
      return n.kind
  }
}
