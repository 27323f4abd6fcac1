/**
 * The topic metadata cache (Kafka's MetadataCache): names, ids, partition counts and config overrides, and the
 * cluster id, kept in the cluster metadata log (see metadata-log.ts) so they survive restarts without ad-hoc
 * files. The metadata log is the source of truth; partition directories are reconciled with it at startup. ACLs,
 * SCRAM credentials, client quotas and producer-id blocks are other stores on the same log.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import type { LogConfig, LogManager, PartitionLog } from '../log/index.ts'
import { parseLogConfig, TOPIC_CONFIG_DEFINITIONS } from '../log/index.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { METADATA_TOPIC, type MetadataLog, type MetadataRecord } from './metadata-log.ts'

export { METADATA_TOPIC } from './metadata-log.ts'
export type { QuotaEntity } from './security/quota-store.ts'
export const OFFSETS_TOPIC = '__consumer_offsets'
export const TRANSACTION_STATE_TOPIC = '__transaction_state'
const INTERNAL_TOPICS = new Set([OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC])

export interface TopicInfo {
  name: string
  /** Topic id (UUID string), as in Metadata v10+ and Fetch v13+. */
  id: string
  partitions: number
  /** Config overrides set on this topic (Kafka topic config names). */
  configs: Record<string, string>
  internal: boolean
}

/** An error with the Kafka error code to put into the response. */
export class TopicError extends TributaryError {
  readonly errorCode: number
  constructor(errorCode: number, message: string) {
    super('TRB_TOPIC', message)
    this.errorCode = errorCode
  }
}

const LEGAL = /^[a-zA-Z0-9._-]+$/

/** Kafka's topic name rules; returns an error message or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty"
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."'
  if (name.length > 249) return `Topic name is illegal, it can't be longer than 249 characters, topic name: ${name}`
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`
  }
  return null
}

/**
 * Kafka's rules for one manual replica list (CreateTopics and CreatePartitions assignments), on a cluster whose
 * only broker is `nodeId`.
 */
export function replicaAssignmentProblem(
  brokerIds: number[],
  nodeId: number,
): { errorCode: number; message: string } | null {
  if (brokerIds.length === 0) {
    return {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: 'The manual partition assignment includes an empty replica list.',
    }
  }
  const sorted = [...brokerIds].sort((a, b) => a - b)
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i] !== nodeId) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `The manual partition assignment includes broker ${sorted[i]}, but no such broker is registered.`,
      }
    }
    if (i > 0 && sorted[i] === sorted[i - 1]) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `The manual partition assignment includes the broker ${sorted[i]} more than once.`,
      }
    }
  }
  return null
}

export class TopicRegistry {
  private topics = new Map<string, TopicInfo>()
  private byId = new Map<string, TopicInfo>()
  private adminChain: Promise<unknown> = Promise.resolve()
  private deletedListeners: ((topic: string) => Promise<void>)[] = []
  clusterId = ''

  private constructor(
    private logs: LogManager,
    private metadataLog: MetadataLog,
    private topicDefaults: Record<string, string>,
    private logger: Logger,
  ) {}

  static async open(opts: {
    logs: LogManager
    /** Replayed here: the other stores on it (ACLs, SCRAM, quotas, producer ids) must be registered first. */
    metadataLog: MetadataLog
    topicDefaults: Record<string, string>
    logger: Logger
    clusterId?: string
  }): Promise<TopicRegistry> {
    const reg = new TopicRegistry(opts.logs, opts.metadataLog, opts.topicDefaults, opts.logger)
    opts.metadataLog.register('topic:', (key, rec) => reg.applyTopic(key, rec))
    opts.metadataLog.register('cluster', (_key, rec) => {
      if (rec?.type === 'cluster') reg.clusterId = rec.clusterId
    })
    await opts.metadataLog.replay()
    if (!reg.clusterId) {
      await reg.metadataLog.write(`cluster`, { type: 'cluster', clusterId: opts.clusterId ?? randomClusterId() })
    }
    await reg.reconcile()
    return reg
  }

  private applyTopic(key: string, rec: MetadataRecord | null): void {
    const name = key.slice(6)
    const old = this.topics.get(name)
    if (old) this.byId.delete(old.id)
    if (rec?.type === 'topic') {
      this.topics.set(name, rec.topic)
      this.byId.set(rec.topic.id, rec.topic)
    } else {
      this.topics.delete(name)
    }
  }

