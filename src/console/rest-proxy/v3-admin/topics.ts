/** v3 topics: topics, their configs, partitions (with offsets) and replicas. */
import type { ClusterMetadata } from '@platformatic/kafka'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkCluster, clientsOf, kafka, path } from '../context.ts'
import { badRequest, kafkaBadRequest, notFound } from '../errors.ts'
import {
  alterConfigs,
  body,
  configData,
  describeConfigs,
  links,
  list,
  meta,
  params,
  partitionOf,
  TOPIC,
  toInt,
  topicMetadata,
  topicNames,
  topicOf,
} from './common.ts'

const p = params

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

export function registerTopicRoutes(app: FastifyInstance): void {
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
}
