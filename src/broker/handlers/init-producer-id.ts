import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { InitProducerIdRequest } from '../../protocol/generated/init-producer-id-request.ts'
import type { InitProducerIdResponseInput } from '../../protocol/generated/init-producer-id-response.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation, ResourceType } from '../security/acl.ts'
import { clusterAuthorized, transactionalIdAuthorized } from '../security/authorize.ts'
import { fencingErrorFor } from '../txn/index.ts'

/**
 * Idempotent producers get a fresh producer id at epoch 0 (as Kafka does for producers without a
 * transactional.id, even when they pass their previous id after a sequence error).
 */
export const initProducerIdHandler: HandlerSpec<InitProducerIdRequest, InitProducerIdResponseInput> = {
  apiKey: ApiKeys.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  authorize: authorizeInitProducerId,
  async handle(req, ctx) {
    if (req.transactionalId !== null) {
      const handler = ctx.services.transactions
      if (!handler) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        }
      }
      const r = await handler.initProducerId({
        transactionalId: req.transactionalId,
        transactionTimeoutMs: req.transactionTimeoutMs,
        producerId: ctx.apiVersion >= 3 ? Number(req.producerId) : -1,
        producerEpoch: ctx.apiVersion >= 3 ? req.producerEpoch : -1,
      })
      return {
        throttleTimeMs: 0,
        errorCode: fencingErrorFor(r.errorCode, ctx.apiVersion, 4),
        producerId: BigInt(r.producerId),
        producerEpoch: r.producerEpoch,
      }
    }
    const producerId = await ctx.services.producerIds.allocateProducerId()
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(producerId), producerEpoch: 0 }
  },
}

/**
 * Kafka: WRITE on the transactional id; an idempotent producer (KIP-679) needs IDEMPOTENT_WRITE on the cluster or
 * WRITE on some topic.
 */
function authorizeInitProducerId(
  req: InitProducerIdRequest,
  ctx: RequestContext,
): Authorization<InitProducerIdRequest, InitProducerIdResponseInput> {
  const refused = (errorCode: number) => ({
    refused: { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 },
  })
  if (req.transactionalId !== null) {
    return transactionalIdAuthorized(ctx, AclOperation.WRITE, req.transactionalId)
      ? { allowed: req }
      : refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  }
  const ok =
    clusterAuthorized(ctx, AclOperation.IDEMPOTENT_WRITE) ||
    ctx.services.authorizer?.authorizeAny(ctx.principal, ctx.clientHost, AclOperation.WRITE, ResourceType.TOPIC) !==
      false
  return ok ? { allowed: req } : refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
}
