/**
 * Assembles a broker: the log manager, the metadata log, the group coordinator and the Kafka listener.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createLogger, type Logger, LogRateLimiter } from '../common/logger.ts'
import { Metrics, type MetricsServer, serveMetrics } from '../common/metrics.ts'
import { systemClock, systemTimers } from '../common/time.ts'
import { TributaryError } from '../errors.ts'
import { LogManager } from '../log/index.ts'
import { advertisable, type BrokerConfig, DEFAULT_BROKER_CONFIG, type ListenerConfig } from './config.ts'
import { ConnectionQuotas, DescriptorWatch } from './connection-limits.ts'
import { GroupCoordinator } from './group/group-coordinator.ts'
import type { HandlerSpec } from './handler.ts'
import { allHandlers } from './handlers/index.ts'
import { MetadataLog } from './metadata-log.ts'
import { ProducerIdManager } from './producer-id-manager.ts'
import { ReplicaManager } from './replica-manager.ts'
import { Authorizer } from './security/acl.ts'
import { AclStore } from './security/acl-store.ts'
import { withAuthorization } from './security/api-authorization.ts'
import { ClientQuotaStore } from './security/quota-store.ts'
import { ClientQuotaManager } from './security/quotas.ts'
import { createCredential, SCRAM_MECHANISMS } from './security/scram.ts'
import { ScramCredentialStore } from './security/scram-store.ts'
import type { ListenerInfo, SecurityProtocol } from './security/session.ts'
import { KafkaServer } from './server.ts'
import type { BrokerServices } from './services.ts'
import type { TopicRegistry as Topics } from './topic-registry.ts'
import { checkTopicConfigs, OFFSETS_TOPIC, TopicRegistry, TRANSACTION_STATE_TOPIC } from './topic-registry.ts'
import { TransactionCoordinator } from './txn/index.ts'

export interface RunningBroker {
  /** The port the listener is bound to (useful with port 0). */
  port: number
  /** Port of the Prometheus endpoint, when enabled. */
  metricsPort?: number
  /** `host:port` for clients. */
  bootstrap: string
  /** Every listener with its bound port and bootstrap address (one PLAINTEXT listener unless `listeners` is set). */
  listeners: { name: string; securityProtocol: SecurityProtocol; port: number; bootstrap: string }[]
  config: BrokerConfig
  services: BrokerServices
  close(): Promise<void>
}

