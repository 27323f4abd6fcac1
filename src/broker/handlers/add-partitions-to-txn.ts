import type { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn-request.ts'
import type {
  AddPartitionsToTxnResponseInput,
  AddPartitionsToTxnTopicResultInput,
} from '../../protocol/generated/add-partitions-to-txn-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { fencingErrorFor } from '../txn/index.ts'

/**
 * Clients' versions only (0–3, one transaction per request); v4+ batches transactions for broker-to-broker
 * verification, which a single-node broker does internally.
 */
export const addPartitionsToTxnHandler: HandlerSpec<AddPartitionsToTxnRequest, AddPartitionsToTxnResponseInput> = {
  apiKey: 24,
  minVersion: 0,
  maxVersion: 3,
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
