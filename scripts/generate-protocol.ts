/**
 * Generates TypeScript codecs for the Kafka protocol from Kafka's message specs, kept in scripts/kafka-protocol/
 * (Apache License 2.0, see the NOTICE there).
 *
 *   npm run generate            (or: node --import tsx scripts/generate-protocol.ts [specDir] [outDir])
 *
 * Output goes to src/protocol/generated/: one file per message, an API table and the error-code table.
 * Generated files are committed and never edited by hand.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const specDir = resolve(process.argv[2] ?? join(root, 'scripts', 'kafka-protocol', 'messages'))
const errorsFile = resolve(specDir, '..', 'errors.tsv')
const outDir = resolve(process.argv[3] ?? join(root, 'src', 'protocol', 'generated'))

interface Range {
  min: number
  max: number // Infinity for "N+"
}

interface FieldSpec {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number
  default?: string
  flexibleVersions?: string
  fields?: FieldSpec[]
}

interface MessageSpec {
  apiKey?: number
  type: 'request' | 'response' | 'header' | 'data'
  name: string
  validVersions: string
  flexibleVersions: string
  fields: FieldSpec[]
  commonStructs?: { name: string; versions: string; fields: FieldSpec[] }[]
}

const NONE: Range = { min: 1, max: 0 }

function parseRange(s: string | undefined): Range {
  if (s === undefined || s === 'none' || s === '') return NONE
  if (s.endsWith('+')) return { min: Number(s.slice(0, -1)), max: Number.POSITIVE_INFINITY }
  const dash = s.indexOf('-')
  if (dash >= 0) return { min: Number(s.slice(0, dash)), max: Number(s.slice(dash + 1)) }
  return { min: Number(s), max: Number(s) }
}

function isEmpty(r: Range): boolean {
  return r.min > r.max
}

function intersect(a: Range, b: Range): Range {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) }
}

/** A TS condition for "version is in r", given the message's valid range (to drop tautologies). */
function cond(r: Range, valid: Range): string | null {
  const x = intersect(r, valid)
  if (isEmpty(x)) return 'false'
  const parts: string[] = []
  if (x.min > valid.min) parts.push(`version >= ${x.min}`)
  if (x.max < valid.max) parts.push(`version <= ${x.max}`)
  return parts.length === 0 ? null : parts.join(' && ')
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      // remove // comments that are not inside strings
      let inStr = false
      for (let i = 0; i < line.length; i++) {
        const c = line[i]
        if (c === '"' && line[i - 1] !== '\\') inStr = !inStr
        if (!inStr && c === '/' && line[i + 1] === '/') return line.slice(0, i)
      }
      return line
    })
    .join('\n')
}

function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1)
}

function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
}

interface StructDef {
  name: string
  fields: FieldSpec[]
}

class MessageGen {
  private structs = new Map<string, StructDef>()
  private valid: Range
  private flex: Range
  private out: string[] = []

  constructor(private spec: MessageSpec) {
    this.valid = parseRange(spec.validVersions)
    this.flex = parseRange(spec.flexibleVersions)
    for (const cs of spec.commonStructs ?? []) this.collect(cs.name, cs.fields)
    this.collect(spec.name, spec.fields)
  }

  private collect(name: string, fields: FieldSpec[]): void {
    if (!this.structs.has(name)) this.structs.set(name, { name, fields })
    for (const f of fields) {
      if (f.fields) this.collect(elementType(f.type), f.fields)
    }
  }

  private tsType(f: FieldSpec, input: boolean): string {
    const nullable = !isEmpty(parseRange(f.nullableVersions))
    let t: string
    if (f.type.startsWith('[]')) {
      t = `${this.tsElem(f.type.slice(2), input)}[]`
    } else {
      t = this.tsElem(f.type, input)
    }
    if (nullable || f.type === 'records') t += ' | null'
    return t
  }

  private tsElem(type: string, input: boolean): string {
    switch (type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'float64':
        return 'number'
      case 'int64':
        return 'bigint'
      case 'bool':
        return 'boolean'
      case 'string':
      case 'uuid':
        return 'string'
      case 'bytes':
      case 'records':
        return 'Buffer'
      default:
        if (!this.structs.has(type)) throw new Error(`${this.spec.name}: unknown type ${type}`)
        return input ? `${type}Input` : type
    }
  }

