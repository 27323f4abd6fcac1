/**
 * Confluent REST Proxy API v2: topic and broker metadata, produce with embedded formats
 * (`application/vnd.kafka.{binary,json,avro,jsonschema,protobuf}.v2+json`), and the consumer API (instances,
 * subscription, records, offsets). Answers use `application/vnd.kafka.v2+json`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type ConsumerInstances, V2_FORMATS, type V2Format } from './consumer-instances.ts'
import { baseUrl, clientsOf, kafka, type ProxyContext, path, producerOf } from './context.ts'
import {
  badRequest,
  consumerFormatMismatch,
  invalidPayload,
  jsonConversion,
  keySchemaMissing,
  RestProxyError,
  serializationFailed,
  topicNotFound,
  unsupportedMediaType,
  valueSchemaMissing,
} from './errors.ts'
import { decodeBase64, type ResolvedSchema, SCHEMA_TYPE_OF } from './formats.ts'

export const V2_JSON = 'application/vnd.kafka.v2+json'
export const v2Type = (format: V2Format) => `application/vnd.kafka.${format}.v2+json`

type Params = Record<string, string>

/** The embedded format a v2 Content-Type or Accept header names, if any. */
export function embeddedFormat(header: string | undefined): V2Format | undefined {
  const m = /application\/vnd\.kafka\.([a-z]+)\.v2\+json/.exec(header ?? '')
  return m && (V2_FORMATS as readonly string[]).includes(m[1]) ? (m[1] as V2Format) : undefined
}

const EMBEDDED: Record<V2Format, 'BINARY' | 'JSON' | 'AVRO' | 'JSONSCHEMA' | 'PROTOBUF'> = {
  binary: 'BINARY',
  json: 'JSON',
  avro: 'AVRO',
  jsonschema: 'JSONSCHEMA',
  protobuf: 'PROTOBUF',
}

interface V2Record {
  key?: unknown
  value?: unknown
  partition?: unknown
}

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.status(status).type(V2_JSON).send(body)
}

