import { TributaryError } from '../errors.ts'
import type { ResolvedReference } from './formats/format.ts'
import type { SchemaInput, SchemaReference, SchemaType, SchemaVersion } from './schema-types.ts'

export interface RegisteredSchema {
  schemaType: SchemaType
  schema: string
  references: SchemaReference[]
}

/** An error answer from a schema registry, with Confluent's numeric `errorCode`. */
export class RegistryClientError extends TributaryError {
  readonly status: number
  readonly errorCode: number
  constructor(status: number, errorCode: number, message: string) {
    super('TRB_REGISTRY_CLIENT', `schema registry answered ${status} (${errorCode}): ${message}`)
    this.name = 'RegistryClientError'
    this.status = status
    this.errorCode = errorCode
  }
}

export interface SchemaRegistryClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8081 */
  url: string
  headers?: Record<string, string>
}

/**
 * HTTP client for any Confluent-compatible registry. Schemas by id never change, so they are cached for the
 * client's lifetime; registrations are cached per subject and schema text.
 */
export class SchemaRegistryClient {
  readonly url: string
  #headers: Record<string, string>
  #byId = new Map<number, Promise<RegisteredSchema>>()
  #idBySubjectSchema = new Map<string, Promise<number>>()

  constructor(options: SchemaRegistryClientOptions | string) {
    const o = typeof options === 'string' ? { url: options } : options
    this.url = o.url.replace(/\/+$/, '')
    this.#headers = o.headers ?? {}
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        accept: 'application/vnd.schemaregistry.v1+json, application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' }),
        ...this.#headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = text
    }
    if (!res.ok) {
      const err = parsed as { error_code?: number; message?: string } | undefined
      throw new RegistryClientError(res.status, err?.error_code ?? res.status, err?.message ?? text)
    }
    return parsed as T
  }

  /** The schema registered under `id` (cached: ids are immutable). */
  getSchemaById(id: number): Promise<RegisteredSchema> {
    let cached = this.#byId.get(id)
    if (!cached) {
      cached = this.request<{ schema: string; schemaType?: SchemaType; references?: SchemaReference[] }>(
        'GET',
        `/schemas/ids/${id}`,
      ).then((r) => ({ schema: r.schema, schemaType: r.schemaType ?? 'AVRO', references: r.references ?? [] }))
      cached.catch(() => this.#byId.delete(id))
      this.#byId.set(id, cached)
    }
    return cached
  }

  register(subject: string, schema: SchemaInput, options: { normalize?: boolean } = {}): Promise<number> {
    const key = JSON.stringify([subject, schema.schemaType, schema.schema, schema.references, options.normalize])
    let cached = this.#idBySubjectSchema.get(key)
    if (!cached) {
      cached = this.request<{ id: number }>(
        'POST',
        `/subjects/${encodeURIComponent(subject)}/versions${options.normalize ? '?normalize=true' : ''}`,
        this.#body(schema),
      ).then((r) => r.id)
      cached.catch(() => this.#idBySubjectSchema.delete(key))
      this.#idBySubjectSchema.set(key, cached)
    }
    return cached
  }

  /** Id of a schema already registered under `subject` (40403 if it is not). */
  lookup(subject: string, schema: SchemaInput, options: { normalize?: boolean } = {}): Promise<SchemaVersion> {
    return this.request<SchemaVersion>(
      'POST',
      `/subjects/${encodeURIComponent(subject)}${options.normalize ? '?normalize=true' : ''}`,
      this.#body(schema),
    ).then((v) => ({ ...v, schemaType: v.schemaType ?? 'AVRO', references: v.references ?? [] }))
  }

  getVersion(subject: string, version: number | 'latest'): Promise<SchemaVersion> {
    return this.request<SchemaVersion>('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`).then(
      (v) => ({ ...v, schemaType: v.schemaType ?? 'AVRO', references: v.references ?? [] }),
    )
  }

  /**
   * The schemas `refs` name, each after the ones it references in turn (deepest first, each once): what a schema
   * format needs to parse a schema with references. Version -1 is the latest.
   */
  async resolveReferences(refs: SchemaReference[], seen = new Set<string>()): Promise<ResolvedReference[]> {
    const out: ResolvedReference[] = []
    for (const ref of refs) {
      const key = `${ref.subject}\u0000${ref.version}`
      if (seen.has(key)) continue
      seen.add(key)
      const v = await this.getVersion(ref.subject, ref.version === -1 ? 'latest' : ref.version)
      out.push(...(await this.resolveReferences(v.references, seen)))
      out.push({ ...ref, version: v.version, schemaType: v.schemaType, schema: v.schema })
    }
    return out
  }

  getSubjects(): Promise<string[]> {
    return this.request<string[]>('GET', '/subjects')
  }

  getVersions(subject: string): Promise<number[]> {
    return this.request<number[]>('GET', `/subjects/${encodeURIComponent(subject)}/versions`)
  }

  #body(schema: SchemaInput) {
    return {
      schema: schema.schema,
      ...(schema.schemaType !== 'AVRO' ? { schemaType: schema.schemaType } : {}),
      ...(schema.references.length > 0 ? { references: schema.references } : {}),
    }
  }
}
