import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { EndTxnRequest } from '../../protocol/generated/end-txn-request.ts'
import type { EndTxnResponseInput } from '../../protocol/generated/end-txn-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { transactionalIdAuthorized } from '../security/authorize.ts'
import { fencingErrorFor } from '../txn/index.ts'

/** Up to v4: v5 bumps the epoch on every transaction end (KIP-890 part 2), which this broker does not do. */
export const endTxnHandler: HandlerSpec<EndTxnRequest, EndTxnResponseInput> = {
  apiKey: ApiKeys.EndTxn,
  minVersion: 0,
  maxVersion: 4,
  authorize: authorizeEndTxn,
  async handle(req, ctx) {
    const txns = ctx.services.transactions
    if (!txns) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    const errorCode = await txns.endTxn(
      { transactionalId: req.transactionalId, producerId: Number(req.producerId), producerEpoch: req.producerEpoch },
      req.committed,
    )
    return { throttleTimeMs: 0, errorCode: fencingErrorFor(errorCode, ctx.apiVersion, 2) }
  },
}

/** Kafka: WRITE on the transactional id. */
function authorizeEndTxn(req: EndTxnRequest, ctx: RequestContext): Authorization<EndTxnRequest, EndTxnResponseInput> {
  if (transactionalIdAuthorized(ctx, AclOperation.WRITE, req.transactionalId)) return { allowed: req }
  return { refused: { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED } }
}
