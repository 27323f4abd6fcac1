import protobuf from 'protobufjs'
import { TributaryError } from '../errors.ts'
import type { AvroModel, AvroNode } from '../serde/formats/avro.ts'
import { FORMATS, type ResolvedReference } from '../serde/formats/index.ts'
import type { JsonSchemaModel } from '../serde/formats/json-schema.ts'
import type { ProtobufModel } from '../serde/formats/protobuf.ts'
import type { SchemaVersion } from './types.ts'

export interface CodegenInput {
  version: SchemaVersion
  references: ResolvedReference[]
}

export interface CodegenOptions {
  /** Module the generated serde factories import from (default `tributary/registry`). */
  importFrom?: string
  /** Emit typed serde factories next to the types (default true). */
  serdes?: boolean
  /** Extension of the imports between generated modules: `.js` (default, for tsc and bundlers) or `.ts`. */
  importExtension?: '.js' | '.ts'
}

const RESERVED = new Set([
  'default',
  'class',
  'function',
  'delete',
  'new',
  'interface',
  'type',
  'enum',
  'import',
  'export',
  'extends',
  'in',
  'of',
])

function pascal(parts: string[]): string {
  const name = parts
    .flatMap((p) => p.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('')
  const safe = /^[0-9]/.test(name) ? `T${name}` : name || 'Schema'
  return RESERVED.has(safe.toLowerCase()) ? `${safe}Type` : safe
}

/** `com.acme.Order` → `Order`, `orders-value` → `OrdersValue`. */
export function typeName(raw: string): string {
  return pascal([raw.split('.').pop() ?? raw])
}

/** A subject as an identifier, every part of it kept: `com.acme.Order-value` → `ComAcmeOrderValue`. */
export function subjectIdentifier(subject: string): string {
  return pascal([subject])
}

const lowerFirst = (name: string) => `${name[0].toLowerCase()}${name.slice(1)}`
const propName = (name: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name))
const doc = (text: string | undefined, indent = '') => (text ? `${indent}/** ${text.replace(/\*\//g, '* /')} */\n` : '')

/** Names a generated module uses itself, which a schema's type must not take. */
const MODULE_NAMES = [
  'Buffer',
  'Record',
  'AvroSerde',
  'JsonSchemaSerde',
  'ProtobufSerde',
  'SchemaRegistryClient',
  'SchemaSerdeOptions',
]

/** The type declarations of one subject, each schema-level name given one TypeScript name. */
class Declarations {
  readonly order: string[] = []
  readonly bodies = new Map<string, string>()
  #used = new Map<string, string>()
  #taken = new Set(MODULE_NAMES)

