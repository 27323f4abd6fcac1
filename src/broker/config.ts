/**
 * Broker configuration: Kafka's property names where Kafka has one, read from (lowest to highest precedence)
 * defaults, a properties/JSON file, TRIBUTARY_* environment variables and command-line flags.
 */
import { readFileSync } from 'node:fs'
import type { LogLevel } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import type { FlushPolicy } from '../log/index.ts'
import { SECURITY_PROTOCOLS, type SecurityProtocol } from './security/session.ts'

/** One entry of `listeners`: e.g. SASL_PLAINTEXT://127.0.0.1:9093. */
export interface ListenerConfig {
  name: string
  securityProtocol: SecurityProtocol
  host: string
  port: number
  advertisedHost?: string
  advertisedPort?: number
}

export interface BrokerConfig {
  nodeId: number
  /** Address the TCP listener binds to. */
  host: string
  port: number
  /** Host and port written into Metadata responses (what clients connect to). */
  advertisedHost: string
  advertisedPort: number
  dataDir: string
  /** auto.create.topics.enable */
  autoCreateTopics: boolean
  /** num.partitions for auto-created topics and CreateTopics with numPartitions -1 */
  numPartitions: number
  /** socket.request.max.bytes: larger frames close the connection. */
  socketRequestMaxBytes: number
  /** sasl.server.max.receive.size: largest frame accepted on a SASL listener before authentication completes. */
  saslServerMaxReceiveSize: number
  /** fetch.max.bytes: cap on the records of one Fetch response, whatever the request asks for. */
  fetchMaxBytes: number
  /** max.connections: open connections across all listeners; further connections are closed at accept. */
  maxConnections: number
  /** max.connections.per.ip: open connections from one client address. */
  maxConnectionsPerIp: number
  /** connections.max.idle.ms: a connection with no request in flight and no traffic for this long is closed. */
  connectionsMaxIdleMs: number
  /** connection.failed.authentication.delay.ms: a failed SASL login is answered (and closed) this much later. */
  connectionFailedAuthenticationDelayMs: number
  /** Topic config defaults applied to every new topic (Kafka's log.* broker settings, in topic-config names). */
  topicDefaults: Record<string, string>
  flushPolicy: FlushPolicy
  /** group.initial.rebalance.delay.ms */
  groupInitialRebalanceDelayMs: number
  /** group.min.session.timeout.ms: the shortest session timeout a member may ask for. */
  groupMinSessionTimeoutMs: number
  /** offsets.retention.ms */
  offsetsRetentionMs: number
  /** log.retention.check.interval.ms: how often retention and compaction run. */
  logCleanerIntervalMs: number
  logLevel: LogLevel | 'silent'
  /** metrics.port: Prometheus endpoint (`GET /metrics` on the listener host); -1 turns it off. */
  metricsPort: number
  /** Cluster id for Metadata/DescribeCluster; generated and persisted at first start when empty. */
  clusterId?: string
  /** listeners: when set, one listener per entry (the first one is also host/port); else PLAINTEXT on host:port. */
  listeners?: ListenerConfig[]
  /** sasl.enabled.mechanisms */
  saslEnabledMechanisms: string[]
  /** sasl.users=alice:secret,...: SCRAM credentials created at startup for users that have none yet (bootstrap). */
  saslUsers: Record<string, string>
  /** super.users=User:alice;User:bob */
  superUsers: string[]
  /** authorizer.enabled: enforce ACLs (off by default: everything is allowed). */
  authorizerEnabled: boolean
  /** allow.everyone.if.no.acl.found */
  allowEveryoneIfNoAclFound: boolean
  /** ssl.certificate.location / ssl.key.location: PEM files for SSL and SASL_SSL listeners. */
  sslCertificateLocation?: string
  sslKeyLocation?: string
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  nodeId: 0,
  host: '127.0.0.1',
  port: 9092,
  advertisedHost: '127.0.0.1',
  advertisedPort: 9092,
  dataDir: './.tributary',
  autoCreateTopics: true,
  numPartitions: 1,
  socketRequestMaxBytes: 104857600,
  saslServerMaxReceiveSize: 524288,
  fetchMaxBytes: 57671680,
  maxConnections: 2147483647,
  maxConnectionsPerIp: 2147483647,
  connectionsMaxIdleMs: 600000,
  connectionFailedAuthenticationDelayMs: 100,
  topicDefaults: {},
  flushPolicy: { mode: 'group' },
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  logCleanerIntervalMs: 300000,
  logLevel: 'info',
  metricsPort: -1,
  saslEnabledMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'],
  saslUsers: {},
  superUsers: [],
  authorizerEnabled: false,
  allowEveryoneIfNoAclFound: false,
}