  private defaultExpr(f: FieldSpec): string {
    const d = f.default
    const nullableAny = !isEmpty(parseRange(f.nullableVersions))
    if (f.type.startsWith('[]')) return d === 'null' && nullableAny ? 'null' : '[]'
    switch (f.type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'float64':
        return d === undefined || d === '' ? '0' : String(Number(d))
      case 'int64':
        return d === undefined || d === '' ? '0n' : `${BigInt(d)}n`
      case 'bool':
        return d === 'true' ? 'true' : 'false'
      case 'string':
        if (d === 'null' && nullableAny) return 'null'
        return JSON.stringify(d ?? '')
      case 'uuid':
        return 'ZERO_UUID'
      case 'bytes':
        return d === 'null' && nullableAny ? 'null' : 'EMPTY'
      case 'records':
        return 'null'
      default:
        if (nullableAny && (d === 'null' || d === undefined)) return 'null'
        return `default${f.type}()`
    }
  }

  /** Reader expression for a single value of `type` (not array). */
  private readElem(type: string, nullable: string | null, flexible: string | null): string {
    // nullable / flexible are TS boolean expressions or null meaning "never"
    const pick = (flexFn: string, plainFn: string) =>
      flexible === null ? plainFn : flexible === 'true' ? flexFn : `(${flexible} ? ${flexFn} : ${plainFn})`
    const nn = (yes: string, no: string) =>
      nullable === null ? no : nullable === 'true' ? yes : `(${nullable} ? ${yes} : ${no})`
    switch (type) {
      case 'int8':
        return 'r.int8()'
      case 'int16':
        return 'r.int16()'
      case 'uint16':
        return 'r.uint16()'
      case 'int32':
        return 'r.int32()'
      case 'int64':
        return 'r.int64()'
      case 'float64':
        return 'r.float64()'
      case 'bool':
        return 'r.bool()'
      case 'uuid':
        return 'r.uuid()'
      case 'string':
        return nn(pick('r.compactNullableString()', 'r.nullableString()'), pick('r.compactString()', 'r.string()'))
      case 'bytes':
        return nn(pick('r.compactNullableBytes()', 'r.nullableBytes()'), pick('r.compactBytes()', 'r.bytes()'))
      case 'records':
        return pick('r.compactNullableBytes()', 'r.nullableBytes()')
      default:
        if (nullable !== null) {
          return nn(`(r.int8() < 0 ? null : read${type}(r, version))`, `read${type}(r, version)`)
        }
        return `read${type}(r, version)`
    }
  }

  private writeElem(type: string, val: string, nullable: string | null, flexible: string | null): string {
    const pick = (flexFn: string, plainFn: string) =>
      flexible === null ? plainFn : flexible === 'true' ? flexFn : `(${flexible} ? ${flexFn} : ${plainFn})`
    const nn = (yes: string, no: string) =>
      nullable === null ? no : nullable === 'true' ? yes : `(${nullable} ? ${yes} : ${no})`
    switch (type) {
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'int64':
      case 'float64':
      case 'bool':
      case 'uuid':
        return `w.${type}(${val})`
      case 'string':
        return nn(
          pick(`w.compactNullableString(${val})`, `w.nullableString(${val})`),
          pick(`w.compactString(${val})`, `w.string(${val})`),
        )
      case 'records':
        return pick(`w.compactNullableBytes(${val})`, `w.nullableBytes(${val})`)
      case 'bytes':
        return nn(
          pick(`w.compactNullableBytes(${val})`, `w.nullableBytes(${val})`),
          pick(`w.compactBytes(${val})`, `w.bytes(${val})`),
        )
      default:
        if (nullable !== null) {
          const ifNull = `${val} == null ? w.int8(-1) : (w.int8(1), write${type}(w, version, ${val}!))`
          return nullable === 'true' ? ifNull : `(${nullable} ? ${ifNull} : write${type}(w, version, ${val}!))`
        }
        return `write${type}(w, version, ${val}!)`
    }
  }

  /** Boolean TS expression for "range applies at this version" within the given field range; null = never. */
  private within(r: Range, fieldRange: Range): string | null {
    const x = intersect(intersect(r, fieldRange), this.valid)
    if (isEmpty(x)) return null
    const fv = intersect(fieldRange, this.valid)
    const parts: string[] = []
    if (x.min > fv.min) parts.push(`version >= ${x.min}`)
    if (x.max < fv.max) parts.push(`version <= ${x.max}`)
    return parts.length === 0 ? 'true' : parts.join(' && ')
  }

  private fieldFlex(f: FieldSpec): Range {
    return f.flexibleVersions !== undefined ? parseRange(f.flexibleVersions) : this.flex
  }

