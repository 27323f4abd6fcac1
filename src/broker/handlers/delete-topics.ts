import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DeleteTopicsRequest } from '../../protocol/generated/delete-topics-request.ts'
import type {
  DeletableTopicResultInput,
  DeleteTopicsResponseInput,
} from '../../protocol/generated/delete-topics-response.ts'
import { ErrorCode, errorInfo } from '../../protocol/generated/error-codes.ts'
import { ZERO_UUID } from '../../protocol/primitives.ts'
import type { Authorization, HandlerSpec, RequestContext } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { partitionBy, topicAuthorized } from '../security/authorize.ts'
import { METADATA_TOPIC, TopicError } from '../topic-registry.ts'

function result(name: string | null, topicId: string, errorCode: number, message?: string): DeletableTopicResultInput {
  return {
    name,
    topicId,
    errorCode,
    errorMessage: errorCode === ErrorCode.NONE ? null : (message ?? errorInfo.get(errorCode)?.message ?? null),
  }
}

export const deleteTopicsHandler: HandlerSpec<DeleteTopicsRequest, DeleteTopicsResponseInput> = {
  apiKey: ApiKeys.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  authorize: authorizeDeleteTopics,
  async handle(req, ctx) {
    const { topics } = ctx.services
    const responses: DeletableTopicResultInput[] = []
    // v0-5 name topics in topicNames; v6 in topics, each by name or by id.
    const requested: { name: string | null; topicId: string }[] =
      ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }))

    const nameCounts = new Map<string, number>()
    const idCounts = new Map<string, number>()
    for (const r of requested) {
      if (r.name !== null && r.topicId === ZERO_UUID) nameCounts.set(r.name, (nameCounts.get(r.name) ?? 0) + 1)
      if (r.name === null && r.topicId !== ZERO_UUID) idCounts.set(r.topicId, (idCounts.get(r.topicId) ?? 0) + 1)
    }
    const toDelete: { name: string; topicId: string; byId: boolean }[] = []
    const reported = new Set<string>()
    for (const r of requested) {
      if (r.name === null) {
        if (r.topicId === ZERO_UUID) {
          responses.push(
            result(null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.'),
          )
          continue
        }
        if (idCounts.get(r.topicId)! > 1) {
          if (!reported.has(`id:${r.topicId}`)) {
            responses.push(result(null, r.topicId, ErrorCode.INVALID_REQUEST, 'Duplicate topic id.'))
            reported.add(`id:${r.topicId}`)
          }
          continue
        }
        const t = topics.getById(r.topicId)
        if (!t) {
          responses.push(result(null, r.topicId, ErrorCode.UNKNOWN_TOPIC_ID))
          continue
        }
        toDelete.push({ name: t.name, topicId: t.id, byId: true })
        continue
      }
      if (r.topicId !== ZERO_UUID) {
        responses.push(
          result(r.name, r.topicId, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'),
        )
        continue
      }
      if (nameCounts.get(r.name)! > 1) {
        if (!reported.has(`name:${r.name}`)) {
          responses.push(result(r.name, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'))
          reported.add(`name:${r.name}`)
        }
        continue
      }
      const t = topics.get(r.name)
      if (!t && r.name !== METADATA_TOPIC) {
        responses.push(result(r.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
        continue
      }
      toDelete.push({ name: r.name, topicId: t?.id ?? ZERO_UUID, byId: false })
    }

    // A topic named once by id and once by name is deleted neither way, as in Kafka.
    const byIdAndName = new Set(
      toDelete.filter((d) => d.byId && toDelete.some((o) => !o.byId && o.topicId === d.topicId)).map((d) => d.topicId),
    )
    for (const d of toDelete) {
      if (byIdAndName.has(d.topicId)) {
        const message = 'The provided topic name maps to an ID that was already supplied.'
        responses.push(result(d.byId ? null : d.name, d.topicId, ErrorCode.INVALID_REQUEST, message))
        continue
      }
      // Kafka's tools refuse to delete internal topics; here the broker itself refuses, since the group coordinator
      // and the metadata log depend on them.
      if (d.name === METADATA_TOPIC || topics.isInternal(d.name) || topics.get(d.name)?.internal) {
        responses.push(
          result(d.name, d.topicId, ErrorCode.INVALID_REQUEST, `Deletion of internal topic ${d.name} is prohibited.`),
        )
        continue
      }
      try {
        await topics.delete(d.name)
        responses.push(result(d.name, d.topicId, ErrorCode.NONE))
      } catch (err) {
        // Deleted by a concurrent request since the lookup above.
        if (!(err instanceof TopicError)) throw err
        const code = d.byId ? ErrorCode.UNKNOWN_TOPIC_ID : err.errorCode
        responses.push(result(d.byId ? null : d.name, d.topicId, code, d.byId ? undefined : err.message))
      }
    }
    return { throttleTimeMs: 0, responses }
  },
}

/**
 * Kafka: DELETE on each existing topic; a client that may DESCRIBE a missing topic learns it is unknown. Topics
 * named by an unknown id go to the handler, which answers UNKNOWN_TOPIC_ID.
 */
function authorizeDeleteTopics(
  req: DeleteTopicsRequest,
  ctx: RequestContext,
): Authorization<DeleteTopicsRequest, DeleteTopicsResponseInput> {
  const { topics } = ctx.services
  const ok = (name: string | null) => {
    if (name === null) return true
    if (!topics.get(name)) return topicAuthorized(ctx, AclOperation.DESCRIBE, name)
    return topicAuthorized(ctx, AclOperation.DELETE, name)
  }
  const refusal = (name: string | null, topicId: string) => ({
    name,
    topicId,
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    errorMessage: 'Authorization failed.',
  })
  let narrowed: DeleteTopicsRequest
  let refusals: DeletableTopicResultInput[]
  if (ctx.apiVersion >= 6) {
    const [allowed, refused] = partitionBy(req.topics, (t) => ok(t.name ?? topics.getById(t.topicId)?.name ?? null))
    narrowed = { ...req, topics: allowed }
    refusals = refused.map((t) => refusal(t.name, t.topicId))
  } else {
    const [allowed, refused] = partitionBy(req.topicNames, ok)
    narrowed = { ...req, topicNames: allowed }
    refusals = refused.map((name) => refusal(name, ZERO_UUID))
  }
  if (refusals.length === 0) return { allowed: req }
  return {
    allowed: narrowed,
    complete: (res) => ({ ...res, responses: [...(res.responses ?? []), ...refusals] }),
  }
}
