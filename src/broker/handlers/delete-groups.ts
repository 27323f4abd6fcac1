import type { DeleteGroupsRequest } from '../../protocol/generated/delete-groups-request.ts'
import type { DeleteGroupsResponseInput } from '../../protocol/generated/delete-groups-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const deleteGroupsHandler: HandlerSpec<DeleteGroupsRequest, DeleteGroupsResponseInput> = {
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    return { results: await ctx.services.groups.deleteGroups(req.groupsNames) }
  },
}
