import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HeartbeatRequest } from '../../protocol/generated/heartbeat-request.ts'
import type { HeartbeatResponseInput } from '../../protocol/generated/heartbeat-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized } from '../security/authorize.ts'

export const heartbeatHandler: HandlerSpec<HeartbeatRequest, HeartbeatResponseInput> = {
  apiKey: ApiKeys.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  authorize: authorizeHeartbeat,
  handle(req, ctx) {
    const errorCode = ctx.services.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    })
    return { errorCode }
  },
}

/** Kafka: READ on the group, or the whole request fails with GROUP_AUTHORIZATION_FAILED. */
function authorizeHeartbeat(
  req: HeartbeatRequest,
  ctx: RequestContext,
): Authorization<HeartbeatRequest, HeartbeatResponseInput> {
  if (groupAuthorized(ctx, AclOperation.READ, req.groupId)) return { allowed: req }
  return {
    refused: { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  }
}
