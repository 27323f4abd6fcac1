import type { AddOffsetsToTxnRequest } from '../../protocol/generated/add-offsets-to-txn-request.ts'
import type { AddOffsetsToTxnResponseInput } from '../../protocol/generated/add-offsets-to-txn-response.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { groupAuthorized, transactionalIdAuthorized } from '../security/authorize.ts'
import { fencingErrorFor } from '../txn/index.ts'

export const addOffsetsToTxnHandler: HandlerSpec<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInput> = {
  apiKey: ApiKeys.AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  authorize: authorizeAddOffsetsToTxn,
  async handle(req, ctx) {
    const txns = ctx.services.transactions
    if (!txns) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    if (!req.groupId) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID }
    const errorCode = await txns.addOffsets(
      { transactionalId: req.transactionalId, producerId: Number(req.producerId), producerEpoch: req.producerEpoch },
      req.groupId,
    )
    return { throttleTimeMs: 0, errorCode: fencingErrorFor(errorCode, ctx.apiVersion, 2) }
  },
}

/** Kafka: WRITE on the transactional id, then READ on the group. */
function authorizeAddOffsetsToTxn(
  req: AddOffsetsToTxnRequest,
  ctx: RequestContext,
): Authorization<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInput> {
  if (!transactionalIdAuthorized(ctx, AclOperation.WRITE, req.transactionalId)) {
    return { refused: { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED } }
  }
  if (!groupAuthorized(ctx, AclOperation.READ, req.groupId)) {
    return { refused: { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED } }
  }
  return { allowed: req }
}
