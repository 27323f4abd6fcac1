import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ListTransactionsRequest } from '../../protocol/generated/list-transactions-request.ts'
import type { ListTransactionsResponseInput } from '../../protocol/generated/list-transactions-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { transactionalIdAuthorized } from '../security/authorize.ts'

export const listTransactionsHandler: HandlerSpec<ListTransactionsRequest, ListTransactionsResponseInput> = {
  apiKey: ApiKeys.ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  authorize: authorizeListTransactions,
  handle(req, ctx) {
    const txns = ctx.services.transactions
    if (!txns) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters: [], transactionStates: [] }
    const r = txns.list({
      states: req.stateFilters,
      producerIds: req.producerIdFilters.map(Number),
      // v1 (KIP-994): only transactions running at least this long; -1 = no filter.
      minDurationMs: ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1,
    })
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      unknownStateFilters: r.unknownStateFilters,
      transactionStates: r.transactions.map((t) => ({
        transactionalId: t.transactionalId,
        producerId: BigInt(t.producerId),
        transactionState: t.state,
      })),
    }
  },
}

/** Kafka: only the transactions whose id the principal may DESCRIBE are listed. */
function authorizeListTransactions(
  req: ListTransactionsRequest,
  ctx: RequestContext,
): Authorization<ListTransactionsRequest, ListTransactionsResponseInput> {
  return {
    allowed: req,
    complete: (res) => ({
      ...res,
      transactionStates: (res.transactionStates ?? []).filter((t) =>
        transactionalIdAuthorized(ctx, AclOperation.DESCRIBE, t.transactionalId ?? ''),
      ),
    }),
  }
}
