import type { ListGroupsRequest } from '../../protocol/generated/list-groups-request.ts'
import type { ListGroupsResponseInput } from '../../protocol/generated/list-groups-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const listGroupsHandler: HandlerSpec<ListGroupsRequest, ListGroupsResponseInput> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const groups = ctx.services.groups
    const errorCode = groups.availabilityError()
    if (errorCode) return { errorCode, groups: [] }
    const listed = groups.listGroups({
      states: ctx.apiVersion >= 4 ? req.statesFilter : [],
      types: ctx.apiVersion >= 5 ? req.typesFilter : [],
    })
    return {
      errorCode,
      groups: listed.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        groupState: g.state,
        groupType: g.groupType,
      })),
    }
  },
}
