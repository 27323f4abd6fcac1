import { isIntegral, type JsonNode, type PlainJson, preview, readJson, textOf, toPlain } from './avro-json.ts'

/**
 * An Avro schema parser with the acceptance rules of Avro's Java library (1.12, `Schema.Parser`), which Confluent's
 * registry uses: what Java accepts is accepted here, what it refuses is refused with a similar message. The rules
 * are summed up in docs/registry/schema-evolution.md ("What the Avro parser accepts").
 */

export type AvroPrimitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string'
export const PRIMITIVES: ReadonlySet<string> = new Set<AvroPrimitive>([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
])

export interface AvroField {
  name: string
  aliases: string[]
  type: AvroNode
  hasDefault: boolean
  /** The default as plain JSON (numbers as JS numbers); see `defaultNode` for the literal. */
  default?: PlainJson
  defaultNode?: JsonNode
  order?: 'ascending' | 'descending' | 'ignore'
  doc?: string
}

export type AvroNode =
  | { kind: 'primitive'; type: AvroPrimitive; logicalType?: string }
  | {
      kind: 'record'
      name: string
      fullName: string
      aliases: string[]
      fields: AvroField[]
      doc?: string
      error?: boolean
    }
  | {
      kind: 'enum'
      name: string
      fullName: string
      aliases: string[]
      symbols: string[]
      default?: string
      doc?: string
    }
  | {
      kind: 'fixed'
      name: string
      fullName: string
      aliases: string[]
      size: number
      logicalType?: string
      doc?: string
    }
  | { kind: 'array'; items: AvroNode }
  | { kind: 'map'; values: AvroNode }
  | { kind: 'union'; types: AvroNode[] }

export type NamedAvroNode = Extract<AvroNode, { fullName: string }>

/** A name used before its definition; replaced by the definition once the whole schema is read. */
interface Unresolved {
  kind: 'unresolved'
  fullName: string
}
type Building = AvroNode | Unresolved

export class AvroParseError extends Error {}

export interface AvroParseRules {
  /**
   * Confluent parses a schema being registered ("new") strictly: names must be ASCII (`[A-Za-z_][A-Za-z0-9_]*`,
   * namespaces included) and field defaults must match their type. Schemas already stored are re-read leniently:
   * names may use any Unicode letters and digits, namespaces are not checked and defaults are not validated.
   */
  validateAsNew: boolean
}

const STRICT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const UNICODE_NAME = /^[\p{L}_][\p{L}\p{Nd}_]*$/u

function checkName(name: string | undefined, pattern: RegExp, what: string): string {
  if (name === undefined) throw new AvroParseError(`${what}: null name`)
  if (name === '') throw new AvroParseError(`${what}: empty name`)
  if (!pattern.test(name)) {
    const first = pattern === STRICT_NAME ? /^[A-Za-z_]/ : /^[\p{L}_]/u
    throw new AvroParseError(
      `${what} ${JSON.stringify(name)} is invalid: ${first.test(name) ? 'illegal character' : 'illegal initial character'}`,
    )
  }
  return name
}

const INT_MIN = -(2n ** 31n)
const INT_MAX = 2n ** 31n - 1n
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
const fitsIn = (raw: string, min: bigint, max: bigint) => {
  if (!isIntegral(raw)) return false
  const v = BigInt(raw)
  return v >= min && v <= max
}
const MAX_FIXED_SIZE = 2 ** 31 - 1 - 8

/** Java's `Double.parseDouble`, which Avro applies to a textual default of a `float` or `double` field. */
export function parseJavaDouble(text: string): number | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Java trims every char up to U+0020
  const t = text.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '')
  const m =
    /^([+-]?)(?:(NaN)|(Infinity)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?|0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)[fFdD]?)$/.exec(
      t,
    )
  if (!m) return undefined
  const sign = m[1] === '-' ? -1 : 1
  if (m[2]) return Number.NaN
  if (m[3]) return sign * Number.POSITIVE_INFINITY
  if (m[4] !== undefined) return sign * Number(m[4])
  const whole = m[5] ?? ''
  const frac = m[6] ?? ''
  if (whole === '' && frac === '') return undefined
  const mantissa = Number.parseInt(`${whole}${frac}` || '0', 16) / 16 ** frac.length
  return sign * mantissa * 2 ** Number(m[7])
}