  private genRead(f: FieldSpec, target: string, range: Range): string {
    const nullable = this.within(parseRange(f.nullableVersions), range)
    const flexible = this.within(this.fieldFlex(f), range)
    if (f.type.startsWith('[]')) {
      const et = f.type.slice(2)
      const lenExpr =
        flexible === null
          ? 'r.arrayLength()'
          : flexible === 'true'
            ? 'r.compactArrayLength()'
            : `(${flexible} ? r.compactArrayLength() : r.arrayLength())`
      const elem = this.readElem(et, null, flexible)
      const nullStmt = nullable === null ? `throw new ProtocolError('null array for ${f.name}')` : `${target} = null`
      return `{ const n = ${lenExpr}; if (n < 0) { ${nullStmt} } else { const a = new Array(n); for (let i = 0; i < n; i++) a[i] = ${elem}; ${target} = a } }`
    }
    return `${target} = ${this.readElem(f.type, nullable, flexible)};`
  }

  private genWriteValue(f: FieldSpec, val: string, range: Range): string {
    const nullable = this.within(parseRange(f.nullableVersions), range)
    const flexible = this.within(this.fieldFlex(f), range)
    if (f.type.startsWith('[]')) {
      const et = f.type.slice(2)
      const lenW = (n: string) =>
        flexible === null
          ? `w.int32(${n})`
          : flexible === 'true'
            ? `w.uvarint(${n} + 1)`
            : `(${flexible} ? w.uvarint(${n} + 1) : w.int32(${n}))`
      const elem = this.writeElem(et, 'e', null, flexible)
      const nullW =
        flexible === null
          ? 'w.int32(-1)'
          : flexible === 'true'
            ? 'w.uvarint(0)'
            : `(${flexible} ? w.uvarint(0) : w.int32(-1))`
      const nullCase = nullable === null ? `throw new ProtocolError('null array for ${f.name}')` : `${nullW}`
      return `{ const a = ${val}; if (a == null) { ${nullCase} } else { ${lenW('a.length')}; for (const e of a) ${elem} } }`
    }
    return `${this.writeElem(f.type, val, nullable, flexible)}`
  }

  private taggedNonDefault(f: FieldSpec, v: string): string {
    if (f.type.startsWith('[]')) return `${v} != null && ${v}.length > 0`
    switch (f.type) {
      case 'bytes':
        return `${v} != null && ${v}.length > 0`
      case 'string':
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'int64':
      case 'float64':
      case 'bool':
      case 'uuid':
        return `${v} !== undefined && ${v} !== ${this.defaultExpr(f)}`
      default:
        return `${v} != null`
    }
  }

