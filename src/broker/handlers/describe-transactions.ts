import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeTransactionsRequest } from '../../protocol/generated/describe-transactions-request.ts'
import type { DescribeTransactionsResponseInput } from '../../protocol/generated/describe-transactions-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, transactionalIdAuthorized } from '../security/authorize.ts'

export const describeTransactionsHandler: HandlerSpec<DescribeTransactionsRequest, DescribeTransactionsResponseInput> =
  {
    apiKey: ApiKeys.DescribeTransactions,
    minVersion: 0,
    maxVersion: 0,
    authorize: authorizeDescribeTransactions,
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

/** Kafka: DESCRIBE on each transactional id. */
function authorizeDescribeTransactions(
  req: DescribeTransactionsRequest,
  ctx: RequestContext,
): Authorization<DescribeTransactionsRequest, DescribeTransactionsResponseInput> {
  const [allowed, refused] = partitionBy(req.transactionalIds, (id) =>
    transactionalIdAuthorized(ctx, AclOperation.DESCRIBE, id),
  )
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, transactionalIds: allowed },
    complete: (res) => ({
      ...res,
      transactionStates: [
        ...(res.transactionStates ?? []),
        ...refused.map((transactionalId) => ({
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          transactionalId,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1n,
          producerId: -1n,
          producerEpoch: -1,
          topics: [],
        })),
      ],
    }),
  }
}
