import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { MetadataRequest } from '../../protocol/generated/metadata-request.ts'
import type { MetadataResponseInput, MetadataResponseTopicInput } from '../../protocol/generated/metadata-response.ts'
import { ZERO_UUID } from '../../protocol/primitives.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from '../security/acl.ts'
import {
  authorizedOperations,
  CLUSTER_OPERATIONS,
  clusterAuthorized,
  OPERATIONS_NOT_REQUESTED as OPS_NOT_REQUESTED,
  TOPIC_OPERATIONS,
  topicAuthorized,
} from '../security/authorize.ts'
import type { BrokerServices } from '../services.ts'
import { METADATA_TOPIC, TopicError, type TopicInfo } from '../topic-registry.ts'

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
  apiKey: ApiKeys.Metadata,
  minVersion: 0,
  maxVersion: 12,
  authorize: authorizeMetadata,
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

type MetadataAuthorization = Authorization<MetadataRequest, MetadataResponseInput>

/** Kafka: DESCRIBE on each topic, CREATE to auto-create one; the authorized operations when asked for (v8+). */
function authorizeMetadata(req: MetadataRequest, ctx: RequestContext): MetadataAuthorization {
  const decision = authorizeTopics(req, ctx)
  const withTopicOps = ctx.apiVersion >= 8 && req.includeTopicAuthorizedOperations
  const withClusterOps = ctx.apiVersion >= 8 && ctx.apiVersion <= 10 && req.includeClusterAuthorizedOperations
  if ((!withTopicOps && !withClusterOps) || 'refused' in decision) return decision
  const completeTopics = decision.complete
  return {
    allowed: decision.allowed,
    complete: (response) => {
      const res = completeTopics ? completeTopics(response) : response
      return {
        ...res,
        clusterAuthorizedOperations: withClusterOps
          ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_RESOURCE, CLUSTER_OPERATIONS)
          : res.clusterAuthorizedOperations,
        topics: (res.topics ?? []).map((t) =>
          withTopicOps && t.errorCode === ErrorCode.NONE
            ? {
                ...t,
                topicAuthorizedOperations: authorizedOperations(
                  ctx,
                  ResourceType.TOPIC,
                  t.name ?? '',
                  TOPIC_OPERATIONS,
                ),
              }
            : t,
        ),
      }
    },
  }
}

function authorizeTopics(req: MetadataRequest, ctx: RequestContext): MetadataAuthorization {
  const requested = req.topics
  if (requested === null || (ctx.apiVersion === 0 && requested.length === 0)) {
    return {
      allowed: req,
      complete: (res) => ({
        ...res,
        topics: (res.topics ?? []).filter((t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name ?? '')),
      }),
    }
  }
  const { topics, config } = ctx.services
  const autoCreate = (ctx.apiVersion < 4 || req.allowAutoTopicCreation) && config.autoCreateTopics
  const refused: MetadataResponseTopicInput[] = []
  const allowed = requested.filter((t) => {
    const byId = ctx.apiVersion >= 10 && (t.name === null || t.name === '')
    const name = byId ? topics.getById(t.topicId)?.name : t.name
    if (name === undefined || name === null) return true
    if (!topicAuthorized(ctx, AclOperation.DESCRIBE, name)) {
      // The name stays hidden; it is nullable in responses from v12 only (before, Kafka refuses lookups by id).
      const shown = byId ? (ctx.apiVersion >= 12 ? null : '') : name
      refused.push(topicError(shown, t.topicId ?? ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
      return false
    }
    // Auto-creation needs CREATE on the cluster or the topic; without it Kafka answers TOPIC_AUTHORIZATION_FAILED.
    if (
      !topics.get(name) &&
      autoCreate &&
      topics.validateName(name) === null &&
      !clusterAuthorized(ctx, AclOperation.CREATE) &&
      !topicAuthorized(ctx, AclOperation.CREATE, name)
    ) {
      refused.push(topicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
      return false
    }
    return true
  })
  if (refused.length === 0) return { allowed: req }
  // In v0 an empty topic list means "all topics": when every named topic is refused the handler must not see one.
  const noneLeft = allowed.length === 0 && ctx.apiVersion === 0
  return {
    allowed: { ...req, topics: allowed },
    complete: (res) => ({ ...res, topics: [...(noneLeft ? [] : (res.topics ?? [])), ...refused] }),
  }
}