export interface StartBrokerOptions extends Partial<BrokerConfig> {
  logger?: Logger
  /** Extra or replacement handlers (tests, later features). */
  handlers?: HandlerSpec[]
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { logger: givenLogger, handlers: extraHandlers, ...overrides } = options
  const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, ...overrides }
  if (overrides.port !== undefined && overrides.advertisedPort === undefined) config.advertisedPort = overrides.port
  const logger = givenLogger ?? createLogger(config.logLevel, 'broker')
  try {
    checkTopicConfigs({}, config.topicDefaults)
  } catch (err) {
    throw new TributaryError('TRB_CONFIG_INVALID', `invalid broker topic defaults: ${(err as Error).message}`)
  }
  const started = Date.now()
  const dataDir = resolve(config.dataDir)
  makeDataDir(dataDir)
  const releaseLock = lockDataDir(dataDir)
  let logs: LogManager | undefined
  const metrics = new Metrics()
  /** What /ready reports: true from the moment clients are served until the broker starts stopping. */
  let ready = false
  let metricsServer: MetricsServer | undefined
  try {
    // Up first, so that /health answers and /ready says "not yet" during a long recovery.
    if (config.metricsPort >= 0) {
      metricsServer = await serveMetrics(metrics, config.host, config.metricsPort, logger, () => ready)
    }
    logs = await LogManager.open({
      dataDir,
      flushPolicy: config.flushPolicy,
      cleanerIntervalMs: config.logCleanerIntervalMs,
      log: (message, level = 'info') => logger.child('log')[level](message),
    })
    const replicas = new ReplicaManager(logs, logger.child('replica-manager'))
    // Every metadata store registers on the metadata log before TopicRegistry.open replays it.
    const metadataLog = await MetadataLog.open(logs, replicas)
    const acls = new AclStore(metadataLog)
    const scram = new ScramCredentialStore(metadataLog)
    const quotaStore = new ClientQuotaStore(metadataLog)
    const producerIds = new ProducerIdManager(metadataLog)
    const topics = await TopicRegistry.open({
      logs,
      metadataLog,
      topicDefaults: config.topicDefaults,
      logger: logger.child('metadata'),
      clusterId: config.clusterId,
    })
    if (!topics.get(OFFSETS_TOPIC)) {
      await topics.create(OFFSETS_TOPIC, {
        partitions: 1,
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(100 * 1024 * 1024) },
        internal: true,
      })
    }
    if (!topics.get(TRANSACTION_STATE_TOPIC)) {
      await topics.create(TRANSACTION_STATE_TOPIC, {
        partitions: 1,
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(100 * 1024 * 1024) },
        internal: true,
      })
    }
    const groups = new GroupCoordinator({
      store: replicas.internalKeyedLog(OFFSETS_TOPIC, 0),
      // Unref'd timers, like the transaction coordinator's: the listeners keep the process alive while the broker
      // runs, and close() stops the group timers.
      clock: systemClock,
      timers: systemTimers,
      logger: logger.child('group-coordinator'),
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
      offsetsRetentionMs: config.offsetsRetentionMs,
      topicExists: (name: string) => topics.get(name) !== undefined,
    })
    topics.onDeleted((topic) => groups.onTopicDeleted(topic))
    const transactions = new TransactionCoordinator({
      store: replicas.internalKeyedLog(TRANSACTION_STATE_TOPIC, 0),
      groups,
      writeMarker: (topic, partition, producerId, epoch, commit) =>
        replicas.appendTxnMarker(topic, partition, producerId, epoch, commit),
      partitionExists: (topic, partition) => replicas.hasPartition(topic, partition),
      allocateProducerId: () => producerIds.allocateProducerId(),
      logger: logger.child('transaction-coordinator'),
    })
    replicas.attachTransactions(transactions)
    metrics.collect((m) => collectLogMetrics(m, topics))
    metrics.collect((m) => collectGroupLag(m, topics, groups))
    await bootstrapSaslUsers(scram, config.saslUsers, logger)
    const authorizer = config.authorizerEnabled
      ? new Authorizer({
          superUsers: config.superUsers,
          allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
          acls: () => acls.acls(),
        })
      : undefined
    const quotas = new ClientQuotaManager(quotaStore)
    let server: KafkaServer | undefined
    const services: BrokerServices = {
      config,
      clusterId: topics.clusterId,
      logs,
      topics,
      acls,
      scram,
      quotaStore,
      producerIds,
      groups,
      transactions,
      authorizer,
      quotas,
      logger,
      logLimiter: new LogRateLimiter(),
      metrics,
      replicas,
      supportedApis: () => server!.apiVersions(),
      now: systemClock.now,
    }
    const handlers = new Map<number, HandlerSpec>()
    for (const h of [...allHandlers, ...(extraHandlers ?? [])]) handlers.set(h.apiKey, withAuthorization(h))
    const listenerConfigs: ListenerConfig[] = config.listeners ?? [
      { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: config.host, port: config.port },
    ]
    const tlsOptions = needsTls(listenerConfigs) ? readTlsFiles(config) : undefined
    const connectionQuotas = new ConnectionQuotas(config.maxConnections, config.maxConnectionsPerIp)
    const descriptors = new DescriptorWatch(logger.child('network'), services.logLimiter, () => connectionQuotas.total)
    const servers = listenerConfigs.map((l) => {
      const info: ListenerInfo = {
        name: l.name,
        securityProtocol: l.securityProtocol,
        advertisedHost: l.advertisedHost ?? advertisable(l.host),
        advertisedPort: l.advertisedPort ?? l.port,
      }
      return new KafkaServer({
        host: l.host,
        port: l.port,
        maxRequestBytes: config.socketRequestMaxBytes,
        handlers: [...handlers.values()],
        services,
        logger: logger.child('network'),
        listener: info,
        tls: tlsOptions,
        connectionQuotas,
        descriptors,
        connectionsMaxIdleMs: config.connectionsMaxIdleMs,
        saslServerMaxReceiveSize: config.saslServerMaxReceiveSize,
      })
    })
    server = servers[0]!
    await groups.load()
    await transactions.load()
    logRecovery(logs, logger)
    const boundPorts: number[] = []
    try {
      for (const s of servers) boundPorts.push(await s.listen())
    } catch (err) {
      for (const s of servers) await s.close().catch(() => {})
      throw err
    }
    descriptors.start()
    const port = boundPorts[0]!
    servers.forEach((s, i) => {
      const l = listenerConfigs[i]!
      if (l.advertisedPort === undefined || l.advertisedPort === 0) s.listener.advertisedPort = boundPorts[i]!
    })
    // Port 0 means "any free port": clients must be told the one we got.
    if (config.advertisedPort === 0 || (config.port === 0 && overrides.advertisedPort === undefined))
      config.advertisedPort = port
    config.port = port
    if (!config.listeners) {
      servers[0]!.listener.advertisedHost = config.advertisedHost
      servers[0]!.listener.advertisedPort = config.advertisedPort
    }
    metrics.collect((m) =>
      m.set('tributary_connections', 'Open client connections, all listeners', {}, connectionQuotas.total),
    )
    ready = true
    logger.info('broker started', {
      listener: `${config.host}:${port}`,
      listeners: servers.map((s, i) => `${s.listener.name}://${listenerConfigs[i]!.host}:${boundPorts[i]}`).join(','),
      authorizer: authorizer ? 'enabled' : 'disabled',
      advertised: `${config.advertisedHost}:${config.advertisedPort}`,
      dataDir,
      topics: topics.list().length,
      clusterId: topics.clusterId,
      metrics: metricsServer ? `http://${config.host}:${metricsServer.port}/metrics` : undefined,
      startupMs: Date.now() - started,
    })
    const runningLogs = logs
    let closing: Promise<void> | undefined
    return {
      port,
      metricsPort: metricsServer?.port,
      bootstrap: `${config.advertisedHost}:${config.advertisedPort}`,
      listeners: servers.map((s, i) => ({
        name: s.listener.name,
        securityProtocol: s.listener.securityProtocol,
        port: boundPorts[i]!,
        bootstrap: `${s.listener.advertisedHost}:${s.listener.advertisedPort}`,
      })),
      config,
      services,
      close() {
        closing ??= (async () => {
          logger.info('broker stopping')
          ready = false
          replicas.wakeAll()
          descriptors.stop()
          for (const s of servers) await s.close()
          await metricsServer?.close()
          await transactions.close()
          await groups.close()
          await runningLogs.close()
          releaseLock()
          logger.info('broker stopped')
        })()
        return closing
      },
    }
  } catch (err) {
    await metricsServer?.close().catch(() => {})
    await logs?.close().catch(() => {})
    releaseLock()
    throw err
  }
}

