/**
 * Per-connection security state: which listener the client came in on and, on SASL listeners, how far the SASL
 * exchange got. Until it completes, only ApiVersions, SaslHandshake and SaslAuthenticate are served.
 */
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { ScramServerExchange } from './scram.ts'

export type SecurityProtocol = 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL'
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'SASL_SSL']

export interface ListenerInfo {
  /** Listener name, e.g. "SASL_PLAINTEXT" (Kafka's listener name; here equal to the protocol unless mapped). */
  name: string
  securityProtocol: SecurityProtocol
  advertisedHost: string
  advertisedPort: number
}

export interface ConnectionSession {
  listener: ListenerInfo
  /** "User:ANONYMOUS" until SASL completes; then "User:<name>". */
  principal: string
  authenticated: boolean
  /** Set by SaslHandshake. */
  saslMechanism?: string
  scram?: ScramServerExchange
}

export function isSaslProtocol(p: SecurityProtocol): boolean {
  return p === 'SASL_PLAINTEXT' || p === 'SASL_SSL'
}

export const ANONYMOUS = 'User:ANONYMOUS'

/** Requests a SASL listener serves before authentication completes (nor are they charged to client quotas). */
export const PRE_AUTHENTICATION_APIS: ReadonlySet<number> = new Set([
  ApiKeys.ApiVersions,
  ApiKeys.SaslHandshake,
  ApiKeys.SaslAuthenticate,
])

export function newSession(listener: ListenerInfo): ConnectionSession {
  return { listener, principal: ANONYMOUS, authenticated: !isSaslProtocol(listener.securityProtocol) }
}
