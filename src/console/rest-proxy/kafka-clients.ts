/**
 * Kafka clients per principal. Without authentication the proxy has one set of clients; with HTTP basic auth it
 * opens a separate set per caller, authenticated by SASL with the caller's own credentials, so the broker checks
 * every call against that principal's ACLs. Sets are cached (least recently used first out, idle ones closed).
 */
import { createHash } from 'node:crypto'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import type { Admin, Consumer, Producer } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer } from '../../client/index.ts'
import { fromKafkaError, RestProxyError, unauthorized } from './errors.ts'

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface KafkaConnectionOptions {
  bootstrap: string[]
  /** Mechanism used with each caller's credentials when basic auth is on. */
  saslMechanism?: SaslMechanism
  tls?: TlsOptions
  clientId?: string
  /** Most principals with open connections at once (default 64). */
  maxPrincipals?: number
  /** Close a principal's connections after this long unused (default 5 minutes). */
  idleMs?: number
}

export interface Credentials {
  username: string
  password: string
}

/** The clients one principal's requests run with. */
export class PrincipalClients {
  readonly principal: string
  readonly admin: Admin
  readonly producer: Producer
  lastUsed = Date.now()
  /** Long-lived users (SSE streams, v2 consumer instances) that keep this entry from being evicted. */
  leases = 0
  readonly #options: KafkaConnectionOptions
  readonly #credentials?: Credentials
  #consumers = 0

  constructor(options: KafkaConnectionOptions, credentials?: Credentials) {
    this.#options = options
    this.#credentials = credentials
    this.principal = credentials ? `User:${credentials.username}` : 'User:ANONYMOUS'
    const common = this.connection()
    this.admin = createAdmin({ ...common, clientId: this.#clientId('admin') })
    this.producer = createProducer({ ...common, clientId: this.#clientId('producer'), acks: -1 })
  }

  /** Options for a new client of this principal (bootstrap, SASL, TLS). */
  connection() {
    const sasl =
      this.#credentials && this.#options.saslMechanism
        ? {
            mechanism: this.#options.saslMechanism,
            username: this.#credentials.username,
            password: this.#credentials.password,
          }
        : undefined
    return {
      bootstrap: this.#options.bootstrap,
      ...(sasl ? { sasl } : {}),
      ...(this.#options.tls ? { tls: this.#options.tls } : {}),
      retries: 2,
      timeout: 10_000,
    }
  }

  #clientId(kind: string) {
    return `${this.#options.clientId ?? 'tributary-rest-proxy'}-${kind}`
  }

  /** A consumer with this principal's credentials; the caller closes it. */
  consumer(groupId: string, extra: Record<string, unknown> = {}): Consumer {
    this.#consumers++
    return createConsumer({
      ...this.connection(),
      groupId,
      clientId: this.#clientId(`consumer-${this.#consumers}`),
      ...extra,
    })
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.close(), this.producer.close()])
  }
}

/**
 * Caches PrincipalClients per (user, password). A new entry is checked with a metadata request first, so wrong
 * credentials answer 401 and are never cached.
 */
export class ClientPool {
  readonly options: KafkaConnectionOptions
  readonly #entries = new Map<string, Promise<PrincipalClients>>()
  readonly #sweeper: NodeJS.Timeout
  #closed = false

  constructor(options: KafkaConnectionOptions) {
    this.options = options
    const idleMs = options.idleMs ?? 5 * 60_000
    this.#sweeper = setInterval(() => this.#sweep(idleMs), Math.min(idleMs, 30_000))
    this.#sweeper.unref()
  }

  get size(): number {
    return this.#entries.size
  }

  async get(credentials?: Credentials): Promise<PrincipalClients> {
    if (this.#closed) throw new RestProxyError(503, 50301, 'The REST proxy is shutting down', 'TRB_REST_CLOSING')
    const key = credentials
      ? `${credentials.username}\u0000${createHash('sha256').update(credentials.password).digest('hex')}`
      : ''
    let entry = this.#entries.get(key)
    if (!entry) {
      await this.#makeRoom()
      entry = this.#open(credentials)
      this.#entries.set(key, entry)
      entry.catch(() => this.#entries.delete(key))
    } else {
      // Most recently used last: Map keeps insertion order, so re-insert.
      this.#entries.delete(key)
      this.#entries.set(key, entry)
    }
    const clients = await entry
    clients.lastUsed = Date.now()
    return clients
  }

  async #open(credentials?: Credentials): Promise<PrincipalClients> {
    const clients = new PrincipalClients(this.options, credentials)
    try {
      await clients.admin.metadata({ topics: [] })
    } catch (error) {
      await clients.close()
      const mapped = fromKafkaError(error)
      throw mapped.status === 401 ? unauthorized() : mapped
    }
    return clients
  }

  async #makeRoom(): Promise<void> {
    const max = this.options.maxPrincipals ?? 64
    if (this.#entries.size < max) return
    for (const [key, pending] of this.#entries) {
      const clients = await pending.catch(() => undefined)
      if (!clients || clients.leases === 0) {
        this.#entries.delete(key)
        await clients?.close()
        if (this.#entries.size < max) return
      }
    }
    throw new RestProxyError(
      429,
      429,
      `Too many principals connected at once (at most ${max}); try again later`,
      'TRB_REST_TOO_MANY_PRINCIPALS',
    )
  }

  #sweep(idleMs: number): void {
    const now = Date.now()
    for (const [key, pending] of this.#entries) {
      pending.then(
        (clients) => {
          if (clients.leases === 0 && now - clients.lastUsed > idleMs && this.#entries.get(key) === pending) {
            this.#entries.delete(key)
            clients.close().catch(() => {})
          }
        },
        () => {},
      )
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    const all = [...this.#entries.values()]
    this.#entries.clear()
    await Promise.allSettled(all.map(async (p) => (await p).close()))
  }
}
