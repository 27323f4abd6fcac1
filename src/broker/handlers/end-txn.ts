import type { EndTxnRequest } from '../../protocol/generated/end-txn-request.ts'
import type { EndTxnResponseInput } from '../../protocol/generated/end-txn-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { fencingErrorFor } from '../txn/index.ts'

/** Up to v4: v5 bumps the epoch on every transaction end (KIP-890 part 2), which this broker does not do. */
export const endTxnHandler: HandlerSpec<EndTxnRequest, EndTxnResponseInput> = {
  apiKey: 26,
  minVersion: 0,
  maxVersion: 4,
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
