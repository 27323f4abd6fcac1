import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeGroupsRequest } from '../../protocol/generated/describe-groups-request.ts'
import type { DescribeGroupsResponseInput } from '../../protocol/generated/describe-groups-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation, ResourceType } from '../security/acl.ts'
import {
  authorizedOperations,
  GROUP_OPERATIONS,
  groupAuthorized,
  OPERATIONS_NOT_REQUESTED,
  partitionBy,
} from '../security/authorize.ts'

/** Without ACLs every operation Kafka reports on a group is allowed: READ, DELETE and DESCRIBE. */
const ALL_GROUP_OPERATIONS = GROUP_OPERATIONS.reduce((bits, op) => bits | (1 << op), 0)

export const describeGroupsHandler: HandlerSpec<DescribeGroupsRequest, DescribeGroupsResponseInput> = {
  apiKey: ApiKeys.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  authorize: authorizeDescribeGroups,
  handle(req, ctx) {
    const withOperations = ctx.apiVersion >= 3 && req.includeAuthorizedOperations
    return {
      groups: ctx.services.groups.describeGroups(req.groups).map((g) => ({
        errorCode: g.errorCode,
        groupId: g.groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocol,
        members: g.members,
        authorizedOperations: withOperations ? ALL_GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED,
      })),
    }
  },
}

/** Kafka: DESCRIBE on each group; the authorized operations on each described group when asked for (v3+). */
function authorizeDescribeGroups(
  req: DescribeGroupsRequest,
  ctx: RequestContext,
): Authorization<DescribeGroupsRequest, DescribeGroupsResponseInput> {
  const [allowed, refused] = partitionBy(req.groups, (g) => groupAuthorized(ctx, AclOperation.DESCRIBE, g))
  const withOps = ctx.apiVersion >= 3 && req.includeAuthorizedOperations
  return {
    allowed: { ...req, groups: allowed },
    complete: (res) => ({
      ...res,
      groups: [
        ...(res.groups ?? []).map((g) =>
          withOps && g.errorCode === ErrorCode.NONE
            ? {
                ...g,
                authorizedOperations: authorizedOperations(ctx, ResourceType.GROUP, g.groupId ?? '', GROUP_OPERATIONS),
              }
            : g,
        ),
        ...refused.map((groupId) => ({
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          groupId,
          groupState: '',
          protocolType: '',
          protocolData: '',
          members: [],
          authorizedOperations: OPERATIONS_NOT_REQUESTED,
        })),
      ],
    }),
  }
}
