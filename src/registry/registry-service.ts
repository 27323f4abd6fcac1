import { FORMATS, InvalidSchemaError, type ParsedSchema, type ResolvedReference } from '../serde/formats/index.ts'
import type { SchemaChangeInput, SchemaChangeSink } from './change-events.ts'
import { type CompatibilityResult, checkCompatibility } from './compatibility.ts'
import {
  incompatibleSchema,
  invalidCompatibilityLevel,
  invalidMode,
  invalidSchema,
  invalidVersion,
  operationNotPermitted,
  RegistryError,
  referenceExists,
  schemaNotFound,
  storeError,
  subjectLevelCompatibilityNotConfigured,
  subjectLevelModeNotConfigured,
  subjectNotFound,
  subjectNotSoftDeleted,
  subjectSoftDeleted,
  versionNotFound,
  versionNotSoftDeleted,
  versionSoftDeleted,
} from './errors.ts'
import type { SchemaStore, StoredSchema } from './schema-store.ts'
import {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  MODES,
  type Mode,
  SCHEMA_TYPES,
  type SchemaInput,
  type SchemaReference,
  type SchemaType,
  type SchemaVersion,
} from './types.ts'

export interface RegisterRequest {
  schema?: unknown
  schemaType?: unknown
  references?: unknown
  /** Only honoured in IMPORT mode. */
  id?: unknown
  version?: unknown
}

export interface RegistryServiceOptions {
  store: SchemaStore
  changes?: SchemaChangeSink
  defaultCompatibility?: CompatibilityLevel
  defaultMode?: Mode
}

const MAX_CLAIM_ATTEMPTS = 8
const PARSE_CACHE_SIZE = 1000

/** Parses a REST version segment: a positive 32-bit integer, `latest` or -1 (also latest). */
export function parseVersion(raw: string | number): number | 'latest' {
  if (raw === 'latest' || raw === -1 || raw === '-1') return 'latest'
  const n = typeof raw === 'number' ? raw : /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) throw invalidVersion(String(raw))
  return n
}

/**
 * Confluent Schema Registry's behaviour over a SchemaStore: registration with compatibility checks, lookups,
 * soft and permanent deletes, configuration and modes. The REST layer is a thin mapping onto these methods.
 */
export class RegistryService {
  readonly store: SchemaStore
  readonly changes?: SchemaChangeSink
  readonly defaultCompatibility: CompatibilityLevel
  readonly defaultMode: Mode
  #parsed = new Map<string, ParsedSchema>()

  constructor(options: RegistryServiceOptions) {
    this.store = options.store
    this.changes = options.changes
    this.defaultCompatibility = options.defaultCompatibility ?? 'BACKWARD'
    this.defaultMode = options.defaultMode ?? 'READWRITE'
  }

  // ---- schemas by id ----

  async schemaById(id: number): Promise<StoredSchema> {
    // An id never changes its schema, so a local hit needs no round trip to the log end; only a miss does.
    const known = this.store.schemaById(id)
    if (known) return known
    await this.store.sync()
    const schema = this.store.schemaById(id)
    if (!schema) throw schemaNotFound(`Schema ${id} not found`)
    return schema
  }