function splitName(name: string, space: string | undefined): { name: string; space: string | undefined } {
  const dot = name.lastIndexOf('.')
  if (dot < 0) return { name, space: space === '' ? undefined : space }
  const ns = name.slice(0, dot)
  return { name: name.slice(dot + 1), space: ns === '' ? undefined : ns }
}

const fullNameOf = (n: { name: string; space: string | undefined }) => (n.space ? `${n.space}.${n.name}` : n.name)

/** One `Schema.Parser`: named types it has read stay known to the next `parse` call (references first). */
export class AvroSchemaParser {
  readonly named = new Map<string, NamedAvroNode>()
  readonly #rules: AvroParseRules
  #nameRule: RegExp | undefined

  constructor(rules: AvroParseRules) {
    this.#rules = rules
    this.#nameRule = rules.validateAsNew ? STRICT_NAME : undefined
  }

  /** Parses one schema text and resolves the names it used before defining them. */
  parse(text: string): { root: AvroNode; json: JsonNode } {
    let json: JsonNode
    try {
      json = readJson(text)
    } catch (error) {
      const bare = text.trim()
      // Stored schemas from earlier versions may hold a bare primitive name; a new schema must be JSON.
      if (!this.#rules.validateAsNew && PRIMITIVES.has(bare)) json = { kind: 'string', value: bare }
      else throw new AvroParseError((error as Error).message)
    }
    const built = this.#parse(json, undefined)
    const root = this.#resolve(built)
    this.#checkUnions(root)
    if (!this.#rules.validateAsNew) this.#checkUnicodeNames(root)
    return { root, json }
  }

  #validName(name: string | undefined, what: string): string {
    if (name === undefined) throw new AvroParseError(`${what}: null name`)
    return this.#nameRule ? checkName(name, this.#nameRule, what) : name
  }

  #find(name: string, space: string | undefined): Building {
    if (PRIMITIVES.has(name)) return { kind: 'primitive', type: name as AvroPrimitive }
    const full = space && !name.includes('.') ? `${space}.${name}` : name
    return this.named.get(full) ?? this.named.get(name) ?? { kind: 'unresolved', fullName: full }
  }

  #parse(node: JsonNode, space: string | undefined): Building {
    if (node.kind === 'string') return this.#find(node.value, space)
    if (node.kind === 'array') {
      const types = node.items.map((item) => this.#parse(item, space))
      if (types.some((t) => t.kind === 'union')) {
        throw new AvroParseError(`nested union: ${preview(node)}`)
      }
      return { kind: 'union', types: types as AvroNode[] }
    }
    if (node.kind !== 'object') throw new AvroParseError(`schema not yet supported: ${preview(node)}`)
    const type = textOf(node.entries.get('type'))
    if (type === undefined) throw new AvroParseError(`no type: ${preview(node)}`)
    if (PRIMITIVES.has(type)) {
      const logicalType = textOf(node.entries.get('logicalType'))
      return { kind: 'primitive', type: type as AvroPrimitive, ...(logicalType ? { logicalType } : {}) }
    }
    switch (type) {
      case 'record':
      case 'error':
        return this.#record(node, space, type === 'error')
      case 'enum':
        return this.#enum(node, space)
      case 'array': {
        const items = node.entries.get('items')
        if (!items) throw new AvroParseError(`array has no items type: ${preview(node)}`)
        return { kind: 'array', items: this.#parse(items, space) as AvroNode }
      }
      case 'map': {
        const values = node.entries.get('values')
        if (!values) throw new AvroParseError(`map has no values type: ${preview(node)}`)
        return { kind: 'map', values: this.#parse(values, space) as AvroNode }
      }
      case 'fixed':
        return this.#fixed(node, space)
      default:
        // {"type": "com.acme.Name"}: a reference to a named type in the object form.
        return this.#find(type, space)
    }
  }

  #name(node: Extract<JsonNode, { kind: 'object' }>, space: string | undefined) {
    const raw = textOf(node.entries.get('name'))
    if (raw === undefined) throw new AvroParseError(`no name in schema: ${preview(node)}`)
    const ns = textOf(node.entries.get('namespace'))
    const parts = splitName(raw, ns ?? space)
    this.#validName(parts.name, 'name')
    const full = fullNameOf(parts)
    if (PRIMITIVES.has(full)) throw new AvroParseError(`schemas may not be named after primitives: ${full}`)
    return { ...parts, full }
  }

  #aliases(node: Extract<JsonNode, { kind: 'object' }>, space: string | undefined, validate: boolean): string[] {
    const raw = node.entries.get('aliases')
    if (!raw) return []
    if (raw.kind !== 'array') throw new AvroParseError(`aliases not an array: ${preview(node)}`)
    const out: string[] = []
    for (const alias of raw.items) {
      if (alias.kind !== 'string') throw new AvroParseError(`alias not a string: ${preview(alias)}`)
      if (!validate) {
        if (!out.includes(alias.value)) out.push(alias.value)
        continue
      }
      const parts = splitName(alias.value, space)
      this.#validName(parts.name, 'alias')
      const full = fullNameOf(parts)
      if (!out.includes(full)) out.push(full)
    }
    return out
  }

