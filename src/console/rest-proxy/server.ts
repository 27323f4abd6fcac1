/**
 * The REST proxy server: Fastify, Confluent's content types and error bodies, HTTP basic auth mapped to the
 * broker's SASL users, and the v2, v3 and server-sent-event routes. It reaches Kafka only through src/client.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { resolveBootstrap } from '../../client/index.ts'
import { SchemaRegistryClient } from '../../serde/registry-client.ts'
import { ConsumerInstances } from './consumer-instances.ts'
import { type ProxyContext, setClients } from './context.ts'
import {
  fromKafkaError,
  malformedJson,
  notFound,
  payloadTooLarge,
  RestProxyError,
  unsupportedMediaType,
} from './errors.ts'
import { SchemaCodecs } from './formats.ts'
import { ClientPool, type Credentials, type KafkaConnectionOptions, type SaslMechanism } from './kafka-clients.ts'
import { registerSse } from './sse.ts'
import { registerV2, V2_JSON } from './v2.ts'
import { registerV3Admin } from './v3-admin.ts'
import { registerV3Records } from './v3-records.ts'

export interface RestProxyOptions {
  /** Kafka bootstrap (host:port list); defaults to TRIBUTARY_BOOTSTRAP. */
  bootstrap?: string | string[]
  /** Schema registry base URL, for AVRO / JSONSCHEMA / PROTOBUF. */
  registryUrl?: string
  port?: number
  host?: string
  /**
   * `basic`: every request needs HTTP basic auth, and its user and password are the SASL credentials the proxy
   * connects to Kafka with (`saslMechanism`). `none` (default): one shared, unauthenticated connection.
   */
  authentication?: 'none' | 'basic'
  saslMechanism?: SaslMechanism
  tls?: KafkaConnectionOptions['tls']
  /** Largest record (key + value + headers) accepted, in bytes (default 1 MiB, Kafka's max.request.size). */
  maxRecordBytes?: number
  /** Largest JSON body for everything but the streaming records endpoint (default 16 MiB). */
  bodyLimit?: number
  maxPrincipals?: number
  principalIdleMs?: number
  /** v2 consumer instances are closed after this long without a request (default 5 minutes). */
  consumerInstanceTimeoutMs?: number
  logger?: boolean
}

export interface RestProxy {
  app: FastifyInstance
  context: ProxyContext
  close(): Promise<void>
}

export interface RunningRestProxy extends RestProxy {
  url: string
  port: number
  host: string
}

/** Parses `Authorization: Basic ...`; undefined when absent or malformed. */
export function basicCredentials(header: string | undefined): Credentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!m) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

const JSON_TYPES = [
  'application/json',
  'application/octet-stream',
  V2_JSON,
  ...['binary', 'json', 'avro', 'jsonschema', 'protobuf'].map((f) => `application/vnd.kafka.${f}.v2+json`),
]

/** Builds the proxy without listening (tests can use `app.inject`). */
export function createRestProxy(options: RestProxyOptions = {}): RestProxy {
  const authentication = options.authentication ?? 'none'
  if (authentication === 'basic' && !options.saslMechanism) {
    throw new RestProxyError(500, 500, 'basic authentication needs a SASL mechanism', 'TRB_CONFIG_INVALID')
  }
  const pool = new ClientPool({
    bootstrap: resolveBootstrap(options.bootstrap),
    saslMechanism: authentication === 'basic' ? options.saslMechanism : undefined,
    tls: options.tls,
    maxPrincipals: options.maxPrincipals,
    idleMs: options.principalIdleMs,
  })
  const bodyLimit = options.bodyLimit ?? 16 * 1024 * 1024
  const ctx: ProxyContext = {
    pool,
    codecs: options.registryUrl ? new SchemaCodecs(new SchemaRegistryClient(options.registryUrl)) : undefined,
    maxRecordBytes: options.maxRecordBytes ?? 1024 * 1024,
    bodyLimit,
  }
  const instances = new ConsumerInstances({ instanceTimeoutMs: options.consumerInstanceTimeoutMs })
  const app = Fastify({ logger: options.logger ?? false, bodyLimit })

  app.removeAllContentTypeParsers()
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_req, body, done) => {
    const text = (body as unknown as Buffer).toString('utf8')
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch (error) {
      done(malformedJson((error as Error).message), undefined)
    }
  })

  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    if (req.url === '/' || req.url.startsWith('/metrics')) return
    let credentials: Credentials | undefined
    if (authentication === 'basic') {
      credentials = basicCredentials(req.headers.authorization)
      if (!credentials) {
        reply.header('www-authenticate', 'Basic realm="tributary-rest-proxy"')
        throw new RestProxyError(
          401,
          401,
          'Unauthorized: HTTP basic authentication is required',
          'TRB_REST_NO_CREDENTIALS',
        )
      }
    }
    try {
      setClients(req, await pool.get(credentials))
    } catch (error) {
      if (error instanceof RestProxyError && error.status === 401) {
        reply.header('www-authenticate', 'Basic realm="tributary-rest-proxy"')
      }
      throw error
    }
  })

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    let mapped: RestProxyError
    if (error instanceof RestProxyError) mapped = error
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') mapped = unsupportedMediaType()
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') mapped = payloadTooLarge()
    else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') mapped = new RestProxyError(400, 400, error.message)
    else if (typeof error.code === 'string' && error.code.startsWith('PLT_KFK')) mapped = fromKafkaError(error)
    else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      mapped = new RestProxyError(error.statusCode, error.statusCode, error.message)
    } else {
      req.log.error({ err: error }, 'unexpected error')
      mapped = new RestProxyError(500, 500, `Internal Server Error: ${error.message}`)
    }
    const v2 = !req.url.startsWith('/v3')
    return reply
      .status(mapped.status)
      .type(v2 ? V2_JSON : 'application/json')
      .send(mapped.toBody())
  })
  app.setNotFoundHandler((req, reply) => {
    const body = notFound().toBody()
    return reply
      .status(404)
      .type(req.url.startsWith('/v3') ? 'application/json' : V2_JSON)
      .send(body)
  })

  app.get('/', async (_req, reply) => reply.type(V2_JSON).send({}))
  app.get('/v3', async () => ({}))
  registerV3Admin(app, ctx)
  registerV3Records(app, ctx)
  registerSse(app, ctx)
  registerV2(app, ctx, instances)

  return {
    app,
    context: ctx,
    async close() {
      await instances.close()
      await app.close()
      await pool.close()
    },
  }
}

/** Starts the proxy on `host:port` (default 127.0.0.1:8082, Confluent's port). */
export async function startRestProxy(options: RestProxyOptions = {}): Promise<RunningRestProxy> {
  const proxy = createRestProxy(options)
  const host = options.host ?? '127.0.0.1'
  try {
    await proxy.app.listen({ port: options.port ?? 8082, host })
  } catch (error) {
    await proxy.close().catch(() => {})
    throw error
  }
  const address = proxy.app.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8082)
  return { ...proxy, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, host }
}
