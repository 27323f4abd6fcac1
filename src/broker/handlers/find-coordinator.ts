import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { FindCoordinatorRequest } from '../../protocol/generated/find-coordinator-request.ts'
import type {
  CoordinatorInput,
  FindCoordinatorResponseInput,
} from '../../protocol/generated/find-coordinator-response.ts'
import type { HandlerSpec, RequestContext } from '../handler.ts'

const GROUP_KEY_TYPE = 0
const TRANSACTION_KEY_TYPE = 1

/** Single node: node 0 coordinates every group and every transactional id. */
function locate(ctx: RequestContext, key: string, keyType: number): CoordinatorInput {
  const { nodeId } = ctx.services.config
  const advertisedHost = ctx.session?.listener.advertisedHost ?? ctx.services.config.advertisedHost
  const advertisedPort = ctx.session?.listener.advertisedPort ?? ctx.services.config.advertisedPort
  if (keyType !== GROUP_KEY_TYPE && keyType !== TRANSACTION_KEY_TYPE) {
    return {
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `unknown key type ${keyType}`,
    }
  }
  if (keyType === GROUP_KEY_TYPE && ctx.services.groups.availabilityError() !== ErrorCode.NONE) {
    // Clients retry FindCoordinator on this error until the group state has been loaded.
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
  }
  return { key, nodeId, host: advertisedHost, port: advertisedPort, errorCode: ErrorCode.NONE, errorMessage: null }
}

export const findCoordinatorHandler: HandlerSpec<FindCoordinatorRequest, FindCoordinatorResponseInput> = {
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  handle(req, ctx) {
    if (ctx.apiVersion >= 4) return { coordinators: req.coordinatorKeys.map((key) => locate(ctx, key, req.keyType)) }
    const { key: _key, ...single } = locate(ctx, req.key, ctx.apiVersion >= 1 ? req.keyType : GROUP_KEY_TYPE)
    return single
  },
}
