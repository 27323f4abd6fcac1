import protobuf from 'protobufjs'
import { invalidSchema } from '../errors.ts'
import type { Incompatibility, SchemaInput } from '../types.ts'
import type { ParsedSchema, ResolvedReference, SchemaFormat } from './format.ts'

export interface ProtobufModel {
  root: protobuf.Root
  package: string
  syntax: string
  /** Message types declared in this file (not in references), depth-first in declaration order. */
  messages: protobuf.Type[]
  /** Message full name (without leading dot) → Confluent message-index path. */
  indexes: Map<string, number[]>
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
    const model: ProtobufModel = {
      root,
      package: pkg,
      syntax: (own as { syntax?: string }).syntax ?? 'proto2',
      messages,
      indexes,
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
    if ((error as { code?: string }).code === 'TRB_REGISTRY_INVALID_SCHEMA') throw error
    throw invalidSchema((error as Error).message)
  }
}

// Scalar types that share a wire encoding and so can replace each other (protobuf language guide, "Updating").
const WIRE_GROUPS = [
  ['int32', 'uint32', 'int64', 'uint64', 'bool'],
  ['sint32', 'sint64'],
  ['fixed32', 'sfixed32'],
  ['fixed64', 'sfixed64'],
  ['string', 'bytes'],
]
const VARINT = WIRE_GROUPS[0]
const LENGTH_DELIMITED = new Set(['string', 'bytes'])
const SCALARS = new Set([...WIRE_GROUPS.flat(), 'double', 'float'])

type Kind = 'scalar' | 'message' | 'enum' | 'map'
function kindOf(field: protobuf.Field): Kind {
  if (field instanceof protobuf.MapField) return 'map'
  if (SCALARS.has(field.type)) return 'scalar'
  return field.resolvedType instanceof protobuf.Enum ? 'enum' : 'message'
}

function localName(fullName: string, pkg: string): string {
  const n = fullName.replace(/^\./, '')
  return pkg && n.startsWith(`${pkg}.`) ? n.slice(pkg.length + 1) : n
}

/**
 * Confluent's Protobuf rules, wire-level: fields are matched by number; renames, added or removed optional fields,
 * enum changes and added messages are compatible; removed messages, changed field kinds or wire types, required
 * field changes and oneof restructuring are not.
 */
