import protobuf from 'protobufjs'
import type { Incompatibility } from './format.ts'
import type { ProtobufModel } from './protobuf.ts'

/**
 * Confluent's Protobuf compatibility rules (its Protobuf `SchemaDiff`), written from the rules and documented in
 * docs/registry/schema-evolution.md: messages match by name within their scope, fields by number wherever they sit
 * (top level or in a oneof), types by what they resolve to, so `Foo` and `pkg.Foo` are the same type.
 */

export const COMPATIBLE_CHANGES: ReadonlySet<string> = new Set([
  'MESSAGE_ADDED',
  'MESSAGE_MOVED',
  'ENUM_ADDED',
  'ENUM_REMOVED',
  'ENUM_CONST_ADDED',
  'ENUM_CONST_CHANGED',
  'ENUM_CONST_REMOVED',
  'FIELD_ADDED',
  'FIELD_REMOVED',
  'FIELD_NAME_CHANGED',
  'FIELD_STRING_OR_BYTES_LABEL_CHANGED',
  'ONEOF_ADDED',
  'ONEOF_REMOVED',
  'ONEOF_FIELD_ADDED',
  'ONEOF_FIELD_MOVED_TO_TOP_LEVEL',
])

export interface Difference {
  type: string
  path: string
}

type Label = 'optional' | 'required' | 'repeated' | undefined
type Kind = 'SCALAR' | 'MESSAGE' | 'MAP'
type ScalarKind = 'GENERAL_NUMBER' | 'SIGNED_NUMBER' | 'STRING_OR_BYTES' | 'FIXED32' | 'FIXED64' | 'FLOAT' | 'DOUBLE'

// Scalars that share a wire encoding (protobuf language guide, "Updating A Message Type"); enums count as numbers.
const SCALAR_KINDS: Record<string, ScalarKind> = {
  int32: 'GENERAL_NUMBER',
  int64: 'GENERAL_NUMBER',
  uint32: 'GENERAL_NUMBER',
  uint64: 'GENERAL_NUMBER',
  bool: 'GENERAL_NUMBER',
  sint32: 'SIGNED_NUMBER',
  sint64: 'SIGNED_NUMBER',
  string: 'STRING_OR_BYTES',
  bytes: 'STRING_OR_BYTES',
  fixed32: 'FIXED32',
  sfixed32: 'FIXED32',
  fixed64: 'FIXED64',
  sfixed64: 'FIXED64',
  float: 'FLOAT',
  double: 'DOUBLE',
}

/** One side of a comparison: its model, and whether it is the original (writer) or the update (reader). */
interface Side {
  model: ProtobufModel
}

/** A field's type: a scalar name, or a resolved message/enum. */
interface FieldType {
  name: string
  resolved?: protobuf.Type | protobuf.Enum | null
}

class Ctx {
  readonly diffs: Difference[] = []
  constructor(
    readonly original: Side,
    readonly update: Side,
    readonly path: string[] = [],
    readonly inProgress: Set<string> = new Set(),
  ) {}

  sub(path: string[]): Ctx {
    return new Ctx(this.original, this.update, path, this.inProgress)
  }

  add(type: string, ...more: string[]): void {
    this.diffs.push({ type, path: `#/${[...this.path, ...more].join('/')}` })
  }

  in<T>(segments: string[], body: () => T): T {
    this.path.push(...segments)
    try {
      return body()
    } finally {
      this.path.length -= segments.length
    }
  }

  compatible(): boolean {
    return this.diffs.every((d) => COMPATIBLE_CHANGES.has(d.type))
  }
}

const fullName = (t: protobuf.ReflectionObject) => t.fullName.replace(/^\./, '')

/** The label as written in the .proto file (proto3 fields without one have none). */
function labelOf(field: protobuf.Field, syntax: string): Label {
  if (field.repeated) return 'repeated'
  if (field.required) return 'required'
  if (field instanceof protobuf.MapField) return undefined
  if (field.options?.proto3_optional) return 'optional'
  const inOneof = field.partOf !== null && field.partOf !== undefined
  return syntax === 'proto2' && !inOneof ? 'optional' : undefined
}

