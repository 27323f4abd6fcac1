/**
 * Kafka clients for the commands, made through src/client (so every command works against any Kafka cluster),
 * and the translation of client errors into messages that name the cause. Loaded lazily by the commands that
 * talk to Kafka.
 */
import type { Admin, Consumer, Producer } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer } from '../client/index.ts'
import { TributaryError } from '../errors.ts'
import type { Connection } from './connection.ts'
import { notFoundError, refusedError, usageError } from './context.ts'

const CLIENT_ID = 'tributary-cli'

function common(conn: Connection) {
  return {
    bootstrap: conn.bootstrap,
    clientId: CLIENT_ID,
    connectTimeout: 5000,
    requestTimeout: 30000,
    retries: 3,
    retryDelay: 250,
    ...(conn.sasl ? { sasl: { ...conn.sasl } } : {}),
    ...(conn.tls ? { tls: conn.tls.ca ? { ca: conn.tls.ca } : {} } : {}),
  }
}

export function adminFor(conn: Connection): Admin {
  return createAdmin(common(conn))
}

export function producerFor(conn: Connection, options: Record<string, unknown> = {}): Producer {
  return createProducer({ ...common(conn), ...options })
}

/** A consumer used for its low-level fetch and list-offsets calls; it never joins its group. */
export function consumerFor(conn: Connection): Consumer {
  return createConsumer({ ...common(conn), groupId: `${CLIENT_ID}-${process.pid}` })
}

export async function withAdmin<T>(conn: Connection, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = adminFor(conn)
  try {
    return await fn(admin)
  } catch (err) {
    throw explainKafkaError(err, conn)
  } finally {
    await admin.close().catch(() => {})
  }
}

interface Found {
  /** Kafka error names (UNKNOWN_TOPIC_OR_PARTITION, ...) with the broker's message, if any. */
  protocol: { name: string; message: string; server: string | null }[]
  /** Socket-level causes: ECONNREFUSED, ENOTFOUND, TLS errors. */
  network: string[]
  other: string[]
}

function walk(err: unknown, found: Found, depth = 0): void {
  if (!err || typeof err !== 'object' || depth > 8) return
  const e = err as Record<string, unknown> & Error
  if (typeof e.apiId === 'string') {
    found.protocol.push({
      name: e.apiId,
      message: e.message,
      server: typeof e.serverErrorMessage === 'string' ? e.serverErrorMessage : null,
    })
  } else if (typeof e.code === 'string' && /^E[A-Z]+/.test(e.code)) {
    found.network.push(`${e.code}${e.message && !e.message.startsWith(e.code) ? ` (${e.message})` : ''}`)
  } else if (
    typeof e.code === 'string' &&
    /^(ERR_TLS|ERR_SSL|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|CERT_)/.test(e.code) &&
    e.message
  ) {
    found.network.push(e.message)
  }
  if (Array.isArray(e.errors)) for (const x of e.errors) walk(x, found, depth + 1)
  if (e.cause) walk(e.cause, found, depth + 1)
  if (typeof e.code === 'string' && e.code.startsWith('PLT_KFK_') && !Array.isArray(e.errors) && !e.cause) {
    found.other.push(e.message)
  }
}

const NOT_FOUND = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'GROUP_ID_NOT_FOUND'])
const REFUSED = new Set([
  'TOPIC_ALREADY_EXISTS',
  'NON_EMPTY_GROUP',
  'GROUP_SUBSCRIBED_TO_TOPIC',
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'POLICY_VIOLATION',
])
const USAGE = new Set([
  'INVALID_CONFIG',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUEST',
  'OFFSET_OUT_OF_RANGE',
])

/** A TributaryError whose message names the cause (the Kafka error, the unreachable address) and whose code
 * gives the exit status. */
export function explainKafkaError(err: unknown, conn: Connection, what?: string): Error {
  if (err instanceof TributaryError) return err
  const found: Found = { protocol: [], network: [], other: [] }
  walk(err, found)
  const prefix = what ? `${what}: ` : ''
  if (found.protocol.length > 0) {
    const first = found.protocol[0]!
    const names = [...new Set(found.protocol.map((p) => p.name))]
    const detail = first.server && first.server !== first.message ? ` (${first.server})` : ''
    const text = `${prefix}${names.join(', ')}: ${first.message}${detail}`
    if (names.some((n) => NOT_FOUND.has(n))) return notFoundError(text)
    if (names.some((n) => REFUSED.has(n))) return refusedError(text)
    if (names.some((n) => USAGE.has(n))) return usageError(text)
    if (names.some((n) => n.includes('AUTHORIZATION_FAILED'))) {
      return new TributaryError('TRB_ADMIN_FAILED', `${text} — the principal lacks the ACL for this operation`)
    }
    return new TributaryError('TRB_ADMIN_FAILED', text)
  }
  if (found.network.length > 0) {
    return new TributaryError(
      'TRB_CONNECTION_FAILED',
      `${prefix}cannot reach the Kafka cluster at ${conn.bootstrap.join(',')}: ${[...new Set(found.network)].join('; ')}`,
      { cause: err },
    )
  }
  const message = (err as Error)?.message ?? String(err)
  if (/authenticat|SASL/i.test(message)) {
    return new TributaryError('TRB_SASL_FAILED', `${prefix}${message}`, { cause: err })
  }
  const other = found.other.length > 0 && found.other[0] !== message ? ` (${found.other[0]})` : ''
  return new TributaryError('TRB_ADMIN_FAILED', `${prefix}${message}${other}`, { cause: err })
}
