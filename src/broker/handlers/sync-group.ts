import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { SyncGroupRequest } from '../../protocol/generated/sync-group-request.ts'
import type { SyncGroupResponseInput } from '../../protocol/generated/sync-group-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized } from '../security/authorize.ts'

export const syncGroupHandler: HandlerSpec<SyncGroupRequest, SyncGroupResponseInput> = {
  apiKey: ApiKeys.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  authorize: authorizeSyncGroup,
  async handle(req, ctx) {
    const v = ctx.apiVersion
    return ctx.services.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    })
  },
}

/** Kafka: READ on the group, or the whole request fails with GROUP_AUTHORIZATION_FAILED. */
function authorizeSyncGroup(
  req: SyncGroupRequest,
  ctx: RequestContext,
): Authorization<SyncGroupRequest, SyncGroupResponseInput> {
  if (groupAuthorized(ctx, AclOperation.READ, req.groupId)) return { allowed: req }
  return {
    refused: {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    },
  }
}
