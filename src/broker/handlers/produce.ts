import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ProduceRequest, TopicProduceData } from '../../protocol/generated/produce-request.ts'
import type {
  PartitionProduceResponseInput,
  ProduceResponseInput,
  TopicProduceResponseInput,
} from '../../protocol/generated/produce-response.ts'
import { batchSizeAt, LOG_OVERHEAD } from '../../protocol/record-batch.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, topicAuthorized, transactionalIdAuthorized } from '../security/authorize.ts'

/**
 * Appends happen synchronously, in request order, before the handler first yields; the response then waits for
 * durability (group commit) of every partition it wrote, as acks=1/-1 promise.
 */
export const produceHandler: HandlerSpec<ProduceRequest, ProduceResponseInput> = {
  apiKey: ApiKeys.Produce,
  // Record batch v2 only: Produce v3+ (older versions carry message sets v0/v1).
  minVersion: 3,
  maxVersion: 11,
  authorize: authorizeProduce,
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
        const refused = services.replicas.clientAppendError(topic.name, topic.internal, pd.index)
        if (refused) {
          res.errorCode = refused.errorCode
          res.errorMessage = refused.errorMessage
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
          // check (ReplicaManager), which reads the first batch header only.
          res.errorCode = ErrorCode.INVALID_RECORD
          res.errorMessage = 'Produce requests must contain exactly one record batch per partition'
          res.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: res.errorMessage }]
          continue
        }
        const { result, durable: written } = services.replicas.appendRecords({
          topic: topic.name,
          internal: topic.internal,
          partition: pd.index,
          records: pd.records,
          acks,
          transactionalId: req.transactionalId,
        })
        const toResponse = () => {
          res.errorCode = result.errorCode
          res.errorMessage = result.errorMessage
          res.baseOffset = BigInt(result.baseOffset)
          res.logAppendTimeMs = BigInt(result.logAppendTime)
          res.logStartOffset = BigInt(result.logStartOffset)
          if (result.recordError) res.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: result.errorMessage }]
        }
        toResponse()
        if (written) durable.push(written.then(toResponse))
      }
      responses.push({ name: topicData.name, partitionResponses })
    }
    if (acks === 0) {
      // An acks=0 producer reads no response; Kafka tells it about a failed append the only way it can notice.
      const failed = responses.flatMap((t) =>
        (t.partitionResponses ?? []).filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => `${t.name}-${p.index}`),
      )
      if (failed.length > 0) ctx.closeConnection(`acks=0 produce failed for ${failed.join(', ')}`)
      return undefined
    }
    const response: ProduceResponseInput = { responses, throttleTimeMs: 0 }
    if (durable.length === 0) return response
    return Promise.all(durable).then(() => response)
  },
}

/** Kafka: WRITE on the transactional id (when there is one) and on each topic. */
function authorizeProduce(
  req: ProduceRequest,
  ctx: RequestContext,
): Authorization<ProduceRequest, ProduceResponseInput> {
  if (req.transactionalId !== null && !transactionalIdAuthorized(ctx, AclOperation.WRITE, req.transactionalId)) {
    // acks=0 clients read no response: Kafka tells them about any error by closing the connection.
    if (req.acks === 0) {
      ctx.closeConnection('acks=0 produce refused: transactional id not authorized')
      return { refused: undefined }
    }
    return {
      refused: {
        throttleTimeMs: 0,
        responses: req.topicData.map((t) => refusedTopic(t, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)),
      },
    }
  }
  const [allowed, refused] = partitionBy(req.topicData, (t) => topicAuthorized(ctx, AclOperation.WRITE, t.name))
  if (refused.length === 0) return { allowed: req }
  // The allowed topics are still written; the client learns of the refused ones by the close.
  if (req.acks === 0) ctx.closeConnection('acks=0 produce refused: topic not authorized')
  return {
    allowed: { ...req, topicData: allowed },
    complete: (res) => ({
      ...res,
      responses: [
        ...(res.responses ?? []),
        ...refused.map((t) => refusedTopic(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
      ],
    }),
  }
}

function refusedTopic(t: TopicProduceData, errorCode: number): TopicProduceResponseInput {
  return {
    name: t.name,
    partitionResponses: t.partitionData.map((p) => ({
      index: p.index,
      errorCode,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage: null,
    })),
  }
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
