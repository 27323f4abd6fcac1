/**
 * Kafka's per-API authorization, applied around the request handlers so that they stay unaware of ACLs: each rule
 * checks what KafkaApis checks for that API, hands the handler only the authorized part of the request and puts
 * Kafka's authorization error on the rest of the response. Without an authorizer the handlers run unwrapped.
 *
 * What an unauthorized client may learn follows Kafka: a topic it may not DESCRIBE is TOPIC_AUTHORIZATION_FAILED
 * whether or not it exists, and it is left out of "all topics" answers (Metadata, OffsetFetch of all offsets).
 */
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import { ZERO_UUID } from '../../protocol/primitives.ts'
import type { HandlerSpec, RequestContext } from '../handler.ts'
import { CloseConnection } from '../server.ts'
import { CLUSTER_RESOURCE, AclOperation as Op, ResourceType as RT } from './acl.ts'
import { authorized, clusterAuthorized } from './authorize.ts'

// biome-ignore lint/suspicious/noExplicitAny: rules reshape the generated request and response objects of many APIs
type Obj = any
type Result = Obj | undefined | Promise<Obj | undefined>
type Rule = (req: Obj, ctx: RequestContext, next: (req: Obj) => Result) => Result

/** Runs `fn` on the handler's result whether it came synchronously or as a promise (keeps handler ordering). */
function then(result: Result, fn: (res: Obj) => Obj): Result {
  if (result instanceof Promise) return result.then((r) => (r === undefined ? r : fn(r)))
  return result === undefined ? result : fn(result)
}

const topicOk = (ctx: RequestContext, op: number, name: string) => authorized(ctx, op, RT.TOPIC, name)
const groupOk = (ctx: RequestContext, op: number, name: string) => authorized(ctx, op, RT.GROUP, name)
const txnOk = (ctx: RequestContext, op: number, id: string) => authorized(ctx, op, RT.TRANSACTIONAL_ID, id)

function split<T>(items: T[], ok: (t: T) => boolean): [T[], T[]] {
  const yes: T[] = []
  const no: T[] = []
  for (const t of items) (ok(t) ? yes : no).push(t)
  return [yes, no]
}

/**
 * The usual shape of a rule: the handler gets only the entries of `req[field]` that `ok` allows, and each refused
 * entry is added to the response's `resField` list as `refusal` builds it (an entry, or several).
 */
function authorizeEntries<T>(
  req: Obj,
  next: (req: Obj) => Result,
  field: string,
  ok: (entry: T) => boolean,
  refusal: (entry: T) => Obj,
  resField = field,
): Result {
  const [allowed, denied] = split(req[field] as T[], ok)
  if (denied.length === 0) return next(req)
  return then(next({ ...req, [field]: allowed }), (res) => ({
    ...res,
    [resField]: [...res[resField], ...denied.flatMap(refusal)],
  }))
}

const produceError = (index: number, errorCode: number) => ({
  index,
  errorCode,
  baseOffset: -1n,
  logAppendTimeMs: -1n,
  logStartOffset: -1n,
  recordErrors: [],
  errorMessage: null,
})

const produce: Rule = (req, ctx, next) => {
  if (req.transactionalId !== null && !txnOk(ctx, Op.WRITE, req.transactionalId)) {
    // acks=0 clients read no response: Kafka tells them about any error by closing the connection.
    if (req.acks === 0) throw new CloseConnection('acks=0 produce refused: transactional id not authorized')
    return {
      throttleTimeMs: 0,
      responses: req.topicData.map((t: Obj) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p: Obj) =>
          produceError(p.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ),
      })),
    }
  }
  const [allowed, denied] = split(req.topicData, (t: Obj) => topicOk(ctx, Op.WRITE, t.name))
  if (denied.length === 0) return next(req)
  if (req.acks === 0) {
    const result = next({ ...req, topicData: allowed })
    const close = () => {
      throw new CloseConnection('acks=0 produce refused: topic not authorized')
    }
    return result instanceof Promise ? result.then(close) : close()
  }
  return then(next({ ...req, topicData: allowed }), (res) => ({
    ...res,
    responses: [
      ...res.responses,
      ...denied.map((t: Obj) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p: Obj) =>
          produceError(p.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
        ),
      })),
    ],
  }))
}

