import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetDeleteRequest } from '../../protocol/generated/offset-delete-request.ts'
import type { OffsetDeleteResponseInput } from '../../protocol/generated/offset-delete-response.ts'
import { partitionExists, partitionKey } from '../group/handler-support.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { authorizeTopics, groupAuthorized, partitionError, topicAuthorized } from '../security/authorize.ts'

export const offsetDeleteHandler: HandlerSpec<OffsetDeleteRequest, OffsetDeleteResponseInput> = {
  apiKey: ApiKeys.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  authorize: authorizeOffsetDelete,
  async handle(req, ctx) {
    const known = req.topics
      .map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => p.partitionIndex).filter((p) => partitionExists(ctx, t.name, p)),
      }))
      .filter((t) => t.partitions.length > 0)
    const result = await ctx.services.groups.deleteOffsets(req.groupId, known)
    if (result.errorCode) return { errorCode: result.errorCode, topics: [] }
    const errors = new Map<string, number>()
    for (const t of result.topics)
      for (const p of t.partitions) errors.set(partitionKey(t.name, p.partitionIndex), p.errorCode)
    return {
      errorCode: ErrorCode.NONE,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: errors.get(partitionKey(t.name, p.partitionIndex)) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    }
  },
}

/** Kafka: DELETE on the group, then READ on each topic. */
function authorizeOffsetDelete(
  req: OffsetDeleteRequest,
  ctx: RequestContext,
): Authorization<OffsetDeleteRequest, OffsetDeleteResponseInput> {
  if (!groupAuthorized(ctx, AclOperation.DELETE, req.groupId)) {
    return { refused: { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] } }
  }
  return authorizeTopics(
    req,
    (t) => topicAuthorized(ctx, AclOperation.READ, t.name),
    (t) => partitionError(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}