  async versionsById(id: number, deleted = false): Promise<{ subject: string; version: number }[]> {
    await this.store.sync()
    if (!this.store.schemaById(id)) throw schemaNotFound(`Schema ${id} not found`)
    return this.store
      .usesOf(id)
      .filter((v) => deleted || !v.deleted)
      .map((v) => ({ subject: v.subject, version: v.version }))
      .sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.version - b.version))
  }

  async subjectsById(id: number, deleted = false): Promise<string[]> {
    const uses = await this.versionsById(id, deleted)
    return [...new Set(uses.map((u) => u.subject))].sort()
  }

  schemaTypes(): SchemaType[] {
    return ['JSON', 'PROTOBUF', 'AVRO']
  }

  // ---- subjects and versions ----

  async subjects(options: { deleted?: boolean; deletedOnly?: boolean; prefix?: string } = {}): Promise<string[]> {
    await this.store.sync()
    return this.store.subjectNames().filter((s) => {
      if (options.prefix && !s.startsWith(options.prefix)) return false
      const versions = this.store.versions(s)
      const live = versions.some((v) => !v.deleted)
      if (options.deletedOnly) return versions.some((v) => v.deleted)
      return live || options.deleted === true
    })
  }

  async versions(subject: string, options: { deleted?: boolean; deletedOnly?: boolean } = {}): Promise<number[]> {
    await this.store.sync()
    const all = this.store.versions(subject)
    const shown = all.filter((v) => (options.deletedOnly ? v.deleted : options.deleted || !v.deleted))
    if (all.length === 0 || (shown.length === 0 && !options.deleted && !options.deletedOnly)) {
      throw subjectNotFound(subject)
    }
    return shown.map((v) => v.version)
  }

  async version(
    subject: string,
    rawVersion: string | number,
    options: { deleted?: boolean } = {},
  ): Promise<SchemaVersion> {
    const version = parseVersion(rawVersion)
    await this.store.sync()
    const all = this.store.versions(subject)
    if (all.length === 0) throw subjectNotFound(subject)
    const visible = all.filter((v) => options.deleted || !v.deleted)
    if (version === 'latest') {
      const latest = visible[visible.length - 1]
      if (!latest) throw subjectNotFound(subject)
      return latest
    }
    const found = visible.find((v) => v.version === version)
    if (!found) throw versionNotFound(subject, version)
    return found
  }

  async referencedBy(subject: string, rawVersion: string | number): Promise<number[]> {
    const target = await this.version(subject, rawVersion)
    return this.#referencingIds(target.subject, target.version)
  }

  #referencingIds(subject: string, version: number): number[] {
    const ids = new Set<number>()
    for (const v of this.store.allVersions()) {
      if (v.deleted) continue
      if (v.references.some((r) => r.subject === subject && r.version === version)) ids.add(v.id)
    }
    return [...ids].sort((a, b) => a - b)
  }

  // ---- registration and lookup ----

  async register(
    subject: string,
    request: RegisterRequest,
    options: { normalize?: boolean } = {},
  ): Promise<{ id: number; version: number; schema: SchemaVersion; created: boolean }> {
    const input = this.#input(request)
    return this.store.exclusive(async () => {
      for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
        await this.store.sync()
        const mode = this.#effectiveMode(subject)
        if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') {
          throw operationNotPermitted(`Subject ${subject} is in read-only mode`)
        }
        // Confluent validates a new schema strictly, except an import that brings its own id.
        const parsed = this.#parse(input, !(mode === 'IMPORT' && request.id !== undefined))
        const stored = this.#storedForm(parsed, options.normalize === true)
        const all = this.store.versions(subject)
        const live = all.filter((v) => !v.deleted)
        const importing = mode === 'IMPORT'
        const existing = live.find((v) => this.#sameSchema(v, parsed, options.normalize === true))
        if (existing && !importing)
          return { id: existing.id, version: existing.version, schema: existing, created: false }

        if (!importing) {
          const level = this.#effectiveCompatibility(subject)
          const previous = live.map((v) => ({ version: v.version, parsed: this.#parse(v) }))
          const result = checkCompatibility(FORMATS[parsed.schemaType], level, parsed, previous)
          if (!result.compatible) throw incompatibleSchema(subject, result.messages)
        }

        let id = this.store.idOf(stored) ?? this.store.nextId()
        let version = (all[all.length - 1]?.version ?? 0) + 1
        if (importing) {
          if (request.id !== undefined) {
            if (!Number.isInteger(request.id) || (request.id as number) < 1)
              throw invalidSchema('import id must be a positive integer')
            id = request.id as number
            const holder = this.store.schemaById(id)
            if (holder && JSON.stringify(holder) !== JSON.stringify(stored)) {
              throw new RegistryError(422, 42205, `Overwrite new schema with id ${id} is not permitted.`)
            }
          }
          if (request.version !== undefined) {
            const v = parseVersion(request.version as number)
            if (v !== 'latest') {
              if (all.some((x) => x.version === v))
                throw new RegistryError(422, 42205, `Version ${v} already exists for subject ${subject}`)
              version = v
            }
          }
        }
        const won = await this.store.claimVersion({ subject, version, id, ...stored, deleted: false })
        if (!won) continue
        const schema = this.store.versions(subject).find((v) => v.version === version)!
        await this.#notify({ type: 'register', subject, version, id, schemaType: stored.schemaType })
        return { id, version, schema, created: true }
      }
      throw storeError(`could not register under subject ${subject}: too many concurrent registrations`)
    })
  }

  async lookup(
    subject: string,
    request: RegisterRequest,
    options: { normalize?: boolean; deleted?: boolean } = {},
  ): Promise<SchemaVersion> {
    const input = this.#input(request)
    await this.store.sync()
    const all = this.store.versions(subject)
    if (all.length === 0 || (!options.deleted && all.every((v) => v.deleted))) throw subjectNotFound(subject)
    const parsed = this.#parse(input)
    const candidates = all.filter((v) => options.deleted || !v.deleted)
    const found =
      candidates.find((v) => this.#sameSchema(v, parsed, false)) ??
      (options.normalize ? candidates.find((v) => this.#sameSchema(v, parsed, true)) : undefined)
    if (!found) throw schemaNotFound()
    return found
  }

  async testCompatibility(
    subject: string,
    rawVersion: string | number | undefined,
    request: RegisterRequest,
  ): Promise<CompatibilityResult> {
    const input = this.#input(request)
    await this.store.sync()
    const parsed = this.#parse(input, true)
    const live = this.store.versions(subject).filter((v) => !v.deleted)
    const level = this.#effectiveCompatibility(subject)
    let previous: SchemaVersion[]
    if (rawVersion === undefined) previous = live
    else {
      const version = parseVersion(rawVersion)
      if (live.length === 0) {
        if (version === 'latest') return { compatible: true, messages: [], incompatibilities: [] }
        throw subjectNotFound(subject)
      }
      const target = version === 'latest' ? live[live.length - 1] : live.find((v) => v.version === version)
      if (!target) throw versionNotFound(subject, version)
      // Against one chosen version the transitive levels reduce to their base level.
      previous = [target]
    }
    return checkCompatibility(
      FORMATS[parsed.schemaType],
      rawVersion === undefined ? level : (level.replace('_TRANSITIVE', '') as CompatibilityLevel),
      parsed,
      previous.map((v) => ({ version: v.version, parsed: this.#parse(v) })),
    )
  }

  // ---- deletes ----

  async deleteSubject(subject: string, permanent = false): Promise<number[]> {
    return this.store.exclusive(async () => {
      await this.store.sync()
      this.#assertWritable(subject)
      const all = this.store.versions(subject)
      if (all.length === 0) throw subjectNotFound(subject)
      if (!permanent) {
        const live = all.filter((v) => !v.deleted)
        if (live.length === 0) throw subjectSoftDeleted(subject)
        for (const v of live) this.#assertNotReferenced(v)
        for (const v of live) {
          await this.store.updateVersion(subject, v.version, { deleted: true })
          await this.#notify({ type: 'delete', subject, version: v.version, id: v.id, permanent: false })
        }
        return live.map((v) => v.version)
      }
      if (all.some((v) => !v.deleted)) throw subjectNotSoftDeleted(subject)
      for (const v of all) {
        await this.store.removeVersion(subject, v.version)
        await this.#notify({ type: 'delete', subject, version: v.version, id: v.id, permanent: true })
      }
      if (this.store.config(subject)) await this.store.setConfig(subject, null)
      if (this.store.mode(subject)) await this.store.setMode(subject, null)
      return all.map((v) => v.version)
    })
  }

  async deleteVersion(subject: string, rawVersion: string | number, permanent = false): Promise<number> {
    const version = parseVersion(rawVersion)
    return this.store.exclusive(async () => {
      await this.store.sync()
      this.#assertWritable(subject)
      const all = this.store.versions(subject)
      if (all.length === 0) throw subjectNotFound(subject)
      const target =
        version === 'latest'
          ? permanent
            ? all[all.length - 1]
            : all.filter((v) => !v.deleted).at(-1)
          : all.find((v) => v.version === version)
      if (!target) throw versionNotFound(subject, version)
      if (!permanent) {
        if (target.deleted) throw versionSoftDeleted(subject, target.version)
        this.#assertNotReferenced(target)
        await this.store.updateVersion(subject, target.version, { deleted: true })
      } else {
        if (!target.deleted) throw versionNotSoftDeleted(subject, target.version)
        await this.store.removeVersion(subject, target.version)
      }
      await this.#notify({ type: 'delete', subject, version: target.version, id: target.id, permanent })
      return target.version
    })
  }

  #assertNotReferenced(v: SchemaVersion) {
    const ids = this.#referencingIds(v.subject, v.version)
    if (ids.length > 0) {
      throw referenceExists(`One or more references exist to the schema {subject=${v.subject},version=${v.version}}`)
    }
  }

  // ---- config and mode ----

  async getConfig(subject: string | null, defaultToGlobal = false): Promise<CompatibilityLevel> {
    await this.store.sync()
    if (subject === null) return this.store.config(null) ?? this.defaultCompatibility
    const own = this.store.config(subject)
    if (own) return own
    if (defaultToGlobal) return this.store.config(null) ?? this.defaultCompatibility
    throw subjectLevelCompatibilityNotConfigured(subject)
  }

  async setConfig(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    const normalized = typeof level === 'string' ? level.toUpperCase() : level
    if (!COMPATIBILITY_LEVELS.includes(normalized as CompatibilityLevel)) throw invalidCompatibilityLevel(level)
    await this.store.setConfig(subject, normalized as CompatibilityLevel)
    await this.#notify({ type: 'config', subject, compatibilityLevel: normalized as CompatibilityLevel })
    return normalized as CompatibilityLevel
  }

  async deleteConfig(subject: string | null): Promise<CompatibilityLevel> {
    await this.store.sync()
    const previous = this.store.config(subject)
    if (subject !== null && !previous) {
      if (this.store.versions(subject).length === 0) throw subjectNotFound(subject)
      throw subjectLevelCompatibilityNotConfigured(subject)
    }
    await this.store.setConfig(subject, null)
    await this.#notify({ type: 'config', subject, compatibilityLevel: null })
    return previous ?? this.defaultCompatibility
  }

  async getMode(subject: string | null, defaultToGlobal = false): Promise<Mode> {
    await this.store.sync()
    if (subject === null) return this.store.mode(null) ?? this.defaultMode
    const own = this.store.mode(subject)
    if (own) return own
    if (defaultToGlobal) return this.store.mode(null) ?? this.defaultMode
    throw subjectLevelModeNotConfigured(subject)
  }

  async setMode(subject: string | null, mode: unknown, force = false): Promise<Mode> {
    const normalized = typeof mode === 'string' ? mode.toUpperCase() : mode
    if (!MODES.includes(normalized as Mode)) throw invalidMode(mode)
    await this.store.sync()
    if (normalized === 'IMPORT' && !force) {
      const nonEmpty = subject === null ? this.store.subjectNames().length > 0 : this.store.versions(subject).length > 0
      if (nonEmpty) {
        throw operationNotPermitted(
          'Cannot import since found existing subjects; use force=true to switch to IMPORT mode anyway',
        )
      }
    }
    await this.store.setMode(subject, normalized as Mode)
    await this.#notify({ type: 'mode', subject, mode: normalized as Mode })
    return normalized as Mode
  }

  async deleteMode(subject: string): Promise<Mode> {
    await this.store.sync()
    const previous = this.store.mode(subject)
    if (!previous) throw subjectLevelModeNotConfigured(subject)
    await this.store.setMode(subject, null)
    await this.#notify({ type: 'mode', subject, mode: null })
    return previous
  }

  // ---- helpers ----

  #effectiveCompatibility(subject: string): CompatibilityLevel {
    return this.store.config(subject) ?? this.store.config(null) ?? this.defaultCompatibility
  }

  #effectiveMode(subject: string): Mode {
    return this.store.mode(subject) ?? this.store.mode(null) ?? this.defaultMode
  }

  #assertWritable(subject: string) {
    const mode = this.#effectiveMode(subject)
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') {
      throw operationNotPermitted(`Subject ${subject} is in read-only mode`)
    }
  }

  #input(request: RegisterRequest): SchemaInput {
    if (request === null || typeof request !== 'object') throw invalidSchema('request body must be a JSON object')
    if (typeof request.schema !== 'string' || request.schema.trim() === '') throw invalidSchema('Empty schema')
    const schemaType = (request.schemaType ?? 'AVRO') as SchemaType
    if (!SCHEMA_TYPES.includes(schemaType)) throw invalidSchema(`unknown schemaType ${String(request.schemaType)}`)
    const references: SchemaReference[] = []
    if (request.references !== undefined && request.references !== null) {
      if (!Array.isArray(request.references)) throw invalidSchema('references must be an array')
      for (const r of request.references as Partial<SchemaReference>[]) {
        if (typeof r?.name !== 'string' || typeof r.subject !== 'string' || !Number.isInteger(r.version)) {
          throw invalidSchema('each reference needs name, subject and version')
        }
        references.push({ name: r.name, subject: r.subject, version: r.version as number })
      }
    }
    return { schemaType, schema: request.schema, references }
  }

  /** Resolves references depth-first so every referenced schema comes before the ones that use it. */
  #resolveReferences(references: SchemaReference[], seen = new Set<string>()): ResolvedReference[] {
    const out: ResolvedReference[] = []
    for (const ref of references) {
      const key = `${ref.subject}\u0000${ref.version}`
      if (seen.has(key)) continue
      seen.add(key)
      const versions = this.store.versions(ref.subject)
      const target =
        ref.version === -1 ? versions.filter((v) => !v.deleted).at(-1) : versions.find((v) => v.version === ref.version)
      if (!target) throw invalidSchema(`reference ${ref.name} points to missing ${ref.subject} version ${ref.version}`)
      out.push(...this.#resolveReferences(target.references, seen))
      out.push({ ...ref, version: target.version, schemaType: target.schemaType, schema: target.schema })
    }
    return out
  }

  /** `validateAsNew`: the checks Confluent applies to a schema being registered; stored ones are read leniently. */
  #parse(input: SchemaInput, validateAsNew = false): ParsedSchema {
    const key = JSON.stringify([input.schemaType, input.schema, input.references, validateAsNew])
    const cached = this.#parsed.get(key)
    if (cached) return cached
    let parsed: ParsedSchema
    try {
      parsed = FORMATS[input.schemaType].parse(input, this.#resolveReferences(input.references), { validateAsNew })
    } catch (error) {
      if (error instanceof InvalidSchemaError) throw invalidSchema(error.detail)
      throw error
    }
    if (this.#parsed.size >= PARSE_CACHE_SIZE) this.#parsed.delete(this.#parsed.keys().next().value as string)
    this.#parsed.set(key, parsed)
    return parsed
  }

  #storedForm(parsed: ParsedSchema, normalize: boolean): StoredSchema {
    return {
      schemaType: parsed.schemaType,
      schema: normalize ? (parsed.normalizedSchema ?? parsed.normalized) : parsed.canonical,
      references: parsed.references,
    }
  }

  #sameSchema(v: SchemaVersion, parsed: ParsedSchema, normalize: boolean): boolean {
    if (v.schemaType !== parsed.schemaType) return false
    if (JSON.stringify(v.references) !== JSON.stringify(parsed.references)) return false
    if (!normalize) return v.schema === parsed.canonical
    return this.#parse(v).normalized === parsed.normalized
  }

  async #notify(event: SchemaChangeInput): Promise<void> {
    if (!this.changes) return
    try {
      await this.changes.publish({ ...event, timestamp: new Date().toISOString() } as Parameters<
        SchemaChangeSink['publish']
      >[0])
    } catch {
      // The change is already durable in _schemas; a lost notification must not fail the request.
    }
  }
}
