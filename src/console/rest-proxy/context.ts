/** What every route of the proxy shares: the client pool, the registry codecs, limits, and URL building. */

import type { ClusterMetadata } from '@platformatic/kafka'
import type { FastifyRequest } from 'fastify'
import { fromKafkaError, RestProxyError } from './errors.ts'
import type { SchemaCodecs } from './formats.ts'
import type { ClientPool, PrincipalClients } from './kafka-clients.ts'
import { RecordProducer } from './record-producer.ts'

export interface ProxyContext {
  pool: ClientPool
  codecs?: SchemaCodecs
  /** Largest record (key + value + headers) accepted, in bytes. */
  maxRecordBytes: number
  /** Largest request body for non-streaming endpoints, in bytes. */
  bodyLimit: number
}

const clientsByRequest = new WeakMap<FastifyRequest, PrincipalClients>()
const producers = new WeakMap<PrincipalClients, RecordProducer>()

export function setClients(req: FastifyRequest, clients: PrincipalClients): void {
  clientsByRequest.set(req, clients)
}

/** The caller's Kafka clients (set by the authentication hook). */
export function clientsOf(req: FastifyRequest): PrincipalClients {
  const clients = clientsByRequest.get(req)
  if (!clients) throw new RestProxyError(500, 500, 'Internal Server Error: no Kafka clients for this request')
  return clients
}

export function producerOf(ctx: ProxyContext, clients: PrincipalClients): RecordProducer {
  let producer = producers.get(clients)
  if (!producer) {
    producer = new RecordProducer(clients.producer, { maxRecordBytes: ctx.maxRecordBytes })
    producers.set(clients, producer)
  }
  return producer
}

/** Runs a Kafka call, answering its failure as Confluent's proxy would. */
export async function kafka<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw fromKafkaError(error)
  }
}

export async function clusterMetadata(clients: PrincipalClients, topics: string[] = []): Promise<ClusterMetadata> {
  return kafka(() => clients.admin.metadata({ topics, forceUpdate: true }))
}

/** The cluster, after checking the path's cluster id names it. */
export async function checkCluster(req: FastifyRequest, clusterId: string): Promise<ClusterMetadata> {
  const metadata = await clusterMetadata(clientsOf(req))
  if (metadata.id !== clusterId) {
    throw new RestProxyError(404, 404, `Cluster ${clusterId} cannot be found.`, 'TRB_REST_CLUSTER_NOT_FOUND')
  }
  return metadata
}

/** Absolute URLs for `metadata.self` and `related` links, from the Host the caller used. */
export function baseUrl(req: FastifyRequest): string {
  const host = req.headers['x-forwarded-host'] ?? req.headers.host ?? `${req.hostname}`
  const proto = req.headers['x-forwarded-proto'] ?? req.protocol
  return `${proto}://${host}`
}

export function path(...segments: (string | number)[]): string {
  return segments.map((s) => encodeURIComponent(String(s))).join('/')
}