const fetchError = (partitionIndex: number, errorCode: number) => ({
  partitionIndex,
  errorCode,
  highWatermark: -1n,
  lastStableOffset: -1n,
  logStartOffset: -1n,
  abortedTransactions: null,
  preferredReadReplica: -1,
  // An empty record set, as Kafka sends: librdkafka cannot parse a null one (MessageSetSize -1) and retries forever.
  records: Buffer.alloc(0),
})

const fetch: Rule = (req, ctx, next) => {
  const replicaId = ctx.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId
  // A follower fetch needs CLUSTER_ACTION; a consumer READ on each topic.
  const follower = replicaId >= 0
  const followerOk = follower && clusterAuthorized(ctx, Op.CLUSTER_ACTION)
  const nameOf = (t: Obj) => (ctx.apiVersion >= 13 ? (ctx.services.topics.getById(t.topicId)?.name ?? null) : t.topic)
  const [allowed, denied] = split(req.topics, (t: Obj) => {
    const name = nameOf(t)
    if (name === null) return true // unknown topic id: the handler answers UNKNOWN_TOPIC_ID
    return follower ? followerOk : topicOk(ctx, Op.READ, name)
  })
  if (denied.length === 0) return next(req)
  return then(next({ ...req, topics: allowed }), (res) => ({
    ...res,
    responses: [
      ...res.responses,
      ...denied.map((t: Obj) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p: Obj) => fetchError(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
      })),
    ],
  }))
}

const listOffsets: Rule = (req, ctx, next) =>
  authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.DESCRIBE, t.name),
    (t: Obj) => ({
      name: t.name,
      partitions: t.partitions.map((p: Obj) => ({
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        oldStyleOffsets: [],
        timestamp: -1n,
        offset: -1n,
        leaderEpoch: -1,
      })),
    }),
  )

const metadataTopicError = (name: string | null, topicId: string, errorCode: number) => ({
  errorCode,
  name,
  topicId,
  isInternal: false,
  partitions: [],
  topicAuthorizedOperations: -2147483648,
})

const TOPIC_OPS = [
  Op.READ,
  Op.WRITE,
  Op.CREATE,
  Op.DELETE,
  Op.ALTER,
  Op.DESCRIBE,
  Op.DESCRIBE_CONFIGS,
  Op.ALTER_CONFIGS,
]
const CLUSTER_OPS = [
  Op.CREATE,
  Op.ALTER,
  Op.DESCRIBE,
  Op.CLUSTER_ACTION,
  Op.DESCRIBE_CONFIGS,
  Op.ALTER_CONFIGS,
  Op.IDEMPOTENT_WRITE,
]
const GROUP_OPS = [Op.READ, Op.DESCRIBE, Op.DELETE]

/** Kafka's authorized-operations bitfield (bit n set: operation code n allowed) for the principal on a resource. */
function authorizedOperations(ctx: RequestContext, resourceType: number, name: string, ops: number[]): number {
  const a = ctx.services.authorizer!
  let bits = 0
  for (const op of ops) if (a.authorize(ctx.principal, ctx.clientHost, op, resourceType, name)) bits |= 1 << op
  return bits
}

const metadata: Rule = (req, ctx, next) => {
  const withTopicOps = ctx.apiVersion >= 8 && req.includeTopicAuthorizedOperations
  const withClusterOps = ctx.apiVersion >= 8 && ctx.apiVersion <= 10 && req.includeClusterAuthorizedOperations
  if (!withTopicOps && !withClusterOps) return metadataTopics(req, ctx, next)
  return then(metadataTopics(req, ctx, next), (res) => ({
    ...res,
    clusterAuthorizedOperations: withClusterOps
      ? authorizedOperations(ctx, RT.CLUSTER, CLUSTER_RESOURCE, CLUSTER_OPS)
      : res.clusterAuthorizedOperations,
    topics: res.topics.map((t: Obj) =>
      withTopicOps && t.errorCode === ErrorCode.NONE
        ? { ...t, topicAuthorizedOperations: authorizedOperations(ctx, RT.TOPIC, t.name, TOPIC_OPS) }
        : t,
    ),
  }))
}

