import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { RegistryError } from './errors.ts'
import type { RegisterRequest, RegistryService } from './registry-service.ts'
import type { SchemaVersion } from './types.ts'

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const ACCEPTED_TYPES = [
  'application/vnd.schemaregistry.v1+json',
  'application/vnd.schemaregistry+json',
  'application/json',
  'application/octet-stream',
  'text/plain',
]

type Query = Record<string, string | undefined>
type Params = Record<string, string>

const flag = (q: Query, name: string, fallback = false): boolean => {
  const v = q[name]
  if (v === undefined || v === '') return fallback
  return v.toLowerCase() === 'true'
}

function schemaVersionBody(v: SchemaVersion) {
  return {
    subject: v.subject,
    version: v.version,
    id: v.id,
    ...(v.schemaType !== 'AVRO' ? { schemaType: v.schemaType } : {}),
    ...(v.references.length > 0 ? { references: v.references } : {}),
    schema: v.schema,
    ...(v.deleted ? { deleted: true } : {}),
  }
}

function parseId(raw: string): number {
  const id = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(id)) throw new RegistryError(404, 40403, `Schema ${raw} not found`)
  return id
}

function rawSchemaBody(schemaType: string, schema: string): unknown {
  // Confluent answers `/schema` endpoints with the schema document itself, not wrapped in a string.
  if (schemaType === 'PROTOBUF') return schema
  try {
    return JSON.parse(schema)
  } catch {
    return schema
  }
}

export interface RegistryRestOptions {
  service: RegistryService
  logger?: boolean
}

