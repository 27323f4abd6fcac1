import type { HeartbeatRequest } from '../../protocol/generated/heartbeat-request.ts'
import type { HeartbeatResponseInput } from '../../protocol/generated/heartbeat-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const heartbeatHandler: HandlerSpec<HeartbeatRequest, HeartbeatResponseInput> = {
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
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
