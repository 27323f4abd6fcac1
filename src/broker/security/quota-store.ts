/** Client quota values per entity, kept in the metadata log (keys `quota:...`); ClientQuotaManager enforces them. */
import type { MetadataLog } from '../metadata-log.ts'

/** A client-quota entity: entity type ("user", "client-id") → name, null meaning the type's default. */
export type QuotaEntity = Record<string, string | null>

function quotaKey(entity: QuotaEntity): string {
  return `quota:${JSON.stringify(Object.entries(entity).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`
}

export class ClientQuotaStore {
  private readonly quotas = new Map<string, { entity: QuotaEntity; values: Record<string, number> }>()
  private version = 0
  private snapshot: { version: number; entries: { entity: QuotaEntity; values: Record<string, number> }[] } | undefined

  constructor(private readonly log: MetadataLog) {
    log.register('quota:', (key, rec) => {
      if (rec?.type === 'client-quota') this.quotas.set(key, { entity: rec.entity, values: rec.values })
      else this.quotas.delete(key)
      this.version++
    })
  }

  /** Called for every request by the quota manager, hence the snapshot per version. */
  clientQuotas(): { version: number; entries: { entity: QuotaEntity; values: Record<string, number> }[] } {
    if (this.snapshot?.version !== this.version) {
      this.snapshot = { version: this.version, entries: [...this.quotas.values()] }
    }
    return this.snapshot
  }

  /** Replaces the quota values of one entity durably; an empty set removes the entity. */
  setClientQuota(entity: QuotaEntity, values: Record<string, number>): Promise<void> {
    const key = quotaKey(entity)
    if (Object.keys(values).length === 0) return this.quotas.has(key) ? this.log.write(key, null) : Promise.resolve()
    return this.log.write(key, { type: 'client-quota', entity, values })
  }
}
