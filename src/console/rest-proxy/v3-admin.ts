/**
 * Confluent REST Proxy API v3, administrative part: clusters, brokers, topics, topic and broker configs,
 * partitions and replicas, consumer groups with consumers, assignments and lags, and ACLs. Every answer has
 * Confluent's shape (`kind`, `metadata.self`, `related` links) so its clients and scripts work unchanged.
 */
import type { ClusterMetadata, ConfigDescription } from '@platformatic/kafka'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { baseUrl, checkCluster, clientsOf, kafka, type ProxyContext, path } from './context.ts'
import { badRequest, kafkaBadRequest, notFound, RestProxyError } from './errors.ts'
import type { PrincipalClients } from './kafka-clients.ts'

type Params = Record<string, string>
type Query = Record<string, string | undefined>

const TOPIC = 2
const BROKER = 4

const CONFIG_SOURCES = [
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

export const ACL_RESOURCE_TYPES = [
  'UNKNOWN',
  'ANY',
  'TOPIC',
  'GROUP',
  'CLUSTER',
  'TRANSACTIONAL_ID',
  'DELEGATION_TOKEN',
  'USER',
]
export const ACL_PATTERN_TYPES = ['UNKNOWN', 'ANY', 'MATCH', 'LITERAL', 'PREFIXED']
export const ACL_OPERATIONS = [
  'UNKNOWN',
  'ANY',
  'ALL',
  'READ',
  'WRITE',
  'CREATE',
  'DELETE',
  'ALTER',
  'DESCRIBE',
  'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
  'CREATE_TOKENS',
  'DESCRIBE_TOKENS',
]
export const ACL_PERMISSIONS = ['UNKNOWN', 'ANY', 'DENY', 'ALLOW']

const list = (kind: string, self: string, data: unknown[]) => ({ kind, metadata: { self, next: null }, data })
const meta = (self: string, resourceName: string) => ({ self, resource_name: resourceName })

/** URL and CRN builders for one request. */
function links(req: FastifyRequest, clusterId: string) {
  const root = `${baseUrl(req)}/v3/clusters/${path(clusterId)}`
  const crn = `crn:///kafka=${clusterId}`
  return { root, crn }
}

function body<T = Record<string, unknown>>(req: FastifyRequest): T {
  const b = req.body
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new RestProxyError(400, 400, 'Bad Request: request body must be a JSON object', 'TRB_REST_BAD_REQUEST')
  }
  return b as T
}

async function topicNames(clients: PrincipalClients): Promise<{ all: string[]; internal: Set<string> }> {
  const [all, external] = await Promise.all([
    kafka(() => clients.admin.listTopics({ includeInternals: true })),
    kafka(() => clients.admin.listTopics({ includeInternals: false })),
  ])
  const ext = new Set(external)
  return { all: all.sort(), internal: new Set(all.filter((t) => !ext.has(t))) }
}

function clusterData(req: FastifyRequest, metadata: ClusterMetadata) {
  const { root, crn } = links(req, metadata.id)
  return {
    kind: 'KafkaCluster',
    metadata: meta(root, crn),
    cluster_id: metadata.id,
    controller: { related: `${root}/brokers/${metadata.controllerId}` },
    acls: { related: `${root}/acls` },
    brokers: { related: `${root}/brokers` },
    broker_configs: { related: `${root}/broker-configs` },
    consumer_groups: { related: `${root}/consumer-groups` },
    topics: { related: `${root}/topics` },
    partition_reassignments: { related: `${root}/topics/-/partitions/-/reassignment` },
  }
}

function brokerData(
  req: FastifyRequest,
  clusterId: string,
  id: number,
  b: { host: string; port: number; rack?: string | null },
) {
  const { root, crn } = links(req, clusterId)
  return {
    kind: 'KafkaBroker',
    metadata: meta(`${root}/brokers/${id}`, `${crn}/broker=${id}`),
    cluster_id: clusterId,
    broker_id: id,
    host: b.host,
    port: b.port,
    rack: b.rack ?? null,
    configs: { related: `${root}/brokers/${id}/configs` },
    partition_replicas: { related: `${root}/brokers/${id}/partition-replicas` },
  }
}

function topicData(req: FastifyRequest, metadata: ClusterMetadata, topic: string, internal: boolean) {
  const { root, crn } = links(req, metadata.id)
  const t = metadata.topics.get(topic)
  const self = `${root}/topics/${path(topic)}`
  return {
    kind: 'KafkaTopic',
    metadata: meta(self, `${crn}/topic=${topic}`),
    cluster_id: metadata.id,
    topic_name: topic,
    is_internal: internal,
    replication_factor: t?.partitions[0]?.replicas.length ?? 0,
    partitions_count: t?.partitionsCount ?? 0,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
    partition_reassignments: { related: `${self}/partitions/-/reassignment` },
  }
}

