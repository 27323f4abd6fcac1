/** v3 consumer groups: groups, their consumers and assignments, per-partition lags and the lag summary. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkCluster, clientsOf, kafka, path } from '../context.ts'
import { notFound, RestProxyError } from '../errors.ts'
import type { PrincipalClients } from '../kafka-clients.ts'
import { links, list, meta, params, toInt } from './common.ts'

const p = params

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

export function registerGroupRoutes(app: FastifyInstance): void {
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
