import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { FetchRequest, FetchTopic } from '../../protocol/generated/fetch-request.ts'
import type {
  FetchableTopicResponseInput,
  FetchResponseInput,
  PartitionDataInput,
} from '../../protocol/generated/fetch-response.ts'
import { standIn } from '../file-region.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import type { FetchPartition } from '../replica-manager.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized, partitionBy, topicAuthorized } from '../security/authorize.ts'

const EMPTY = Buffer.alloc(0)
const READ_COMMITTED = 1

interface Target {
  partition: FetchPartition
  out: PartitionDataInput
}

/**
 * Fetch serves whole record batches straight from the segment files. Incremental fetch sessions (KIP-227) are
 * declined by answering session id 0, which the protocol allows: clients then keep sending full fetch requests.
 */
export const fetchHandler: HandlerSpec<FetchRequest, FetchResponseInput> = {
  apiKey: ApiKeys.Fetch,
  minVersion: 4,
  maxVersion: 17,
  authorize: authorizeFetch,
  async handle(req, ctx) {
    if (req.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] }
    }
    const { topics: registry, replicas } = ctx.services
    const byId = ctx.apiVersion >= 13
    const responses: FetchableTopicResponseInput[] = []
    const targets: Target[] = []
    for (const ft of req.topics) {
      const topic = byId ? registry.getById(ft.topicId) : registry.get(ft.topic)
      const partitions: PartitionDataInput[] = []
      responses.push({ topic: ft.topic, topicId: ft.topicId, partitions })
      for (const fp of ft.partitions) {
        const out: PartitionDataInput = {
          partitionIndex: fp.partition,
          errorCode: ErrorCode.NONE,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: EMPTY,
        }
        partitions.push(out)
        if (!topic) {
          out.errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (!replicas.hasPartition(topic.name, fp.partition)) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (fp.currentLeaderEpoch > 0) {
          // Our only leader epoch is 0: a client claiming a newer one knows something we do not.
          out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          continue
        }
        targets.push({
          partition: {
            topic: topic.name,
            partition: fp.partition,
            fetchOffset: Number(fp.fetchOffset),
            maxBytes: fp.partitionMaxBytes,
          },
          out,
        })
      }
    }
    const results = await replicas.fetchRecords(
      targets.map((t) => t.partition),
      {
        minBytes: req.minBytes,
        maxWaitMs: req.maxWaitMs,
        // KIP-74: the broker's fetch.max.bytes caps the response whatever the request asks for.
        maxBytes: Math.min(req.maxBytes, ctx.services.config.fetchMaxBytes),
        readCommitted: req.isolationLevel === READ_COMMITTED,
        signal: ctx.signal,
      },
    )
    targets.forEach(({ out }, i) => {
      const r = results[i]!
      out.errorCode = r.errorCode
      out.highWatermark = BigInt(r.highWatermark)
      out.lastStableOffset = BigInt(r.lastStableOffset)
      out.logStartOffset = BigInt(r.logStartOffset)
      // Records left in the segment files go into the response as stand-ins, streamed when it is written.
      out.records = Buffer.isBuffer(r.records) ? r.records : standIn(r.records)
      out.abortedTransactions =
        r.abortedTransactions?.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) })) ??
        null
    })
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }
  },
}

/** Kafka: a follower's fetch needs CLUSTER_ACTION; a consumer's READ on each topic. */
function authorizeFetch(req: FetchRequest, ctx: RequestContext): Authorization<FetchRequest, FetchResponseInput> {
  const replicaId = ctx.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId
  const follower = replicaId >= 0
  const followerOk = follower && clusterAuthorized(ctx, AclOperation.CLUSTER_ACTION)
  const nameOf = (t: FetchTopic) =>
    ctx.apiVersion >= 13 ? (ctx.services.topics.getById(t.topicId)?.name ?? null) : t.topic
  const [allowed, refused] = partitionBy(req.topics, (t) => {
    const name = nameOf(t)
    if (name === null) return true // unknown topic id: the handler answers UNKNOWN_TOPIC_ID
    return follower ? followerOk : topicAuthorized(ctx, AclOperation.READ, name)
  })
  if (refused.length === 0) return { allowed: req }
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({
      ...res,
      responses: [
        ...(res.responses ?? []),
        ...refused.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            highWatermark: -1n,
            lastStableOffset: -1n,
            logStartOffset: -1n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            // An empty record set, as Kafka sends: librdkafka cannot parse a null one (MessageSetSize -1) and
            // retries forever.
            records: EMPTY,
          })),
        })),
      ],
    }),
  }
}