/** Kafka property name → how it maps onto BrokerConfig. Unknown `log.*` keys become topic defaults. */
const PROPERTY_KEYS: Record<string, (c: BrokerConfig, v: string) => void> = {
  'node.id': (c, v) => (c.nodeId = int('node.id', v)),
  'broker.id': (c, v) => (c.nodeId = int('broker.id', v)),
  host: (c, v) => (c.host = v),
  port: (c, v) => (c.port = portNumber('port', v)),
  'advertised.host': (c, v) => (c.advertisedHost = v),
  'advertised.port': (c, v) => (c.advertisedPort = portNumber('advertised.port', v)),
  'data.dir': (c, v) => (c.dataDir = v),
  'log.dirs': (c, v) => (c.dataDir = v.split(',')[0]!),
  'auto.create.topics.enable': (c, v) => (c.autoCreateTopics = bool('auto.create.topics.enable', v)),
  'num.partitions': (c, v) => (c.numPartitions = int('num.partitions', v, 1)),
  'socket.request.max.bytes': (c, v) => (c.socketRequestMaxBytes = int('socket.request.max.bytes', v, 1024)),
  'sasl.server.max.receive.size': (c, v) => (c.saslServerMaxReceiveSize = int('sasl.server.max.receive.size', v, 1)),
  'fetch.max.bytes': (c, v) => (c.fetchMaxBytes = int('fetch.max.bytes', v, 0)),
  'max.connections': (c, v) => (c.maxConnections = int('max.connections', v, 0)),
  'max.connections.per.ip': (c, v) => (c.maxConnectionsPerIp = int('max.connections.per.ip', v, 0)),
  'connections.max.idle.ms': (c, v) => (c.connectionsMaxIdleMs = int('connections.max.idle.ms', v, -1)),
  'connection.failed.authentication.delay.ms': (c, v) =>
    (c.connectionFailedAuthenticationDelayMs = int('connection.failed.authentication.delay.ms', v, 0)),
  'group.initial.rebalance.delay.ms': (c, v) =>
    (c.groupInitialRebalanceDelayMs = int('group.initial.rebalance.delay.ms', v, 0)),
  'group.min.session.timeout.ms': (c, v) => (c.groupMinSessionTimeoutMs = int('group.min.session.timeout.ms', v, 1)),
  'offsets.retention.ms': (c, v) => (c.offsetsRetentionMs = int('offsets.retention.ms', v, 1)),
  'log.retention.check.interval.ms': (c, v) => (c.logCleanerIntervalMs = int('log.retention.check.interval.ms', v, 1)),
  'log.level': (c, v) => {
    if (!['debug', 'info', 'warn', 'error', 'silent'].includes(v))
      invalid('log.level', v, 'debug|info|warn|error|silent')
    c.logLevel = v as LogLevel
  },
  'cluster.id': (c, v) => (c.clusterId = v),
  'metrics.port': (c, v) => (c.metricsPort = int('metrics.port', v, -1)),
  'log.flush.policy': (c, v) => (c.flushPolicy = parseFlushPolicy(v)),
  listeners: (c, v) => {
    c.listeners = parseListeners('listeners', v)
    c.host = c.listeners[0]!.host
    c.port = c.listeners[0]!.port
  },
  'advertised.listeners': (c, v) => {
    for (const a of parseListeners('advertised.listeners', v)) {
      const l = c.listeners?.find((x) => x.name === a.name)
      if (!l) invalid('advertised.listeners', v, `listener names defined in listeners (no ${a.name})`)
      l.advertisedHost = a.host
      l.advertisedPort = a.port
    }
  },
  'sasl.enabled.mechanisms': (c, v) => {
    const list = v
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean)
    for (const m of list) {
      if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(m))
        invalid('sasl.enabled.mechanisms', v, 'a list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512')
    }
    c.saslEnabledMechanisms = list
  },
  'sasl.users': (c, v) => {
    const users: Record<string, string> = {}
    for (const entry of v
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const colon = entry.indexOf(':')
      if (colon <= 0 || colon === entry.length - 1) invalid('sasl.users', v, 'user:password[,user:password...]')
      users[entry.slice(0, colon)] = entry.slice(colon + 1)
    }
    c.saslUsers = users
  },
  'super.users': (c, v) =>
    (c.superUsers = v
      .split(';')
      .map((u) => u.trim())
      .filter(Boolean)),
  'authorizer.enabled': (c, v) => (c.authorizerEnabled = bool('authorizer.enabled', v)),
  'allow.everyone.if.no.acl.found': (c, v) => (c.allowEveryoneIfNoAclFound = bool('allow.everyone.if.no.acl.found', v)),
  'ssl.certificate.location': (c, v) => (c.sslCertificateLocation = v),
  'ssl.key.location': (c, v) => (c.sslKeyLocation = v),
  // Kafka broker-level log defaults, stored under their topic-level names.
  'log.segment.bytes': (c, v) => (c.topicDefaults['segment.bytes'] = v),
  'log.roll.ms': (c, v) => (c.topicDefaults['segment.ms'] = v),
  'log.retention.ms': (c, v) => (c.topicDefaults['retention.ms'] = v),
  'log.retention.hours': (c, v) => (c.topicDefaults['retention.ms'] = String(int('log.retention.hours', v) * 3600000)),
  'log.retention.bytes': (c, v) => (c.topicDefaults['retention.bytes'] = v),
  'log.cleanup.policy': (c, v) => (c.topicDefaults['cleanup.policy'] = v),
  'log.cleaner.delete.retention.ms': (c, v) => (c.topicDefaults['delete.retention.ms'] = v),
  'log.cleaner.min.compaction.lag.ms': (c, v) => (c.topicDefaults['min.compaction.lag.ms'] = v),
  'message.max.bytes': (c, v) => (c.topicDefaults['max.message.bytes'] = v),
  'log.message.timestamp.type': (c, v) => (c.topicDefaults['message.timestamp.type'] = v),
  'log.index.interval.bytes': (c, v) => (c.topicDefaults['index.interval.bytes'] = v),
}

