import type { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn-request.ts'
import type {
  AddPartitionsToTxnResponseInput,
  AddPartitionsToTxnTopicResultInput,
} from '../../protocol/generated/add-partitions-to-txn-response.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { topicAuthorized, transactionalIdAuthorized } from '../security/authorize.ts'
import { fencingErrorFor } from '../txn/index.ts'

/**
 * Clients' versions only (0–3, one transaction per request); v4+ batches transactions for broker-to-broker
 * verification, which a single-node broker does internally.
 */
export const addPartitionsToTxnHandler: HandlerSpec<AddPartitionsToTxnRequest, AddPartitionsToTxnResponseInput> = {
  apiKey: ApiKeys.AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 3,
  authorize: authorizeAddPartitionsToTxn,
  async handle(req, ctx) {
    const txns = ctx.services.transactions
    const results = txns
      ? await txns.addPartitions(
          {
            transactionalId: req.v3AndBelowTransactionalId,
            producerId: Number(req.v3AndBelowProducerId),
            producerEpoch: req.v3AndBelowProducerEpoch,
          },
          req.v3AndBelowTopics,
        )
      : req.v3AndBelowTopics.flatMap((t) =>
          t.partitions.map((partition) => ({
            topic: t.name,
            partition,
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED as number,
          })),
        )
    const byTopic = new Map<string, AddPartitionsToTxnTopicResultInput>()
    for (const r of results) {
      let t = byTopic.get(r.topic)
      if (!t) {
        t = { name: r.topic, resultsByPartition: [] }
        byTopic.set(r.topic, t)
      }
      t.resultsByPartition!.push({
        partitionIndex: r.partition,
        partitionErrorCode: fencingErrorFor(r.errorCode, ctx.apiVersion, 2),
      })
    }
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: [...byTopic.values()] }
  },
}

/**
 * Kafka: WRITE on the transactional id and on every topic. When any topic is refused nothing is added: the others
 * are OPERATION_NOT_ATTEMPTED.
 */
function authorizeAddPartitionsToTxn(
  req: AddPartitionsToTxnRequest,
  ctx: RequestContext,
): Authorization<AddPartitionsToTxnRequest, AddPartitionsToTxnResponseInput> {
  const topics = req.v3AndBelowTopics
  const refusal = (errorCode: (topic: string) => number) => ({
    refused: {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: topics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode: errorCode(t.name),
        })),
      })),
    },
  })
  if (!transactionalIdAuthorized(ctx, AclOperation.WRITE, req.v3AndBelowTransactionalId)) {
    return refusal(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  }
  const refused = new Set(topics.filter((t) => !topicAuthorized(ctx, AclOperation.WRITE, t.name)).map((t) => t.name))
  if (refused.size === 0) return { allowed: req }
  return refusal((topic) =>
    refused.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED,
  )
}