const metadataTopics: Rule = (req, ctx, next) => {
  const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0)
  if (all) {
    return then(next(req), (res) => ({
      ...res,
      topics: res.topics.filter((t: Obj) => topicOk(ctx, Op.DESCRIBE, t.name)),
    }))
  }
  const { topics, config } = ctx.services
  const autoCreate = (ctx.apiVersion < 4 || req.allowAutoTopicCreation) && config.autoCreateTopics
  const denied: Obj[] = []
  const allowed = req.topics.filter((t: Obj) => {
    const byId = ctx.apiVersion >= 10 && (t.name === null || t.name === '')
    const name = byId ? topics.getById(t.topicId)?.name : t.name
    if (name === undefined) return true
    if (!topicOk(ctx, Op.DESCRIBE, name)) {
      // The name stays hidden; it is nullable in responses from v12 only (before, Kafka refuses lookups by id).
      const shown = byId ? (ctx.apiVersion >= 12 ? null : '') : name
      denied.push(metadataTopicError(shown, t.topicId ?? ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
      return false
    }
    // Auto-creation needs CREATE on the cluster or the topic; without it Kafka answers TOPIC_AUTHORIZATION_FAILED.
    if (
      !topics.get(name) &&
      autoCreate &&
      topics.validateName(name) === null &&
      !clusterAuthorized(ctx, Op.CREATE) &&
      !topicOk(ctx, Op.CREATE, name)
    ) {
      denied.push(metadataTopicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
      return false
    }
    return true
  })
  if (denied.length === 0) return next(req)
  // In v0 an empty topic list means "all topics": when every named topic is refused the handler must not see one.
  const noneLeft = allowed.length === 0 && ctx.apiVersion === 0
  return then(next({ ...req, topics: allowed }), (res) => ({
    ...res,
    topics: [...(noneLeft ? [] : res.topics), ...denied],
  }))
}

const partitionErrors = (topicsOf: Obj[], partitionsOf: (t: Obj) => number[], errorCode: number) =>
  topicsOf.map((t) => ({
    name: t.name,
    partitions: partitionsOf(t).map((partitionIndex) => ({ partitionIndex, errorCode })),
  }))

const offsetCommit: Rule = (req, ctx, next) => {
  const indexes = (t: Obj) => t.partitions.map((p: Obj) => p.partitionIndex)
  if (!groupOk(ctx, Op.READ, req.groupId)) {
    return { throttleTimeMs: 0, topics: partitionErrors(req.topics, indexes, ErrorCode.GROUP_AUTHORIZATION_FAILED) }
  }
  return authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.READ, t.name),
    (t: Obj) => partitionErrors([t], indexes, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}

const offsetFetchPartitions = (t: Obj, errorCode: number) => ({
  name: t.name,
  partitions: t.partitionIndexes.map((partitionIndex: number) => ({
    partitionIndex,
    committedOffset: -1n,
    committedLeaderEpoch: -1,
    metadata: '',
    errorCode,
  })),
})

const offsetFetch: Rule = (req, ctx, next) => {
  const v = ctx.apiVersion
  /** One group's topics: requested ones split, or (all offsets) the unauthorized ones dropped from the answer. */
  const forGroup = (groupId: string, topicsReq: Obj[] | null) => {
    if (!groupOk(ctx, Op.DESCRIBE, groupId)) return { groupDenied: true as const }
    if (topicsReq === null) return { groupDenied: false as const, allowed: null, denied: [] as Obj[] }
    const [allowed, denied] = split(topicsReq, (t: Obj) => topicOk(ctx, Op.DESCRIBE, t.name))
    return { groupDenied: false as const, allowed, denied }
  }
  const visible = (topicsRes: Obj[]) => topicsRes.filter((t: Obj) => topicOk(ctx, Op.DESCRIBE, t.name))
  if (v >= 8) {
    const plans = req.groups.map((g: Obj) => forGroup(g.groupId, g.topics))
    const askGroups = req.groups
      .map((g: Obj, i: number) => ({ ...g, topics: plans[i].groupDenied ? [] : (plans[i].allowed ?? null) }))
      .filter((_: Obj, i: number) => !plans[i].groupDenied)
    return then(next({ ...req, groups: askGroups }), (res) => {
      const byId = new Map(res.groups.map((g: Obj) => [g.groupId, g]))
      return {
        ...res,
        groups: req.groups.map((g: Obj, i: number) => {
          const plan = plans[i]
          if (plan.groupDenied)
            return { groupId: g.groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
          const got: Obj = byId.get(g.groupId)
          const denied = plan.denied.map((t: Obj) => offsetFetchPartitions(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
          return { ...got, topics: [...visible(got.topics), ...denied] }
        }),
      }
    })
  }
  const plan = forGroup(req.groupId, v >= 2 ? req.topics : (req.topics ?? []))
  if (plan.groupDenied) {
    if (v >= 2) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
    return {
      topics: (req.topics ?? []).map((t: Obj) => offsetFetchPartitions(t, ErrorCode.GROUP_AUTHORIZATION_FAILED)),
    }
  }
  return then(next({ ...req, topics: plan.allowed }), (res) => ({
    ...res,
    topics: [
      ...visible(res.topics),
      ...plan.denied.map((t: Obj) => offsetFetchPartitions(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
    ],
  }))
}

const findCoordinator: Rule = (req, ctx, next) => {
  const txn = ctx.apiVersion >= 1 && req.keyType === 1
  const ok = (key: string) => (txn ? txnOk(ctx, Op.DESCRIBE, key) : groupOk(ctx, Op.DESCRIBE, key))
  const code = txn ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.GROUP_AUTHORIZATION_FAILED
  const denied = (key: string) => ({ key, nodeId: -1, host: '', port: -1, errorCode: code, errorMessage: null })
  if (ctx.apiVersion >= 4) {
    const [allowed, refused] = split(req.coordinatorKeys as string[], ok)
    if (refused.length === 0) return next(req)
    return then(next({ ...req, coordinatorKeys: allowed }), (res) => ({
      ...res,
      coordinators: [...res.coordinators, ...refused.map(denied)],
    }))
  }
  if (ok(req.key)) return next(req)
  const { key: _k, ...single } = denied(req.key)
  return { throttleTimeMs: 0, ...single }
}

/** Group membership APIs: READ on the group or the whole request fails with GROUP_AUTHORIZATION_FAILED. */
function groupRead(refused: (req: Obj, ctx: RequestContext) => Obj): Rule {
  return (req, ctx, next) => (groupOk(ctx, Op.READ, req.groupId) ? next(req) : refused(req, ctx))
}

const joinGroup = groupRead((req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  generationId: -1,
  protocolType: null,
  protocolName: ctx.apiVersion >= 7 ? null : '',
  leader: '',
  skipAssignment: false,
  memberId: req.memberId,
  members: [],
}))
const syncGroup = groupRead(() => ({
  throttleTimeMs: 0,
  errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  protocolType: null,
  protocolName: null,
  assignment: Buffer.alloc(0),
}))
const heartbeat = groupRead(() => ({ throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }))
const leaveGroup = groupRead(() => ({
  throttleTimeMs: 0,
  errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  members: [],
}))

const describeGroups: Rule = (req, ctx, next) => {
  const [allowed, denied] = split(req.groups as string[], (g) => groupOk(ctx, Op.DESCRIBE, g))
  const withOps = ctx.apiVersion >= 3 && req.includeAuthorizedOperations
  return then(next({ ...req, groups: allowed }), (res) => ({
    ...res,
    groups: [
      ...res.groups.map((g: Obj) =>
        withOps && g.errorCode === ErrorCode.NONE
          ? { ...g, authorizedOperations: authorizedOperations(ctx, RT.GROUP, g.groupId, GROUP_OPS) }
          : g,
      ),
      ...denied.map((groupId) => ({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: -2147483648,
      })),
    ],
  }))
}

const listGroups: Rule = (req, ctx, next) => {
  if (clusterAuthorized(ctx, Op.DESCRIBE)) return next(req)
  return then(next(req), (res) => ({
    ...res,
    groups: res.groups.filter((g: Obj) => groupOk(ctx, Op.DESCRIBE, g.groupId)),
  }))
}

const createTopics: Rule = (req, ctx, next) => {
  const clusterCreate = clusterAuthorized(ctx, Op.CREATE)
  return authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => clusterCreate || topicOk(ctx, Op.CREATE, t.name),
    (t: Obj) => ({
      name: t.name,
      topicId: ZERO_UUID,
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      errorMessage: 'Authorization failed.',
      topicConfigErrorCode: 0,
      numPartitions: -1,
      replicationFactor: -1,
      configs: [],
    }),
  )
}

const deleteTopics: Rule = (req, ctx, next) => {
  const nameOf = (t: { name: string | null; topicId: string }) =>
    t.name ?? ctx.services.topics.getById(t.topicId)?.name ?? null
  const v6 = ctx.apiVersion >= 6
  const requested: { name: string | null; topicId: string }[] = v6
    ? req.topics
    : req.topicNames.map((name: string) => ({ name, topicId: ZERO_UUID }))
  const [allowed, denied] = split(requested, (t) => {
    const name = nameOf(t)
    if (name === null) return true
    // Kafka: a client that may DESCRIBE a missing topic learns it is unknown; only existing ones need DELETE.
    if (!ctx.services.topics.get(name)) return topicOk(ctx, Op.DESCRIBE, name)
    return topicOk(ctx, Op.DELETE, name)
  })
  if (denied.length === 0) return next(req)
  const narrowed = v6 ? { ...req, topics: allowed } : { ...req, topicNames: allowed.map((t) => t.name) }
  return then(next(narrowed), (res) => ({
    ...res,
    responses: [
      ...res.responses,
      ...denied.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: 'Authorization failed.',
      })),
    ],
  }))
}

const deleteRecords: Rule = (req, ctx, next) =>
  authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.DELETE, t.name),
    (t: Obj) => ({
      name: t.name,
      partitions: t.partitions.map((p: Obj) => ({
        partitionIndex: p.partitionIndex,
        lowWatermark: -1n,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }),
  )

const initProducerId: Rule = (req, ctx, next) => {
  const refused = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 })
  if (req.transactionalId !== null) {
    return txnOk(ctx, Op.WRITE, req.transactionalId)
      ? next(req)
      : refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  }
  // KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
  const a = ctx.services.authorizer!
  const ok =
    clusterAuthorized(ctx, Op.IDEMPOTENT_WRITE) || a.authorizeAny(ctx.principal, ctx.clientHost, Op.WRITE, RT.TOPIC)
  return ok ? next(req) : refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
}

const offsetForLeaderEpoch: Rule = (req, ctx, next) => {
  const follower = req.replicaId >= 0
  const [allowed, denied] = split(req.topics, (t: Obj) =>
    follower ? clusterAuthorized(ctx, Op.CLUSTER_ACTION) : topicOk(ctx, Op.DESCRIBE, t.topic),
  )
  if (denied.length === 0) return next(req)
  return then(next({ ...req, topics: allowed }), (res) => ({
    ...res,
    topics: [
      ...res.topics,
      ...denied.map((t: Obj) => ({
        topic: t.topic,
        partitions: t.partitions.map((p: Obj) => ({
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          partition: p.partition,
          leaderEpoch: -1,
          endOffset: -1n,
        })),
      })),
    ],
  }))
}

const addPartitionsToTxn: Rule = (req, ctx, next) => {
  const topicsReq: Obj[] = req.v3AndBelowTopics
  const results = (code: (t: Obj) => number) =>
    topicsReq.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex: number) => ({
        partitionIndex,
        partitionErrorCode: code(t),
      })),
    }))
  if (!txnOk(ctx, Op.WRITE, req.v3AndBelowTransactionalId)) {
    return {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: results(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
    }
  }
  const denied = new Set(topicsReq.filter((t) => !topicOk(ctx, Op.WRITE, t.name)).map((t) => t.name))
  if (denied.size === 0) return next(req)
  // Kafka adds nothing when any topic is refused: the others are OPERATION_NOT_ATTEMPTED.
  return {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: results((t) =>
      denied.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED,
    ),
  }
}

