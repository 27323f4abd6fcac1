import type { SyncGroupRequest } from '../../protocol/generated/sync-group-request.ts'
import type { SyncGroupResponseInput } from '../../protocol/generated/sync-group-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const syncGroupHandler: HandlerSpec<SyncGroupRequest, SyncGroupResponseInput> = {
  apiKey: 14,
  minVersion: 0,
  maxVersion: 5,
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
