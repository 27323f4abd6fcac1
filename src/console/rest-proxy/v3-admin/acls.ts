/** v3 ACLs: listing, creating (one or a batch) and deleting ACL bindings, named as Kafka's enums name them. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { baseUrl, checkCluster, clientsOf, kafka } from '../context.ts'
import { badRequest, kafkaBadRequest } from '../errors.ts'
import { body, links, params, type Query, query } from './common.ts'

const p = params
const q = query

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

export function registerAclRoutes(app: FastifyInstance): void {
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
