import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { MetadataRequest } from '../../protocol/generated/metadata-request.ts'
import type { MetadataResponseInput, MetadataResponseTopicInput } from '../../protocol/generated/metadata-response.ts'
import { ZERO_UUID } from '../../protocol/primitives.ts'
import type { HandlerSpec } from '../handler.ts'
import type { BrokerServices } from '../services.ts'
import { METADATA_TOPIC, TopicError, type TopicInfo } from '../topic-registry.ts'

/** Kafka's "authorized operations not requested" marker. */
const OPS_NOT_REQUESTED = -2147483648

export function describeTopic(services: BrokerServices, t: TopicInfo): MetadataResponseTopicInput {
  const node = services.config.nodeId
  const partitions = []
  for (let p = 0; p < t.partitions; p++) {
    partitions.push({
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: node,
      leaderEpoch: 0,
      replicaNodes: [node],
      isrNodes: [node],
      offlineReplicas: [],
    })
  }
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    partitions,
    topicAuthorizedOperations: OPS_NOT_REQUESTED,
  }
}

function topicError(name: string | null, topicId: string, errorCode: number): MetadataResponseTopicInput {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPS_NOT_REQUESTED }
}

export const metadataHandler: HandlerSpec<MetadataRequest, MetadataResponseInput> = {
  apiKey: 3,
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const { services } = ctx
    const topics: MetadataResponseTopicInput[] = []
    // v0: an empty list means all topics; v1+: null means all topics and [] means none.
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0)
    if (all) {
      for (const t of services.topics.list()) topics.push(describeTopic(services, t))
    } else {
      const autoCreate = (ctx.apiVersion < 4 || req.allowAutoTopicCreation) && services.config.autoCreateTopics
      for (const requested of req.topics ?? []) {
        if (ctx.apiVersion >= 10 && (requested.name === null || requested.name === '')) {
          // v10+: lookup by topic id (before v10 "" is just an invalid name)
          const byId = services.topics.getById(requested.topicId)
          if (byId) topics.push(describeTopic(services, byId))
          else topics.push(topicError(null, requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID))
          continue
        }
        const name = requested.name ?? ''
        let t = services.topics.get(name)
        if (!t && name !== METADATA_TOPIC && autoCreate) {
          try {
            t = await services.topics.create(name, { partitions: services.config.numPartitions })
          } catch (err) {
            if (err instanceof TopicError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
              t = services.topics.get(name)
            } else if (err instanceof TopicError) {
              topics.push(topicError(name, ZERO_UUID, err.errorCode))
              continue
            } else {
              throw err
            }
          }
        }
        if (t) topics.push(describeTopic(services, t))
        else {
          const invalid = services.topics.validateName(name)
          topics.push(
            topicError(
              name,
              ZERO_UUID,
              invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ),
          )
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: [
        {
          nodeId: services.config.nodeId,
          // Each listener advertises its own address, so clients stay on the protocol they connected with.
          host: ctx.session?.listener.advertisedHost ?? services.config.advertisedHost,
          port: ctx.session?.listener.advertisedPort ?? services.config.advertisedPort,
          rack: null,
        },
      ],
      clusterId: services.clusterId,
      controllerId: services.config.nodeId,
      topics,
      clusterAuthorizedOperations: OPS_NOT_REQUESTED,
    }
  },
}
