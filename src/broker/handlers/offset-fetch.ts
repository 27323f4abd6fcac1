import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetFetchRequest, OffsetFetchRequestTopic } from '../../protocol/generated/offset-fetch-request.ts'
import type {
  OffsetFetchResponseInput,
  OffsetFetchResponseTopicInput,
} from '../../protocol/generated/offset-fetch-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized, partitionBy, topicAuthorized } from '../security/authorize.ts'

export const offsetFetchHandler: HandlerSpec<OffsetFetchRequest, OffsetFetchResponseInput> = {
  apiKey: ApiKeys.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  authorize: authorizeOffsetFetch,
  handle(req, ctx) {
    const v = ctx.apiVersion
    const groups = ctx.services.groups
    if (v >= 8) {
      return {
        groups: req.groups.map((g) => {
          const r = groups.fetchOffsets(g.groupId, g.topics, req.requireStable)
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }
        }),
      }
    }
    // v0 and v1 cannot send null topics (all offsets); v2+ can.
    const r = groups.fetchOffsets(req.groupId, v >= 2 ? req.topics : (req.topics ?? []), v >= 7 && req.requireStable)
    if (v >= 2) return { errorCode: r.errorCode, topics: r.topics }
    // v0–v1 have no top-level error: a group-level error goes on every requested partition.
    if (r.errorCode === ErrorCode.NONE) return { topics: r.topics }
    return {
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: r.errorCode,
        })),
      })),
    }
  },
}

/** Every requested partition of a topic answered with `errorCode` and no offset. */
function unfetched(t: OffsetFetchRequestTopic, errorCode: number): OffsetFetchResponseTopicInput {
  return {
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    })),
  }
}

type GroupPlan =
  | { groupDenied: true }
  | { groupDenied: false; allowed: OffsetFetchRequestTopic[] | null; denied: OffsetFetchRequestTopic[] }

/**
 * Kafka: DESCRIBE on each group, then DESCRIBE on each requested topic; when all offsets are asked for, the topics
 * the principal may not describe are left out of the answer.
 */
function authorizeOffsetFetch(
  req: OffsetFetchRequest,
  ctx: RequestContext,
): Authorization<OffsetFetchRequest, OffsetFetchResponseInput> {
  const v = ctx.apiVersion
  /** One group's topics: requested ones split, or (all offsets) the unauthorized ones dropped from the answer. */
  const forGroup = (groupId: string, topicsReq: OffsetFetchRequestTopic[] | null): GroupPlan => {
    if (!groupAuthorized(ctx, AclOperation.DESCRIBE, groupId)) return { groupDenied: true }
    if (topicsReq === null) return { groupDenied: false, allowed: null, denied: [] }
    const [allowed, denied] = partitionBy(topicsReq, (t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name))
    return { groupDenied: false, allowed, denied }
  }
  const visible = <T extends { name?: string }>(topics: T[] | undefined) =>
    (topics ?? []).filter((t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name ?? ''))
  if (v >= 8) {
    const plans = req.groups.map((g) => forGroup(g.groupId, g.topics))
    const askGroups = req.groups.flatMap((g, i) => {
      const plan = plans[i]!
      return plan.groupDenied ? [] : [{ ...g, topics: plan.allowed }]
    })
    return {
      allowed: { ...req, groups: askGroups },
      complete: (res) => {
        const byId = new Map((res.groups ?? []).map((g) => [g.groupId, g]))
        return {
          ...res,
          groups: req.groups.map((g, i) => {
            const plan = plans[i]!
            if (plan.groupDenied) {
              return { groupId: g.groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
            }
            const got = byId.get(g.groupId)
            const denied = plan.denied.map((t) => unfetched(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            return { ...got, topics: [...visible(got?.topics), ...denied] }
          }),
        }
      },
    }
  }
  const plan = forGroup(req.groupId, v >= 2 ? req.topics : (req.topics ?? []))
  if (plan.groupDenied) {
    if (v >= 2) return { refused: { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] } }
    return {
      refused: { topics: (req.topics ?? []).map((t) => unfetched(t, ErrorCode.GROUP_AUTHORIZATION_FAILED)) },
    }
  }
  return {
    allowed: { ...req, topics: plan.allowed },
    complete: (res) => ({
      ...res,
      topics: [...visible(res.topics), ...plan.denied.map((t) => unfetched(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED))],
    }),
  }
}