function partitionData(req: FastifyRequest, metadata: ClusterMetadata, topic: string, partition: number) {
  const { root, crn } = links(req, metadata.id)
  const p = metadata.topics.get(topic)?.partitions[partition]
  const self = `${root}/topics/${path(topic)}/partitions/${partition}`
  return {
    kind: 'KafkaPartition',
    metadata: meta(self, `${crn}/topic=${topic}/partition=${partition}`),
    cluster_id: metadata.id,
    topic_name: topic,
    partition_id: partition,
    leader: p && p.leader >= 0 ? { related: `${self}/replicas/${p.leader}` } : null,
    replicas: { related: `${self}/replicas` },
    reassignment: { related: `${self}/reassignment` },
  }
}

function replicaData(req: FastifyRequest, metadata: ClusterMetadata, topic: string, partition: number, broker: number) {
  const { root, crn } = links(req, metadata.id)
  const p = metadata.topics.get(topic)?.partitions[partition]
  const self = `${root}/topics/${path(topic)}/partitions/${partition}/replicas/${broker}`
  return {
    kind: 'KafkaReplica',
    metadata: meta(self, `${crn}/topic=${topic}/partition=${partition}/replica=${broker}`),
    cluster_id: metadata.id,
    topic_name: topic,
    partition_id: partition,
    broker_id: broker,
    is_leader: p?.leader === broker,
    is_in_sync: p?.isr.includes(broker) ?? false,
    broker: { related: `${root}/brokers/${broker}` },
  }
}

function configData(
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

async function describeConfigs(clients: PrincipalClients, resourceType: 2 | 4, resourceName: string) {
  const [result] = await kafka(() =>
    clients.admin.describeConfigs({
      resources: [{ resourceType, resourceName, configurationKeys: null }],
      includeSynonyms: true,
    }),
  )
  return (result?.configs ?? []).sort((a, b) => a.name.localeCompare(b.name))
}

function toInt(raw: string | undefined, what: string): number {
  const n = raw !== undefined && /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n)) throw badRequest(`Bad Request: ${what} '${raw}' is not an integer`)
  return n
}

function topicOf(metadata: ClusterMetadata, topic: string) {
  const t = metadata.topics.get(topic)
  if (!t) {
    throw new RestProxyError(404, 40403, 'This server does not host this topic-partition.', 'TRB_REST_UNKNOWN_TOPIC')
  }
  return t
}

async function topicMetadata(req: FastifyRequest, clusterId: string, topic: string) {
  await checkCluster(req, clusterId)
  const metadata = await kafka(() => clientsOf(req).admin.metadata({ topics: [topic], forceUpdate: true }))
  topicOf(metadata, topic)
  return metadata
}

function partitionOf(metadata: ClusterMetadata, topic: string, raw: string) {
  const partition = toInt(raw, 'partition_id')
  const t = topicOf(metadata, topic)
  if (partition < 0 || partition >= t.partitionsCount) {
    throw new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
  }
  return partition
}

interface GroupLag {
  topic: string
  partition: number
  current: bigint
  end: bigint
  lag: bigint
  consumerId: string
  instanceId: string | null
  clientId: string
}

