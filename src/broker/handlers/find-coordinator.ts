import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { FindCoordinatorRequest } from '../../protocol/generated/find-coordinator-request.ts'
import type {
  CoordinatorInput,
  FindCoordinatorResponseInput,
} from '../../protocol/generated/find-coordinator-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized, partitionBy, transactionalIdAuthorized } from '../security/authorize.ts'

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
  apiKey: ApiKeys.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  authorize: authorizeFindCoordinator,
  handle(req, ctx) {
    if (ctx.apiVersion >= 4) return { coordinators: req.coordinatorKeys.map((key) => locate(ctx, key, req.keyType)) }
    const { key: _key, ...single } = locate(ctx, req.key, ctx.apiVersion >= 1 ? req.keyType : GROUP_KEY_TYPE)
    return single
  },
}

/** Kafka: DESCRIBE on each group or transactional id whose coordinator is asked for. */
function authorizeFindCoordinator(
  req: FindCoordinatorRequest,
  ctx: RequestContext,
): Authorization<FindCoordinatorRequest, FindCoordinatorResponseInput> {
  const txn = ctx.apiVersion >= 1 && req.keyType === TRANSACTION_KEY_TYPE
  const ok = (key: string) =>
    txn ? transactionalIdAuthorized(ctx, AclOperation.DESCRIBE, key) : groupAuthorized(ctx, AclOperation.DESCRIBE, key)
  const errorCode = txn ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.GROUP_AUTHORIZATION_FAILED
  const refusal = (key: string): CoordinatorInput => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode,
    errorMessage: null,
  })
  if (ctx.apiVersion >= 4) {
    const [allowed, refused] = partitionBy(req.coordinatorKeys, ok)
    if (refused.length === 0) return { allowed: req }
    return {
      allowed: { ...req, coordinatorKeys: allowed },
      complete: (res) => ({ ...res, coordinators: [...(res.coordinators ?? []), ...refused.map(refusal)] }),
    }
  }
  if (ok(req.key)) return { allowed: req }
  const { key: _key, ...single } = refusal(req.key)
  return { refused: { throttleTimeMs: 0, ...single } }
}
