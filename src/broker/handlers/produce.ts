import { LogError } from '../../log/index.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ProduceRequest } from '../../protocol/generated/produce-request.ts'
import type {
  PartitionProduceResponseInput,
  ProduceResponseInput,
  TopicProduceResponseInput,
} from '../../protocol/generated/produce-response.ts'
import {
  Attributes,
  BatchOffsets,
  batchSizeAt,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
} from '../../protocol/record-batch.ts'
import type { HandlerSpec, RequestContext } from '../handler.ts'
import { CloseConnection } from '../server.ts'

/**
 * Appends happen synchronously, in request order, before the handler first yields; the response then waits for
 * durability (group commit) of every partition it wrote, as acks=1/-1 promise.
 */
export const produceHandler: HandlerSpec<ProduceRequest, ProduceResponseInput> = {
  apiKey: 0,
  // Record batch v2 only: Produce v3+ (older versions carry message sets v0/v1).
  minVersion: 3,
  maxVersion: 11,
  handle(req, ctx) {
    const { services } = ctx
    const acks = req.acks
    const durable: Promise<void>[] = []
    const responses: TopicProduceResponseInput[] = []
    const validAcks = acks === 0 || acks === 1 || acks === -1
    for (const topicData of req.topicData) {
      const topic = services.topics.get(topicData.name)
      const partitionResponses: PartitionProduceResponseInput[] = []
      for (const pd of topicData.partitionData) {
        const res: PartitionProduceResponseInput = {
          index: pd.index,
          errorCode: ErrorCode.NONE,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          errorMessage: null,
        }
        partitionResponses.push(res)
        if (!validAcks) {
          res.errorCode = ErrorCode.INVALID_REQUIRED_ACKS
          continue
        }
        if (!topic) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (topic.internal) {
          res.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION
          res.errorMessage = `Cannot append to internal topic ${topic.name}`
          continue
        }
        const log = services.topics.partitionLog(topic.name, pd.index)
        if (!log) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        const setError = recordSetError(pd.records, ctx.apiVersion)
        if (setError || !pd.records) {
          const e = setError ?? { code: ErrorCode.INVALID_RECORD, message: 'Produce request has no records' }
          res.errorCode = e.code
          res.errorMessage = e.message
          if (e.code === ErrorCode.INVALID_RECORD)
            res.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: e.message }]
          continue
        }
        const firstBatchSize = batchSizeAt(pd.records, 0)
        if (firstBatchSize >= LOG_OVERHEAD && firstBatchSize < pd.records.length) {
          // As Kafka (Produce v3+): one batch per partition. A second batch would also escape the transactional
          // check below, which reads the first batch header only.
          res.errorCode = ErrorCode.INVALID_RECORD
          res.errorMessage = 'Produce requests must contain exactly one record batch per partition'
          res.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: res.errorMessage }]
          continue
        }
        const txnError = verifyTransactional(ctx, req.transactionalId, topic.name, pd.index, pd.records)
        if (txnError) {
          res.errorCode = txnError
          res.errorMessage = 'transactional batch for a partition not in the ongoing transaction or a fenced producer'
          continue
        }
        try {
          // With acks=0 nothing waits for the write, and the request buffer may be reused once the handler
          // returns: write synchronously. Otherwise the thread pool writes while the next request is handled, and
          // the response waits for the records to be written (and synced, under the group flush policy).
          const appended = log.append(pd.records, { isFromClient: true, writeAsync: acks !== 0 })
          res.baseOffset = BigInt(appended.baseOffset)
          res.logAppendTimeMs = BigInt(appended.logAppendTime)
          res.logStartOffset = BigInt(appended.logStartOffset)
          if (appended.visible) {
            const { name } = topic
            const { index } = pd
            appended.visible.then(
              () => services.appendWaiters.notify(name, index),
              () => {},
            )
          } else if (!appended.duplicate) services.appendWaiters.notify(topic.name, pd.index)
          if (acks !== 0) {
            durable.push(
              log.waitDurable(appended.lastOffset).catch((err: Error) => {
                // The append is in the page cache but not known to be on disk: the client must not count it as
                // acknowledged.
                services.logger.error('flush failed', { topic: topic.name, partition: pd.index, err })
                res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR
                res.errorMessage = `flush failed: ${err.message}`
              }),
            )
          }
        } catch (err) {
          if (!(err instanceof LogError)) throw err
          res.errorCode = err.errorCode
          res.errorMessage = err.message
          if (err.errorCode === ErrorCode.INVALID_RECORD)
            res.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: err.message }]
        }
      }
      responses.push({ name: topicData.name, partitionResponses })
    }
    if (acks === 0) {
      // An acks=0 producer reads no response; Kafka tells it about a failed append the only way it can notice.
      const failed = responses.flatMap((t) =>
        (t.partitionResponses ?? []).filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => `${t.name}-${p.index}`),
      )
      if (failed.length > 0) throw new CloseConnection(`acks=0 produce failed for ${failed.join(', ')}`)
      return undefined
    }
    const response: ProduceResponseInput = { responses, throttleTimeMs: 0 }
    if (durable.length === 0) return response
    return Promise.all(durable).then(() => response)
  },
}

/**
 * KIP-890 part 1: a transactional batch is accepted only from the current producer of its transactional id and only
 * for a partition added to the ongoing transaction, so a zombie or a late batch after EndTxn cannot slip into a
 * partition whose log has not yet seen the bumped epoch. Reads the first batch header only (all batches of one
 * produce request come from one producer); a malformed buffer is left to the log's validation.
 */
function verifyTransactional(
  ctx: RequestContext,
  transactionalId: string | null,
  topic: string,
  partition: number,
  records: Buffer,
): number {
  if (records.length < RECORD_BATCH_OVERHEAD) return ErrorCode.NONE
  const transactional = (records.readInt16BE(BatchOffsets.attributes) & Attributes.TRANSACTIONAL) !== 0
  if (!transactional) return ErrorCode.NONE
  const txns = ctx.services.transactions
  if (!txns) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  if (transactionalId === null) return ErrorCode.INVALID_TXN_STATE
  return txns.verifyTransactionalProduce(
    {
      transactionalId,
      producerId: Number(records.readBigInt64BE(BatchOffsets.producerId)),
      producerEpoch: records.readInt16BE(BatchOffsets.producerEpoch),
    },
    topic,
    partition,
  )
}

/** MAGIC byte position in a batch, and the zstd codec id (attributes bits 0-2). */
const MAGIC_OFFSET = 16
const ATTRIBUTES_OFFSET = 21
const ZSTD = 4

/** Kafka's checks of a Produce v3+ record set before it reaches the log (ProduceRequest.validateRecords). */
function recordSetError(records: Buffer | null, version: number): { code: number; message: string } | null {
  if (!records || records.length === 0)
    return { code: ErrorCode.INVALID_RECORD, message: 'Produce request has no records' }
  if (records.length > MAGIC_OFFSET && records[MAGIC_OFFSET] !== 2) {
    return {
      code: ErrorCode.INVALID_RECORD,
      message: 'Produce requests with version 3 and above may only contain record batches with magic version 2',
    }
  }
  if (
    version < 7 &&
    records.length > ATTRIBUTES_OFFSET + 1 &&
    (records.readInt16BE(ATTRIBUTES_OFFSET) & 0x7) === ZSTD
  ) {
    return {
      code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: 'Produce requests with version below 7 may not use zstd compression',
    }
  }
  return null
}