/** Real oneofs, not the ones protobufjs makes for proto3 `optional` fields. */
function oneofsOf(type: protobuf.Type): protobuf.OneOf[] {
  return type.oneofsArray.filter((o) => !o.fieldsArray.every((f) => f.options?.proto3_optional === true))
}

function oneofOf(field: protobuf.Field): string | undefined {
  const o = field.partOf
  if (!o || o.fieldsArray.every((f) => f.options?.proto3_optional === true)) return undefined
  return o.name
}

export function diffProtobuf(original: ProtobufModel, update: ProtobufModel): Difference[] {
  const ctx = new Ctx({ model: original }, { model: update })
  if (original.package !== update.package) ctx.add('PACKAGE_CHANGED')
  compareTypes(ctx, original.topLevel, update.topLevel)
  return ctx.diffs
}

/** The incompatible differences from `writer` (the older schema) to `reader`, as the registry reports them. */
export function checkProtobuf(reader: ProtobufModel, writer: ProtobufModel): Incompatibility[] {
  return diffProtobuf(writer, reader)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map((d) => ({ type: d.type, path: d.path, message: describe(d) }))
}

function compareTypes(
  ctx: Ctx,
  original: readonly protobuf.ReflectionObject[],
  update: readonly protobuf.ReflectionObject[],
): void {
  const index = (types: readonly protobuf.ReflectionObject[]) => {
    const messages = new Map<string, { type: protobuf.Type; index: number }>()
    const enums = new Map<string, protobuf.Enum>()
    let i = 0
    for (const t of types) {
      if (t instanceof protobuf.Type) messages.set(t.name, { type: t, index: i++ })
      else if (t instanceof protobuf.Enum) enums.set(t.name, t)
    }
    return { messages, enums }
  }
  const o = index(original)
  const u = index(update)
  for (const name of new Set([...o.messages.keys(), ...u.messages.keys()])) {
    ctx.in([name], () => {
      const om = o.messages.get(name)
      const um = u.messages.get(name)
      if (!um) {
        ctx.add('MESSAGE_REMOVED')
        return
      }
      if (!om) {
        ctx.add('MESSAGE_ADDED')
        return
      }
      compareMessages(ctx, om.type, um.type)
      if (om.index !== um.index) ctx.add('MESSAGE_MOVED')
    })
  }
  for (const name of new Set([...o.enums.keys(), ...u.enums.keys()])) {
    ctx.in([name], () => {
      const oe = o.enums.get(name)
      const ue = u.enums.get(name)
      if (!ue) {
        ctx.add('ENUM_REMOVED')
        return
      }
      if (!oe) {
        ctx.add('ENUM_ADDED')
        return
      }
      // Enum constants may be added, renamed or removed: every enum change is compatible.
      for (const [constName, value] of Object.entries(ue.values)) {
        const before = Object.entries(oe.values).find(([, v]) => v === value)
        if (!before) ctx.add('ENUM_CONST_ADDED', String(value))
        else if (before[0] !== constName) ctx.add('ENUM_CONST_CHANGED', String(value))
      }
      for (const value of Object.values(oe.values)) {
        if (!Object.values(ue.values).includes(value)) ctx.add('ENUM_CONST_REMOVED', String(value))
      }
    })
  }
}

function compareMessages(ctx: Ctx, original: protobuf.Type, update: protobuf.Type): void {
  const key = `${original.fullName}|${update.fullName}|${ctx.path.join('/')}`
  if (!ctx.inProgress.has(key)) {
    ctx.inProgress.add(key)
    try {
      compareFields(ctx, original, update)
    } finally {
      ctx.inProgress.delete(key)
    }
  }
  compareTypes(ctx, original.nestedArray, update.nestedArray)
}