  /**
   * A unique TypeScript name for a schema-level full name: the last part of the name, else the whole name
   * (`b.Order` → `BOrder` when `a.Order` took `Order`), else a number.
   */
  nameFor(fullName: string, display = fullName): string {
    const existing = this.#used.get(fullName)
    if (existing) return existing
    const candidates = [typeName(display), pascal(display.split('.'))]
    let name = candidates.find((c) => !this.#taken.has(c))
    for (let i = 2; !name; i++) if (!this.#taken.has(`${candidates[0]}${i}`)) name = `${candidates[0]}${i}`
    this.#taken.add(name)
    this.#used.set(fullName, name)
    return name
  }

  add(name: string, body: string) {
    if (this.bodies.has(name)) return
    this.order.push(name)
    this.bodies.set(name, body)
  }

  render(): string {
    return this.order.map((n) => this.bodies.get(n)).join('\n')
  }
}

function avroType(node: AvroNode, decls: Declarations): string {
  switch (node.kind) {
    case 'primitive':
      switch (node.type) {
        case 'null':
          return 'null'
        case 'boolean':
          return 'boolean'
        case 'int':
        case 'long':
        case 'float':
        case 'double':
          return 'number'
        case 'bytes':
          return 'Buffer'
        case 'string':
          return 'string'
      }
      return 'unknown'
    case 'array':
      return `${wrap(avroType(node.items, decls))}[]`
    case 'map':
      return `Record<string, ${avroType(node.values, decls)}>`
    case 'union':
      // An empty union has no values.
      return node.types.length === 0 ? 'never' : node.types.map((t) => avroType(t, decls)).join(' | ')
    case 'fixed':
      return 'Buffer'
    case 'enum': {
      const name = decls.nameFor(node.fullName)
      decls.add(name, `export type ${name} = ${node.symbols.map((s) => JSON.stringify(s)).join(' | ')}\n`)
      return name
    }
    case 'record': {
      const name = decls.nameFor(node.fullName)
      if (decls.bodies.has(name) || inProgress.has(node)) return name
      inProgress.add(node)
      const fields = node.fields.map((f) => `${doc(f.doc, '  ')}  ${propName(f.name)}: ${avroType(f.type, decls)}`)
      inProgress.delete(node)
      decls.add(name, `${doc(node.doc)}export interface ${name} {\n${fields.join('\n')}\n}\n`)
      return name
    }
  }
}
const inProgress = new WeakSet<AvroNode>()
const wrap = (t: string) => (/[ |&]/.test(t) ? `(${t})` : t)

type Json = { [key: string]: unknown }
function jsonType(schema: unknown, root: Json, decls: Declarations, hint: string): string {
  if (schema === true || schema === undefined) return 'unknown'
  if (schema === false) return 'never'
  const s = schema as Json
  if (typeof s.$ref === 'string') {
    const ref = s.$ref
    if (ref.startsWith('#/')) {
      const parts = ref.slice(2).split('/')
      let target: unknown = root
      for (const p of parts) target = (target as Json | undefined)?.[p]
      const name = decls.nameFor(`ref:${ref}`, parts[parts.length - 1])
      if (!decls.bodies.has(name) && !refsInProgress.has(ref)) {
        refsInProgress.add(ref)
        const body = jsonType(target, root, decls, parts[parts.length - 1])
        refsInProgress.delete(ref)
        decls.add(name, `export type ${name} = ${body}\n`)
      }
      return name
    }
    return 'unknown'
  }
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  for (const kw of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[kw]))
      return (s[kw] as unknown[]).map((b, i) => wrap(jsonType(b, root, decls, `${hint}${i}`))).join(' | ')
  }
  if (Array.isArray(s.allOf))
    return (s.allOf as unknown[]).map((b, i) => wrap(jsonType(b, root, decls, `${hint}${i}`))).join(' & ')
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : undefined
  const one = (t: string): string => {
    switch (t) {
      case 'string':
        return 'string'
      case 'integer':
      case 'number':
        return 'number'
      case 'boolean':
        return 'boolean'
      case 'null':
        return 'null'
      case 'array': {
        const items = s.prefixItems ?? s.items
        if (Array.isArray(items))
          return `[${items.map((i, n) => jsonType(i, root, decls, `${hint}Item${n}`)).join(', ')}]`
        return `${wrap(jsonType(items, root, decls, `${hint}Item`))}[]`
      }
      case 'object': {
        const props = (s.properties ?? {}) as Json
        const required = new Set((s.required as string[] | undefined) ?? [])
        const lines = Object.entries(props).map(([k, v]) => {
          const d = typeof (v as Json)?.description === 'string' ? doc((v as Json).description as string, '  ') : ''
          return `${d}  ${propName(k)}${required.has(k) ? '' : '?'}: ${jsonType(v, root, decls, typeName(`${hint}-${k}`))}`
        })
        if (s.additionalProperties !== false) {
          const extra =
            s.additionalProperties === undefined || s.additionalProperties === true
              ? 'unknown'
              : jsonType(s.additionalProperties, root, decls, `${hint}Extra`)
          lines.push(`  [key: string]: ${extra}`)
        }
        return `{\n${lines.join('\n')}\n}`
      }
      default:
        return 'unknown'
    }
  }
  if (types) return types.map(one).join(' | ')
  if (s.properties) return one('object')
  return 'unknown'
}
const refsInProgress = new Set<string>()

const PROTO_SCALARS: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'string',
  uint64: 'string',
  sint64: 'string',
  fixed64: 'string',
  sfixed64: 'string',
  bool: 'boolean',
  string: 'string',
  bytes: 'Buffer',
}

function protoType(type: protobuf.Type, decls: Declarations): string {
  const name = decls.nameFor(type.fullName.replace(/^\./, ''))
  if (decls.bodies.has(name) || protoInProgress.has(type)) return name
  protoInProgress.add(type)
  const fieldType = (f: protobuf.Field): string => {
    const scalar = PROTO_SCALARS[f.type]
    if (scalar) return scalar
    const resolved = f.resolvedType
    if (resolved instanceof protobuf.Enum) {
      const enumName = decls.nameFor(resolved.fullName.replace(/^\./, ''))
      decls.add(
        enumName,
        `export type ${enumName} = ${Object.keys(resolved.values)
          .map((v) => JSON.stringify(v))
          .join(' | ')}\n`,
      )
      return enumName
    }
    if (resolved instanceof protobuf.Type) return protoType(resolved, decls)
    return 'unknown'
  }
  const lines = type.fieldsArray.map((f) => {
    let t = fieldType(f)
    if (f instanceof protobuf.MapField) t = `Record<string, ${t}>`
    else if (f.repeated) t = `${wrap(t)}[]`
    return `${doc(f.comment ?? undefined, '  ')}  ${propName(f.name)}?: ${t}`
  })
  protoInProgress.delete(type)
  decls.add(name, `${doc(type.comment ?? undefined)}export interface ${name} {\n${lines.join('\n')}\n}\n`)
  return name
}
const protoInProgress = new WeakSet<protobuf.Type>()