export const BROKER_PROPERTY_NAMES: readonly string[] = Object.keys(PROPERTY_KEYS)

function invalid(key: string, value: string, expected: string): never {
  throw new TributaryError(
    'TRB_CONFIG_INVALID',
    `invalid value ${JSON.stringify(value)} for ${key}: expected ${expected}`,
  )
}

function portNumber(key: string, v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535 || v.trim() === '') invalid(key, v, 'a port number from 0 to 65535')
  return n
}

function int(key: string, v: string, min = Number.MIN_SAFE_INTEGER): number {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < min) invalid(key, v, `an integer >= ${min}`)
  return n
}

function bool(key: string, v: string): boolean {
  if (v === 'true') return true
  if (v === 'false') return false
  return invalid(key, v, 'true or false')
}

/** `group` (fsync before acknowledging, batched), `interval:<ms>` or `none`. */
export function parseFlushPolicy(v: string): FlushPolicy {
  if (v === 'group') return { mode: 'group' }
  if (v === 'none') return { mode: 'none' }
  const m = /^interval:(\d+)$/.exec(v)
  if (m) return { mode: 'interval', intervalMs: Number(m[1]) }
  return invalid('log.flush.policy', v, 'group, none or interval:<ms>')
}

/** `PROTOCOL://host:port,...`; the listener name is the protocol, as with Kafka's default protocol map. */
export function parseListeners(key: string, v: string): ListenerConfig[] {
  const out: ListenerConfig[] = []
  for (const entry of v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const m = /^([A-Z_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry)
    if (!m || !(SECURITY_PROTOCOLS as readonly string[]).includes(m[1]!)) {
      invalid(key, v, `PROTOCOL://host:port entries with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}`)
    }
    if (out.some((l) => l.name === m[1])) invalid(key, v, 'one listener per protocol')
    const host = m[2]!.replace(/^\[|\]$/g, '')
    out.push({ name: m[1]!, securityProtocol: m[1] as SecurityProtocol, host: host || '0.0.0.0', port: Number(m[3]) })
  }
  if (out.length === 0) invalid(key, v, 'at least one listener')
  return out
}

/** Applies Kafka-style properties to a config; throws TRB_CONFIG_INVALID naming the key on bad input. */
export function applyProperties(base: BrokerConfig, props: Record<string, string>): BrokerConfig {
  const c: BrokerConfig = {
    ...base,
    topicDefaults: { ...base.topicDefaults },
    listeners: base.listeners?.map((l) => ({ ...l })),
  }
  for (const [k, v] of Object.entries(props)) {
    const apply = PROPERTY_KEYS[k]
    if (!apply) throw new TributaryError('TRB_CONFIG_INVALID', `unknown broker property ${k}`)
    apply(c, String(v))
  }
  return c
}

/** Reads `key=value` lines (Java properties style, # comments) or a JSON object. */
export function readConfigFile(path: string): Record<string, string> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new TributaryError('TRB_CONFIG_INVALID', `cannot read config file ${path}: ${(err as Error).message}`)
  }
  if (text.trimStart().startsWith('{')) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]))
    } catch (err) {
      throw new TributaryError('TRB_CONFIG_INVALID', `config file ${path} is not valid JSON: ${(err as Error).message}`)
    }
  }
  const props: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const eq = line.search(/[=:]/)
    if (eq < 0) throw new TributaryError('TRB_CONFIG_INVALID', `config file ${path}: cannot parse line "${line}"`)
    props[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return props
}