function compareFields(ctx: Ctx, original: protobuf.Type, update: protobuf.Type): void {
  const oByTag = new Map(original.fieldsArray.map((f) => [f.id, f]))
  const uByTag = new Map(update.fieldsArray.map((f) => [f.id, f]))
  const oOneofs = new Map(oneofsOf(original).map((o) => [o.name, o]))
  const uOneofs = new Map(oneofsOf(update).map((o) => [o.name, o]))

  // A oneof gone with every member gone is a whole deletion: compatible, its members are not reported.
  const deleted = new Set(
    [...oOneofs.values()]
      .filter((o) => !uOneofs.has(o.name) && o.fieldsArray.every((f) => !uByTag.has(f.id)))
      .map((o) => o.name),
  )

  // Fields that used to be independent and now share a oneof can no longer all be set: previously written data
  // may hold several of them.
  for (const oneof of uOneofs.values()) {
    ctx.in([oneof.name], () => {
      const origins = new Set<string>()
      let movedFromTopLevel = 0
      for (const f of oneof.fieldsArray) {
        const before = oByTag.get(f.id)
        if (!before) continue
        const was = oneofOf(before)
        if (was) origins.add(`oneof:${was}`)
        else {
          origins.add(`field:${f.id}`)
          movedFromTopLevel++
        }
      }
      if (origins.size > 1)
        ctx.add(movedFromTopLevel > 1 ? 'MULTIPLE_FIELDS_MOVED_TO_ONEOF' : 'FIELD_MOVED_TO_EXISTING_ONEOF')
    })
  }

  for (const name of [...new Set([...oOneofs.keys(), ...uOneofs.keys()])].sort()) {
    if (!uOneofs.has(name)) ctx.add('ONEOF_REMOVED', name)
    else if (!oOneofs.has(name)) ctx.add('ONEOF_ADDED', name)
  }

  const oSyntax = ctx.original.model.syntax
  const uSyntax = ctx.update.model.syntax
  for (const tag of [...new Set([...oByTag.keys(), ...uByTag.keys()])].sort((a, b) => a - b)) {
    const of = oByTag.get(tag)
    const uf = uByTag.get(tag)
    const oOneof = of ? oneofOf(of) : undefined
    const uOneof = uf ? oneofOf(uf) : undefined
    if (!uf) {
      if (oOneof) {
        if (!deleted.has(oOneof)) ctx.add('ONEOF_FIELD_REMOVED', oOneof, String(tag))
      } else ctx.add(labelOf(of!, oSyntax) === 'required' ? 'REQUIRED_FIELD_REMOVED' : 'FIELD_REMOVED', String(tag))
      continue
    }
    if (!of) {
      if (uOneof) ctx.add('ONEOF_FIELD_ADDED', uOneof, String(tag))
      else ctx.add(labelOf(uf, uSyntax) === 'required' ? 'REQUIRED_FIELD_ADDED' : 'FIELD_ADDED', String(tag))
      continue
    }
    if (oOneof && !uOneof) ctx.add('ONEOF_FIELD_MOVED_TO_TOP_LEVEL', String(tag))
    ctx.in(uOneof ? [uOneof, String(tag)] : [String(tag)], () => compareField(ctx, of, uf))
  }
}

function compareField(ctx: Ctx, original: protobuf.Field, update: protobuf.Field): void {
  if (original.name !== update.name) ctx.add('FIELD_NAME_CHANGED')
  const label = (f: protobuf.Field, side: Side) => labelOf(f, side.model.syntax)
  if (original instanceof protobuf.MapField || update instanceof protobuf.MapField) {
    if (!(original instanceof protobuf.MapField && update instanceof protobuf.MapField)) {
      ctx.add('FIELD_KIND_CHANGED')
      return
    }
    // Keys and values are compared like fields without labels.
    compareTypesOf(ctx, undefined, undefined, { name: original.keyType }, { name: update.keyType })
    compareTypesOf(ctx, undefined, undefined, fieldType(original), fieldType(update))
    return
  }
  compareTypesOf(ctx, label(original, ctx.original), label(update, ctx.update), fieldType(original), fieldType(update))
}

const fieldType = (f: protobuf.Field): FieldType => ({ name: f.type, resolved: f.resolvedType })

function kindOf(t: FieldType): Kind {
  if (SCALAR_KINDS[t.name]) return 'SCALAR'
  return t.resolved instanceof protobuf.Enum ? 'SCALAR' : 'MESSAGE'
}