  private genStruct(s: StructDef, isTop: boolean): void {
    const o = this.out
    const fields = s.fields
    const exportName = s.name
    // types
    o.push(`export interface ${exportName} {`)
    for (const f of fields) o.push(`  ${camel(f.name)}: ${this.tsType(f, false)}`)
    o.push('}')
    o.push('')
    o.push(`export interface ${exportName}Input {`)
    for (const f of fields) o.push(`  ${camel(f.name)}?: ${this.tsType(f, true)}`)
    o.push('}')
    o.push('')
    // default
    o.push(`export function default${exportName}(): ${exportName} {`)
    o.push(`  return { ${fields.map((f) => `${camel(f.name)}: ${this.defaultExpr(f)}`).join(', ')} }`)
    o.push('}')
    o.push('')
    const flexCond = cond(this.flex, this.valid)
    const anyFlex = !isEmpty(intersect(this.flex, this.valid))
    const flexExpr = !anyFlex ? 'false' : flexCond === null ? 'true' : flexCond
    // reader
    const readName = isTop ? `decode${exportName}` : `read${exportName}`
    o.push(`export function ${readName}(r: Reader, version: number): ${exportName} {`)
    if (anyFlex) o.push(`  const flexible = ${flexExpr};`)
    const tagged = fields.filter((f) => f.taggedVersions !== undefined && f.tag !== undefined)
    for (const f of fields) {
      const name = `_${camel(f.name)}`
      o.push(`  let ${name}: ${this.tsType(f, false)} = ${this.defaultExpr(f)};`)
      if (f.taggedVersions !== undefined) continue
      const range = parseRange(f.versions)
      const c = cond(range, this.valid)
      if (c === 'false') continue
      const read = this.genRead(f, name, range)
      o.push(c === null ? `  ${read}` : `  if (${c}) ${read}`)
    }
    if (anyFlex) {
      if (tagged.length === 0) {
        o.push('  if (flexible) r.taggedFields()')
      } else {
        o.push('  if (flexible) r.taggedFields((tag, r) => {')
        o.push('    switch (tag) {')
        for (const f of tagged) {
          const range = intersect(parseRange(f.versions), parseRange(f.taggedVersions))
          const c = cond(range, this.valid)
          o.push(`      case ${f.tag}:`)
          o.push(`        if (${c ?? 'true'}) { ${this.genRead(f, `_${camel(f.name)}`, range)} return true }`)
          o.push('        return false')
        }
        o.push('    }')
        o.push('    return false')
        o.push('  })')
      }
    }
    o.push(`  return { ${fields.map((f) => `${camel(f.name)}: _${camel(f.name)}`).join(', ')} }`)
    o.push('}')
    o.push('')
    // writer
    const writeName = isTop ? `encode${exportName}` : `write${exportName}`
    o.push(`export function ${writeName}(w: Writer, version: number, v: ${exportName}Input): void {`)
    if (anyFlex) o.push(`  const flexible = ${flexExpr};`)
    for (const f of fields) {
      if (f.taggedVersions !== undefined) continue
      const range = parseRange(f.versions)
      const c = cond(range, this.valid)
      if (c === 'false') continue
      const name = camel(f.name)
      const val = `(v.${name} === undefined ? ${this.defaultExpr(f)} : v.${name})`
      const stmt = `${this.genWriteValue(f, val, range)};`
      o.push(c === null ? `  ${stmt}` : `  if (${c}) ${stmt}`)
    }
    if (anyFlex) {
      if (tagged.length === 0) {
        o.push('  if (flexible) w.uvarint(0)')
      } else {
        o.push('  if (flexible) {')
        const sorted = [...tagged].sort((a, b) => a.tag! - b.tag!)
        const has: string[] = []
        for (const f of sorted) {
          const range = intersect(parseRange(f.versions), parseRange(f.taggedVersions))
          const c = cond(range, this.valid)
          const hv = `has${f.tag}`
          has.push(hv)
          o.push(`    const ${hv} = ${c ?? 'true'} && ${this.taggedNonDefault(f, `v.${camel(f.name)}`)}`)
        }
        o.push(`    w.uvarint(${has.map((h) => `(${h} ? 1 : 0)`).join(' + ')})`)
        for (const f of sorted) {
          const range = intersect(parseRange(f.versions), parseRange(f.taggedVersions))
          o.push(`    if (has${f.tag}) {`)
          o.push(`      const outer = w`)
          o.push(`      const t = new Writer(64)`)
          o.push(`      ;((w: Writer) => { ${this.genWriteValue(f, `v.${camel(f.name)}!`, range)}; })(t);`)
          o.push(`      outer.uvarint(${f.tag}).uvarint(t.length).raw(t.toBuffer())`)
          o.push('    }')
        }
        o.push('  }')
      }
    }
    o.push('}')
    o.push('')
  }

  generate(): string {
    const o = this.out
    o.push('// Generated by scripts/generate-protocol.ts from the Kafka message spec. Do not edit.')
    o.push('/* biome-ignore-all lint: generated code */')
    o.push("import { ProtocolError, Reader, Writer, ZERO_UUID } from '../primitives.ts'")
    o.push('')
    o.push('const EMPTY = Buffer.alloc(0)')
    o.push('void ProtocolError')
    o.push('void ZERO_UUID')
    o.push('void EMPTY')
    o.push('')
    const flexMin = isEmpty(intersect(this.flex, this.valid)) ? -1 : intersect(this.flex, this.valid).min
    o.push(
      `export const ${this.spec.name}Versions = { min: ${this.valid.min}, max: ${this.valid.max}, flexibleMin: ${flexMin} } as const`,
    )
    if (this.spec.apiKey !== undefined) o.push(`export const ${this.spec.name}ApiKey = ${this.spec.apiKey}`)
    o.push('')
    for (const s of this.structs.values()) this.genStruct(s, s.name === this.spec.name)
    return o.join('\n')
  }
}

function elementType(t: string): string {
  return t.startsWith('[]') ? t.slice(2) : t
}