interface SubjectCode {
  subject: string
  identifier: string
  decls: Declarations
  serdeClass: string
  factory: string
}

function subjectCode(input: CodegenInput, identifier: string, options: CodegenOptions): SubjectCode {
  const { version: v, references } = input
  const decls = new Declarations()
  const parsed = FORMATS[v.schemaType].parse(
    { schemaType: v.schemaType, schema: v.schema, references: v.references },
    references,
  )
  let rootType: string
  let serdeClass: string
  let extra = ''
  if (v.schemaType === 'AVRO') {
    const root = (parsed.model as AvroModel).root
    rootType = avroType(root, decls)
    if (root.kind !== 'record' && root.kind !== 'enum') {
      const alias = decls.nameFor(`subject:${v.subject}`, identifier)
      decls.add(alias, `export type ${alias} = ${rootType}\n`)
      rootType = alias
    }
    serdeClass = 'AvroSerde'
  } else if (v.schemaType === 'JSON') {
    const schema = (parsed.model as JsonSchemaModel).schema
    const title = typeof schema === 'object' && typeof schema.title === 'string' ? schema.title : identifier
    const name = decls.nameFor(`json:${title}`, title)
    decls.add(name, `export type ${name} = ${jsonType(schema, schema as Json, decls, name)}\n`)
    rootType = name
    serdeClass = 'JsonSchemaSerde'
  } else {
    const model = parsed.model as ProtobufModel
    const names = model.messages.map((m) => protoType(m, decls))
    rootType = names[0] ?? 'unknown'
    serdeClass = 'ProtobufSerde'
    extra = model.messages[0] ? `, messageType: ${JSON.stringify(model.messages[0].fullName.replace(/^\./, ''))}` : ''
  }
  const constName = `${lowerFirst(identifier)}Schema`
  const factory = [
    `/** Subject ${JSON.stringify(v.subject)} version ${v.version} (schema id ${v.id}, ${v.schemaType}). */`,
    `export const ${constName} = {`,
    `  subject: ${JSON.stringify(v.subject)},`,
    `  version: ${v.version},`,
    `  id: ${v.id},`,
    `  schemaType: ${JSON.stringify(v.schemaType)} as const,`,
    `  schema: ${JSON.stringify(v.schema)},`,
    `  references: ${JSON.stringify(v.references)},`,
    '}',
    '',
    ...(options.serdes === false
      ? []
      : [
          `/** A serde for subject ${JSON.stringify(v.subject)}, typed with its schema's ${rootType}. */`,
          `export function create${identifier}Serde(registry: SchemaRegistryClient | string, options: Partial<SchemaSerdeOptions> = {}) {`,
          `  return new ${serdeClass}<${rootType}>({ registry, schema: ${constName}.schema, references: ${constName}.references, autoRegister: false${extra}, ...options })`,
          '}',
          '',
        ]),
  ].join('\n')
  return { subject: v.subject, identifier, decls, serdeClass, factory }
}

/** Identifiers for the subjects, distinct even when two subjects differ only in punctuation or case. */
function identifiers(inputs: CodegenInput[]): string[] {
  const taken = new Set<string>()
  return inputs.map(({ version }) => {
    const base = subjectIdentifier(version.subject)
    let id = base
    for (let i = 2; taken.has(id.toLowerCase()); i++) id = `${base}${i}`
    taken.add(id.toLowerCase())
    return id
  })
}

function header(serdeClasses: Iterable<string>, options: CodegenOptions, what: string): string {
  return [
    `// Generated by \`tributary registry codegen\`${what}. Do not edit: regenerate from the registry instead.`,
    '/* eslint-disable */',
    ...(options.serdes === false
      ? []
      : [
          `import { ${[...new Set(serdeClasses)].sort().join(', ')}, type SchemaRegistryClient, type SchemaSerdeOptions } from ${JSON.stringify(options.importFrom ?? 'tributary/registry')}`,
        ]),
    '',
    '',
  ].join('\n')
}

