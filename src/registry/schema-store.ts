import { randomUUID } from 'node:crypto'
import { storeError, storeTimeout } from './errors.ts'
import type { SchemaLog } from './schema-log.ts'
import type { CompatibilityLevel, Mode, SchemaReference, SchemaType, SchemaVersion } from './types.ts'

/**
 * Record keys in the `_schemas` topic. A schema version is a *claim*: its key carries a unique claim id, so two
 * instances racing for the same subject/version or id never overwrite each other's record, and compaction can
 * never make a losing claim replace a winning one. See docs/decisions/registry-storage.md.
 */
export type StoreKey =
  | { keytype: 'SCHEMA'; subject: string; version: number; claim: string }
  | { keytype: 'CONFIG'; subject: string | null }
  | { keytype: 'MODE'; subject: string | null }

export interface SchemaClaimValue extends SchemaVersion {
  /** Offset of the record that first made this claim; absent on the first record (its own offset is used). */
  claimOffset?: number
}

interface Claim {
  key: string
  value: SchemaClaimValue
  claimOffset: number
}

export interface StoredSchema {
  schemaType: SchemaType
  schema: string
  references: SchemaReference[]
}

const contentKey = (s: StoredSchema) => JSON.stringify([s.schemaType, s.schema, s.references])

export interface SchemaStoreOptions {
  /** How long a write waits to read its own record back before failing with 50002. */
  timeoutMs?: number
}

/**
 * The registry's state, folded from the schema log. Every instance applies the same deterministic rule to the
 * same records, so all instances agree: among claims for one subject/version, or for one id with different
 * content, the claim with the lowest claim offset wins; the others are rejected and their writers retry.
 */
export class SchemaStore {
  readonly log: SchemaLog
  #claims = new Map<string, Claim>()
  #configs = new Map<string, CompatibilityLevel>()
  #modes = new Map<string, Mode>()
  #applied = -1
  #maxIdSeen = 0
  #waiters: { offset: number; resolve: () => void }[] = []
  #dirty = true
  #accepted = new Set<string>()
  #subjects = new Map<string, Map<number, SchemaVersion>>()
  #byId = new Map<number, StoredSchema>()
  #idByContent = new Map<string, number>()
  #timeoutMs: number
  #started = false
  #closed = false
  #writeQueue: Promise<unknown> = Promise.resolve()
  #swept = new Set<string>()

