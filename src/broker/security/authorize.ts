import { apiCodecs } from '../../protocol/generated/api-table.ts'
import type { RequestContext } from '../handler.ts'
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from './acl.ts'

/** True when the request's principal may perform `operation` on the resource (always, without an authorizer). */
export function authorized(ctx: RequestContext, operation: number, resourceType: number, name: string): boolean {
  const a = ctx.services.authorizer
  if (!a) return true
  const ok = a.authorize(ctx.principal, ctx.clientHost, operation, resourceType, name)
  if (!ok) {
    const op = opName(operation)
    ctx.services.metrics.inc('tributary_authorization_denied_total', 'Requests or resources refused by ACLs', {
      operation: op,
    })
    // Kafka's authorizer log line, rate-limited: a client retrying a denied request must not flood the log.
    ctx.services.logLimiter.log(ctx.services.logger.child('authorizer'), 'info', 'authorization denied', {
      principal: ctx.principal,
      operation: op,
      resource: `${resourceTypeName(resourceType)}:${name}`,
      host: ctx.clientHost,
      api: apiCodecs.get(ctx.apiKey)?.name ?? ctx.apiKey,
    })
  }
  return ok
}

function resourceTypeName(t: number): string {
  return Object.entries(ResourceType).find(([, v]) => v === t)?.[0] ?? String(t)
}

export function clusterAuthorized(ctx: RequestContext, operation: number): boolean {
  return authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE)
}

function opName(op: number): string {
  return Object.entries(AclOperation).find(([, v]) => v === op)?.[0] ?? String(op)
}
