/**
 * Client quotas applied to requests: what each request is charged (Kafka's produce and fetch byte rates and
 * request_percentage), and how a throttle reaches the client (KIP-219).
 */
import { ApiKeys } from '../protocol/generated/api-table.ts'
import type { RequestContext } from './handler.ts'
import { PRE_AUTHENTICATION_APIS } from './security/session.ts'

/**
 * Charges the request to the client's quotas (user and client-id): produce bytes by request size, consumer fetch
 * bytes by response size, request_percentage by handler time. Returns the throttle time in ms (0 within quota).
 */
export function chargeQuotas(
  ctx: RequestContext,
  request: unknown,
  requestBytes: number,
  responseBytes: number,
  handlerMs: number,
): number {
  const { quotas, metrics } = ctx.services
  if (!quotas || PRE_AUTHENTICATION_APIS.has(ctx.apiKey)) return 0
  const user = ctx.principal.startsWith('User:') ? ctx.principal.slice(5) : ctx.principal
  const clientId = ctx.clientId ?? ''
  let throttle = quotas.record(user, clientId, 'request_percentage', handlerMs)
  if (ctx.apiKey === ApiKeys.Produce) {
    throttle = Math.max(throttle, quotas.record(user, clientId, 'producer_byte_rate', requestBytes))
  } else if (ctx.apiKey === ApiKeys.Fetch) {
    const r = request as { replicaId: number; replicaState?: { replicaId: number } }
    const replicaId = ctx.apiVersion >= 15 ? (r.replicaState?.replicaId ?? -1) : r.replicaId
    if (replicaId < 0) throttle = Math.max(throttle, quotas.record(user, clientId, 'consumer_byte_rate', responseBytes))
  }
  if (throttle > 0) {
    metrics.inc(
      'tributary_quota_throttle_time_ms_total',
      'Time clients were throttled for exceeding their quotas',
      {},
      throttle,
    )
  }
  return throttle
}

/** KIP-219: from these versions on, the client itself waits out throttle_time_ms, so the response is not delayed. */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [ApiKeys.Produce, 6],
  [ApiKeys.Fetch, 8],
])

/** Whether the client of this request waits out a throttle itself (else the broker delays the response). */
export function clientThrottles(apiKey: number, apiVersion: number): boolean {
  const from = CLIENT_THROTTLES_FROM.get(apiKey)
  return from !== undefined && apiVersion >= from
}