/** `sasl.users`: the first users (typically a super user) get SCRAM credentials at startup, once. */
async function bootstrapSaslUsers(
  scram: ScramCredentialStore,
  users: Record<string, string>,
  logger: Logger,
): Promise<void> {
  for (const [user, password] of Object.entries(users)) {
    for (const m of SCRAM_MECHANISMS) {
      if (scram.scramCredential(user, m)) continue
      await scram.setScramCredential(user, m, await createCredential(m, password))
      logger.info('SCRAM credential created from sasl.users', { user, mechanism: m })
    }
  }
}

/** Creates the data directory, or says in plain words why it cannot be one. */
function makeDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // The path itself, or one of its parents, is a file.
      let file = dataDir
      while (file !== dirname(file) && !isFile(file)) file = dirname(file)
      throw new TributaryError(
        'TRB_DATA_DIR_INVALID',
        `data directory ${dataDir} cannot be created: ${file} is a file, not a directory; choose another --data-dir`,
      )
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new TributaryError(
        'TRB_DATA_DIR_INVALID',
        `data directory ${dataDir} cannot be created: permission denied (${code}); choose a --data-dir you can write`,
      )
    }
    throw err
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

function needsTls(listeners: ListenerConfig[]): boolean {
  return listeners.some((l) => l.securityProtocol === 'SSL' || l.securityProtocol === 'SASL_SSL')
}

