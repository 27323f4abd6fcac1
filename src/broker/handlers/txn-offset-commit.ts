import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { TxnOffsetCommitRequest } from '../../protocol/generated/txn-offset-commit-request.ts'
import type { TxnOffsetCommitResponseInput } from '../../protocol/generated/txn-offset-commit-response.ts'
import type { HandlerSpec } from '../handler.ts'
import { fencingErrorFor } from '../txn/index.ts'

/**
 * Offsets committed inside a transaction stay pending (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT for
 * requireStable) until EndTxn commits them; v3 adds the member and generation checks of KIP-447.
 */
export const txnOffsetCommitHandler: HandlerSpec<TxnOffsetCommitRequest, TxnOffsetCommitResponseInput> = {
  apiKey: 28,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const v = ctx.apiVersion
    const txns = ctx.services.transactions
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    }))
    if (!txns) {
      return {
        throttleTimeMs: 0,
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          })),
        })),
      }
    }
    const results = await txns.txnOffsetCommit(
      { transactionalId: req.transactionalId, producerId: Number(req.producerId), producerEpoch: req.producerEpoch },
      {
        groupId: req.groupId,
        generationId: v >= 3 ? req.generationId : -1,
        memberId: v >= 3 ? req.memberId : '',
        groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      },
      topics,
    )
    return {
      throttleTimeMs: 0,
      topics: results.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          // Old clients know a fenced producer only as INVALID_PRODUCER_EPOCH.
          errorCode: fencingErrorFor(p.errorCode, v, 3),
        })),
      })),
    }
  },
}
