import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetCommitRequest } from '../../protocol/generated/offset-commit-request.ts'
import type { OffsetCommitResponseInput } from '../../protocol/generated/offset-commit-response.ts'
import { partitionExists, partitionKey } from '../group/handler-support.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import {
  authorizeTopics,
  groupAuthorized,
  partitionError,
  partitionErrors,
  topicAuthorized,
} from '../security/authorize.ts'

export const offsetCommitHandler: HandlerSpec<OffsetCommitRequest, OffsetCommitResponseInput> = {
  apiKey: ApiKeys.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  authorize: authorizeOffsetCommit,
  async handle(req, ctx) {
    const v = ctx.apiVersion
    const known = req.topics
      .map((t) => ({
        name: t.name,
        partitions: t.partitions
          .filter((p) => partitionExists(ctx, t.name, p.partitionIndex))
          .map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: p.committedOffset,
            committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
            committedMetadata: p.committedMetadata,
          })),
      }))
      .filter((t) => t.partitions.length > 0)
    const results = await ctx.services.groups.commitOffsets({
      groupId: req.groupId,
      // v0 carries no generation or member: it is an admin-style commit (treated like v1 with generation -1).
      generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? req.memberId : '',
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      retentionTimeMs: v >= 2 && v <= 4 ? Number(req.retentionTimeMs) : undefined,
      groupIdNotFoundIfMissing: v >= 9,
      topics: known,
    })
    const errors = new Map<string, number>()
    for (const t of results)
      for (const p of t.partitions) errors.set(partitionKey(t.name, p.partitionIndex), p.errorCode)
    return {
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

/** Kafka: READ on the group, then READ on each topic. */
function authorizeOffsetCommit(
  req: OffsetCommitRequest,
  ctx: RequestContext,
): Authorization<OffsetCommitRequest, OffsetCommitResponseInput> {
  if (!groupAuthorized(ctx, AclOperation.READ, req.groupId)) {
    return { refused: { throttleTimeMs: 0, topics: partitionErrors(req.topics, ErrorCode.GROUP_AUTHORIZATION_FAILED) } }
  }
  return authorizeTopics(
    req,
    (t) => topicAuthorized(ctx, AclOperation.READ, t.name),
    (t) => partitionError(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}
