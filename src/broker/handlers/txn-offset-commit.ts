import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { TxnOffsetCommitRequest } from '../../protocol/generated/txn-offset-commit-request.ts'
import type { TxnOffsetCommitResponseInput } from '../../protocol/generated/txn-offset-commit-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import {
  authorizeTopics,
  groupAuthorized,
  partitionError,
  partitionErrors,
  topicAuthorized,
  transactionalIdAuthorized,
} from '../security/authorize.ts'
import { fencingErrorFor } from '../txn/index.ts'

/**
 * Offsets committed inside a transaction stay pending (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT for
 * requireStable) until EndTxn commits them; v3 adds the member and generation checks of KIP-447.
 */
export const txnOffsetCommitHandler: HandlerSpec<TxnOffsetCommitRequest, TxnOffsetCommitResponseInput> = {
  apiKey: ApiKeys.TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  authorize: authorizeTxnOffsetCommit,
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

/** Kafka: WRITE on the transactional id, READ on the group, then READ on each topic. */
function authorizeTxnOffsetCommit(
  req: TxnOffsetCommitRequest,
  ctx: RequestContext,
): Authorization<TxnOffsetCommitRequest, TxnOffsetCommitResponseInput> {
  if (!transactionalIdAuthorized(ctx, AclOperation.WRITE, req.transactionalId)) {
    return {
      refused: {
        throttleTimeMs: 0,
        topics: partitionErrors(req.topics, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
      },
    }
  }
  if (!groupAuthorized(ctx, AclOperation.READ, req.groupId)) {
    return { refused: { throttleTimeMs: 0, topics: partitionErrors(req.topics, ErrorCode.GROUP_AUTHORIZATION_FAILED) } }
  }
  return authorizeTopics(
    req,
    (t) => topicAuthorized(ctx, AclOperation.READ, t.name),
    (t) => partitionError(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}