export class CodegenError extends TributaryError {}

/**
 * Everything in one module: a type per named schema type and, per subject, a typed serde factory bound to the exact
 * schema version. Two subjects may share a declaration only if it is the same; different types with one name
 * (an Avro `Order` and a Protobuf `Order`) are refused — write one module per subject (`generateModules`) instead.
 */
export function generateTypeScript(inputs: CodegenInput[], options: CodegenOptions = {}): string {
  const ids = identifiers(inputs)
  const subjects = inputs.map((input, i) => subjectCode(input, ids[i], options))
  const merged = new Declarations()
  const owner = new Map<string, string>()
  for (const s of subjects) {
    for (const name of s.decls.order) {
      const body = s.decls.bodies.get(name)!
      const before = merged.bodies.get(name)
      if (before !== undefined && before !== body) {
        throw new CodegenError(
          'TRB_CODEGEN_NAME_CONFLICT',
          `subjects ${JSON.stringify(owner.get(name))} and ${JSON.stringify(s.subject)} both declare a different type ${name}: generate one module per subject (--out-dir) instead of one file (--out)`,
        )
      }
      if (before === undefined) owner.set(name, s.subject)
      merged.add(name, body)
    }
  }
  return `${header(
    subjects.map((s) => s.serdeClass),
    options,
    '',
  )}${merged.render()}\n${subjects.map((s) => s.factory).join('\n')}`
}

export interface GeneratedModules {
  /** File name (relative to the output directory) → TypeScript source; `index.ts` re-exports every module. */
  files: Map<string, string>
  /** Per subject: its module file and the name `index.ts` exports it under. */
  modules: { subject: string; file: string; namespace: string }[]
}

/** A file name for a subject: its characters kept where file systems allow them, never `index`. */
function fileNames(inputs: CodegenInput[]): string[] {
  const taken = new Set(['index'])
  return inputs.map(({ version }) => {
    const base = version.subject.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'subject'
    let name = base
    for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}-${i}`
    taken.add(name.toLowerCase())
    return `${name}.ts`
  })
}

/**
 * One module per subject, each with its own types (so an Avro `Order` and a Protobuf `Order` never meet), and an
 * `index.ts` that re-exports each module as a namespace named after its subject (`ordersValue.Order`).
 */
export function generateModules(inputs: CodegenInput[], options: CodegenOptions = {}): GeneratedModules {
  const ids = identifiers(inputs)
  const names = fileNames(inputs)
  const ext = options.importExtension ?? '.js'
  const files = new Map<string, string>()
  const modules: GeneratedModules['modules'] = []
  inputs.forEach((input, i) => {
    const s = subjectCode(input, ids[i], options)
    const what = ` from subject ${JSON.stringify(s.subject)}`
    files.set(names[i], `${header([s.serdeClass], options, what)}${s.decls.render()}\n${s.factory}`)
    modules.push({ subject: s.subject, file: names[i], namespace: lowerFirst(ids[i]) })
  })
  files.set(
    'index.ts',
    [
      '// Generated by `tributary registry codegen`. Do not edit: regenerate from the registry instead.',
      ...modules.map(
        (m) =>
          `/** Subject ${JSON.stringify(m.subject)}. */\nexport * as ${m.namespace} from ${JSON.stringify(`./${m.file.replace(/\.ts$/, ext)}`)}`,
      ),
      '',
    ].join('\n'),
  )
  return { files, modules }
}

/** Fetches the chosen subjects (and everything they reference) from a registry for `generateTypeScript`. */
export async function fetchCodegenInputs(
  client: { getVersion(subject: string, version: number | 'latest'): Promise<SchemaVersion> },
  subjects: { subject: string; version?: number | 'latest' }[],
): Promise<CodegenInput[]> {
  const resolve = async (refs: SchemaVersion['references'], seen: Set<string>): Promise<ResolvedReference[]> => {
    const out: ResolvedReference[] = []
    for (const ref of refs) {
      const key = `${ref.subject}\u0000${ref.version}`
      if (seen.has(key)) continue
      seen.add(key)
      const v = await client.getVersion(ref.subject, ref.version === -1 ? 'latest' : ref.version)
      out.push(...(await resolve(v.references, seen)))
      out.push({ ...ref, version: v.version, schemaType: v.schemaType, schema: v.schema })
    }
    return out
  }
  const inputs: CodegenInput[] = []
  for (const s of subjects) {
    const version = await client.getVersion(s.subject, s.version ?? 'latest')
    inputs.push({ version, references: await resolve(version.references, new Set()) })
  }
  return inputs
}
