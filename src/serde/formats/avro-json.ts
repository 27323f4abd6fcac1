import { type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser'

/**
 * The JSON that Avro's Java parser reads: Jackson with comments allowed and nothing else relaxed. Numbers keep
 * their literal text, because Avro's rules tell `1` (an integral number, valid as an `int` default) from `1.0` or
 * `1e0` (not integral), and because `long` defaults may exceed a double's precision.
 */
export type JsonNode =
  | { kind: 'object'; entries: Map<string, JsonNode> }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }

export type PlainJson = null | boolean | number | string | PlainJson[] | { [key: string]: PlainJson }

function convert(node: Node, text: string): JsonNode {
  switch (node.type) {
    case 'object': {
      const entries = new Map<string, JsonNode>()
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? []
        // Jackson keeps the last of duplicate keys.
        if (key && value) entries.set(key.value as string, convert(value, text))
      }
      return { kind: 'object', entries }
    }
    case 'array':
      return { kind: 'array', items: (node.children ?? []).map((c) => convert(c, text)) }
    case 'string':
      return { kind: 'string', value: node.value as string }
    case 'number':
      return { kind: 'number', raw: text.slice(node.offset, node.offset + node.length) }
    case 'boolean':
      return { kind: 'boolean', value: node.value as boolean }
    default:
      return { kind: 'null' }
  }
}

/** Parses JSON with `//` and `/* *\/` comments; anything else that is not strict JSON is an error. */
export function readJson(text: string): JsonNode {
  const errors: ParseError[] = []
  const tree = parseTree(text, errors, { disallowComments: false, allowTrailingComma: false, allowEmptyContent: false })
  if (errors.length > 0 || !tree) {
    const first = errors[0]
    const where = first ? ` at offset ${first.offset}` : ''
    throw new Error(`not valid JSON (${first ? printParseErrorCode(first.error) : 'empty'}${where})`)
  }
  return convert(tree, text)
}

/** Jackson's `isIntegralNumber`: a literal without fraction or exponent. */
export const isIntegral = (raw: string) => /^-?\d+$/.test(raw)

export function toPlain(node: JsonNode): PlainJson {
  switch (node.kind) {
    case 'object': {
      const out: { [key: string]: PlainJson } = {}
      for (const [k, v] of node.entries) out[k] = toPlain(v)
      return out
    }
    case 'array':
      return node.items.map(toPlain)
    case 'number':
      return Number(node.raw)
    case 'null':
      return null
    default:
      return node.value
  }
}

/** Compact JSON text that keeps each number exactly as it was written. */
export function writeJson(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${[...node.entries].map(([k, v]) => `${JSON.stringify(k)}:${writeJson(v)}`).join(',')}}`
    case 'array':
      return `[${node.items.map(writeJson).join(',')}]`
    case 'number':
      return node.raw
    case 'null':
      return 'null'
    default:
      return JSON.stringify(node.value)
  }
}

export const textOf = (node: JsonNode | undefined): string | undefined =>
  node?.kind === 'string' ? node.value : undefined

/** Short form of a node for error messages. */
export function preview(node: JsonNode, max = 120): string {
  const text = writeJson(node)
  return text.length > max ? `${text.slice(0, max)}…` : text
}
