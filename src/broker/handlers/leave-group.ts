import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { LeaveGroupRequest } from '../../protocol/generated/leave-group-request.ts'
import type { LeaveGroupResponseInput } from '../../protocol/generated/leave-group-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized } from '../security/authorize.ts'

export const leaveGroupHandler: HandlerSpec<LeaveGroupRequest, LeaveGroupResponseInput> = {
  apiKey: ApiKeys.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  authorize: authorizeLeaveGroup,
  handle(req, ctx) {
    const groups = ctx.services.groups
    if (ctx.apiVersion >= 3) {
      return groups.leaveGroup(
        req.groupId,
        req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason })),
      )
    }
    // v0–v2 name one member and carry its outcome in the top-level error code.
    const result = groups.leaveGroup(req.groupId, [{ memberId: req.memberId, groupInstanceId: null }])
    return { errorCode: result.errorCode || (result.members[0]?.errorCode ?? ErrorCode.NONE) }
  },
}

/** Kafka: READ on the group, or the whole request fails with GROUP_AUTHORIZATION_FAILED. */
function authorizeLeaveGroup(
  req: LeaveGroupRequest,
  ctx: RequestContext,
): Authorization<LeaveGroupRequest, LeaveGroupResponseInput> {
  if (groupAuthorized(ctx, AclOperation.READ, req.groupId)) return { allowed: req }
  return {
    refused: { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] },
  }
}
