/**
 * Low-level access to a Kafka cluster for the parts that need more control than @platformatic/kafka's Consumer
 * gives (the streams runtime's group member, fetcher and transactional offset commits): cluster metadata, one
 * connection pool, API versions negotiated with the brokers, and coordinator lookup. Each KafkaCluster has its own
 * connections, so a long-polling fetch never delays a heartbeat: give each role its own instance.
 */
import {
  Admin,
  type API,
  type ClusterMetadata,
  type Connection,
  GenericError,
  kGetApi,
  kGetConnection,
} from '@platformatic/kafka'
import { TributaryError } from '../errors.ts'
import { type ClientCommonOptions, resolveBootstrap } from './index.ts'

export interface KafkaClusterOptions extends ClientCommonOptions {
  /** Per-request timeout in ms; must exceed the longest request this cluster sends (a JoinGroup waits a rebalance). */
  requestTimeoutMs?: number
  connectTimeoutMs?: number
  /** Extra @platformatic/kafka connection options (sasl, tls). */
  connection?: Record<string, unknown>
}

/** Kafka's error names (e.g. `NOT_COORDINATOR`) found in a @platformatic/kafka error, outermost first. */
export function kafkaErrorIds(error: unknown): string[] {
  const out: string[] = []
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 6) return
    const id = (e as { apiId?: unknown }).apiId
    if (typeof id === 'string') out.push(id)
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner, depth + 1)
    visit((e as { cause?: unknown }).cause, depth + 1)
  }
  visit(error, 0)
  return out
}

export function hasKafkaError(error: unknown, ...ids: string[]): boolean {
  const found = kafkaErrorIds(error)
  return ids.some((id) => found.includes(id))
}

/** Whether the error is a lost connection or a timeout (worth a retry after a metadata refresh). */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: string }).code
  if (code === 'PLT_KFK_NETWORK' || code === 'PLT_KFK_TIMEOUT') return true
  if (code === 'PLT_KFK_MULTIPLE' || code === 'PLT_KFK_RESPONSE') {
    return ((error as AggregateError).errors ?? []).some((e) => isNetworkError(e))
  }
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code ?? '')
}

/** The parsed response attached to a @platformatic/kafka ResponseError (partition-level errors keep the rest). */
export function responseOf<T>(error: unknown): T | undefined {
  return (error as { response?: T } | undefined)?.response
}

export const COORDINATOR_ERRORS = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']

export class KafkaCluster {
  readonly admin: Admin
  readonly #coordinators = new Map<string, { nodeId: number; host: string; port: number }>()

  constructor(options: KafkaClusterOptions = {}) {
    this.admin = new Admin({
      clientId: options.clientId ?? 'tributary',
      bootstrapBrokers: resolveBootstrap(options.bootstrap),
      requestTimeout: options.requestTimeoutMs ?? 30000,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      timeout: options.requestTimeoutMs ?? 30000,
      retries: 0,
      ...(options.connection ?? {}),
    })
  }

  get closed(): boolean {
    return this.admin.closed
  }

  /** The highest version of an API both sides support (@platformatic/kafka keeps one signature per API name). */
  api<Args extends unknown[], R>(name: string): Promise<API<Args, R>> {
    return new Promise((resolve, reject) => {
      this.admin[kGetApi]<Args, R>(name, (error, api) => (error ? reject(error) : resolve(api!)))
    })
  }

  metadata(topics: string[], forceUpdate = false): Promise<ClusterMetadata> {
    return this.admin.metadata({ topics, forceUpdate })
  }

  /** A connection to a broker by node id (from metadata). */
  async connection(nodeId: number): Promise<Connection> {
    let metadata = await this.metadata([])
    let broker = metadata.brokers.get(nodeId)
    if (!broker) {
      metadata = await this.metadata([], true)
      broker = metadata.brokers.get(nodeId)
    }
    if (!broker)
      throw new TributaryError('TRB_CLIENT_UNKNOWN_BROKER', `broker ${nodeId} is not in the cluster metadata`)
    return this.connectionTo(broker)
  }

  connectionTo(broker: { host: string; port: number }): Promise<Connection> {
    return new Promise((resolve, reject) => {
      this.admin[kGetConnection](broker, (error, connection) => (error ? reject(error) : resolve(connection!)))
    })
  }

  /** Calls an API on a connection. */
  async call<R>(connection: Connection, name: string, ...args: unknown[]): Promise<R> {
    const api = await this.api<unknown[], R>(name)
    return api.async(connection, ...args)
  }

  /** The coordinator of a group (keyType 0) or transactional id (keyType 1), cached until `forgetCoordinator`. */
  async coordinator(keyType: 0 | 1, key: string): Promise<Connection> {
    const cacheKey = `${keyType}:${key}`
    let found = this.#coordinators.get(cacheKey)
    if (!found) {
      const response = await this.admin.findCoordinator({ keyType, keys: [key] })
      const entry = response[0]
      if (!entry || entry.nodeId < 0) {
        throw new TributaryError(
          'TRB_CLIENT_COORDINATOR_NOT_AVAILABLE',
          `no coordinator for ${keyType === 0 ? 'group' : 'transactional id'} ${key} yet`,
        )
      }
      found = { nodeId: entry.nodeId, host: entry.host, port: entry.port }
      this.#coordinators.set(cacheKey, found)
    }
    return this.connectionTo(found)
  }

  forgetCoordinator(keyType: 0 | 1, key: string): void {
    this.#coordinators.delete(`${keyType}:${key}`)
  }

  /** Partition counts of topics; missing topics map to undefined. */
  async partitionCounts(topics: readonly string[]): Promise<Map<string, number | undefined>> {
    const out = new Map<string, number | undefined>()
    if (topics.length === 0) return out
    const existing = new Set(await this.admin.listTopics({ includeInternals: true }))
    const present = topics.filter((t) => existing.has(t))
    for (const t of topics) out.set(t, undefined)
    if (present.length > 0) {
      const metadata = await this.metadata([...new Set(present)], true)
      for (const t of present) out.set(t, metadata.topics.get(t)?.partitionsCount)
    }
    return out
  }

  close(): Promise<void> {
    return this.admin.close()
  }
}

export function describeKafkaError(error: unknown): string {
  const ids = kafkaErrorIds(error)
  const message = error instanceof Error ? error.message : String(error)
  return ids.length > 0 ? `${message} (${[...new Set(ids)].join(', ')})` : message
}

export { GenericError }