/** The Confluent Schema Registry REST API over a RegistryService. */
export function createRegistryRestApi(options: RegistryRestOptions): FastifyInstance {
  const { service } = options
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 16 * 1024 * 1024 })

  app.removeAllContentTypeParsers()
  app.addContentTypeParser(ACCEPTED_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body)
    if (text.trim() === '') return done(null, {})
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new RegistryError(400, 400, 'Unrecognized or malformed JSON request body'), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body)
    if (text.trim() === '') return done(null, {})
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new RegistryError(415, 415, 'Unsupported media type'), undefined)
    }
  })

  app.addHook('onSend', async (_req, reply, payload) => {
    const type = reply.getHeader('content-type')
    if (typeof type !== 'string' || type.startsWith('application/json')) reply.header('content-type', CONTENT_TYPE)
    return payload
  })

  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
    if (error instanceof RegistryError) {
      return reply.status(error.status).send({ error_code: error.errorCode, message: error.message })
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    return reply.status(status).send({ error_code: status === 500 ? 50001 : status, message: error.message })
  })
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error_code: 404, message: 'HTTP 404 Not Found' }))

  const q = (req: FastifyRequest) => req.query as Query
  const p = (req: FastifyRequest) => req.params as Params
  const body = (req: FastifyRequest) => (req.body ?? {}) as RegisterRequest & Record<string, unknown>

  // Prometheus metrics: per-route request counts and latency, plus the size of the registry.
  const requests = new Map<string, { count: number; seconds: number }>()
  const started = new WeakMap<FastifyRequest, bigint>()
  app.addHook('onRequest', async (req) => {
    started.set(req, process.hrtime.bigint())
  })
  app.addHook('onResponse', async (req, reply) => {
    const begin = started.get(req)
    const route = req.routeOptions?.url ?? 'unmatched'
    const key = `method="${req.method}",route="${route}",status="${reply.statusCode}"`
    const entry = requests.get(key) ?? { count: 0, seconds: 0 }
    entry.count++
    if (begin !== undefined) entry.seconds += Number(process.hrtime.bigint() - begin) / 1e9
    requests.set(key, entry)
  })
  app.get('/metrics', async (_req, reply) => {
    const all = service.store.allVersions()
    const lines = [
      '# HELP tributary_registry_requests_total REST requests by route and status.',
      '# TYPE tributary_registry_requests_total counter',
      ...[...requests].map(([k, v]) => `tributary_registry_requests_total{${k}} ${v.count}`),
      '# HELP tributary_registry_request_seconds_total Time spent answering REST requests.',
      '# TYPE tributary_registry_request_seconds_total counter',
      ...[...requests].map(([k, v]) => `tributary_registry_request_seconds_total{${k}} ${v.seconds.toFixed(6)}`),
      '# HELP tributary_registry_subjects Subjects with at least one live version.',
      '# TYPE tributary_registry_subjects gauge',
      `tributary_registry_subjects ${new Set(all.filter((v) => !v.deleted).map((v) => v.subject)).size}`,
      '# HELP tributary_registry_versions Registered subject versions (including soft-deleted).',
      '# TYPE tributary_registry_versions gauge',
      `tributary_registry_versions ${all.length}`,
      '# HELP tributary_registry_schemas Distinct schema ids.',
      '# TYPE tributary_registry_schemas gauge',
      `tributary_registry_schemas ${new Set(all.map((v) => v.id)).size}`,
      '# HELP tributary_registry_log_offset Offset of the last _schemas record applied.',
      '# TYPE tributary_registry_log_offset gauge',
      `tributary_registry_log_offset ${service.store.appliedOffset}`,
    ]
    reply.header('content-type', 'text/plain; version=0.0.4')
    return `${lines.join('\n')}\n`
  })

  app.get('/', async () => ({}))
  app.get('/v1/metadata/id', async () => ({
    scope: { path: [], clusters: { 'schema-registry-cluster': 'tributary' } },
  }))

  // ---- schemas ----
  app.get('/schemas/types', async () => service.schemaTypes())
  app.get('/schemas', async (req) => {
    const query = q(req)
    const subjects = await service.subjects({ deleted: flag(query, 'deleted'), prefix: query.subjectPrefix })
    const out: ReturnType<typeof schemaVersionBody>[] = []
    for (const s of subjects) {
      const versions = await service.versions(s, { deleted: flag(query, 'deleted') })
      const chosen = flag(query, 'latestOnly') ? versions.slice(-1) : versions
      for (const v of chosen) out.push(schemaVersionBody(await service.version(s, v, { deleted: true })))
    }
    return out
  })
  app.get('/schemas/ids/:id', async (req) => {
    const schema = await service.schemaById(parseId(p(req).id))
    return {
      ...(schema.schemaType !== 'AVRO' ? { schemaType: schema.schemaType } : {}),
      ...(schema.references.length > 0 ? { references: schema.references } : {}),
      schema: schema.schema,
    }
  })
  app.get('/schemas/ids/:id/schema', async (req) => {
    const schema = await service.schemaById(parseId(p(req).id))
    return rawSchemaBody(schema.schemaType, schema.schema)
  })
  app.get('/schemas/ids/:id/versions', async (req) => service.versionsById(parseId(p(req).id), flag(q(req), 'deleted')))
  app.get('/schemas/ids/:id/subjects', async (req) => service.subjectsById(parseId(p(req).id), flag(q(req), 'deleted')))

  // ---- subjects ----
  app.get('/subjects', async (req) => {
    const query = q(req)
    return service.subjects({
      deleted: flag(query, 'deleted'),
      deletedOnly: flag(query, 'deletedOnly'),
      prefix: query.subjectPrefix,
    })
  })
  app.post('/subjects/:subject', async (req) => {
    const query = q(req)
    const found = await service.lookup(p(req).subject, body(req), {
      normalize: flag(query, 'normalize'),
      deleted: flag(query, 'deleted'),
    })
    return schemaVersionBody(found)
  })
  app.delete('/subjects/:subject', async (req) => service.deleteSubject(p(req).subject, flag(q(req), 'permanent')))
  app.get('/subjects/:subject/versions', async (req) => {
    const query = q(req)
    return service.versions(p(req).subject, {
      deleted: flag(query, 'deleted'),
      deletedOnly: flag(query, 'deletedOnly'),
    })
  })
  app.post('/subjects/:subject/versions', async (req) => {
    const result = await service.register(p(req).subject, body(req), { normalize: flag(q(req), 'normalize') })
    return { id: result.id }
  })
  app.get('/subjects/:subject/versions/:version', async (req) => {
    const v = await service.version(p(req).subject, p(req).version, { deleted: flag(q(req), 'deleted') })
    return schemaVersionBody(v)
  })
  app.get('/subjects/:subject/versions/:version/schema', async (req) => {
    const v = await service.version(p(req).subject, p(req).version, { deleted: flag(q(req), 'deleted') })
    return rawSchemaBody(v.schemaType, v.schema)
  })
  app.get('/subjects/:subject/versions/:version/referencedby', async (req) =>
    service.referencedBy(p(req).subject, p(req).version),
  )
  app.delete('/subjects/:subject/versions/:version', async (req) =>
    service.deleteVersion(p(req).subject, p(req).version, flag(q(req), 'permanent')),
  )

  // ---- compatibility ----
  const compatibility = async (req: FastifyRequest, version: string | undefined) => {
    const result = await service.testCompatibility(p(req).subject, version, body(req))
    return flag(q(req), 'verbose')
      ? { is_compatible: result.compatible, messages: result.messages }
      : { is_compatible: result.compatible }
  }
  app.post('/compatibility/subjects/:subject/versions/:version', async (req) => compatibility(req, p(req).version))
  app.post('/compatibility/subjects/:subject/versions', async (req) => compatibility(req, undefined))

  // ---- config ----
  const level = (req: FastifyRequest) => {
    const b = body(req)
    return b.compatibility ?? b.compatibilityLevel
  }
  app.get('/config', async () => ({ compatibilityLevel: await service.getConfig(null) }))
  app.put('/config', async (req) => ({ compatibility: await service.setConfig(null, level(req)) }))
  app.delete('/config', async () => ({ compatibilityLevel: await service.deleteConfig(null) }))
  app.get('/config/:subject', async (req) => ({
    compatibilityLevel: await service.getConfig(p(req).subject, flag(q(req), 'defaultToGlobal')),
  }))
  app.put('/config/:subject', async (req) => ({ compatibility: await service.setConfig(p(req).subject, level(req)) }))
  app.delete('/config/:subject', async (req) => ({ compatibilityLevel: await service.deleteConfig(p(req).subject) }))

  // ---- mode ----
  app.get('/mode', async () => ({ mode: await service.getMode(null) }))
  app.put('/mode', async (req) => ({ mode: await service.setMode(null, body(req).mode, flag(q(req), 'force')) }))
  app.get('/mode/:subject', async (req) => ({
    mode: await service.getMode(p(req).subject, flag(q(req), 'defaultToGlobal')),
  }))
  app.put('/mode/:subject', async (req) => ({
    mode: await service.setMode(p(req).subject, body(req).mode, flag(q(req), 'force')),
  }))
  app.delete('/mode/:subject', async (req) => ({ mode: await service.deleteMode(p(req).subject) }))

  return app
}
