import type { DescribeClusterRequest } from '../../protocol/generated/describe-cluster-request.ts'
import type { DescribeClusterResponseInput } from '../../protocol/generated/describe-cluster-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'

/** DescribeCluster EndpointType ids (KIP-919). */
const EndpointType = { UNKNOWN: 0, BROKER: 1, CONTROLLER: 2 } as const

/** Kafka's "authorized operations not requested" marker. */
const OPS_NOT_REQUESTED = -2147483648

/** AclOperation ids Kafka supports on the CLUSTER resource; without an authorizer every one is allowed. */
const CLUSTER_OPERATIONS = [
  5 /* CREATE */, 7 /* ALTER */, 8 /* DESCRIBE */, 9 /* CLUSTER_ACTION */, 10 /* DESCRIBE_CONFIGS */,
  11 /* ALTER_CONFIGS */, 12 /* IDEMPOTENT_WRITE */,
]
const ALL_CLUSTER_OPERATIONS = CLUSTER_OPERATIONS.reduce((mask, op) => mask | (1 << op), 0)

export const describeClusterHandler: HandlerSpec<DescribeClusterRequest, DescribeClusterResponseInput> = {
  apiKey: 60,
  minVersion: 0,
  maxVersion: 1,
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