export function checkProtobuf(reader: ProtobufModel, writer: ProtobufModel): Incompatibility[] {
  const out: Incompatibility[] = []
  if (reader.package !== writer.package) {
    out.push({
      type: 'PACKAGE_CHANGED',
      path: '#/package',
      message: `package changed from '${writer.package}' to '${reader.package}'`,
    })
  }
  const readerByName = new Map(reader.messages.map((m) => [localName(m.fullName, reader.package), m]))
  for (const wm of writer.messages) {
    const name = localName(wm.fullName, writer.package)
    const path = `#/${name}`
    const rm = readerByName.get(name)
    if (!rm) {
      out.push({ type: 'MESSAGE_REMOVED', path, message: `message '${name}' removed` })
      continue
    }
    const readerFields = new Map(rm.fieldsArray.map((f) => [f.id, f]))
    const writerFields = new Map(wm.fieldsArray.map((f) => [f.id, f]))
    for (const wf of wm.fieldsArray) {
      const fp = `${path}/${wf.id}`
      const rf = readerFields.get(wf.id)
      if (!rf) {
        if (wf.required)
          out.push({ type: 'REQUIRED_FIELD_REMOVED', path: fp, message: `required field '${wf.name}' removed` })
        else if (wf.partOf && wf.partOf.oneof.length > 0 && !wf.partOf.name.startsWith('_')) {
          out.push({
            type: 'ONEOF_FIELD_REMOVED',
            path: fp,
            message: `field '${wf.name}' removed from oneof '${wf.partOf.name}'`,
          })
        }
        continue
      }
      const wk = kindOf(wf)
      const rk = kindOf(rf)
      if (wk !== rk) {
        const enumVarint =
          (wk === 'enum' && rk === 'scalar' && VARINT.includes(rf.type)) ||
          (rk === 'enum' && wk === 'scalar' && VARINT.includes(wf.type))
        if (!enumVarint) {
          out.push({ type: 'FIELD_KIND_CHANGED', path: fp, message: `field '${wf.name}' changed from ${wk} to ${rk}` })
          continue
        }
      } else if (wk === 'scalar' && wf.type !== rf.type) {
        if (!WIRE_GROUPS.some((g) => g.includes(wf.type) && g.includes(rf.type))) {
          out.push({
            type: 'FIELD_SCALAR_KIND_CHANGED',
            path: fp,
            message: `field '${wf.name}' changed from ${wf.type} to ${rf.type}, which are not wire-compatible`,
          })
        }
      } else if ((wk === 'message' || wk === 'enum') && wf.resolvedType && rf.resolvedType) {
        const wn = localName(wf.resolvedType.fullName, writer.package)
        const rn = localName(rf.resolvedType.fullName, reader.package)
        if (wn !== rn) {
          out.push({
            type: 'FIELD_NAMED_TYPE_CHANGED',
            path: fp,
            message: `field '${wf.name}' changed type from ${wn} to ${rn}`,
          })
        }
      } else if (wk === 'map') {
        const wmf = wf as unknown as protobuf.MapField
        const rmf = rf as unknown as protobuf.MapField
        if (wmf.keyType !== rmf.keyType || wmf.type !== rmf.type) {
          out.push({
            type: 'FIELD_KIND_CHANGED',
            path: fp,
            message: `map field '${wf.name}' changed its key or value type`,
          })
        }
      }
      if (!wf.required && rf.required) {
        out.push({ type: 'REQUIRED_FIELD_ADDED', path: fp, message: `field '${wf.name}' became required` })
      }
      if (wf.repeated !== rf.repeated && wk !== 'map') {
        const lengthDelimited = wk === 'message' || LENGTH_DELIMITED.has(wf.type)
        if (!lengthDelimited) {
          out.push({
            type: 'FIELD_LABEL_CHANGED',
            path: fp,
            message: `field '${wf.name}' changed between singular and repeated`,
          })
        }
      }
      const wOneof = wf.partOf && !wf.partOf.name.startsWith('_') ? wf.partOf.name : undefined
      const rOneof = rf.partOf && !rf.partOf.name.startsWith('_') ? rf.partOf.name : undefined
      if (!wOneof && rOneof) {
        const oneof = rm.oneofs?.[rOneof]
        const existedBefore = wm.oneofs?.[rOneof] !== undefined
        const movedIn = (oneof?.fieldsArray ?? []).filter((f) => {
          const before = writerFields.get(f.id)
          return before !== undefined && !(before.partOf && !before.partOf.name.startsWith('_'))
        })
        if (existedBefore) {
          out.push({
            type: 'FIELD_MOVED_TO_EXISTING_ONEOF',
            path: fp,
            message: `field '${wf.name}' moved into existing oneof '${rOneof}'`,
          })
        } else if (movedIn.length > 1 && movedIn[0].id === wf.id) {
          out.push({
            type: 'MULTIPLE_FIELDS_MOVED_TO_ONEOF',
            path: `${path}/${rOneof}`,
            message: `several existing fields moved into oneof '${rOneof}'`,
          })
        }
      }
    }
    for (const rf of rm.fieldsArray) {
      if (!writerFields.has(rf.id) && rf.required) {
        out.push({
          type: 'REQUIRED_FIELD_ADDED',
          path: `${path}/${rf.id}`,
          message: `required field '${rf.name}' added`,
        })
      }
    }
  }
  return out
}

export const protobufFormat: SchemaFormat = {
  type: 'PROTOBUF',
  parse: parseProtobuf,
  check: (reader, writer) => checkProtobuf(reader.model as ProtobufModel, writer.model as ProtobufModel),
}