  /** Opens every partition log of every known topic; removes directories of topics that no longer exist. */
  private async reconcile(): Promise<void> {
    const known = new Set<string>()
    for (const t of this.topics.values()) {
      const config = this.effectiveConfig(t.name)
      for (let p = 0; p < t.partitions; p++) {
        await this.logs.getOrCreate(t.name, p, config)
        known.add(`${t.name}:${p}`)
      }
    }
    const orphans = new Set<string>()
    for (const { topic, partition } of this.logs.listOnDisk()) {
      if (topic === METADATA_TOPIC) continue
      if (!known.has(`${topic}:${partition}`)) orphans.add(topic)
    }
    for (const topic of orphans) {
      this.logger.warn('removing partition directories of a topic that is not in the metadata log', { topic })
      await this.logs.deleteTopic(topic)
    }
  }

  /** Called after a topic is deleted (the group coordinator drops its committed offsets). */
  onDeleted(listener: (topic: string) => Promise<void>): void {
    this.deletedListeners.push(listener)
  }

  get(name: string): TopicInfo | undefined {
    return this.topics.get(name)
  }

  getById(id: string): TopicInfo | undefined {
    return this.byId.get(id)
  }

  list(): TopicInfo[] {
    return [...this.topics.values()]
  }

  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic, partition)
  }

  /** Kafka's message when a name is not a legal topic name, else null. */
  validateName(name: string): string | null {
    return topicNameProblem(name)
  }

  isInternal(name: string): boolean {
    return INTERNAL_TOPICS.has(name)
  }

  effectiveConfig(name: string): LogConfig {
    const t = this.topics.get(name)
    return parseLogConfig({ ...this.topicDefaults, ...(t?.configs ?? {}) })
  }

  /** Validates a topic creation; throws TopicError with Kafka's error code. */
  validateCreate(name: string, partitions: number, configs: Record<string, string>): void {
    const problem = topicNameProblem(name)
    if (problem) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
    if (name === METADATA_TOPIC) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, `${name} is reserved`)
    if (this.topics.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`)
    const collision = [...this.topics.keys()].find((t) => t.replace(/\./g, '_') === name.replace(/\./g, '_'))
    if (collision) {
      throw new TopicError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${name}' collides with existing topic: ${collision}`,
      )
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100000) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.')
    }
    checkTopicConfigs(this.topicDefaults, configs)
  }

  /** Topic changes run one at a time so validation and the write cannot interleave with another change. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.adminChain.then(fn, fn)
    this.adminChain = p.catch(() => {})
    return p
  }

  create(
    name: string,
    opts: { partitions: number; configs?: Record<string, string>; internal?: boolean },
  ): Promise<TopicInfo> {
    return this.exclusive(() => this.createNow(name, opts))
  }

  private async createNow(
    name: string,
    opts: { partitions: number; configs?: Record<string, string>; internal?: boolean },
  ): Promise<TopicInfo> {
    const configs = opts.configs ?? {}
    this.validateCreate(name, opts.partitions, configs)
    const topic: TopicInfo = {
      name,
      id: randomUUID(),
      partitions: opts.partitions,
      configs,
      internal: opts.internal ?? INTERNAL_TOPICS.has(name),
    }
    // All or nothing: the partitions are created first and the topic exists only once its metadata record is
    // durable. If anything fails (out of file descriptors, disk full) the partitions created so far are removed; a
    // crash in between leaves directories that the next start removes (they are not in the metadata log).
    const config = parseLogConfig({ ...this.topicDefaults, ...configs })
    await this.createPartitions(name, 0, topic.partitions, config)
    try {
      await this.metadataLog.write(`topic:${name}`, { type: 'topic', topic })
    } catch (err) {
      await this.removePartitions(name, 0, topic.partitions)
      throw creationFailed(name, -1, err)
    }
    this.logger.info('topic created', { topic: name, partitions: topic.partitions, id: topic.id })
    return topic
  }

  /** Opens partitions [from, to) of a topic; on failure removes those it created and throws a TopicError. */
  private async createPartitions(name: string, from: number, to: number, config: LogConfig): Promise<void> {
    for (let p = from; p < to; p++) {
      try {
        await this.logs.getOrCreate(name, p, config)
      } catch (err) {
        const failure = creationFailed(name, p, err)
        this.logger.warn('creating partitions failed; removing those created', {
          topic: name,
          partition: p,
          err,
        })
        await this.removePartitions(name, from, to)
        throw failure
      }
    }
  }

  private async removePartitions(name: string, from: number, to: number): Promise<void> {
    for (let p = from; p < to; p++) {
      try {
        await this.logs.deletePartition(name, p)
      } catch (err) {
        this.logger.warn('could not remove a partition of a failed creation', { topic: name, partition: p, err })
      }
    }
  }

  delete(name: string): Promise<void> {
    return this.exclusive(() => this.deleteNow(name))
  }

  private async deleteNow(name: string): Promise<void> {
    const t = this.topics.get(name)
    if (!t)
      throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    await this.metadataLog.write(`topic:${name}`, null)
    await this.logs.deleteTopic(name)
    this.logger.info('topic deleted', { topic: name })
    for (const listener of this.deletedListeners) {
      await listener(name).catch((err) => this.logger.warn('topic deletion listener failed', { topic: name, err }))
    }
  }

  addPartitions(name: string, total: number): Promise<void> {
    return this.exclusive(() => this.addPartitionsNow(name, total))
  }

  private async addPartitionsNow(name: string, total: number): Promise<void> {
    const t = this.topics.get(name)
    if (!t)
      throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    if (total <= t.partitions) {
      throw new TopicError(
        ErrorCode.INVALID_PARTITIONS,
        `Topic currently has ${t.partitions} partitions, which is higher than the requested ${total}.`,
      )
    }
    // As for topics: the new partitions exist first, the record that makes them visible comes last.
    await this.createPartitions(name, t.partitions, total, this.effectiveConfig(name))
    try {
      await this.metadataLog.write(`topic:${name}`, { type: 'topic', topic: { ...t, partitions: total } })
    } catch (err) {
      await this.removePartitions(name, t.partitions, total)
      throw creationFailed(name, -1, err)
    }
    this.logger.info('partitions added', { topic: name, partitions: total })
  }

  /** Replaces a topic's config overrides (validated first) and applies them to open partition logs. */
  setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    return this.exclusive(() => this.setConfigsNow(name, configs))
  }

  private async setConfigsNow(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.topics.get(name)
    if (!t)
      throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    const config = checkTopicConfigs(this.topicDefaults, configs)
    await this.metadataLog.write(`topic:${name}`, { type: 'topic', topic: { ...t, configs } })
    for (let p = 0; p < t.partitions; p++) this.logs.get(name, p)?.updateConfig(config)
  }
}

