import type { DescribeGroupsRequest } from '../../protocol/generated/describe-groups-request.ts'
import type { DescribeGroupsResponseInput } from '../../protocol/generated/describe-groups-response.ts'
import type { HandlerSpec } from '../handler.ts'

/** Kafka's AclOperation codes allowed on a group resource: READ (3), DELETE (6), DESCRIBE (8). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)
const OPERATIONS_NOT_REQUESTED = -2147483648

export const describeGroupsHandler: HandlerSpec<DescribeGroupsRequest, DescribeGroupsResponseInput> = {
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
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
        authorizedOperations: withOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED,
      })),
    }
  },
}
