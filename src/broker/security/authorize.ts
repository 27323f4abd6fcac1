/**
 * The checks the APIs' authorization rules are written with (each rule is declared beside its handler, in the
 * handler's HandlerSpec): whether the request's principal may perform an operation on a resource, and Kafka's
 * authorized-operations bitfields.
 */
import { apiCodecs } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, RequestContext } from '../handler.ts'
import { ConfigResourceType } from '../resource-configs.ts'
import { AclOperation, CLUSTER_RESOURCE, nameOf, ResourceType } from './acl.ts'

/** True when the request's principal may perform `operation` on the resource (always, without an authorizer). */
export function authorized(ctx: RequestContext, operation: number, resourceType: number, name: string): boolean {
  const a = ctx.services.authorizer
  if (!a) return true
  const ok = a.authorize(ctx.principal, ctx.clientHost, operation, resourceType, name)
  if (!ok) {
    const op = nameOf(AclOperation, operation)
    ctx.services.metrics.inc('tributary_authorization_denied_total', 'Requests or resources refused by ACLs', {
      operation: op,
    })
    // Kafka's authorizer log line, rate-limited: a client retrying a denied request must not flood the log.
    ctx.services.logLimiter.log(ctx.services.logger.child('authorizer'), 'info', 'authorization denied', {
      principal: ctx.principal,
      operation: op,
      resource: `${nameOf(ResourceType, resourceType)}:${name}`,
      host: ctx.clientHost,
      api: apiCodecs.get(ctx.apiKey)?.name ?? ctx.apiKey,
    })
  }
  return ok
}

export function clusterAuthorized(ctx: RequestContext, operation: number): boolean {
  return authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE)
}

export function topicAuthorized(ctx: RequestContext, operation: number, topic: string): boolean {
  return authorized(ctx, operation, ResourceType.TOPIC, topic)
}

export function groupAuthorized(ctx: RequestContext, operation: number, groupId: string): boolean {
  return authorized(ctx, operation, ResourceType.GROUP, groupId)
}

export function transactionalIdAuthorized(ctx: RequestContext, operation: number, transactionalId: string): boolean {
  return authorized(ctx, operation, ResourceType.TRANSACTIONAL_ID, transactionalId)
}

/** Splits a request's entries into those `ok` allows and those it refuses, each in request order. */
export function partitionBy<T>(items: readonly T[], ok: (item: T) => boolean): [allowed: T[], refused: T[]] {
  const allowed: T[] = []
  const refused: T[] = []
  for (const item of items) (ok(item) ? allowed : refused).push(item)
  return [allowed, refused]
}

/**
 * Per-topic authorization of an API whose request and response both list `topics` (ListOffsets, DeleteRecords,
 * OffsetCommit, ...): the handler runs on the topics `ok` allows, and each refused topic is answered with
 * `refusedEntry(topic)` after the handler's own entries. The response type comes from the caller's return type.
 */
export function authorizeTopics<Req extends { topics: unknown[] }, Res extends { topics?: unknown[] }>(
  req: Req,
  ok: (topic: Req['topics'][number]) => boolean,
  refusedEntry: (topic: Req['topics'][number]) => NonNullable<Res['topics']>[number],
): Authorization<Req, Res> {
  const [allowed, refused] = partitionBy(req.topics, ok)
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({ ...res, topics: [...(res.topics ?? []), ...refused.map(refusedEntry)] }),
  }
}

/** The authorized-operations field of a response when the client did not ask for it (INT32_MIN, as Kafka). */
export const OPERATIONS_NOT_REQUESTED = -2147483648

/** The operations Kafka reports in the authorized-operations bitfield of each resource type. */
export const TOPIC_OPERATIONS = [
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.CREATE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]
export const CLUSTER_OPERATIONS = [
  AclOperation.CREATE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
]
export const GROUP_OPERATIONS = [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE]

/**
 * Kafka's authorized-operations bitfield (bit n set: operation code n allowed) for the principal on a resource.
 * Only called with an authorizer; these checks are not denials, so they are neither logged nor counted.
 */
export function authorizedOperations(
  ctx: RequestContext,
  resourceType: number,
  name: string,
  operations: readonly number[],
): number {
  const a = ctx.services.authorizer
  let bits = 0
  for (const op of operations)
    if (!a || a.authorize(ctx.principal, ctx.clientHost, op, resourceType, name)) bits |= 1 << op
  return bits
}

/** Each requested partition of each topic answered with `errorCode` (the shape of the offset commit responses). */
export function partitionErrors(
  topics: readonly { name: string; partitions: readonly { partitionIndex: number }[] }[],
  errorCode: number,
): { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] {
  return topics.map((t) => partitionError(t, errorCode))
}

/** One topic's entry of partitionErrors. */
export function partitionError(
  topic: { name: string; partitions: readonly { partitionIndex: number }[] },
  errorCode: number,
): { name: string; partitions: { partitionIndex: number; errorCode: number }[] } {
  return {
    name: topic.name,
    partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
  }
}

/**
 * The config APIs' check of each resource (Describe/Alter/IncrementalAlterConfigs): `operation` on the topic for a
 * TOPIC resource, on the cluster for BROKER and BROKER_LOGGER ones; other types are left to the handler.
 */
export function configResourceAuthorization<R extends { resourceType: number; resourceName: string }>(
  ctx: RequestContext,
  operation: number,
  resources: readonly R[],
): { allowed: R[]; refused: { resource: R; errorCode: number }[] } {
  const allowed: R[] = []
  const refused: { resource: R; errorCode: number }[] = []
  for (const resource of resources) {
    let errorCode: number = ErrorCode.NONE
    if (resource.resourceType === ConfigResourceType.TOPIC) {
      if (!topicAuthorized(ctx, operation, resource.resourceName)) errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
    } else if (
      resource.resourceType === ConfigResourceType.BROKER ||
      resource.resourceType === ConfigResourceType.BROKER_LOGGER
    ) {
      if (!clusterAuthorized(ctx, operation)) errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    }
    if (errorCode === ErrorCode.NONE) allowed.push(resource)
    else refused.push({ resource, errorCode })
  }
  return { allowed, refused }
}
