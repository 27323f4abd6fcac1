/**
 * Confluent REST Proxy API v3, administrative part: clusters, brokers, topics, topic and broker configs,
 * partitions and replicas, consumer groups with consumers, assignments and lags, and ACLs. Every answer has
 * Confluent's shape (`kind`, `metadata.self`, `related` links) so its clients and scripts work unchanged.
 *
 * One file per kind of resource under v3-admin/: clusters.ts (clusters, brokers, broker configs), topics.ts
 * (topics, topic configs, partitions, replicas), groups.ts (consumer groups, consumers, assignments, lags) and
 * acls.ts; common.ts holds what they share.
 */
import type { FastifyInstance } from 'fastify'
import type { ProxyContext } from './context.ts'
import { registerAclRoutes } from './v3-admin/acls.ts'
import { registerClusterRoutes } from './v3-admin/clusters.ts'
import { registerGroupRoutes } from './v3-admin/groups.ts'
import { registerTopicRoutes } from './v3-admin/topics.ts'

export function registerV3Admin(app: FastifyInstance, _ctx: ProxyContext): void {
  registerClusterRoutes(app)
  registerTopicRoutes(app)
  registerGroupRoutes(app)
  registerAclRoutes(app)
}
