import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { LeaveGroupRequest } from '../../protocol/generated/leave-group-request.ts'
import type { LeaveGroupResponseInput } from '../../protocol/generated/leave-group-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const leaveGroupHandler: HandlerSpec<LeaveGroupRequest, LeaveGroupResponseInput> = {
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
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
