import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DeleteGroupsRequest } from '../../protocol/generated/delete-groups-request.ts'
import type { DeleteGroupsResponseInput } from '../../protocol/generated/delete-groups-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized, partitionBy } from '../security/authorize.ts'

export const deleteGroupsHandler: HandlerSpec<DeleteGroupsRequest, DeleteGroupsResponseInput> = {
  apiKey: ApiKeys.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  authorize: authorizeDeleteGroups,
  async handle(req, ctx) {
    return { results: await ctx.services.groups.deleteGroups(req.groupsNames) }
  },
}

/** Kafka: DELETE on each group. */
function authorizeDeleteGroups(
  req: DeleteGroupsRequest,
  ctx: RequestContext,
): Authorization<DeleteGroupsRequest, DeleteGroupsResponseInput> {
  const [allowed, refused] = partitionBy(req.groupsNames, (g) => groupAuthorized(ctx, AclOperation.DELETE, g))
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, groupsNames: allowed },
    complete: (res) => ({
      ...res,
      results: [
        ...(res.results ?? []),
        ...refused.map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })),
      ],
    }),
  }
}