/** TRIBUTARY_LOG_RETENTION_MS=1000 → log.retention.ms=1000 (only known keys are taken). */
export function propertiesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const props: Record<string, string> = {}
  const known = new Map(BROKER_PROPERTY_NAMES.map((k) => [`TRIBUTARY_${k.replace(/\./g, '_').toUpperCase()}`, k]))
  for (const [k, v] of Object.entries(env)) {
    const key = known.get(k)
    if (key && v !== undefined) props[key] = v
  }
  return props
}

/** Builds the effective config and fills the advertised address from the listener when not given. */
export function resolveBrokerConfig(
  layers: { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, string> },
  base: BrokerConfig = DEFAULT_BROKER_CONFIG,
): BrokerConfig {
  let c = base
  const explicit = new Set<string>()
  for (const props of [
    layers.file ? readConfigFile(layers.file) : {},
    propertiesFromEnv(layers.env ?? {}),
    layers.flags ?? {},
  ]) {
    for (const k of Object.keys(props)) explicit.add(k)
    c = applyProperties(c, props)
  }
  if (!explicit.has('advertised.port')) c.advertisedPort = c.port
  if (!explicit.has('advertised.host')) c.advertisedHost = advertisable(c.host)
  return c
}

/** A wildcard bind address cannot be given to clients; librdkafka prefers an IPv4 literal over "localhost". */
export function advertisable(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '' || host === 'localhost') return '127.0.0.1'
  return host
}
