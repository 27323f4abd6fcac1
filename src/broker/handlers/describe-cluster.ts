import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeClusterRequest } from '../../protocol/generated/describe-cluster-request.ts'
import type { DescribeClusterResponseInput } from '../../protocol/generated/describe-cluster-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from '../security/acl.ts'
import {
  authorizedOperations,
  CLUSTER_OPERATIONS,
  clusterAuthorized,
  OPERATIONS_NOT_REQUESTED as OPS_NOT_REQUESTED,
} from '../security/authorize.ts'

/** DescribeCluster EndpointType ids (KIP-919). */
const EndpointType = { UNKNOWN: 0, BROKER: 1, CONTROLLER: 2 } as const

/** Without an authorizer every operation Kafka reports on the cluster is allowed. */
const ALL_CLUSTER_OPERATIONS = CLUSTER_OPERATIONS.reduce((mask, op) => mask | (1 << op), 0)

export const describeClusterHandler: HandlerSpec<DescribeClusterRequest, DescribeClusterResponseInput> = {
  apiKey: ApiKeys.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  authorize: authorizeDescribeCluster,
  handle(req, ctx) {
    const { services } = ctx
    const base = { throttleTimeMs: 0, endpointType: req.endpointType, clusterId: services.clusterId }
    // This node is a broker endpoint; the controller role is internal and has no listener of its own.
    if (req.endpointType !== EndpointType.BROKER) {
      const known = req.endpointType === EndpointType.CONTROLLER
      return {
        ...base,
        errorCode:
          ctx.apiVersion === 0
            ? ErrorCode.INVALID_REQUEST
            : known
              ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
              : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: known
          ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
          : `Unsupported endpoint type ${req.endpointType}`,
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: OPS_NOT_REQUESTED,
      }
    }
    const { nodeId } = services.config
    const advertisedHost = ctx.session?.listener.advertisedHost ?? services.config.advertisedHost
    const advertisedPort = ctx.session?.listener.advertisedPort ?? services.config.advertisedPort
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      controllerId: nodeId,
      brokers: [{ brokerId: nodeId, host: advertisedHost, port: advertisedPort, rack: null }],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? ALL_CLUSTER_OPERATIONS : OPS_NOT_REQUESTED,
    }
  },
}

/** Kafka: DESCRIBE on the cluster; the authorized operations on it when asked for. */
function authorizeDescribeCluster(
  req: DescribeClusterRequest,
  ctx: RequestContext,
): Authorization<DescribeClusterRequest, DescribeClusterResponseInput> {
  if (!clusterAuthorized(ctx, AclOperation.DESCRIBE)) {
    return {
      refused: {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        endpointType: req.endpointType,
        clusterId: '',
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: OPS_NOT_REQUESTED,
      },
    }
  }
  return {
    allowed: req,
    complete: (res) =>
      req.includeClusterAuthorizedOperations && res.errorCode === ErrorCode.NONE
        ? {
            ...res,
            clusterAuthorizedOperations: authorizedOperations(
              ctx,
              ResourceType.CLUSTER,
              CLUSTER_RESOURCE,
              CLUSTER_OPERATIONS,
            ),
          }
        : res,
  }
}
