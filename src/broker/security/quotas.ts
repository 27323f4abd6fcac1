/**
 * Client quotas with Kafka's entity model: a quota is set on (user, client-id), (user), or (client-id), each name
 * either given or the type's default. A request is charged to the most specific entity that has a quota for the
 * key (Kafka's precedence order), and every client sharing that entity shares its budget: a quota set on user
 * alice is shared by all her client ids, a default client-id quota applies to each client id separately.
 *
 * The budget is a token bucket per entity and key (up to one second of quota may be spent at once); a client over
 * it is throttled for as long as it takes to earn back its debt.
 */
import type { QuotaEntity } from './quota-store.ts'

export const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage'] as const
export type QuotaKey = (typeof QUOTA_KEYS)[number]
export const QUOTA_ENTITY_TYPES = ['user', 'client-id'] as const

/** How long a client may run ahead of its quota before it is throttled. */
const BURST_MS = 1000
/** Kafka caps a single throttle (quota.window.size.seconds × quota.window.num is its bound; we use 30 s). */
const MAX_THROTTLE_MS = 30_000

export interface QuotaSource {
  clientQuotas(): { version: number; entries: { entity: QuotaEntity; values: Record<string, number> }[] }
}

/** Kafka's precedence, most specific first; `true` means "the client's own name", `null` the type's default. */
const PRECEDENCE: { user?: true | null; client?: true | null }[] = [
  { user: true, client: true },
  { user: true, client: null },
  { user: true },
  { user: null, client: true },
  { user: null, client: null },
  { user: null },
  { client: true },
  { client: null },
]

export class ClientQuotaManager {
  private indexedVersion = -1
  private byEntity = new Map<string, Record<string, number>>()
  /** Per charged entity and key: the time until which the budget is spent. */
  private spentUntil = new Map<string, number>()

  constructor(
    private source: QuotaSource,
    private now: () => number = () => performance.now(),
  ) {}

  private index(): void {
    const { version, entries } = this.source.clientQuotas()
    if (version === this.indexedVersion) return
    this.byEntity.clear()
    for (const e of entries) this.byEntity.set(entityKey(e.entity.user, e.entity['client-id']), e.values)
    this.indexedVersion = version
    // Changed quotas start with a fresh budget, so a lowered or removed quota takes effect at once.
    this.spentUntil.clear()
  }

  /** The quota that applies to a client for `key`, and the entity it is charged to; undefined when unlimited. */
  resolve(user: string, clientId: string, key: QuotaKey): { limit: number; charge: string } | undefined {
    this.index()
    if (this.byEntity.size === 0) return undefined
    for (const p of PRECEDENCE) {
      const u = p.user === undefined ? undefined : p.user === true ? user : null
      const c = p.client === undefined ? undefined : p.client === true ? clientId : null
      const values = this.byEntity.get(entityKey(u, c))
      const limit = values?.[key]
      if (limit !== undefined) {
        const charge = `${key}|${p.user === undefined ? '' : user}|${p.client === undefined ? '' : clientId}`
        return { limit, charge }
      }
    }
    return undefined
  }

  /**
   * Charges `amount` (bytes, or milliseconds of handler time for request_percentage) and returns how long the
   * client must be throttled, 0 when it is within its quota.
   */
  record(user: string, clientId: string, key: QuotaKey, amount: number): number {
    const q = this.resolve(user, clientId, key)
    if (!q || amount <= 0) return 0
    // request_percentage is a share of one second per second; the byte rates are bytes per second.
    const perSecond = key === 'request_percentage' ? (q.limit / 100) * 1000 : q.limit
    if (perSecond <= 0) return MAX_THROTTLE_MS
    const now = this.now()
    const start = Math.max(this.spentUntil.get(q.charge) ?? Number.NEGATIVE_INFINITY, now - BURST_MS)
    const until = start + (amount / perSecond) * 1000
    this.spentUntil.set(q.charge, until)
    return Math.min(MAX_THROTTLE_MS, Math.max(0, Math.ceil(until - now)))
  }
}

export function entityKey(user: string | null | undefined, clientId: string | null | undefined): string {
  return JSON.stringify([user === undefined ? '-' : user, clientId === undefined ? '-' : clientId])
}
