import type { DescribeTransactionsRequest } from '../../protocol/generated/describe-transactions-request.ts'
import type { DescribeTransactionsResponseInput } from '../../protocol/generated/describe-transactions-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'

export const describeTransactionsHandler: HandlerSpec<DescribeTransactionsRequest, DescribeTransactionsResponseInput> =
  {
    apiKey: 65,
    minVersion: 0,
    maxVersion: 0,
    handle(req, ctx) {
      const txns = ctx.services.transactions
      if (!txns) {
        return {
          throttleTimeMs: 0,
          transactionStates: req.transactionalIds.map((transactionalId) => ({
            transactionalId,
            errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
            transactionState: '',
            producerId: 0n,
            producerEpoch: 0,
            transactionStartTimeMs: 0n,
          })),
        }
      }
      return {
        throttleTimeMs: 0,
        transactionStates: txns.describe(req.transactionalIds).map((t) => ({
          errorCode: t.errorCode,
          transactionalId: t.transactionalId,
          transactionState: t.state,
          transactionTimeoutMs: t.timeoutMs,
          transactionStartTimeMs: BigInt(t.startTimestamp),
          producerId: BigInt(t.producerId),
          producerEpoch: t.producerEpoch,
          topics: t.partitions.map((p) => ({ topic: p.topic, partitions: p.partitions })),
        })),
      }
    },
  }
