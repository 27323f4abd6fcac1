/**
 * v3 produce: `POST /v3/clusters/{cluster_id}/topics/{topic_name}/records`, one record or a stream of concatenated
 * JSON records on one connection (Confluent's streaming mode), answered by one delivery report per record in the
 * same order, each with its own `error_code` (200 when written). And `records:batch`, answered with 207.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkCluster, clientsOf, type ProxyContext, producerOf } from './context.ts'
import { badRequest, invalidPayload, produceBatchInvalid, RestProxyError, serializationFailed } from './errors.ts'
import {
  decodeBase64,
  EMBEDDED_TYPE_OF,
  EMBEDDED_TYPES,
  type EmbeddedType,
  encodePlain,
  type ResolvedSchema,
  type SchemaCodecs,
} from './formats.ts'
import { readJsonObjects } from './json-stream.ts'
import type { OutgoingRecord } from './record-producer.ts'

type Params = Record<string, string>

/** Records read ahead of their delivery reports on one streaming connection. */
const MAX_IN_FLIGHT = 2000
const MAX_BATCH_ENTRIES = 1000

interface EncodedPart {
  bytes: Buffer | null
  report: Record<string, unknown> | null
}

async function encodePart(
  codecs: SchemaCodecs | undefined,
  topic: string,
  isKey: boolean,
  raw: unknown,
): Promise<EncodedPart> {
  if (raw === undefined || raw === null) return { bytes: null, report: null }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest(`Bad Request: ${isKey ? 'key' : 'value'} must be an object with 'type' and 'data'`)
  }
  const d = raw as Record<string, unknown>
  const type = typeof d.type === 'string' ? (d.type.toUpperCase() as EmbeddedType) : undefined
  if (type !== undefined && !EMBEDDED_TYPES.includes(type)) {
    throw badRequest(`Bad Request: unknown ${isKey ? 'key' : 'value'} type '${d.type}'`)
  }
  if (type === 'BINARY' || type === 'JSON' || type === 'STRING') {
    const bytes = encodePlain(type, d.data)
    return { bytes, report: { type, size: bytes?.length ?? 0 } }
  }
  if (!codecs) throw serializationFailed('No schema registry is configured for this REST proxy.')
  const int = (v: unknown, name: string) => {
    if (v === undefined || v === null) return null
    if (!Number.isInteger(v)) throw badRequest(`Bad Request: ${name} must be an integer`)
    return v as number
  }
  const str = (v: unknown, name: string) => {
    if (v === undefined || v === null) return null
    if (typeof v !== 'string') throw badRequest(`Bad Request: ${name} must be a string`)
    return v
  }
  const schema: ResolvedSchema = await codecs.resolve(topic, isKey, {
    type,
    subject: str(d.subject, 'subject'),
    subjectNameStrategy: str(d.subject_name_strategy, 'subject_name_strategy'),
    schemaId: int(d.schema_id, 'schema_id'),
    schemaVersion: int(d.schema_version, 'schema_version'),
    schema: str(d.schema, 'schema'),
  })
  const bytes = codecs.encode(schema, d.data)
  return {
    bytes,
    report: {
      type: EMBEDDED_TYPE_OF[schema.schemaType],
      subject: schema.subject,
      schema_id: schema.id,
      schema_version: schema.version,
      size: bytes?.length ?? 0,
    },
  }
}

/** A v3 produce request as the record to send, plus what its delivery report says about key and value. */
export async function toRecord(
  ctx: ProxyContext,
  topic: string,
  request: unknown,
): Promise<{ record: OutgoingRecord; key: EncodedPart; value: EncodedPart }> {
  if (!request || typeof request !== 'object' || Array.isArray(request)) {
    throw badRequest('Bad Request: each record must be a JSON object')
  }
  const r = request as Record<string, unknown>
  if (r.partition_id !== undefined && r.partition_id !== null && !Number.isInteger(r.partition_id)) {
    throw badRequest('Bad Request: partition_id must be an integer')
  }
  if (typeof r.partition_id === 'number' && r.partition_id < 0) {
    throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
  }
  const headers: [string, Buffer | null][] = []
  if (r.headers !== undefined && r.headers !== null) {
    if (!Array.isArray(r.headers)) throw badRequest('Bad Request: headers must be a list')
    for (const h of r.headers as { name?: unknown; value?: unknown }[]) {
      if (!h || typeof h.name !== 'string') throw badRequest('Bad Request: every header needs a name')
      headers.push([h.name, h.value === undefined || h.value === null ? null : decodeBase64(h.value, 'value')])
    }
  }
  let timestamp = Date.now()
  if (r.timestamp !== undefined && r.timestamp !== null) {
    const t = typeof r.timestamp === 'string' ? Date.parse(r.timestamp) : Number.NaN
    if (!Number.isFinite(t))
      throw badRequest(`Bad Request: timestamp ${JSON.stringify(r.timestamp)} is not a date-time`)
    timestamp = t
  }
  const [key, value] = await Promise.all([
    encodePart(ctx.codecs, topic, true, r.key),
    encodePart(ctx.codecs, topic, false, r.value),
  ])
  return {
    record: {
      topic,
      partition: (r.partition_id as number | null | undefined) ?? null,
      key: key.bytes,
      value: value.bytes,
      headers,
      timestamp,
    },
    key,
    value,
  }
}