const addOffsetsToTxn: Rule = (req, ctx, next) => {
  if (!txnOk(ctx, Op.WRITE, req.transactionalId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
  }
  if (!groupOk(ctx, Op.READ, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
  return next(req)
}

const endTxn: Rule = (req, ctx, next) =>
  txnOk(ctx, Op.WRITE, req.transactionalId)
    ? next(req)
    : { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }

const txnOffsetCommit: Rule = (req, ctx, next) => {
  const indexes = (t: Obj) => t.partitions.map((p: Obj) => p.partitionIndex)
  if (!txnOk(ctx, Op.WRITE, req.transactionalId)) {
    return {
      throttleTimeMs: 0,
      topics: partitionErrors(req.topics, indexes, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
    }
  }
  if (!groupOk(ctx, Op.READ, req.groupId)) {
    return { throttleTimeMs: 0, topics: partitionErrors(req.topics, indexes, ErrorCode.GROUP_AUTHORIZATION_FAILED) }
  }
  return authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.READ, t.name),
    (t: Obj) => partitionErrors([t], indexes, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}

/** Config resource types of Describe/Alter/IncrementalAlterConfigs: TOPIC 2, BROKER 4, BROKER_LOGGER 8. */
function configAuthorized(ctx: RequestContext, op: number, r: Obj): number {
  if (r.resourceType === 2) return topicOk(ctx, op, r.resourceName) ? 0 : ErrorCode.TOPIC_AUTHORIZATION_FAILED
  if (r.resourceType === 4 || r.resourceType === 8) {
    return clusterAuthorized(ctx, op) ? 0 : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
  }
  return 0
}

function configsRule(op: number, resultsField: string, refusedEntry: (r: Obj, code: number) => Obj): Rule {
  return (req, ctx, next) => {
    const codes = new Map<Obj, number>(req.resources.map((r: Obj) => [r, configAuthorized(ctx, op, r)]))
    const denied = req.resources.filter((r: Obj) => codes.get(r) !== 0)
    if (denied.length === 0) return next(req)
    const allowed = req.resources.filter((r: Obj) => codes.get(r) === 0)
    return then(next({ ...req, resources: allowed }), (res) => ({
      ...res,
      [resultsField]: [...res[resultsField], ...denied.map((r: Obj) => refusedEntry(r, codes.get(r)!))],
    }))
  }
}

const describeConfigs = configsRule(Op.DESCRIBE_CONFIGS, 'results', (r, errorCode) => ({
  errorCode,
  errorMessage: null,
  resourceType: r.resourceType,
  resourceName: r.resourceName,
  configs: [],
}))
const alterConfigsEntry = (r: Obj, errorCode: number) => ({
  errorCode,
  errorMessage: null,
  resourceType: r.resourceType,
  resourceName: r.resourceName,
})
const alterConfigs = configsRule(Op.ALTER_CONFIGS, 'responses', alterConfigsEntry)
const incrementalAlterConfigs = configsRule(Op.ALTER_CONFIGS, 'responses', alterConfigsEntry)

const createPartitions: Rule = (req, ctx, next) =>
  authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.ALTER, t.name),
    (t: Obj) => ({
      name: t.name,
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      errorMessage: 'Authorization failed.',
    }),
    'results',
  )

const deleteGroups: Rule = (req, ctx, next) =>
  authorizeEntries(
    req,
    next,
    'groupsNames',
    (g: string) => groupOk(ctx, Op.DELETE, g),
    (groupId: string) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }),
    'results',
  )