function readTlsFiles(config: BrokerConfig): { cert: Buffer; key: Buffer } {
  if (!config.sslCertificateLocation || !config.sslKeyLocation) {
    throw new TributaryError(
      'TRB_CONFIG_INVALID',
      'SSL and SASL_SSL listeners need ssl.certificate.location and ssl.key.location (PEM files)',
    )
  }
  try {
    return { cert: readFileSync(config.sslCertificateLocation), key: readFileSync(config.sslKeyLocation) }
  } catch (err) {
    throw new TributaryError('TRB_CONFIG_INVALID', `cannot read TLS certificate or key: ${(err as Error).message}`)
  }
}

/**
 * One broker per data directory. The lock file holds the owner's pid; a lock left by a process that no longer
 * exists (SIGKILL, crash) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dataDir, '.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(lockPath, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number(readFileSync(lockPath, 'utf8').trim())
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new TributaryError(
          'TRB_DATA_DIR_LOCKED',
          `data directory ${dataDir} is in use by another broker (pid ${owner}); stop it or use another --data-dir`,
        )
      }
      rmSync(lockPath, { force: true })
    }
  }
  throw new TributaryError('TRB_DATA_DIR_LOCKED', `cannot lock data directory ${dataDir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Consumer-group lag per partition: the high watermark minus the group's committed offset (what Kafka's tools and
 * Burrow call lag), for every committed offset of every group, read at scrape time.
 */
function collectGroupLag(m: Metrics, topics: Topics, groups: GroupCoordinator): void {
  for (const { groupId } of groups.listGroups()) {
    for (const c of groups.committedOffsets(groupId)) {
      const log = topics.partitionLog(c.topic, c.partition)
      if (!log) continue
      const labels = { group: groupId, topic: c.topic, partition: String(c.partition) }
      const committed = Number(c.offset)
      m.set('tributary_consumer_group_committed_offset', 'Offset a consumer group committed', labels, committed)
      m.set(
        'tributary_consumer_group_lag',
        'Records a consumer group has not consumed yet: high watermark minus committed offset',
        labels,
        Math.max(0, log.highWatermark - committed),
      )
    }
  }
}

/** Per-partition gauges, read from the logs at scrape time. */
function collectLogMetrics(m: Metrics, topics: Topics): void {
  const list = topics.list()
  m.set('tributary_topics', 'Number of topics, internal ones included', {}, list.length)
  for (const t of list) {
    for (let p = 0; p < t.partitions; p++) {
      const log = topics.partitionLog(t.name, p)
      if (!log) continue
      const labels = { topic: t.name, partition: String(p) }
      m.set('tributary_log_end_offset', 'Next offset to be assigned in the partition', labels, log.logEndOffset)
      m.set('tributary_log_start_offset', 'First offset still retained in the partition', labels, log.logStartOffset)
      m.set('tributary_log_size_bytes', 'Bytes of all segment files of the partition', labels, log.size)
    }
  }
}

/** One line at start saying what recovery did, when there was anything to recover or anything wrong. */
function logRecovery(logs: LogManager, logger: Logger): void {
  const r = logs.recoverySummary()
  if (r.uncleanPartitions === 0 && r.bytesTruncated === 0 && r.damaged.length === 0) return
  const fields = {
    partitions: r.partitions,
    uncleanPartitions: r.uncleanPartitions,
    segmentsChecked: r.segmentsChecked,
    bytesChecked: r.bytesChecked,
    bytesTruncated: r.bytesTruncated,
    partitionsTruncated: r.partitionsTruncated,
    indexesRebuilt: r.indexesRebuilt,
    openTransactions: r.openTransactions,
    damagedSegments: r.damaged.length,
  }
  const what = r.uncleanPartitions > 0 ? 'recovered after an unclean shutdown' : 'log checks at start'
  if (r.damaged.length > 0) logger.error(`${what}: damaged segments left as they are`, fields)
  else logger.warn(what, fields)
}
