import protobuf from 'protobufjs'
import type { SchemaInput } from '../schema-types.ts'
import {
  InvalidSchemaError,
  invalidSchema,
  type ParsedSchema,
  type ResolvedReference,
  type SchemaFormat,
} from './format.ts'
import { checkProtobuf } from './protobuf-diff.ts'

export interface ProtobufModel {
  root: protobuf.Root
  package: string
  syntax: string
  /** Message types declared in this file (not in references), depth-first in declaration order. */
  messages: protobuf.Type[]
  /** Message full name (without leading dot) → Confluent message-index path. */
  indexes: Map<string, number[]>
  /** Top-level messages and enums of this file, in declaration order, as resolved in `root`. */
  topLevel: (protobuf.Type | protobuf.Enum)[]
  /**
   * Every message and enum known to this schema (its file, its references, imported well-known types) by full
   * name without the leading dot: the package of the file that declares it and where that file comes from
   * (`''` for this file, `subject@version` for a reference).
   */
  typeOrigins: Map<string, { package: string; origin: string }>
}

const PARSE_OPTIONS = { keepCase: true }

function loadImport(root: protobuf.Root, name: string): void {
  const common = protobuf.common.get(name) as { nested?: protobuf.INamespace['nested'] } | null
  if (common?.nested) root.addJSON(common.nested)
}

function fileMessages(
  ns: protobuf.NamespaceBase,
  prefix: number[],
  out: protobuf.Type[],
  indexes: Map<string, number[]>,
) {
  let i = 0
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) {
      const path = [...prefix, i++]
      out.push(nested)
      indexes.set(nested.fullName.replace(/^\./, ''), path)
      fileMessages(nested, path, out, indexes)
    } else if (nested instanceof protobuf.Namespace && !(nested instanceof protobuf.Enum)) {
      fileMessages(nested, prefix, out, indexes)
    }
  }
}

function compactProto(text: string): string {
  // Comments and layout do not change the schema; drop them so identical definitions compare equal.
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/[^\n]*/g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};=,<>()[\]])\s*/g, '$1')
    .trim()
}

/** `proto2` (also when the file says nothing), `proto3`, or `editions`. */
function syntaxOf(text: string): string {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '')
  const syntax = /\bsyntax\s*=\s*["'](proto[23])["']/.exec(code)
  if (syntax) return syntax[1]
  return /\bedition\s*=/.test(code) ? 'editions' : 'proto2'
}

export function parseProtobuf(input: SchemaInput, references: ResolvedReference[]): ParsedSchema {
  const text = input.schema
  try {
    const own = protobuf.parse(text, new protobuf.Root(), PARSE_OPTIONS)
    const root = new protobuf.Root()
    const refNames = new Set(references.map((r) => r.name))
    for (const ref of references) protobuf.parse(ref.schema, root, PARSE_OPTIONS)
    for (const imp of [...(own.imports ?? []), ...(own.weakImports ?? [])]) {
      if (!refNames.has(imp)) loadImport(root, imp)
    }
    for (const ref of references) {
      const parsed = protobuf.parse(ref.schema, new protobuf.Root(), PARSE_OPTIONS)
      for (const imp of parsed.imports ?? []) if (!refNames.has(imp)) loadImport(root, imp)
    }
    protobuf.parse(text, root, PARSE_OPTIONS)
    root.resolveAll()
    const messages: protobuf.Type[] = []
    const indexes = new Map<string, number[]>()
    const pkg = own.package ?? ''
    const ownPackage = pkg ? own.root.lookup(pkg) : own.root
    const order: protobuf.Type[] = []
    fileMessages(ownPackage as protobuf.NamespaceBase, [], order, indexes)
    for (const t of order) {
      const resolved = root.lookupType(t.fullName)
      messages.push(resolved)
    }
    const typeOrigins = new Map<string, { package: string; origin: string }>()
    const collect = (parsed: protobuf.IParserResult, origin: string) => {
      const base = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root
      const visit = (ns: protobuf.NamespaceBase) => {
        for (const nested of ns.nestedArray) {
          if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
            const name = nested.fullName.replace(/^\./, '')
            if (!typeOrigins.has(name)) typeOrigins.set(name, { package: parsed.package ?? '', origin })
          }
          if (nested instanceof protobuf.Namespace) visit(nested)
        }
      }
      if (base instanceof protobuf.Namespace) visit(base)
    }
    collect(own, '')
    for (const ref of references) {
      collect(protobuf.parse(ref.schema, new protobuf.Root(), PARSE_OPTIONS), `${ref.subject}@${ref.version}`)
    }
    // Imported well-known types (google/protobuf/*.proto) not given as references.
    const visitAll = (ns: protobuf.NamespaceBase) => {
      for (const nested of ns.nestedArray) {
        if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
          const name = nested.fullName.replace(/^\./, '')
          if (!typeOrigins.has(name)) {
            const dot = name.lastIndexOf('.')
            typeOrigins.set(name, { package: dot < 0 ? '' : name.slice(0, dot), origin: 'import' })
          }
        }
        if (nested instanceof protobuf.Namespace) visitAll(nested)
      }
    }
    visitAll(root)
    const topLevel = ((ownPackage as protobuf.NamespaceBase | null)?.nestedArray ?? [])
      .filter((n) => n instanceof protobuf.Type || n instanceof protobuf.Enum)
      .map((n) => root.lookup(n.fullName) as protobuf.Type | protobuf.Enum)
    const model: ProtobufModel = {
      root,
      package: pkg,
      syntax: syntaxOf(text),
      messages,
      indexes,
      topLevel,
      typeOrigins,
    }
    const compact = compactProto(text)
    return {
      schemaType: 'PROTOBUF',
      canonical: text.trim(),
      normalized: compact,
      normalizedSchema: text.trim(),
      references: input.references,
      model,
    }
  } catch (error) {
    if (error instanceof InvalidSchemaError) throw error
    throw invalidSchema((error as Error).message)
  }
}

export { checkProtobuf }

export const protobufFormat: SchemaFormat = {
  type: 'PROTOBUF',
  parse: parseProtobuf,
  check: (reader, writer) => checkProtobuf(reader.model as ProtobufModel, writer.model as ProtobufModel),
}