const offsetDelete: Rule = (req, ctx, next) => {
  if (!groupOk(ctx, Op.DELETE, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
  }
  return authorizeEntries(
    req,
    next,
    'topics',
    (t: Obj) => topicOk(ctx, Op.READ, t.name),
    (t: Obj) =>
      partitionErrors([t], (x) => x.partitions.map((p: Obj) => p.partitionIndex), ErrorCode.TOPIC_AUTHORIZATION_FAILED),
  )
}

const describeCluster: Rule = (req, ctx, next) =>
  clusterAuthorized(ctx, Op.DESCRIBE)
    ? then(next(req), (res) =>
        req.includeClusterAuthorizedOperations && res.errorCode === ErrorCode.NONE
          ? {
              ...res,
              clusterAuthorizedOperations: authorizedOperations(ctx, RT.CLUSTER, CLUSTER_RESOURCE, CLUSTER_OPS),
            }
          : res,
      )
    : {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        endpointType: req.endpointType ?? 1,
        clusterId: '',
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: -2147483648,
      }

const describeTransactions: Rule = (req, ctx, next) =>
  authorizeEntries(
    req,
    next,
    'transactionalIds',
    (id: string) => txnOk(ctx, Op.DESCRIBE, id),
    (transactionalId: string) => ({
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      transactionalId,
      transactionState: '',
      transactionTimeoutMs: 0,
      transactionStartTimeMs: -1n,
      producerId: -1n,
      producerEpoch: -1,
      topics: [],
    }),
    'transactionStates',
  )

const listTransactions: Rule = (req, ctx, next) =>
  then(next(req), (res) => ({
    ...res,
    transactionStates: res.transactionStates.filter((t: Obj) => txnOk(ctx, Op.DESCRIBE, t.transactionalId)),
  }))

/** Kafka API key → its authorization rule. APIs not listed check their own resources (ACLs, SCRAM, quotas) or need none. */
const RULES = new Map<number, Rule>([
  [0, produce],
  [1, fetch],
  [2, listOffsets],
  [3, metadata],
  [8, offsetCommit],
  [9, offsetFetch],
  [10, findCoordinator],
  [11, joinGroup],
  [12, heartbeat],
  [13, leaveGroup],
  [14, syncGroup],
  [15, describeGroups],
  [16, listGroups],
  [19, createTopics],
  [20, deleteTopics],
  [21, deleteRecords],
  [22, initProducerId],
  [23, offsetForLeaderEpoch],
  [24, addPartitionsToTxn],
  [25, addOffsetsToTxn],
  [26, endTxn],
  [28, txnOffsetCommit],
  [32, describeConfigs],
  [33, alterConfigs],
  [37, createPartitions],
  [42, deleteGroups],
  [44, incrementalAlterConfigs],
  [47, offsetDelete],
  [60, describeCluster],
  [65, describeTransactions],
  [66, listTransactions],
])

/** APIs whose authorization is inside their handler or that need none (ApiVersions, SASL). */
export const SELF_AUTHORIZING_APIS = new Set([17, 18, 29, 30, 31, 36, 48, 49, 50, 51])

export function withAuthorization(h: HandlerSpec): HandlerSpec {
  const rule = RULES.get(h.apiKey)
  if (!rule) return h
  return {
    ...h,
    handle(req, ctx) {
      if (!ctx.services.authorizer) return h.handle(req, ctx)
      return rule(req, ctx, (r) => h.handle(r, ctx))
    },
  }
}

/** API keys with an authorization rule (for tests that every served API is covered). */
export function authorizedApiKeys(): number[] {
  return [...RULES.keys()]
}