export function registerV2(app: FastifyInstance, ctx: ProxyContext, instances: ConsumerInstances): void {
  const p = (req: FastifyRequest) => req.params as Params
  const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>

  // ---- metadata ----
  app.get('/topics', async (req, reply) =>
    send(reply, 200, (await kafka(() => clientsOf(req).admin.listTopics({ includeInternals: true }))).sort()),
  )
  const topicInfo = async (req: FastifyRequest, topic: string) => {
    const clients = clientsOf(req)
    const existing = await kafka(() => clients.admin.listTopics({ includeInternals: true }))
    if (!existing.includes(topic)) throw topicNotFound()
    const metadata = await kafka(() => clients.admin.metadata({ topics: [topic], forceUpdate: true }))
    const t = metadata.topics.get(topic)!
    const partitions = t.partitions.map((part, partition) => ({
      partition,
      leader: part.leader,
      replicas: part.replicas.map((broker) => ({
        broker,
        leader: broker === part.leader,
        in_sync: part.isr.includes(broker),
      })),
    }))
    const [described] = await kafka(() =>
      clients.admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }] }),
    )
    const configs: Record<string, string | null> = {}
    for (const c of described?.configs ?? []) if (c.configSource === 1) configs[c.name] = c.value ?? null
    return { name: topic, configs, partitions }
  }
  app.get('/topics/:topic', async (req, reply) => send(reply, 200, await topicInfo(req, p(req).topic)))
  app.get('/topics/:topic/partitions', async (req, reply) =>
    send(reply, 200, (await topicInfo(req, p(req).topic)).partitions),
  )
  app.get('/topics/:topic/partitions/:partition', async (req, reply) => {
    const info = await topicInfo(req, p(req).topic)
    const found = info.partitions.find((x) => String(x.partition) === p(req).partition)
    if (!found) throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
    return send(reply, 200, found)
  })
  app.get('/brokers', async (req, reply) => {
    const metadata = await kafka(() => clientsOf(req).admin.metadata({ topics: [], forceUpdate: true }))
    return send(reply, 200, { brokers: [...metadata.brokers.keys()].sort((a, b) => a - b) })
  })

  // ---- produce ----
  const produce = async (req: FastifyRequest, reply: FastifyReply, topic: string, partition?: number) => {
    const format = embeddedFormat(req.headers['content-type'])
    if (!format) throw unsupportedMediaType()
    const b = req.body as
      | {
          records?: unknown
          key_schema?: unknown
          key_schema_id?: unknown
          value_schema?: unknown
          value_schema_id?: unknown
        }
      | undefined
    if (!b || typeof b !== 'object') throw invalidPayload('Request body is empty. Data is required.')
    if (!Array.isArray(b.records) || b.records.length === 0) throw invalidPayload('records must be a non-empty list.')
    const records = b.records as V2Record[]
    const clients = clientsOf(req)
    const producer = producerOf(ctx, clients)
    const count = await producer.partitions(topic).catch((error) => {
      if (error instanceof RestProxyError && error.status === 404) throw topicNotFound()
      throw error
    })
    if (partition !== undefined && (partition < 0 || partition >= count)) {
      throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
    }
    // Every record is serialized before any is sent: one bad record fails the request and nothing is written.
    let keySchema: ResolvedSchema | undefined
    let valueSchema: ResolvedSchema | undefined
    const schemaType = SCHEMA_TYPE_OF[EMBEDDED[format]]
    if (schemaType) {
      const codecs = ctx.codecs
      if (!codecs) throw serializationFailed('No schema registry is configured for this REST proxy.')
      const resolve = async (isKey: boolean, id: unknown, text: unknown) => {
        if (id !== undefined && id !== null) {
          if (!Number.isInteger(id))
            throw badRequest(`Bad Request: ${isKey ? 'key' : 'value'}_schema_id must be an integer`)
          return codecs.resolve(topic, isKey, { type: EMBEDDED[format], schemaId: id as number })
        }
        if (text !== undefined && text !== null) {
          if (typeof text !== 'string')
            throw badRequest(`Bad Request: ${isKey ? 'key' : 'value'}_schema must be a string`)
          return codecs.resolve(topic, isKey, { type: EMBEDDED[format], schema: text })
        }
        return undefined
      }
      keySchema = await resolve(true, b.key_schema_id, b.key_schema)
      valueSchema = await resolve(false, b.value_schema_id, b.value_schema)
    }
    const encode = (data: unknown, schema: ResolvedSchema | undefined, isKey: boolean): Buffer | null => {
      if (data === undefined || data === null) return null
      if (format === 'binary') return decodeBase64(data, isKey ? 'key' : 'value')
      if (format === 'json') return Buffer.from(JSON.stringify(data))
      if (!schema) throw isKey ? keySchemaMissing() : valueSchemaMissing()
      return ctx.codecs!.encode(schema, data)
    }
    const prepared = records.map((r) => {
      if (!r || typeof r !== 'object') throw invalidPayload('every record must be a JSON object.')
      const target = r.partition ?? partition
      if (target !== undefined && target !== null && (!Number.isInteger(target) || (target as number) < 0)) {
        throw badRequest('Bad Request: partition must be a non-negative integer')
      }
      return {
        topic,
        partition: (target as number | undefined) ?? null,
        key: encode(r.key, keySchema, true),
        value: encode(r.value, valueSchema, false),
        headers: [] as [string, Buffer | null][],
        timestamp: Date.now(),
      }
    })
    const offsets = await Promise.all(
      prepared.map((record) =>
        producer.send(record).then(
          (d) => ({ partition: d.partition, offset: Number(d.offset), error_code: null, error: null }),
          (error: unknown) => {
            const e = error instanceof RestProxyError ? error : new RestProxyError(500, 50002, String(error))
            return { partition: null, offset: null, error_code: e.errorCode, error: e.message }
          },
        ),
      ),
    )
    return send(reply, 200, {
      offsets,
      key_schema_id: keySchema?.id ?? null,
      value_schema_id: valueSchema?.id ?? null,
    })
  }
  app.post('/topics/:topic', async (req, reply) => produce(req, reply, p(req).topic))
  app.post('/topics/:topic/partitions/:partition', async (req, reply) => {
    const partition = /^[0-9]+$/.test(p(req).partition) ? Number(p(req).partition) : -1
    return produce(req, reply, p(req).topic, partition)
  })

  // ---- consumers ----
  app.post('/consumers/:group', async (req, reply) => {
    const instance = instances.create(clientsOf(req), p(req).group, (req.body ?? {}) as Record<string, unknown>)
    return send(reply, 200, {
      instance_id: instance.id,
      base_uri: `${baseUrl(req)}/consumers/${path(instance.group)}/instances/${path(instance.id)}`,
    })
  })
  const instanceOf = (req: FastifyRequest) => instances.get(clientsOf(req), p(req).group, p(req).instance)
  app.delete('/consumers/:group/instances/:instance', async (req, reply) => {
    await instances.delete(clientsOf(req), p(req).group, p(req).instance)
    return reply.status(204).send()
  })
  app.post('/consumers/:group/instances/:instance/subscription', async (req, reply) => {
    const instance = instanceOf(req)
    const b = (req.body ?? {}) as { topics?: unknown; topic_pattern?: unknown }
    let topics: string[]
    if (b.topic_pattern !== undefined && b.topic_pattern !== null) {
      if (typeof b.topic_pattern !== 'string') throw badRequest('Bad Request: topic_pattern must be a string')
      let re: RegExp
      try {
        re = new RegExp(`^(?:${b.topic_pattern})$`)
      } catch (error) {
        throw badRequest(`Bad Request: invalid topic_pattern: ${(error as Error).message}`)
      }
      const all = await kafka(() => clientsOf(req).admin.listTopics({ includeInternals: false }))
      topics = all.filter((t) => re.test(t))
    } else {
      if (!Array.isArray(b.topics) || b.topics.length === 0 || b.topics.some((t) => typeof t !== 'string')) {
        throw new RestProxyError(422, 422, 'topics or topic_pattern is required', 'TRB_REST_BAD_SUBSCRIPTION')
      }
      topics = b.topics as string[]
      const existing = new Set(await kafka(() => clientsOf(req).admin.listTopics({ includeInternals: true })))
      const missing = topics.find((t) => !existing.has(t))
      if (missing !== undefined) throw topicNotFound(missing)
    }
    await instance.subscribe(topics)
    return reply.status(204).send()
  })
  app.get('/consumers/:group/instances/:instance/subscription', async (req, reply) =>
    send(reply, 200, { topics: instanceOf(req).topics }),
  )
  app.delete('/consumers/:group/instances/:instance/subscription', async (req, reply) => {
    await instanceOf(req).unsubscribe()
    return reply.status(204).send()
  })
  app.get('/consumers/:group/instances/:instance/assignments', async (req, reply) =>
    send(reply, 200, { partitions: instanceOf(req).assignment() }),
  )
  const partitionList = (req: FastifyRequest) => {
    const b = req.body as { partitions?: unknown } | undefined
    if (!b || !Array.isArray(b.partitions)) throw badRequest('Bad Request: partitions must be a list')
    return (b.partitions as Record<string, unknown>[]).map((x) => {
      if (!x || typeof x.topic !== 'string' || !Number.isInteger(x.partition) || (x.partition as number) < 0) {
        throw badRequest('Bad Request: every partition needs topic and partition')
      }
      return { topic: x.topic, partition: x.partition as number }
    })
  }
  app.post('/consumers/:group/instances/:instance/assignments', async (req, reply) => {
    const instance = instanceOf(req)
    const partitions = partitionList(req)
    const metadata = await kafka(() =>
      clientsOf(req).admin.metadata({ topics: [...new Set(partitions.map((x) => x.topic))], forceUpdate: true }),
    )
    for (const x of partitions) {
      const t = metadata.topics.get(x.topic)
      if (!t) throw topicNotFound(x.topic)
      if (x.partition >= t.partitionsCount) {
        throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
      }
    }
    await instance.assign(partitions)
    return reply.status(204).send()
  })
  app.post('/consumers/:group/instances/:instance/positions', async (req, reply) => {
    const instance = instanceOf(req)
    const b = req.body as { offsets?: unknown } | undefined
    if (!b || !Array.isArray(b.offsets)) throw badRequest('Bad Request: offsets must be a list')
    const targets = (b.offsets as Record<string, unknown>[]).map((o) => {
      if (
        !o ||
        typeof o.topic !== 'string' ||
        !Number.isInteger(o.partition) ||
        !Number.isInteger(o.offset) ||
        (o.offset as number) < 0
      ) {
        throw badRequest('Bad Request: every offset needs topic, partition and a non-negative offset')
      }
      return { topic: o.topic, partition: o.partition as number, offset: BigInt(o.offset as number) }
    })
    await instance.seek(targets)
    return reply.status(204).send()
  })
  app.post('/consumers/:group/instances/:instance/positions/beginning', async (req, reply) => {
    await instanceOf(req).seekTo(partitionList(req), 'beginning')
    return reply.status(204).send()
  })
  app.post('/consumers/:group/instances/:instance/positions/end', async (req, reply) => {
    await instanceOf(req).seekTo(partitionList(req), 'end')
    return reply.status(204).send()
  })
  app.get('/consumers/:group/instances/:instance/records', async (req, reply) => {
    const instance = instanceOf(req)
    const accept = req.headers.accept
    const wanted = embeddedFormat(accept)
    if (wanted !== undefined && wanted !== instance.config.format) throw consumerFormatMismatch()
    const timeout = q(req).timeout === undefined ? -1 : Number(q(req).timeout)
    const maxBytesRaw = q(req).max_bytes === undefined ? -1 : Number(q(req).max_bytes)
    if (!Number.isFinite(timeout) || !Number.isFinite(maxBytesRaw))
      throw badRequest('Bad Request: timeout and max_bytes are numbers')
    const maxBytes = maxBytesRaw <= 0 ? Number.MAX_SAFE_INTEGER : maxBytesRaw
    const messages = await instance.read(timeout, maxBytes)
    const format = instance.config.format
    const convert = async (data: Buffer | undefined | null): Promise<unknown> => {
      if (data === undefined || data === null) return null
      if (format === 'binary') return data.toString('base64')
      if (format === 'json') {
        try {
          return JSON.parse(data.toString('utf8'))
        } catch (error) {
          throw jsonConversion((error as Error).message)
        }
      }
      if (!ctx.codecs) throw serializationFailed('No schema registry is configured for this REST proxy.')
      return (await ctx.codecs.decode(data)).value
    }
    const out = []
    try {
      for (const m of messages) {
        out.push({
          topic: m.topic,
          key: await convert(m.key),
          value: await convert(m.value),
          partition: m.partition,
          offset: Number(m.offset),
        })
      }
    } catch (error) {
      instance.putBack(messages)
      throw error
    }
    await instance.delivered(messages)
    return reply.status(200).type(v2Type(format)).send(out)
  })
  app.post('/consumers/:group/instances/:instance/offsets', async (req, reply) => {
    const instance = instanceOf(req)
    const b = req.body as { offsets?: unknown } | undefined
    let given: { topic: string; partition: number; offset: number }[] | undefined
    if (b && Array.isArray(b.offsets) && b.offsets.length > 0) {
      given = (b.offsets as Record<string, unknown>[]).map((o) => {
        if (!o || typeof o.topic !== 'string' || !Number.isInteger(o.partition) || !Number.isInteger(o.offset)) {
          throw badRequest('Bad Request: every offset needs topic, partition and offset')
        }
        return { topic: o.topic, partition: o.partition as number, offset: o.offset as number }
      })
    }
    const committed = await instance.commit(given)
    return send(reply, 200, {
      offsets: committed.map((c) => ({
        topic: c.topic,
        partition: c.partition,
        consumed: Number(c.offset) - 1,
        committed: Number(c.offset),
      })),
    })
  })
  app.get('/consumers/:group/instances/:instance/offsets', async (req, reply) => {
    const instance = instanceOf(req)
    // Confluent's API puts a body on this GET; Fastify does not parse GET bodies, so it is read here.
    let b = req.body as { partitions?: unknown } | undefined
    if (b === undefined) {
      let text = ''
      for await (const chunk of req.raw) {
        text += chunk
        if (text.length > ctx.bodyLimit) throw new RestProxyError(413, 413, 'Request body too large')
      }
      try {
        b = text.trim() === '' ? undefined : JSON.parse(text)
      } catch (error) {
        throw badRequest(`Unexpected character or malformed JSON: ${(error as Error).message}`)
      }
    }
    if (!b || !Array.isArray(b.partitions)) throw new RestProxyError(404, 40402, 'Partition not found.')
    const partitions = (b.partitions as Record<string, unknown>[]).map((x) => {
      if (!x || typeof x.topic !== 'string' || !Number.isInteger(x.partition)) {
        throw badRequest('Bad Request: every partition needs topic and partition')
      }
      return { topic: x.topic, partition: x.partition as number }
    })
    return send(reply, 200, { offsets: await instance.committed(partitions) })
  })
}
