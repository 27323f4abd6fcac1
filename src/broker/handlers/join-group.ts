import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { JoinGroupRequest } from '../../protocol/generated/join-group-request.ts'
import type { JoinGroupResponseInput } from '../../protocol/generated/join-group-response.ts'
import { memberHost } from '../group/handler-support.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized } from '../security/authorize.ts'

export const joinGroupHandler: HandlerSpec<JoinGroupRequest, JoinGroupResponseInput> = {
  apiKey: ApiKeys.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  authorize: authorizeJoinGroup,
  async handle(req, ctx) {
    const v = ctx.apiVersion
    const result = await ctx.services.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : -1,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      clientId: ctx.clientId ?? '',
      clientHost: memberHost(ctx),
      requireKnownMemberId: v >= 4,
      supportSkippingAssignment: v >= 9,
      reason: v >= 8 ? req.reason : null,
    })
    // protocolName is only nullable from v7 on.
    return { ...result, protocolName: result.protocolName ?? (v >= 7 ? null : '') }
  },
}

/** Kafka: READ on the group, or the whole request fails with GROUP_AUTHORIZATION_FAILED. */
function authorizeJoinGroup(
  req: JoinGroupRequest,
  ctx: RequestContext,
): Authorization<JoinGroupRequest, JoinGroupResponseInput> {
  if (groupAuthorized(ctx, AclOperation.READ, req.groupId)) return { allowed: req }
  return {
    refused: {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      generationId: -1,
      protocolType: null,
      protocolName: ctx.apiVersion >= 7 ? null : '',
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    },
  }
}