  constructor(log: SchemaLog, options: SchemaStoreOptions = {}) {
    this.log = log
    this.#timeoutMs = options.timeoutMs ?? 30_000
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.log.replay(
      (r) =>
        this.#apply({
          offset: r.offset,
          key: r.key.toString('utf8'),
          value: r.value && r.value.length > 0 ? r.value.toString('utf8') : null,
        }),
      { follow: true },
    )
    await this.sync()
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.log.close()
    for (const w of this.#waiters) w.resolve()
    this.#waiters = []
  }

  /** Offset of the last record applied. */
  get appliedOffset(): number {
    return this.#applied
  }

  /** Waits until every record written before this call has been applied (read-your-writes across instances). */
  async sync(): Promise<void> {
    const end = await this.log.endOffset()
    await this.#waitFor(end - 1)
  }

  /** Serializes this instance's read-check-write sequences so they never race each other. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writeQueue.then(work, work)
    this.#writeQueue = run.catch(() => undefined)
    return run
  }

  #waitFor(offset: number): Promise<void> {
    if (this.#applied >= offset || this.#closed) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        reject(storeTimeout(`schema log did not reach offset ${offset} within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      timer.unref?.()
      const waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      this.#waiters.push(waiter)
    })
  }

  #apply(record: { offset: number; key: string; value: string | null }): void {
    if (record.offset <= this.#applied) return
    this.#applied = record.offset
    try {
      const key = JSON.parse(record.key) as StoreKey
      if (key.keytype === 'SCHEMA') {
        if (record.value === null) {
          this.#claims.delete(record.key)
          this.#swept.delete(record.key)
        } else {
          const value = JSON.parse(record.value) as SchemaClaimValue
          if (value.id > this.#maxIdSeen) this.#maxIdSeen = value.id
          this.#claims.set(record.key, { key: record.key, value, claimOffset: value.claimOffset ?? record.offset })
        }
        this.#dirty = true
      } else if (key.keytype === 'CONFIG') {
        const map = this.#configs
        const k = key.subject ?? ''
        if (record.value === null) map.delete(k)
        else map.set(k, (JSON.parse(record.value) as { compatibilityLevel: CompatibilityLevel }).compatibilityLevel)
      } else if (key.keytype === 'MODE') {
        const k = key.subject ?? ''
        if (record.value === null) this.#modes.delete(k)
        else this.#modes.set(k, (JSON.parse(record.value) as { mode: Mode }).mode)
      }
    } catch {
      // A record this version cannot parse (foreign writer, newer format) must not stop the registry.
    }
    const ready = this.#waiters.filter((w) => w.offset <= this.#applied)
    if (ready.length > 0) {
      this.#waiters = this.#waiters.filter((w) => w.offset > this.#applied)
      for (const w of ready) w.resolve()
    }
  }

  #derive(): void {
    if (!this.#dirty) return
    this.#dirty = false
    const claims = [...this.#claims.values()].sort((a, b) => a.claimOffset - b.claimOffset || (a.key < b.key ? -1 : 1))
    const subjects = new Map<string, Map<number, SchemaVersion>>()
    const byId = new Map<number, StoredSchema>()
    const idByContent = new Map<string, number>()
    const accepted = new Set<string>()
    for (const claim of claims) {
      const v = claim.value
      const versions = subjects.get(v.subject) ?? new Map<number, SchemaVersion>()
      if (versions.has(v.version)) continue
      const stored: StoredSchema = { schemaType: v.schemaType, schema: v.schema, references: v.references ?? [] }
      const existing = byId.get(v.id)
      if (existing && contentKey(existing) !== contentKey(stored)) continue
      accepted.add(claim.key)
      if (!existing) byId.set(v.id, stored)
      if (!idByContent.has(contentKey(stored))) idByContent.set(contentKey(stored), v.id)
      versions.set(v.version, {
        subject: v.subject,
        version: v.version,
        id: v.id,
        schemaType: v.schemaType,
        schema: v.schema,
        references: stored.references,
        deleted: v.deleted,
      })
      subjects.set(v.subject, versions)
    }
    for (const [subject, versions] of subjects) {
      subjects.set(subject, new Map([...versions.entries()].sort((a, b) => a[0] - b[0])))
    }
    this.#subjects = subjects
    this.#byId = byId
    this.#idByContent = idByContent
    this.#accepted = accepted
  }

  // ---- reads (call sync() first when a read must observe other instances' writes) ----

  subjectNames(): string[] {
    this.#derive()
    return [...this.#subjects.keys()].sort()
  }

  versions(subject: string): SchemaVersion[] {
    this.#derive()
    return [...(this.#subjects.get(subject)?.values() ?? [])]
  }

  schemaById(id: number): StoredSchema | undefined {
    this.#derive()
    return this.#byId.get(id)
  }

  idOf(schema: StoredSchema): number | undefined {
    this.#derive()
    return this.#idByContent.get(contentKey(schema))
  }

  /** Every (subject, version) registered with this id. */
  usesOf(id: number): SchemaVersion[] {
    this.#derive()
    const out: SchemaVersion[] = []
    for (const versions of this.#subjects.values()) for (const v of versions.values()) if (v.id === id) out.push(v)
    return out
  }

  allVersions(): SchemaVersion[] {
    this.#derive()
    return [...this.#subjects.values()].flatMap((m) => [...m.values()])
  }

  nextId(): number {
    this.#derive()
    let max = this.#maxIdSeen
    for (const id of this.#byId.keys()) if (id > max) max = id
    return max + 1
  }

  config(subject: string | null): CompatibilityLevel | undefined {
    return this.#configs.get(subject ?? '')
  }

  mode(subject: string | null): Mode | undefined {
    return this.#modes.get(subject ?? '')
  }

  // ---- writes: each resolves after this instance has read its own record back ----

  /**
   * Claims subject/version/id for a schema. Resolves true when the claim won; false when another instance's
   * concurrent claim won (the losing record is then tombstoned so compaction removes it).
   */
  async claimVersion(value: Omit<SchemaClaimValue, 'claimOffset'>): Promise<boolean> {
    await this.sweepRejectedClaims()
    const key = JSON.stringify({
      keytype: 'SCHEMA',
      subject: value.subject,
      version: value.version,
      claim: randomUUID(),
    })
    const offset = await this.#append(key, JSON.stringify(value))
    await this.#waitFor(offset)
    this.#derive()
    if (this.#accepted.has(key)) return true
    await this.#append(key, null)
    return false
  }

  /**
   * Tombstones claims that lost to an earlier claim. Their writers normally do this themselves; this covers a
   * writer that crashed in between. Live, a rejected claim stays rejected until the winner is permanently
   * deleted — and then it must not come back, so removing it is always right, whoever does it.
   */
  async sweepRejectedClaims(): Promise<number> {
    this.#derive()
    const rejected = [...this.#claims.keys()].filter((k) => !this.#accepted.has(k) && !this.#swept.has(k))
    for (const key of rejected) {
      this.#swept.add(key)
      await this.#append(key, null).catch(() => this.#swept.delete(key))
    }
    return rejected.length
  }

  /** Rewrites an accepted version (soft delete) under its own key, keeping its claim offset. */
  async updateVersion(subject: string, version: number, update: Partial<Pick<SchemaClaimValue, 'deleted'>>) {
    const claim = this.#claimFor(subject, version)
    if (!claim) return
    const value: SchemaClaimValue = { ...claim.value, ...update, claimOffset: claim.claimOffset }
    const offset = await this.#append(claim.key, JSON.stringify(value))
    await this.#waitFor(offset)
  }

  /** Removes a version for good: tombstones its claim record. */
  async removeVersion(subject: string, version: number): Promise<void> {
    const claim = this.#claimFor(subject, version)
    if (!claim) return
    const offset = await this.#append(claim.key, null)
    await this.#waitFor(offset)
  }

  async setConfig(subject: string | null, level: CompatibilityLevel | null): Promise<void> {
    const key = JSON.stringify({ keytype: 'CONFIG', subject })
    const offset = await this.#append(key, level === null ? null : JSON.stringify({ compatibilityLevel: level }))
    await this.#waitFor(offset)
  }

  async setMode(subject: string | null, mode: Mode | null): Promise<void> {
    const key = JSON.stringify({ keytype: 'MODE', subject })
    const offset = await this.#append(key, mode === null ? null : JSON.stringify({ mode }))
    await this.#waitFor(offset)
  }

  #claimFor(subject: string, version: number): Claim | undefined {
    this.#derive()
    for (const key of this.#accepted) {
      const claim = this.#claims.get(key)
      if (claim && claim.value.subject === subject && claim.value.version === version) return claim
    }
    return undefined
  }

  async #append(key: string, value: string | null): Promise<number> {
    try {
      return await this.log.append([{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) }])
    } catch (error) {
      throw storeError((error as Error).message)
    }
  }
}