/** Produces one v3 request; never throws: failures become `{ error_code, message }`. */
async function produceOne(ctx: ProxyContext, req: FastifyRequest, clusterId: string, topic: string, request: unknown) {
  try {
    const { record, key, value } = await toRecord(ctx, topic, request)
    const delivery = await producerOf(ctx, clientsOf(req)).send(record)
    return {
      error_code: 200,
      cluster_id: clusterId,
      topic_name: topic,
      partition_id: delivery.partition,
      offset: Number(delivery.offset),
      timestamp: new Date(delivery.timestamp).toISOString(),
      ...(key.report ? { key: key.report } : {}),
      ...(value.report ? { value: value.report } : {}),
    }
  } catch (error) {
    return errorReport(error, req)
  }
}

function errorReport(error: unknown, req: FastifyRequest) {
  if (error instanceof RestProxyError) return error.toBody()
  req.log.error({ err: error }, 'unexpected error producing a record')
  return { error_code: 500, message: `Internal Server Error: ${(error as Error).message}` }
}

export function registerV3Records(app: FastifyInstance, ctx: ProxyContext): void {
  const p = (req: FastifyRequest) => req.params as Params

  app.register(async (scope) => {
    // The body is read here as a stream of JSON objects, not parsed whole by Fastify.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('application/json', (_req, payload, done) => done(null, payload))

    scope.post('/v3/clusters/:cluster_id/topics/:topic_name/records', async (req, reply) => {
      const metadata = await checkCluster(req, p(req).cluster_id)
      const topic = p(req).topic_name
      const body = req.body as AsyncIterable<Buffer> | undefined
      if (!body) throw invalidPayload('Request body is empty. Data is required.')
      const objects = readJsonObjects(body, { maxObjectBytes: Math.ceil(ctx.maxRecordBytes * 1.4) + 64 * 1024 })
      // The first record is read before answering, so an empty or unreadable body is still a plain HTTP error.
      let first: IteratorResult<unknown>
      try {
        first = await objects.next()
      } catch (error) {
        if (error instanceof RestProxyError) throw error
        throw badRequest(`Error processing JSON: ${(error as Error).message}`)
      }
      if (first.done) throw invalidPayload('Request body is empty. Data is required.')

      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': 'application/json' })
      let tail: Promise<void> = Promise.resolve()
      let inFlight = 0
      let drained: (() => void) | undefined
      const push = (report: Promise<Record<string, unknown>>) => {
        inFlight++
        tail = tail.then(async () => {
          const r = await report
          inFlight--
          if (!res.destroyed) res.write(`${JSON.stringify(r)}\n`)
          drained?.()
        })
      }
      push(produceOne(ctx, req, metadata.id, topic, first.value))
      try {
        for await (const request of { [Symbol.asyncIterator]: () => objects }) {
          if (res.destroyed) break
          push(produceOne(ctx, req, metadata.id, topic, request))
          while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (drained = resolve))
        }
      } catch (error) {
        const report =
          error instanceof RestProxyError
            ? error.toBody()
            : { error_code: 400, message: `Error processing JSON: ${(error as Error).message}` }
        push(Promise.resolve(report))
      }
      await tail
      res.end()
    })
  })

  app.post('/v3/clusters/:cluster_id/topics/:topic_name/records::batch', async (req, reply) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const topic = p(req).topic_name
    const b = req.body as { entries?: unknown } | undefined
    if (!b || typeof b !== 'object') throw produceBatchInvalid('Request body is empty. Data is required.')
    if (!Array.isArray(b.entries) || b.entries.length === 0) throw produceBatchInvalid('Empty batch.')
    if (b.entries.length > MAX_BATCH_ENTRIES) throw produceBatchInvalid('Too many entries in batch.')
    const ids = new Set<string>()
    for (const e of b.entries as { id?: unknown }[]) {
      if (!e || typeof e.id !== 'string' || e.id.length < 1 || e.id.length > 80) {
        throw produceBatchInvalid('Batch entry identifier is not a valid string.')
      }
      if (ids.has(e.id)) throw produceBatchInvalid('Batch entry IDs are not distinct.')
      ids.add(e.id)
    }
    const results = await Promise.all(
      (b.entries as { id: string }[]).map(async (entry) => ({
        id: entry.id,
        report: await produceOne(ctx, req, metadata.id, topic, entry),
      })),
    )
    const successes = []
    const failures = []
    for (const { id, report } of results) {
      if (report.error_code === 200) {
        const { error_code: _, ...rest } = report
        successes.push({ id, ...rest })
      } else failures.push({ id, ...report })
    }
    return reply.status(207).send({ successes, failures })
  })
}
