import type { AlterClientQuotasRequest } from '../../protocol/generated/alter-client-quotas-request.ts'
import type { AlterClientQuotasResponseInput } from '../../protocol/generated/alter-client-quotas-response.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeClientQuotasRequest } from '../../protocol/generated/describe-client-quotas-request.ts'
import type {
  DescribeClientQuotasResponseInput,
  EntryDataInput,
} from '../../protocol/generated/describe-client-quotas-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'
import type { QuotaEntity } from '../security/quota-store.ts'
import { QUOTA_ENTITY_TYPES, QUOTA_KEYS } from '../security/quotas.ts'

const MATCH_EXACT = 0
const MATCH_DEFAULT = 1
const MATCH_ANY = 2

export const describeClientQuotasHandler: HandlerSpec<DescribeClientQuotasRequest, DescribeClientQuotasResponseInput> =
  {
    apiKey: ApiKeys.DescribeClientQuotas,
    minVersion: 0,
    maxVersion: 1,
    // Authorization: the handler checks the cluster permission this API needs.
    authorize: 'in-handler',
    handle(req, ctx) {
      const error = (errorCode: number, errorMessage: string | null) => ({
        throttleTimeMs: 0,
        errorCode,
        errorMessage,
        entries: null,
      })
      if (!clusterAuthorized(ctx, AclOperation.DESCRIBE_CONFIGS)) {
        return error(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
      }
      const types = new Set<string>()
      for (const c of req.components) {
        if (types.has(c.entityType)) return error(ErrorCode.INVALID_REQUEST, `Duplicate ${c.entityType} filter`)
        types.add(c.entityType)
        if (c.matchType === MATCH_EXACT && c.match === null) {
          return error(ErrorCode.INVALID_REQUEST, 'An exact match needs a name')
        }
        if (c.matchType < MATCH_EXACT || c.matchType > MATCH_ANY) {
          return error(ErrorCode.INVALID_REQUEST, `Unknown match type ${c.matchType}`)
        }
      }
      const entries: EntryDataInput[] = []
      for (const { entity, values } of ctx.services.quotaStore.clientQuotas().entries) {
        const ok = req.components.every((c) => {
          if (!(c.entityType in entity)) return false
          const name = entity[c.entityType]
          if (c.matchType === MATCH_EXACT) return name === c.match
          if (c.matchType === MATCH_DEFAULT) return name === null
          return true
        })
        if (!ok) continue
        if (req.strict && Object.keys(entity).some((t) => !types.has(t))) continue
        entries.push({
          entity: Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName })),
          values: Object.entries(values).map(([key, value]) => ({ key, value })),
        })
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries }
    },
  }

export const alterClientQuotasHandler: HandlerSpec<AlterClientQuotasRequest, AlterClientQuotasResponseInput> = {
  apiKey: ApiKeys.AlterClientQuotas,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const allowed = clusterAuthorized(ctx, AclOperation.ALTER_CONFIGS)
    const store = ctx.services.quotaStore
    const results: {
      errorCode: number
      errorMessage: string | null
      entity: { entityType: string; entityName: string | null }[]
    }[] = []
    for (const e of req.entries) {
      const entityOut = e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName }))
      const fail = (errorCode: number, errorMessage: string | null) =>
        results.push({ errorCode, errorMessage, entity: entityOut })
      if (!allowed) {
        fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
        continue
      }
      const entity: QuotaEntity = {}
      let problem: string | null = e.entity.length === 0 ? 'Invalid empty client quota entity' : null
      for (const x of e.entity) {
        if (!(QUOTA_ENTITY_TYPES as readonly string[]).includes(x.entityType)) {
          problem = `Unsupported quota entity type ${x.entityType} (user and client-id are supported)`
        } else if (x.entityType in entity) problem = `Duplicate ${x.entityType} in the entity`
        entity[x.entityType] = x.entityName
      }
      const current = { ...(store.clientQuotas().entries.find((q) => sameEntity(q.entity, entity))?.values ?? {}) }
      for (const op of e.ops) {
        if (!(QUOTA_KEYS as readonly string[]).includes(op.key)) problem ??= `Unknown quota key ${op.key}`
        else if (op.remove) delete current[op.key]
        else if (!(op.value > 0) || !Number.isFinite(op.value)) problem ??= `Quota ${op.key} must be positive`
        else current[op.key] = op.value
      }
      if (problem) {
        fail(ErrorCode.INVALID_REQUEST, problem)
        continue
      }
      if (!req.validateOnly) await store.setClientQuota(entity, current)
      fail(ErrorCode.NONE, null)
    }
    return { throttleTimeMs: 0, entries: results }
  },
}

function sameEntity(a: QuotaEntity, b: QuotaEntity): boolean {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k])
}
