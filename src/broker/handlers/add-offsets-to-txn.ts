import type { AddOffsetsToTxnRequest } from '../../protocol/generated/add-offsets-to-txn-request.ts'
import type { AddOffsetsToTxnResponseInput } from '../../protocol/generated/add-offsets-to-txn-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { fencingErrorFor } from '../txn/index.ts'

export const addOffsetsToTxnHandler: HandlerSpec<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInput> = {
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
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