  #define(node: NamedAvroNode, json: JsonNode): NamedAvroNode {
    if (this.#nameRule) {
      const parts = node.fullName.split('.')
      for (const part of parts.slice(0, -1)) checkName(part, this.#nameRule, 'namespace part')
    }
    const existing = this.named.get(node.fullName)
    const key = definitionKeyOf(toPlain(json))
    if (existing) {
      if (definitionKey.get(existing) !== key) throw new AvroParseError(`can't redefine: ${node.fullName}`)
      return existing
    }
    definitionKey.set(node, key)
    this.named.set(node.fullName, node)
    return node
  }

  #record(node: Extract<JsonNode, { kind: 'object' }>, space: string | undefined, error: boolean): NamedAvroNode {
    const name = this.#name(node, space)
    const fieldsNode = node.entries.get('fields')
    if (fieldsNode?.kind !== 'array') throw new AvroParseError(`record has no fields: ${preview(node)}`)
    const fields: AvroField[] = []
    for (const f of fieldsNode.items) {
      const field = this.#field(f, name.space)
      const twin = fields.find((x) => x.name === field.name)
      if (twin) throw new AvroParseError(`duplicate field ${field.name} in record ${name.full}`)
      fields.push(field)
    }
    const doc = textOf(node.entries.get('doc'))
    const record: NamedAvroNode = {
      kind: 'record',
      name: name.name,
      fullName: name.full,
      aliases: this.#aliases(node, name.space, true),
      fields,
      ...(doc !== undefined ? { doc } : {}),
      ...(error ? { error } : {}),
    }
    // Java puts a record into the parse context only after its fields: a reference to it from inside is resolved
    // at the end, like any name used before its definition.
    return this.#define(record, node)
  }

  #field(node: JsonNode, space: string | undefined): AvroField {
    const obj = node.kind === 'object' ? node : undefined
    const name = textOf(obj?.entries.get('name'))
    if (!obj || name === undefined) throw new AvroParseError(`no field name: ${preview(node)}`)
    this.#validName(name, 'field name')
    const typeNode = obj.entries.get('type')
    if (!typeNode) throw new AvroParseError(`no field type: ${preview(node)}`)
    const type = this.#parse(typeNode, space) as AvroNode
    const orderNode = obj.entries.get('order')
    let order: AvroField['order']
    if (orderNode) {
      const o = textOf(orderNode)?.toLowerCase()
      if (o !== 'ascending' && o !== 'descending' && o !== 'ignore') {
        throw new AvroParseError(`invalid order ${preview(orderNode)} for field ${name}`)
      }
      order = o
    }
    let defaultNode = obj.entries.get('default')
    if (
      defaultNode?.kind === 'string' &&
      type.kind === 'primitive' &&
      (type.type === 'float' || type.type === 'double')
    ) {
      // Java reads a textual float/double default with Double.parseDouble ("NaN", "Infinity", "1e3", "0x1p3").
      const value = parseJavaDouble(defaultNode.value)
      if (value === undefined) {
        throw new AvroParseError(`invalid default for field ${name}: ${preview(defaultNode)} is not a number`)
      }
      defaultNode = { kind: 'number', raw: Number.isFinite(value) ? String(value) : defaultNode.value.trim() }
    }
    if (defaultNode && this.#rules.validateAsNew && !isValidDefault(type, defaultNode)) {
      throw new AvroParseError(`invalid default for field ${name}: ${preview(defaultNode)} not a ${describeType(type)}`)
    }
    const aliasesNode = obj.entries.get('aliases')
    const doc = textOf(obj.entries.get('doc'))
    return {
      name,
      aliases: aliasesNode ? this.#aliases(obj, undefined, false) : [],
      type,
      hasDefault: defaultNode !== undefined,
      ...(defaultNode ? { default: plainDefault(defaultNode), defaultNode } : {}),
      ...(order ? { order } : {}),
      ...(doc !== undefined ? { doc } : {}),
    }
  }

  #enum(node: Extract<JsonNode, { kind: 'object' }>, space: string | undefined): NamedAvroNode {
    const name = this.#name(node, space)
    const symbolsNode = node.entries.get('symbols')
    if (symbolsNode?.kind !== 'array') throw new AvroParseError(`enum has no symbols: ${preview(node)}`)
    const symbols: string[] = []
    for (const s of symbolsNode.items) {
      const symbol = textOf(s)
      if (symbol === undefined) throw new AvroParseError(`enum symbol: null name in ${name.full}`)
      this.#validName(symbol, 'enum symbol')
      if (symbols.includes(symbol)) throw new AvroParseError(`duplicate enum symbol: ${symbol}`)
      symbols.push(symbol)
    }
    const def = textOf(node.entries.get('default'))
    if (def !== undefined && !symbols.includes(def)) {
      throw new AvroParseError(`the enum default: ${def} is not in the enum symbol set: [${symbols.join(', ')}]`)
    }
    const doc = textOf(node.entries.get('doc'))
    return this.#define(
      {
        kind: 'enum',
        name: name.name,
        fullName: name.full,
        aliases: this.#aliases(node, name.space, true),
        symbols,
        ...(def !== undefined ? { default: def } : {}),
        ...(doc !== undefined ? { doc } : {}),
      },
      node,
    )
  }

  #fixed(node: Extract<JsonNode, { kind: 'object' }>, space: string | undefined): NamedAvroNode {
    const name = this.#name(node, space)
    const sizeNode = node.entries.get('size')
    if (sizeNode?.kind !== 'number' || !fitsIn(sizeNode.raw, INT_MIN, INT_MAX)) {
      throw new AvroParseError(`invalid or no size: ${preview(node)}`)
    }
    const size = Number(sizeNode.raw)
    if (size < 0 || size > MAX_FIXED_SIZE) throw new AvroParseError(`invalid fixed size ${size} for ${name.full}`)
    const logicalType = textOf(node.entries.get('logicalType'))
    const doc = textOf(node.entries.get('doc'))
    return this.#define(
      {
        kind: 'fixed',
        name: name.name,
        fullName: name.full,
        aliases: this.#aliases(node, name.space, true),
        size,
        ...(logicalType ? { logicalType } : {}),
        ...(doc !== undefined ? { doc } : {}),
      },
      node,
    )
  }

  /** Replaces every name used before its definition by the definition, or fails on names never defined. */
  #resolve(root: Building): AvroNode {
    const seen = new Set<AvroNode>()
    const lookup = (b: Building): AvroNode => {
      if (b.kind !== 'unresolved') return b
      const found = this.named.get(b.fullName)
      if (!found) throw new AvroParseError(`undefined name: ${b.fullName}`)
      return found
    }
    const visit = (node: AvroNode) => {
      if (seen.has(node)) return
      seen.add(node)
      switch (node.kind) {
        case 'record':
          for (const f of node.fields) {
            f.type = lookup(f.type)
            visit(f.type)
          }
          return
        case 'array':
          node.items = lookup(node.items)
          visit(node.items)
          return
        case 'map':
          node.values = lookup(node.values)
          visit(node.values)
          return
        case 'union':
          node.types = node.types.map(lookup)
          for (const t of node.types) visit(t)
          return
        default:
          return
      }
    }
    const resolved = lookup(root)
    visit(resolved)
    return resolved
  }

  /** Java refuses two branches of one union with the same type (same name for named types). */
  #checkUnions(root: AvroNode): void {
    walk(root, (node) => {
      if (node.kind !== 'union') return
      const keys = new Set<string>()
      for (const t of node.types) {
        const key = t.kind === 'primitive' ? t.type : 'fullName' in t ? t.fullName : t.kind
        if (keys.has(key)) throw new AvroParseError(`duplicate in union: ${key}`)
        keys.add(key)
      }
    })
  }

  /** What Confluent still checks on stored schemas: names, field names and symbols are Unicode identifiers. */
  #checkUnicodeNames(root: AvroNode): void {
    walk(root, (node) => {
      if (node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed') {
        checkName(node.name, UNICODE_NAME, 'name')
      }
      if (node.kind === 'record') for (const f of node.fields) checkName(f.name, UNICODE_NAME, 'field name')
      if (node.kind === 'enum') for (const s of node.symbols) checkName(s, UNICODE_NAME, 'enum symbol')
    })
  }
}

