import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { ListGroupsRequest } from '../../protocol/generated/list-groups-request.ts'
import type { ListGroupsResponseInput } from '../../protocol/generated/list-groups-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized, groupAuthorized } from '../security/authorize.ts'

export const listGroupsHandler: HandlerSpec<ListGroupsRequest, ListGroupsResponseInput> = {
  apiKey: ApiKeys.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  authorize: authorizeListGroups,
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

/** Kafka: DESCRIBE on the cluster lists every group; without it, only the groups the principal may DESCRIBE. */
function authorizeListGroups(
  req: ListGroupsRequest,
  ctx: RequestContext,
): Authorization<ListGroupsRequest, ListGroupsResponseInput> {
  if (clusterAuthorized(ctx, AclOperation.DESCRIBE)) return { allowed: req }
  return {
    allowed: req,
    complete: (res) => ({
      ...res,
      groups: (res.groups ?? []).filter((g) => groupAuthorized(ctx, AclOperation.DESCRIBE, g.groupId ?? '')),
    }),
  }
}
