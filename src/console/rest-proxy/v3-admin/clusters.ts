/** v3 clusters and brokers: the cluster, its brokers, each broker's configs and the cluster-wide broker defaults. */
import type { ClusterMetadata } from '@platformatic/kafka'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { baseUrl, checkCluster, clientsOf, kafka } from '../context.ts'
import { badRequest, notFound } from '../errors.ts'
import {
  alterConfigs,
  BROKER,
  body,
  CONFIG_SOURCES,
  configData,
  describeConfigs,
  links,
  list,
  meta,
  params,
  toInt,
} from './common.ts'

const p = params

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

export function registerClusterRoutes(app: FastifyInstance): void {
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
}