const definitionKey = new WeakMap<AvroNode, string>()

/** Java's Schema.equals ignores docs, aliases and key order when a name is defined twice. */
function definitionKeyOf(value: PlainJson): string {
  const strip = (v: PlainJson): PlainJson => {
    if (Array.isArray(v)) return v.map(strip)
    if (v === null || typeof v !== 'object') return v
    const out: { [key: string]: PlainJson } = {}
    for (const k of Object.keys(v).sort()) if (k !== 'doc' && k !== 'aliases') out[k] = strip(v[k])
    return out
  }
  return JSON.stringify(strip(value))
}

/** Visits every node reachable from `root` once. */
export function walk(root: AvroNode, visit: (node: AvroNode) => void): void {
  const seen = new Set<AvroNode>()
  const go = (node: AvroNode) => {
    if (seen.has(node)) return
    seen.add(node)
    visit(node)
    if (node.kind === 'record') for (const f of node.fields) go(f.type)
    else if (node.kind === 'array') go(node.items)
    else if (node.kind === 'map') go(node.values)
    else if (node.kind === 'union') for (const t of node.types) go(t)
  }
  go(root)
}

function plainDefault(node: JsonNode): PlainJson {
  if (node.kind === 'number' && (node.raw === 'NaN' || node.raw.endsWith('Infinity'))) return Number(node.raw)
  return toPlain(node)
}