/** Committed offsets against log-end offsets for every partition the group has committed. */
export async function groupLags(clients: PrincipalClients, group: string): Promise<GroupLag[]> {
  const described = (await kafka(() => clients.admin.describeGroups({ groups: [group] }))).get(group)
  const owners = new Map<string, { id: string; instance: string | null; client: string }>()
  for (const m of described?.members.values() ?? []) {
    for (const a of m.assignments?.values() ?? []) {
      for (const p of a.partitions) {
        owners.set(`${a.topic}\u0000${p}`, { id: m.id, instance: m.groupInstanceId ?? null, client: m.clientId })
      }
    }
  }
  const [committed] = await kafka(() => clients.admin.listConsumerGroupOffsets({ groups: [group] }))
  const topics = (committed?.topics ?? []).filter((t) => t.partitions.length > 0)
  if (topics.length === 0) return []
  const ends = await kafka(() =>
    clients.admin.listOffsets({
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, timestamp: -1n })),
      })),
    }),
  )
  const endOf = new Map<string, bigint>()
  for (const t of ends) for (const p of t.partitions) endOf.set(`${t.name}\u0000${p.partitionIndex}`, p.offset)
  const out: GroupLag[] = []
  for (const t of topics) {
    for (const p of t.partitions) {
      if (p.committedOffset < 0n) continue
      const key = `${t.name}\u0000${p.partitionIndex}`
      const end = endOf.get(key) ?? p.committedOffset
      const owner = owners.get(key)
      out.push({
        topic: t.name,
        partition: p.partitionIndex,
        current: p.committedOffset,
        end,
        lag: end > p.committedOffset ? end - p.committedOffset : 0n,
        consumerId: owner?.id ?? '',
        instanceId: owner?.instance ?? null,
        clientId: owner?.client ?? '',
      })
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
}

export function lagSummary(clusterId: string, group: string, lags: GroupLag[]) {
  let max: GroupLag | undefined
  let total = 0n
  for (const l of lags) {
    total += l.lag
    if (!max || l.lag > max.lag) max = l
  }
  return { clusterId, group, max, total }
}

function aclFromQuery(q: Query, required: boolean) {
  const pick = (name: string, names: string[], fallback: string) => {
    const raw = (q[name] ?? '').toUpperCase()
    if (raw === '' || raw === 'UNKNOWN') {
      if (required) throw badRequest(`${name} cannot be unspecified or UNKNOWN`)
      return names.indexOf(fallback)
    }
    const i = names.indexOf(raw)
    if (i < 0) throw badRequest(`Bad Request: unknown ${name} '${q[name]}'`)
    return i
  }
  return {
    resourceType: pick('resource_type', ACL_RESOURCE_TYPES, 'ANY'),
    resourceName: q.resource_name ?? null,
    resourcePatternType: pick('pattern_type', ACL_PATTERN_TYPES, 'ANY'),
    principal: q.principal ?? null,
    host: q.host ?? null,
    operation: pick('operation', ACL_OPERATIONS, 'ANY'),
    permissionType: pick('permission', ACL_PERMISSIONS, 'ANY'),
  }
}

function aclFromBody(b: Record<string, unknown>) {
  const pick = (name: string, names: string[]) => {
    const raw = typeof b[name] === 'string' ? (b[name] as string).toUpperCase() : ''
    const i = names.indexOf(raw)
    if (i <= 1) throw badRequest(`${name} cannot be unspecified, ANY or UNKNOWN`)
    return i
  }
  for (const f of ['resource_name', 'principal', 'host']) {
    if (typeof b[f] !== 'string' || b[f] === '') throw badRequest(`Bad Request: ${f} is required`)
  }
  const acl = {
    resourceType: pick('resource_type', ACL_RESOURCE_TYPES),
    resourceName: b.resource_name as string,
    resourcePatternType: pick('pattern_type', ACL_PATTERN_TYPES),
    principal: b.principal as string,
    host: b.host as string,
    operation: pick('operation', ACL_OPERATIONS),
    permissionType: pick('permission', ACL_PERMISSIONS),
  }
  if (acl.resourceType === ACL_RESOURCE_TYPES.indexOf('CLUSTER') && acl.resourceName !== 'kafka-cluster') {
    throw kafkaBadRequest('The only valid name for the CLUSTER resource is kafka-cluster')
  }
  return acl
}

function aclData(
  req: FastifyRequest,
  clusterId: string,
  a: {
    resourceType: number
    resourceName: string
    resourcePatternType: number
    principal: string
    host: string
    operation: number
    permissionType: number
  },
) {
  const { root } = links(req, clusterId)
  const fields = {
    resource_type: ACL_RESOURCE_TYPES[a.resourceType] ?? 'UNKNOWN',
    resource_name: a.resourceName,
    pattern_type: ACL_PATTERN_TYPES[a.resourcePatternType] ?? 'UNKNOWN',
    principal: a.principal,
    host: a.host,
    operation: ACL_OPERATIONS[a.operation] ?? 'UNKNOWN',
    permission: ACL_PERMISSIONS[a.permissionType] ?? 'UNKNOWN',
  }
  return {
    kind: 'KafkaAcl',
    metadata: { self: `${root}/acls?${new URLSearchParams(fields).toString()}` },
    cluster_id: clusterId,
    ...fields,
  }
}

/** SET / DELETE config changes of one resource, as Confluent's `configs:alter` bodies list them. */
async function alterConfigs(
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

export function registerV3Admin(app: FastifyInstance, _ctx: ProxyContext): void {
  const p = (req: FastifyRequest) => req.params as Params
  const q = (req: FastifyRequest) => req.query as Query

  // ---- clusters ----
  app.get('/v3/clusters', async (req) => {
    const metadata = await kafka(() => clientsOf(req).admin.metadata({ topics: [], forceUpdate: true }))
    return list('KafkaClusterList', `${baseUrl(req)}/v3/clusters`, [clusterData(req, metadata)])
  })
  app.get('/v3/clusters/:cluster_id', async (req) => clusterData(req, await checkCluster(req, p(req).cluster_id)))

  // ---- brokers ----
  app.get('/v3/clusters/:cluster_id/brokers', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const data = [...metadata.brokers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, b]) => brokerData(req, metadata.id, id, b))
    return list('KafkaBrokerList', `${links(req, metadata.id).root}/brokers`, data)
  })
  app.get('/v3/clusters/:cluster_id/brokers/:broker_id', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const id = toInt(p(req).broker_id, 'broker_id')
    const b = metadata.brokers.get(id)
    if (!b) throw notFound(`Broker ${id} cannot be found.`)
    return brokerData(req, metadata.id, id, b)
  })
  const brokerConfigs = async (req: FastifyRequest) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const id = toInt(p(req).broker_id, 'broker_id')
    if (!metadata.brokers.has(id)) throw notFound(`Broker ${id} cannot be found.`)
    const { root, crn } = links(req, metadata.id)
    const configs = await describeConfigs(clientsOf(req), BROKER, String(id))
    const self = `${root}/brokers/${id}/configs`
    return {
      self,
      data: configs.map((c) =>
        configData('KafkaBrokerConfig', self, `${crn}/broker=${id}`, metadata.id, { broker_id: id }, c),
      ),
    }
  }
  app.get('/v3/clusters/:cluster_id/brokers/:broker_id/configs', async (req) => {
    const { self, data } = await brokerConfigs(req)
    return list('KafkaBrokerConfigList', self, data)
  })
  app.get('/v3/clusters/:cluster_id/brokers/:broker_id/configs/:name', async (req) => {
    const { data } = await brokerConfigs(req)
    const found = data.find((c) => c.name === p(req).name)
    if (!found) throw notFound(`Config ${p(req).name} cannot be found for broker ${p(req).broker_id}.`)
    return found
  })
  app.get('/v3/clusters/:cluster_id/brokers/-/configs', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const { root, crn } = links(req, metadata.id)
    const data = []
    for (const id of [...metadata.brokers.keys()].sort((a, b) => a - b)) {
      const self = `${root}/brokers/${id}/configs`
      const configs = await describeConfigs(clientsOf(req), BROKER, String(id))
      data.push(
        ...configs.map((c) =>
          configData('KafkaBrokerConfig', self, `${crn}/broker=${id}`, metadata.id, { broker_id: id }, c),
        ),
      )
    }
    return list('KafkaBrokerConfigList', `${root}/brokers/-/configs`, data)
  })
  const brokerTarget = async (req: FastifyRequest) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const id = toInt(p(req).broker_id, 'broker_id')
    if (!metadata.brokers.has(id)) throw notFound(`Broker ${id} cannot be found.`)
    return String(id)
  }
  app.put('/v3/clusters/:cluster_id/brokers/:broker_id/configs/:name', async (req, reply) => {
    const { value } = body<{ value?: string | null }>(req)
    const changes = [{ name: p(req).name, value, operation: value === null ? 'DELETE' : 'SET' }]
    await alterConfigs(clientsOf(req), BROKER, await brokerTarget(req), changes, false)
    return reply.status(204).send()
  })
  app.delete('/v3/clusters/:cluster_id/brokers/:broker_id/configs/:name', async (req, reply) => {
    await alterConfigs(
      clientsOf(req),
      BROKER,
      await brokerTarget(req),
      [{ name: p(req).name, operation: 'DELETE' }],
      false,
    )
    return reply.status(204).send()
  })
  app.post('/v3/clusters/:cluster_id/brokers/:broker_id/configs::alter', async (req, reply) => {
    const b = body<{ data?: unknown; validate_only?: boolean }>(req)
    if (!Array.isArray(b.data)) throw badRequest('Bad Request: data must be a list')
    await alterConfigs(clientsOf(req), BROKER, await brokerTarget(req), b.data as never, b.validate_only === true)
    return reply.status(204).send()
  })
  app.get('/v3/clusters/:cluster_id/broker-configs/:name', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const { root, crn } = links(req, metadata.id)
    const found = (await describeConfigs(clientsOf(req), BROKER, '')).find(
      (c) => c.name === p(req).name && CONFIG_SOURCES[c.configSource] === 'DYNAMIC_DEFAULT_BROKER_CONFIG',
    )
    if (!found) throw notFound(`Config ${p(req).name} cannot be found.`)
    return configData(
      'KafkaClusterConfig',
      `${root}/broker-configs`,
      `${crn}/broker-config`,
      metadata.id,
      { config_type: 'BROKER' },
      found,
    )
  })
  app.put('/v3/clusters/:cluster_id/broker-configs/:name', async (req, reply) => {
    await checkCluster(req, p(req).cluster_id)
    const { value } = body<{ value?: string | null }>(req)
    await alterConfigs(
      clientsOf(req),
      BROKER,
      '',
      [{ name: p(req).name, value, operation: value === null ? 'DELETE' : 'SET' }],
      false,
    )
    return reply.status(204).send()
  })
  app.delete('/v3/clusters/:cluster_id/broker-configs/:name', async (req, reply) => {
    await checkCluster(req, p(req).cluster_id)
    await alterConfigs(clientsOf(req), BROKER, '', [{ name: p(req).name, operation: 'DELETE' }], false)
    return reply.status(204).send()
  })
  app.post('/v3/clusters/:cluster_id/broker-configs::alter', async (req, reply) => {
    await checkCluster(req, p(req).cluster_id)
    const b = body<{ data?: unknown; validate_only?: boolean }>(req)
    if (!Array.isArray(b.data)) throw badRequest('Bad Request: data must be a list')
    await alterConfigs(clientsOf(req), BROKER, '', b.data as never, b.validate_only === true)
    return reply.status(204).send()
  })
  app.get('/v3/clusters/:cluster_id/broker-configs', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const { root, crn } = links(req, metadata.id)
    const configs = await describeConfigs(clientsOf(req), BROKER, '')
    const self = `${root}/broker-configs`
    const data = configs
      .filter((c) => CONFIG_SOURCES[c.configSource] === 'DYNAMIC_DEFAULT_BROKER_CONFIG')
      .map((c) =>
        configData('KafkaClusterConfig', self, `${crn}/broker-config`, metadata.id, { config_type: 'BROKER' }, c),
      )
    return list('KafkaClusterConfigList', self, data)
  })

  // ---- topics ----
  app.get('/v3/clusters/:cluster_id/topics', async (req) => {
    const cluster = await checkCluster(req, p(req).cluster_id)
    const clients = clientsOf(req)
    const { all, internal } = await topicNames(clients)
    const metadata = all.length
      ? await kafka(() => clients.admin.metadata({ topics: all, forceUpdate: true }))
      : cluster
    const data = all.map((t) => topicData(req, metadata, t, internal.has(t)))
    return list('KafkaTopicList', `${links(req, cluster.id).root}/topics`, data)
  })
  app.post('/v3/clusters/:cluster_id/topics', async (req, reply) => {
    const cluster = await checkCluster(req, p(req).cluster_id)
    const b = body<{
      topic_name?: unknown
      partitions_count?: unknown
      replication_factor?: unknown
      replicas_assignments?: unknown
      configs?: { name: string; value?: string | null }[]
      validate_only?: boolean
    }>(req)
    if (typeof b.topic_name !== 'string' || b.topic_name === '') throw badRequest('Bad Request: topic_name is required')
    const topic = b.topic_name
    for (const f of ['partitions_count', 'replication_factor'] as const) {
      if (b[f] !== undefined && b[f] !== null && !Number.isInteger(b[f]))
        throw badRequest(`Bad Request: ${f} must be an integer`)
    }
    if (b.configs !== undefined && !Array.isArray(b.configs)) throw badRequest('Bad Request: configs must be a list')
    const configs = (b.configs ?? []).map((c) => {
      if (!c || typeof c.name !== 'string') throw badRequest('Bad Request: every config needs a name')
      return { name: c.name, value: c.value ?? null }
    })
    const clients = clientsOf(req)
    const assignments =
      b.replicas_assignments && typeof b.replicas_assignments === 'object'
        ? Object.entries(b.replicas_assignments as Record<string, number[]>).map(([partition, brokers]) => ({
            partition: Number(partition),
            brokers,
          }))
        : undefined
    if (b.validate_only === true) {
      // The client library has no validate-only create: check what can be checked without creating.
      const existing = await kafka(() => clients.admin.listTopics({ includeInternals: true }))
      if (existing.includes(topic)) throw kafkaBadRequest(`Topic '${topic}' already exists.`)
      const rf = (b.replication_factor as number | undefined) ?? 1
      if (rf > cluster.brokers.size) {
        throw kafkaBadRequest(`Replication factor: ${rf} larger than available brokers: ${cluster.brokers.size}.`)
      }
    } else {
      await kafka(() =>
        clients.admin.createTopics({
          topics: [topic],
          partitions: (b.partitions_count as number | undefined) ?? -1,
          replicas: (b.replication_factor as number | undefined) ?? -1,
          ...(assignments ? { assignments } : {}),
          configs: configs as never,
        }),
      )
    }
    const metadata = b.validate_only
      ? cluster
      : await kafka(() => clients.admin.metadata({ topics: [topic], forceUpdate: true }))
    const data = topicData(req, metadata, topic, false)
    if (b.validate_only) {
      data.partitions_count = (b.partitions_count as number | undefined) ?? data.partitions_count
      data.replication_factor = (b.replication_factor as number | undefined) ?? data.replication_factor
    }
    return reply.status(b.validate_only ? 200 : 201).send(data)
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const { internal } = await topicNames(clientsOf(req))
    return topicData(req, metadata, p(req).topic_name, internal.has(p(req).topic_name))
  })
  app.patch('/v3/clusters/:cluster_id/topics/:topic_name', async (req) => {
    const before = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const { partitions_count: count } = body<{ partitions_count?: unknown }>(req)
    if (!Number.isInteger(count)) throw badRequest('Bad Request: partitions_count must be an integer')
    const current = topicOf(before, p(req).topic_name).partitionsCount
    if ((count as number) <= current) throw kafkaBadRequest(`Topic already has ${current} partitions.`)
    await kafka(() =>
      clientsOf(req).admin.createPartitions({
        topics: [{ name: p(req).topic_name, count: count as number, assignments: null }],
      }),
    )
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    return topicData(req, metadata, p(req).topic_name, false)
  })
  app.delete('/v3/clusters/:cluster_id/topics/:topic_name', async (req, reply) => {
    await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    await kafka(() => clientsOf(req).admin.deleteTopics({ topics: [p(req).topic_name] }))
    return reply.status(204).send()
  })

  // ---- topic configs ----
  const topicConfigs = async (req: FastifyRequest, topic: string) => {
    const { root, crn } = links(req, p(req).cluster_id)
    const configs = await describeConfigs(clientsOf(req), TOPIC, topic)
    const self = `${root}/topics/${path(topic)}/configs`
    return {
      self,
      data: configs.map((c) =>
        configData('KafkaTopicConfig', self, `${crn}/topic=${topic}`, p(req).cluster_id, { topic_name: topic }, c),
      ),
    }
  }
  app.get('/v3/clusters/:cluster_id/topics/-/configs', async (req) => {
    await checkCluster(req, p(req).cluster_id)
    const { all } = await topicNames(clientsOf(req))
    const data = []
    for (const t of all) data.push(...(await topicConfigs(req, t)).data)
    return list('KafkaTopicConfigList', `${links(req, p(req).cluster_id).root}/topics/-/configs`, data)
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/configs', async (req) => {
    await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const { self, data } = await topicConfigs(req, p(req).topic_name)
    return list('KafkaTopicConfigList', self, data)
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/configs/:name', async (req) => {
    await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const { data } = await topicConfigs(req, p(req).topic_name)
    const found = data.find((c) => c.name === p(req).name)
    if (!found) throw notFound(`Config ${p(req).name} cannot be found for topic ${p(req).topic_name}.`)
    return found
  })
  const alterTopic = async (
    req: FastifyRequest,
    changes: { name: string; value?: string | null; operation?: string | null }[],
    validateOnly: boolean,
  ) => {
    await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    await alterConfigs(clientsOf(req), TOPIC, p(req).topic_name, changes, validateOnly)
  }
  app.put('/v3/clusters/:cluster_id/topics/:topic_name/configs/:name', async (req, reply) => {
    const { value } = body<{ value?: string | null }>(req)
    await alterTopic(req, [{ name: p(req).name, value, operation: value === null ? 'DELETE' : 'SET' }], false)
    return reply.status(204).send()
  })
  app.delete('/v3/clusters/:cluster_id/topics/:topic_name/configs/:name', async (req, reply) => {
    await alterTopic(req, [{ name: p(req).name, operation: 'DELETE' }], false)
    return reply.status(204).send()
  })
  app.post('/v3/clusters/:cluster_id/topics/:topic_name/configs::alter', async (req, reply) => {
    const b = body<{ data?: unknown; validate_only?: boolean }>(req)
    if (!Array.isArray(b.data)) throw badRequest('Bad Request: data must be a list')
    await alterTopic(req, b.data as never, b.validate_only === true)
    return reply.status(204).send()
  })

  // ---- partitions and replicas ----
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/partitions', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const t = topicOf(metadata, p(req).topic_name)
    const data = Array.from({ length: t.partitionsCount }, (_, i) => partitionData(req, metadata, p(req).topic_name, i))
    return list(
      'KafkaPartitionList',
      `${links(req, metadata.id).root}/topics/${path(p(req).topic_name)}/partitions`,
      data,
    )
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    return partitionData(
      req,
      metadata,
      p(req).topic_name,
      partitionOf(metadata, p(req).topic_name, p(req).partition_id),
    )
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/offset', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const topic = p(req).topic_name
    const partition = partitionOf(metadata, topic, p(req).partition_id)
    const at = (timestamp: bigint) =>
      kafka(() =>
        clientsOf(req).admin.listOffsets({
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
        }),
      ).then((r) => r[0]?.partitions[0]?.offset ?? 0n)
    const [earliest, latest] = await Promise.all([at(-2n), at(-1n)])
    const { root, crn } = links(req, metadata.id)
    return {
      kind: 'KafkaPartitionWithOffsets',
      metadata: meta(
        `${root}/topics/${path(topic)}/partitions/${partition}/offset`,
        `${crn}/topic=${topic}/partition=${partition}`,
      ),
      cluster_id: metadata.id,
      topic_name: topic,
      partition_id: partition,
      earliest_offset: Number(earliest),
      latest_offset: Number(latest),
    }
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/replicas', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const topic = p(req).topic_name
    const partition = partitionOf(metadata, topic, p(req).partition_id)
    const replicas = topicOf(metadata, topic).partitions[partition]?.replicas ?? []
    const self = `${links(req, metadata.id).root}/topics/${path(topic)}/partitions/${partition}/replicas`
    return list(
      'KafkaReplicaList',
      self,
      replicas.map((b) => replicaData(req, metadata, topic, partition, b)),
    )
  })
  app.get('/v3/clusters/:cluster_id/topics/:topic_name/partitions/:partition_id/replicas/:broker_id', async (req) => {
    const metadata = await topicMetadata(req, p(req).cluster_id, p(req).topic_name)
    const topic = p(req).topic_name
    const partition = partitionOf(metadata, topic, p(req).partition_id)
    const broker = toInt(p(req).broker_id, 'broker_id')
    if (!topicOf(metadata, topic).partitions[partition]?.replicas.includes(broker)) {
      throw notFound(`Replica ${broker} cannot be found.`)
    }
    return replicaData(req, metadata, topic, partition, broker)
  })

  // ---- consumer groups ----
  const groupData = async (req: FastifyRequest, clusterId: string, groupId: string) => {
    const clients = clientsOf(req)
    const group = (await kafka(() => clients.admin.describeGroups({ groups: [groupId] }))).get(groupId)
    if (!group || group.state === 'DEAD') {
      throw new RestProxyError(404, 404, `Consumer group ${groupId} could not be found.`, 'TRB_REST_GROUP_NOT_FOUND')
    }
    const [coordinator] = await kafka(() => clients.admin.findCoordinator({ keyType: 0, keys: [groupId] }))
    const { root, crn } = links(req, clusterId)
    const self = `${root}/consumer-groups/${path(groupId)}`
    return {
      group,
      data: {
        kind: 'KafkaConsumerGroup',
        metadata: meta(self, `${crn}/consumer-group=${groupId}`),
        cluster_id: clusterId,
        consumer_group_id: groupId,
        is_simple: group.protocolType === '' && group.members.size === 0,
        partition_assignor: group.protocol ?? '',
        state: group.state,
        type: 'CLASSIC',
        is_mixed_consumer_group: false,
        coordinator: { related: `${root}/brokers/${coordinator?.nodeId ?? -1}` },
        consumers: { related: `${self}/consumers` },
        lag_summary: { related: `${self}/lag-summary` },
      },
    }
  }
  const consumerData = (
    req: FastifyRequest,
    clusterId: string,
    groupId: string,
    m: { id: string; groupInstanceId?: string | null; clientId: string },
  ) => {
    const { root, crn } = links(req, clusterId)
    const self = `${root}/consumer-groups/${path(groupId)}/consumers/${path(m.id)}`
    return {
      kind: 'KafkaConsumer',
      metadata: meta(self, `${crn}/consumer-group=${groupId}/consumer=${m.id}`),
      cluster_id: clusterId,
      consumer_group_id: groupId,
      consumer_id: m.id,
      instance_id: m.groupInstanceId ?? null,
      client_id: m.clientId,
      assignments: { related: `${self}/assignments` },
    }
  }
  const assignmentData = (
    req: FastifyRequest,
    clusterId: string,
    groupId: string,
    consumerId: string,
    topic: string,
    partition: number,
  ) => {
    const { root, crn } = links(req, clusterId)
    return {
      kind: 'KafkaConsumerAssignment',
      metadata: meta(
        `${root}/consumer-groups/${path(groupId)}/consumers/${path(consumerId)}/assignments/${path(topic)}/partitions/${partition}`,
        `${crn}/consumer-group=${groupId}/consumer=${consumerId}/assignment=${topic}/partition=${partition}`,
      ),
      cluster_id: clusterId,
      consumer_group_id: groupId,
      consumer_id: consumerId,
      topic_name: topic,
      partition_id: partition,
      partition: { related: `${root}/topics/${path(topic)}/partitions/${partition}` },
      lag: { related: `${root}/consumer-groups/${path(groupId)}/lags/${path(topic)}/partitions/${partition}` },
    }
  }
  const lagData = (req: FastifyRequest, clusterId: string, groupId: string, l: GroupLag) => {
    const { root, crn } = links(req, clusterId)
    return {
      kind: 'KafkaConsumerLag',
      metadata: meta(
        `${root}/consumer-groups/${path(groupId)}/lags/${path(l.topic)}/partitions/${l.partition}`,
        `${crn}/consumer-group=${groupId}/lag=${l.topic}/partition=${l.partition}`,
      ),
      cluster_id: clusterId,
      consumer_group_id: groupId,
      topic_name: l.topic,
      partition_id: l.partition,
      current_offset: Number(l.current),
      log_end_offset: Number(l.end),
      lag: Number(l.lag),
      consumer_id: l.consumerId,
      instance_id: l.instanceId,
      client_id: l.clientId,
    }
  }

  app.get('/v3/clusters/:cluster_id/consumer-groups', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const groups = await kafka(() => clientsOf(req).admin.listGroups())
    const ids = [...groups.values()]
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.id)
      .sort()
    const data = []
    for (const id of ids) {
      try {
        data.push((await groupData(req, metadata.id, id)).data)
      } catch (error) {
        if (!(error instanceof RestProxyError && error.status === 404)) throw error
      }
    }
    return list('KafkaConsumerGroupList', `${links(req, metadata.id).root}/consumer-groups`, data)
  })
  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    return (await groupData(req, metadata.id, p(req).consumer_group_id)).data
  })
  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/consumers', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const groupId = p(req).consumer_group_id
    const { group, data } = await groupData(req, metadata.id, groupId)
    const members = [...group.members.values()].sort((a, b) => a.id.localeCompare(b.id))
    return list(
      'KafkaConsumerList',
      data.consumers.related,
      members.map((m) => consumerData(req, metadata.id, groupId, m)),
    )
  })
  const memberOf = async (req: FastifyRequest) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const groupId = p(req).consumer_group_id
    const { group } = await groupData(req, metadata.id, groupId)
    const m = group.members.get(p(req).consumer_id)
    if (!m) throw notFound(`Consumer ${p(req).consumer_id} cannot be found.`)
    return { clusterId: metadata.id, groupId, m }
  }
  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/consumers/:consumer_id', async (req) => {
    const { clusterId, groupId, m } = await memberOf(req)
    return consumerData(req, clusterId, groupId, m)
  })
  const assignmentsOf = (m: { assignments?: Map<string, { topic: string; partitions: number[] }> }) =>
    [...(m.assignments?.values() ?? [])]
      .flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  app.get(
    '/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/consumers/:consumer_id/assignments',
    async (req) => {
      const { clusterId, groupId, m } = await memberOf(req)
      const self = `${links(req, clusterId).root}/consumer-groups/${path(groupId)}/consumers/${path(m.id)}/assignments`
      return list(
        'KafkaConsumerAssignmentList',
        self,
        assignmentsOf(m).map((a) => assignmentData(req, clusterId, groupId, m.id, a.topic, a.partition)),
      )
    },
  )
  app.get(
    '/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/consumers/:consumer_id/assignments/:topic_name/partitions/:partition_id',
    async (req) => {
      const { clusterId, groupId, m } = await memberOf(req)
      const partition = toInt(p(req).partition_id, 'partition_id')
      const found = assignmentsOf(m).find((a) => a.topic === p(req).topic_name && a.partition === partition)
      if (!found) throw notFound(`Assignment ${p(req).topic_name}-${partition} cannot be found.`)
      return assignmentData(req, clusterId, groupId, m.id, found.topic, found.partition)
    },
  )
  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/lags', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const groupId = p(req).consumer_group_id
    const { data } = await groupData(req, metadata.id, groupId)
    const lags = await groupLags(clientsOf(req), groupId)
    return list(
      'KafkaConsumerLagList',
      `${data.metadata.self}/lags`,
      lags.map((l) => lagData(req, metadata.id, groupId, l)),
    )
  })
  app.get(
    '/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/lags/:topic_name/partitions/:partition_id',
    async (req) => {
      const metadata = await checkCluster(req, p(req).cluster_id)
      const groupId = p(req).consumer_group_id
      await groupData(req, metadata.id, groupId)
      const partition = toInt(p(req).partition_id, 'partition_id')
      const lag = (await groupLags(clientsOf(req), groupId)).find(
        (l) => l.topic === p(req).topic_name && l.partition === partition,
      )
      if (!lag) throw notFound(`Consumer lag for ${p(req).topic_name}-${partition} cannot be found.`)
      return lagData(req, metadata.id, groupId, lag)
    },
  )
  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/lag-summary', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const groupId = p(req).consumer_group_id
    const { data } = await groupData(req, metadata.id, groupId)
    return lagSummaryData(req, metadata.id, groupId, data.metadata.self, await groupLags(clientsOf(req), groupId))
  })

  // ---- ACLs ----
  app.get('/v3/clusters/:cluster_id/acls', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const filter = aclFromQuery(q(req), false)
    const resources = await kafka(() => clientsOf(req).admin.describeAcls({ filter: filter as never }))
    const data = resources.flatMap((r) =>
      r.acls.map((a) => aclData(req, metadata.id, { ...r, ...a, resourcePatternType: r.resourcePatternType })),
    )
    return { kind: 'KafkaAclList', metadata: { self: `${baseUrl(req)}${req.url}` }, data }
  })
  app.post('/v3/clusters/:cluster_id/acls', async (req, reply) => {
    await checkCluster(req, p(req).cluster_id)
    const acl = aclFromBody(body(req))
    await kafka(() => clientsOf(req).admin.createAcls({ creations: [acl as never] }))
    return reply.status(201).send()
  })
  app.post('/v3/clusters/:cluster_id/acls::batch', async (req, reply) => {
    await checkCluster(req, p(req).cluster_id)
    const b = body<{ data?: unknown }>(req)
    if (!Array.isArray(b.data) || b.data.length === 0) throw badRequest('Bad Request: data must be a non-empty list')
    const creations = b.data.map((d) => aclFromBody((d ?? {}) as Record<string, unknown>))
    await kafka(() => clientsOf(req).admin.createAcls({ creations: creations as never }))
    return reply.status(201).send()
  })
  app.delete('/v3/clusters/:cluster_id/acls', async (req) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const filter = aclFromQuery(q(req), true)
    const deleted = await kafka(() => clientsOf(req).admin.deleteAcls({ filters: [filter as never] }))
    return { data: deleted.map((a) => aclData(req, metadata.id, a)) }
  })
}

export function lagSummaryData(
  req: FastifyRequest,
  clusterId: string,
  groupId: string,
  groupSelf: string,
  lags: GroupLag[],
) {
  const { max, total } = lagSummary(clusterId, groupId, lags)
  const { root, crn } = links(req, clusterId)
  return {
    kind: 'KafkaConsumerGroupLagSummary',
    metadata: meta(`${groupSelf}/lag-summary`, `${crn}/consumer-groups=${groupId}/lag-summary`),
    cluster_id: clusterId,
    consumer_group_id: groupId,
    max_lag_consumer_id: max?.consumerId ?? '',
    max_lag_instance_id: max?.instanceId ?? null,
    max_lag_client_id: max?.clientId ?? '',
    max_lag_topic_name: max?.topic ?? '',
    max_lag_partition_id: max?.partition ?? 0,
    max_lag: Number(max?.lag ?? 0n),
    total_lag: Number(total),
    max_lag_consumer: max?.consumerId ? { related: `${groupSelf}/consumers/${path(max.consumerId)}` } : null,
    max_lag_partition: max ? { related: `${root}/topics/${path(max.topic)}/partitions/${max.partition}` } : null,
  }
}
