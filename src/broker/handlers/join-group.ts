import type { JoinGroupRequest } from '../../protocol/generated/join-group-request.ts'
import type { JoinGroupResponseInput } from '../../protocol/generated/join-group-response.ts'
import { memberHost } from '../group/handler-support.ts'
import type { HandlerSpec } from '../handler.ts'

export const joinGroupHandler: HandlerSpec<JoinGroupRequest, JoinGroupResponseInput> = {
  apiKey: 11,
  minVersion: 0,
  maxVersion: 9,
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