export function describeType(node: AvroNode): string {
  if (node.kind === 'primitive') return node.type
  if ('fullName' in node) return node.fullName
  if (node.kind === 'union') return `[${node.types.map(describeType).join(',')}]`
  return node.kind
}

/**
 * Java's `Schema.isValidDefault` (1.12): a union default may match any branch; enum and fixed defaults need only be
 * strings. A record not yet defined when its field is read counts as a record with no fields.
 */
export function isValidDefault(type: AvroNode | Unresolved, value: JsonNode | undefined): boolean {
  if (value === undefined) return false
  switch (type.kind) {
    case 'unresolved':
      return value.kind === 'object'
    case 'primitive':
      switch (type.type) {
        case 'string':
        case 'bytes':
          return value.kind === 'string'
        case 'int':
          return value.kind === 'number' && fitsIn(value.raw, INT_MIN, INT_MAX)
        case 'long':
          return value.kind === 'number' && fitsIn(value.raw, LONG_MIN, LONG_MAX)
        case 'float':
        case 'double':
          return value.kind === 'number'
        case 'boolean':
          return value.kind === 'boolean'
        case 'null':
          return value.kind === 'null'
      }
      return false
    case 'enum':
    case 'fixed':
      return value.kind === 'string'
    case 'array':
      return value.kind === 'array' && value.items.every((v) => isValidDefault(type.items, v))
    case 'map':
      return value.kind === 'object' && [...value.entries.values()].every((v) => isValidDefault(type.values, v))
    case 'union':
      return type.types.some((t) => isValidDefault(t, value))
    case 'record':
      return (
        value.kind === 'object' &&
        type.fields.every((f) => isValidDefault(f.type, value.entries.get(f.name) ?? f.defaultNode))
      )
  }
}
