/**
 * What the v3 admin resources share: Confluent's list and metadata shapes, URL and CRN builders, request body and
 * path parsing, topic lookups, and describing and altering configs (topics and brokers alike).
 */
import type { ClusterMetadata, ConfigDescription } from '@platformatic/kafka'
import type { FastifyRequest } from 'fastify'
import { baseUrl, checkCluster, clientsOf, kafka, path } from '../context.ts'
import { badRequest, RestProxyError } from '../errors.ts'
import type { PrincipalClients } from '../kafka-clients.ts'

export type Params = Record<string, string>
export type Query = Record<string, string | undefined>

/** Config resource types of DescribeConfigs / IncrementalAlterConfigs. */
export const TOPIC = 2
export const BROKER = 4

export const CONFIG_SOURCES = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
]

export const list = (kind: string, self: string, data: unknown[]) => ({ kind, metadata: { self, next: null }, data })
export const meta = (self: string, resourceName: string) => ({ self, resource_name: resourceName })

/** The request's path parameters and query string. */
export const params = (req: FastifyRequest) => req.params as Params
export const query = (req: FastifyRequest) => req.query as Query

/** URL and CRN builders for one request. */
export function links(req: FastifyRequest, clusterId: string) {
  const root = `${baseUrl(req)}/v3/clusters/${path(clusterId)}`
  const crn = `crn:///kafka=${clusterId}`
  return { root, crn }
}

export function body<T = Record<string, unknown>>(req: FastifyRequest): T {
  const b = req.body
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new RestProxyError(400, 400, 'Bad Request: request body must be a JSON object', 'TRB_REST_BAD_REQUEST')
  }
  return b as T
}

export async function topicNames(clients: PrincipalClients): Promise<{ all: string[]; internal: Set<string> }> {
  const [all, external] = await Promise.all([
    kafka(() => clients.admin.listTopics({ includeInternals: true })),
    kafka(() => clients.admin.listTopics({ includeInternals: false })),
  ])
  const ext = new Set(external)
  return { all: all.sort(), internal: new Set(all.filter((t) => !ext.has(t))) }
}

export function configData(
  kind: 'KafkaTopicConfig' | 'KafkaBrokerConfig' | 'KafkaClusterConfig',
  self: string,
  resourceName: string,
  clusterId: string,
  extra: Record<string, unknown>,
  c: ConfigDescription['configs'][number],
) {
  const source = CONFIG_SOURCES[c.configSource] ?? 'UNKNOWN'
  return {
    kind,
    metadata: meta(`${self}/${path(c.name)}`, `${resourceName}/config=${c.name}`),
    cluster_id: clusterId,
    ...extra,
    name: c.name,
    value: c.isSensitive ? null : c.value,
    is_default: source === 'DEFAULT_CONFIG',
    is_read_only: c.readOnly,
    is_sensitive: c.isSensitive,
    source,
    synonyms: (c.synonyms ?? []).map((s) => ({
      name: s.name,
      value: c.isSensitive ? null : s.value,
      source: CONFIG_SOURCES[s.source] ?? 'UNKNOWN',
    })),
  }
}

export async function describeConfigs(
  clients: PrincipalClients,
  resourceType: 2 | 4,
  resourceName: string,
): Promise<ConfigDescription['configs']> {
  const [result] = await kafka(() =>
    clients.admin.describeConfigs({
      resources: [{ resourceType, resourceName, configurationKeys: null }],
      includeSynonyms: true,
    }),
  )
  return (result?.configs ?? []).sort((a, b) => a.name.localeCompare(b.name))
}

export function toInt(raw: string | undefined, what: string): number {
  const n = raw !== undefined && /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n)) throw badRequest(`Bad Request: ${what} '${raw}' is not an integer`)
  return n
}

export function topicOf(metadata: ClusterMetadata, topic: string) {
  const t = metadata.topics.get(topic)
  if (!t) {
    throw new RestProxyError(404, 40403, 'This server does not host this topic-partition.', 'TRB_REST_UNKNOWN_TOPIC')
  }
  return t
}

export async function topicMetadata(req: FastifyRequest, clusterId: string, topic: string) {
  await checkCluster(req, clusterId)
  const metadata = await kafka(() => clientsOf(req).admin.metadata({ topics: [topic], forceUpdate: true }))
  topicOf(metadata, topic)
  return metadata
}

export function partitionOf(metadata: ClusterMetadata, topic: string, raw: string) {
  const partition = toInt(raw, 'partition_id')
  const t = topicOf(metadata, topic)
  if (partition < 0 || partition >= t.partitionsCount) {
    throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
  }
  return partition
}

/** SET / DELETE config changes of one resource, as Confluent's `configs:alter` bodies list them. */
export async function alterConfigs(
  clients: PrincipalClients,
  resourceType: 2 | 4,
  resourceName: string,
  changes: { name: string; value?: string | null; operation?: string | null }[],
  validateOnly: boolean,
) {
  const configs = changes.map((c) => {
    if (!c || typeof c.name !== 'string') throw badRequest('Bad Request: every config needs a name')
    const op = (c.operation ?? 'SET').toUpperCase()
    if (op === 'DELETE') return { name: c.name, configOperation: 1 as const }
    if (op !== 'SET') throw badRequest(`Bad Request: unknown operation '${c.operation}'`)
    if (typeof c.value !== 'string') throw badRequest(`Bad Request: config ${c.name} needs a string value`)
    return { name: c.name, configOperation: 0 as const, value: c.value }
  })
  await kafka(() =>
    clients.admin.incrementalAlterConfigs({ resources: [{ resourceType, resourceName, configs }], validateOnly }),
  )
}
