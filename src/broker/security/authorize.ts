import type { RequestContext } from '../handler.ts'
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from './acl.ts'

/** True when the request's principal may perform `operation` on the resource (always, without an authorizer). */
export function authorized(ctx: RequestContext, operation: number, resourceType: number, name: string): boolean {
  const a = ctx.services.authorizer
  if (!a) return true
  const ok = a.authorize(ctx.principal, ctx.clientHost, operation, resourceType, name)
  if (!ok) {
    ctx.services.metrics.inc('tributary_authorization_denied_total', 'Requests or resources refused by ACLs', {
      operation: opName(operation),
    })
  }
  return ok
}

export function clusterAuthorized(ctx: RequestContext, operation: number): boolean {
  return authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE)
}

function opName(op: number): string {
  return Object.entries(AclOperation).find(([, v]) => v === op)?.[0] ?? String(op)
}
