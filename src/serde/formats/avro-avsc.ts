import avsc from 'avsc'
import type { JsonNode, PlainJson } from './avro-json.ts'
import { type AvroField, type AvroNode, type NamedAvroNode, PRIMITIVES } from './avro-parser.ts'

/**
 * The serdes encode and decode with avsc, which follows the Avro specification more literally than Avro's Java
 * library does. This builds, from a parsed schema, the avsc schema that reads and writes the same bytes:
 * - names are written fully qualified, each definition before its first use (Java resolves forward references);
 * - an empty union becomes a type that refuses every value (it has none, and no datum can contain one);
 * - a field default that avsc refuses (a union default matching a branch other than the first, an enum default
 *   outside the symbols, a fixed default of the wrong length) is left out: avsc then needs the field in the data;
 * - a type named like a primitive inside a namespace (`com.acme.int`, valid Avro) gets a name avsc accepts.
 */

const EMPTY_UNION = 'tributary-empty-union'

class EmptyUnionType extends avsc.types.LogicalType {
  protected override _fromValue(): never {
    throw new Error('an empty Avro union has no values')
  }
  protected override _toValue(): never {
    throw new Error('an empty Avro union has no values')
  }
  protected override _resolve(): undefined {
    return undefined
  }
}

export function avscTypeFor(root: AvroNode): avsc.Type {
  return avsc.Type.forSchema(avscSchemaFor(root) as avsc.Schema, {
    logicalTypes: { [EMPTY_UNION]: EmptyUnionType },
    registry: {},
  })
}

export function avscSchemaFor(root: AvroNode): unknown {
  const defined = new Set<NamedAvroNode>()
  const names = new Map<NamedAvroNode, string>()
  const used = new Set<string>()
  const nameOf = (n: NamedAvroNode): string => {
    let name = names.get(n)
    if (name) return name
    const dot = n.fullName.lastIndexOf('.')
    const simple = n.fullName.slice(dot + 1)
    name = n.fullName
    if (PRIMITIVES.has(simple)) {
      do {
        name = `${name}_`
      } while (used.has(name))
    }
    used.add(name)
    names.set(n, name)
    return name
  }

  const emit = (node: AvroNode): unknown => {
    switch (node.kind) {
      case 'primitive':
        return node.type
      case 'array':
        return { type: 'array', items: emit(node.items) }
      case 'map':
        return { type: 'map', values: emit(node.values) }
      case 'union':
        return node.types.length === 0 ? { type: 'null', logicalType: EMPTY_UNION } : node.types.map(emit)
      default: {
        const name = nameOf(node)
        if (defined.has(node)) return name
        defined.add(node)
        const base = { name, namespace: '', aliases: node.aliases }
        if (node.kind === 'enum') {
          return { type: 'enum', ...base, symbols: node.symbols, ...(node.default ? { default: node.default } : {}) }
        }
        if (node.kind === 'fixed') return { type: 'fixed', ...base, size: node.size }
        return { type: node.error ? 'error' : 'record', ...base, fields: node.fields.map(emitField) }
      }
    }
  }

  const emitField = (f: AvroField) => {
    const type = emit(f.type)
    const value = f.defaultNode ? specDefault(f.type, f.defaultNode, f.default) : undefined
    return {
      name: f.name,
      type,
      ...(f.aliases.length > 0 ? { aliases: f.aliases } : {}),
      ...(f.order ? { order: f.order } : {}),
      ...(value !== undefined ? { default: value.v } : {}),
    }
  }

  return emit(root)
}

/** avsc reads bytes and fixed defaults one char per byte. */
const isLatin1 = (s: string) => [...s].every((c) => c.charCodeAt(0) <= 0xff)
const fitsSafe = (raw: string) => /^-?\d+$/.test(raw) && Number.isSafeInteger(Number(raw))

/** The default as the specification (and avsc) reads it: a union default belongs to the first branch. */
function specDefault(type: AvroNode, node: JsonNode, plain?: PlainJson): { v: unknown } | undefined {
  switch (type.kind) {
    case 'primitive':
      switch (type.type) {
        case 'null':
          return node.kind === 'null' ? { v: null } : undefined
        case 'boolean':
          return node.kind === 'boolean' ? { v: node.value } : undefined
        case 'int':
          return node.kind === 'number' && fitsSafe(node.raw) && Number(node.raw) === (Number(node.raw) | 0)
            ? { v: Number(node.raw) }
            : undefined
        case 'long':
          return node.kind === 'number' && fitsSafe(node.raw) ? { v: Number(node.raw) } : undefined
        case 'float':
        case 'double':
          return node.kind === 'number' ? { v: typeof plain === 'number' ? plain : Number(node.raw) } : undefined
        case 'bytes':
        case 'string':
          return node.kind === 'string' ? { v: node.value } : undefined
      }
      return undefined
    case 'enum':
      return node.kind === 'string' && type.symbols.includes(node.value) ? { v: node.value } : undefined
    case 'fixed':
      return node.kind === 'string' && node.value.length === type.size && isLatin1(node.value)
        ? { v: node.value }
        : undefined
    case 'array': {
      if (node.kind !== 'array') return undefined
      const items = node.items.map((i) => specDefault(type.items, i))
      return items.every((i) => i !== undefined) ? { v: items.map((i) => i!.v) } : undefined
    }
    case 'map': {
      if (node.kind !== 'object') return undefined
      const out: Record<string, unknown> = {}
      for (const [k, v] of node.entries) {
        const d = specDefault(type.values, v)
        if (!d) return undefined
        out[k] = d.v
      }
      return { v: out }
    }
    case 'union':
      return type.types.length > 0 ? specDefault(type.types[0], node) : undefined
    case 'record': {
      if (node.kind !== 'object') return undefined
      const out: Record<string, unknown> = {}
      for (const f of type.fields) {
        const given = node.entries.get(f.name) ?? f.defaultNode
        if (!given) return undefined
        const d = specDefault(f.type, given)
        if (!d) return undefined
        out[f.name] = d.v
      }
      return { v: out }
    }
  }
}