function main(): void {
  const files = readdirSync(specDir).filter((f) => f.endsWith('.json'))
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const apis = new Map<number, { name: string; request?: MessageSpec; response?: MessageSpec; file: string }>()
  const generated: string[] = []
  for (const file of files.sort()) {
    const spec = JSON.parse(stripComments(readFileSync(join(specDir, file), 'utf8'))) as MessageSpec
    if (!['request', 'response', 'header', 'data'].includes(spec.type)) continue
    const code = new MessageGen(spec).generate()
    const outName = kebab(spec.name)
    writeFileSync(join(outDir, `${outName}.ts`), code)
    generated.push(spec.name)
    if (spec.apiKey !== undefined && (spec.type === 'request' || spec.type === 'response')) {
      const base = spec.name.replace(/(Request|Response)$/, '')
      const entry = apis.get(spec.apiKey) ?? { name: base, file: kebab(base) }
      if (spec.type === 'request') entry.request = spec
      else entry.response = spec
      apis.set(spec.apiKey, entry)
    }
  }

  // API table
  const t: string[] = []
  t.push('// Generated by scripts/generate-protocol.ts from the Kafka message spec. Do not edit.')
  t.push("import type { Reader, Writer } from '../primitives.ts'")
  const keys = [...apis.keys()].sort((a, b) => a - b)
  for (const k of keys) {
    const a = apis.get(k)!
    t.push(
      `import { decode${a.name}Request, encode${a.name}Request, ${a.name}RequestVersions } from './${kebab(`${a.name}Request`)}.ts'`,
    )
    t.push(`import { decode${a.name}Response, encode${a.name}Response } from './${kebab(`${a.name}Response`)}.ts'`)
  }
  t.push('')
  t.push('export interface ApiCodec {')
  t.push('  apiKey: number')
  t.push('  name: string')
  t.push('  minVersion: number')
  t.push('  maxVersion: number')
  t.push('  /** First flexible version, or -1 when the API has none. */')
  t.push('  flexibleMin: number')
  t.push('  decodeRequest(r: Reader, version: number): unknown')
  t.push('  encodeRequest(w: Writer, version: number, v: any): void')
  t.push('  decodeResponse(r: Reader, version: number): unknown')
  t.push('  encodeResponse(w: Writer, version: number, v: any): void')
  t.push('}')
  t.push('')
  t.push('export const ApiKeys = {')
  for (const k of keys) t.push(`  ${apis.get(k)!.name}: ${k},`)
  t.push('} as const')
  t.push('')
  t.push('export const apiCodecs: ReadonlyMap<number, ApiCodec> = new Map<number, ApiCodec>([')
  for (const k of keys) {
    const a = apis.get(k)!
    t.push(
      `  [${k}, { apiKey: ${k}, name: '${a.name}', minVersion: ${a.name}RequestVersions.min, maxVersion: ${a.name}RequestVersions.max, flexibleMin: ${a.name}RequestVersions.flexibleMin, decodeRequest: decode${a.name}Request, encodeRequest: encode${a.name}Request, decodeResponse: decode${a.name}Response, encodeResponse: encode${a.name}Response }],`,
    )
  }
  t.push('])')
  t.push('')
  writeFileSync(join(outDir, 'api-table.ts'), t.join('\n'))

  // index
  const idx: string[] = ['// Generated by scripts/generate-protocol.ts from the Kafka message spec. Do not edit.']
  for (const n of generated.sort()) idx.push(`export * as ${n} from './${kebab(n)}.ts'`)
  idx.push("export * from './api-table.ts'")
  idx.push("export * from './error-codes.ts'")
  writeFileSync(join(outDir, 'index.ts'), `${idx.join('\n')}\n`)

  // errors
  const rows = readFileSync(errorsFile, 'utf8').trim().split('\n').slice(1)
  const e: string[] = ['// Generated by scripts/generate-protocol.ts from errors.tsv. Do not edit.']
  e.push('export const ErrorCode = {')
  const msgs: string[] = []
  for (const row of rows) {
    const [code, name, message] = row.split('\t')
    e.push(`  ${name}: ${code},`)
    msgs.push(`  [${code}, { name: '${name}', message: ${JSON.stringify(message ?? '')} }],`)
  }
  e.push('} as const')
  e.push('')
  e.push('export type ErrorCodeName = keyof typeof ErrorCode')
  e.push('')
  e.push('export const errorInfo: ReadonlyMap<number, { name: string; message: string }> = new Map([')
  e.push(...msgs)
  e.push('])')
  e.push('')
  writeFileSync(join(outDir, 'error-codes.ts'), e.join('\n'))
  console.log(`generated ${generated.length} messages, ${keys.length} APIs into ${outDir}`)
}

main()