const scalarKindOf = (t: FieldType): ScalarKind =>
  t.resolved instanceof protobuf.Enum ? 'GENERAL_NUMBER' : SCALAR_KINDS[t.name]

function compareTypesOf(ctx: Ctx, oLabel: Label, uLabel: Label, o: FieldType, u: FieldType): void {
  const ok = kindOf(o)
  const uk = kindOf(u)
  if (ok !== uk) {
    ctx.add('FIELD_KIND_CHANGED')
    return
  }
  if (ok === 'SCALAR') {
    const os = scalarKindOf(o)
    if (os !== scalarKindOf(u)) {
      ctx.add('FIELD_SCALAR_KIND_CHANGED')
      return
    }
    // proto3 fields written without a label have none, so singular ↔ repeated is only seen with explicit labels.
    if (oLabel && uLabel && oLabel !== uLabel) {
      ctx.add(os === 'STRING_OR_BYTES' ? 'FIELD_STRING_OR_BYTES_LABEL_CHANGED' : 'FIELD_NUMERIC_LABEL_CHANGED')
    }
    return
  }
  compareMessageTypes(ctx, o, u)
}

function compareMessageTypes(ctx: Ctx, o: FieldType, u: FieldType): void {
  const ot = o.resolved
  const ut = u.resolved
  if (!(ot instanceof protobuf.Type) || !(ut instanceof protobuf.Type)) {
    if (o.name !== u.name) ctx.add('FIELD_NAMED_TYPE_CHANGED')
    return
  }
  const oName = fullName(ot)
  const uName = fullName(ut)
  const oOrigin = ctx.original.model.typeOrigins.get(oName)
  const uOrigin = ctx.update.model.typeOrigins.get(uName)
  const local = (name: string, pkg: string | undefined) =>
    pkg && name.startsWith(`${pkg}.`) ? name.slice(pkg.length + 1) : name
  const oLocal = local(oName, oOrigin?.package)
  const uLocal = local(uName, uOrigin?.package)
  if (oLocal !== uLocal) {
    ctx.add('FIELD_NAMED_TYPE_CHANGED')
    return
  }
  // Both declared in the compared files, or both from the same referenced version: compared where they are declared.
  if (oOrigin && uOrigin && oOrigin.origin === uOrigin.origin) return
  const sub = ctx.sub(oLocal.split('.'))
  compareMessages(sub, ot, ut)
  ctx.diffs.push(...sub.diffs)
  if (!sub.compatible()) ctx.add('FIELD_NAMED_TYPE_CHANGED')
}

function describe(d: Difference): string {
  const at = `at '${d.path}'`
  switch (d.type) {
    case 'PACKAGE_CHANGED':
      return `the package changed ${at}`
    case 'MESSAGE_REMOVED':
      return `message ${at} was removed`
    case 'FIELD_KIND_CHANGED':
      return `the field ${at} changed between scalar, message and map`
    case 'FIELD_SCALAR_KIND_CHANGED':
      return `the field ${at} changed to a scalar type with another wire encoding`
    case 'FIELD_NAMED_TYPE_CHANGED':
      return `the message type of the field ${at} changed`
    case 'FIELD_NUMERIC_LABEL_CHANGED':
      return `the numeric field ${at} changed its label (optional, required, repeated)`
    case 'REQUIRED_FIELD_ADDED':
      return `a required field was added ${at}`
    case 'REQUIRED_FIELD_REMOVED':
      return `a required field was removed ${at}`
    case 'ONEOF_FIELD_REMOVED':
      return `a field was removed from the oneof ${at} while the oneof stays`
    case 'MULTIPLE_FIELDS_MOVED_TO_ONEOF':
      return `several existing fields were moved into the oneof ${at}`
    case 'FIELD_MOVED_TO_EXISTING_ONEOF':
      return `fields that could be set together before were put into one oneof ${at}`
    default:
      return `${d.type.toLowerCase().replace(/_/g, ' ')} ${at}`
  }
}