/** Parses overrides over the broker defaults; unknown keys and bad values are INVALID_CONFIG, as in Kafka. */
export function checkTopicConfigs(defaults: Record<string, string>, configs: Record<string, string>): LogConfig {
  for (const key of Object.keys(configs)) {
    if (!TOPIC_CONFIG_DEFINITIONS.has(key))
      throw new TopicError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${key}`)
  }
  try {
    return parseLogConfig({ ...defaults, ...configs })
  } catch (err) {
    throw new TopicError(ErrorCode.INVALID_CONFIG, (err as Error).message)
  }
}

/** Why creating a topic (or partition `partition`, -1 for its metadata record) failed, as Kafka's error. */
function creationFailed(topic: string, partition: number, err: unknown): TopicError {
  if (err instanceof TopicError) return err
  const code = (err as NodeJS.ErrnoException).code
  const cause =
    code === 'EMFILE' || code === 'ENFILE'
      ? `the broker is out of file descriptors (${code}); raise its limit (ulimit -n) or lower max.connections`
      : code === 'ENOSPC'
        ? 'the disk is full (ENOSPC)'
        : (err as Error).message
  const what = partition >= 0 ? `partition ${partition} of topic '${topic}'` : `topic '${topic}'`
  return new TopicError(ErrorCode.UNKNOWN_SERVER_ERROR, `Could not create ${what}: ${cause}. Nothing was created.`)
}

function randomClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url')
}
