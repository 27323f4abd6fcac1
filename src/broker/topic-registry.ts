/**
 * Topic metadata (names, ids, partition counts, config overrides) and other small cluster state, kept in a
 * compacted metadata log (`__cluster_metadata`, partition 0) so it survives restarts without ad-hoc files.
 * The metadata log is the source of truth; partition directories are reconciled with it at startup.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import type { LogConfig, LogManager, PartitionLog } from '../log/index.ts'
import { parseLogConfig, TOPIC_CONFIG_DEFINITIONS } from '../log/index.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { appendDurably, replayLog } from './internal-topic.ts'
import type { AclBinding } from './security/acl.ts'
import type { ScramCredential, ScramMechanism } from './security/scram.ts'

export const METADATA_TOPIC = '__cluster_metadata'
export const OFFSETS_TOPIC = '__consumer_offsets'
export const TRANSACTION_STATE_TOPIC = '__transaction_state'
const INTERNAL_TOPICS = new Set([OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC])
const PRODUCER_ID_BLOCK_SIZE = 1000

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

type MetadataRecord =
  | { type: 'topic'; topic: TopicInfo }
  | { type: 'producer-ids'; next: number }
  | { type: 'cluster'; clusterId: string }
  | { type: 'scram-credential'; user: string; credential: ScramCredential }
  | { type: 'acl'; acl: AclBinding }
  | { type: 'client-quota'; entity: QuotaEntity; values: Record<string, number> }

/** A client-quota entity: entity type ("user", "client-id") → name, null meaning the type's default. */
export type QuotaEntity = Record<string, string | null>

function quotaKey(entity: QuotaEntity): string {
  return `quota:${JSON.stringify(Object.entries(entity).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`
}

function aclKey(b: AclBinding): string {
  return `acl:${JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType])}`
}

export class TopicRegistry {
  private topics = new Map<string, TopicInfo>()
  private byId = new Map<string, TopicInfo>()
  private nextProducerId = 0
  private producerIdLimit = 0
  private pending: Promise<unknown> = Promise.resolve()
  private allocating: Promise<void> | null = null
  private adminChain: Promise<unknown> = Promise.resolve()
  private deletedListeners: ((topic: string) => Promise<void>)[] = []
  private scram = new Map<string, ScramCredential>()
  private aclBindings = new Map<string, AclBinding>()
  private aclVersion = 0
  private quotas = new Map<string, { entity: QuotaEntity; values: Record<string, number> }>()
  private quotaVersion = 0
  private aclSnapshot: { version: number; bindings: AclBinding[] } | undefined
  private quotaSnapshot:
    | { version: number; entries: { entity: QuotaEntity; values: Record<string, number> }[] }
    | undefined
  clusterId = ''

  private constructor(
    private logs: LogManager,
    private metaLog: PartitionLog,
    private topicDefaults: Record<string, string>,
    private logger: Logger,
  ) {}

  static async open(opts: {
    logs: LogManager
    topicDefaults: Record<string, string>
    logger: Logger
    clusterId?: string
  }): Promise<TopicRegistry> {
    const metaLog = await opts.logs.getOrCreate(
      METADATA_TOPIC,
      0,
      parseLogConfig({ 'cleanup.policy': 'compact', 'segment.bytes': String(16 * 1024 * 1024) }),
    )
    const reg = new TopicRegistry(opts.logs, metaLog, opts.topicDefaults, opts.logger)
    await reg.replay()
    if (!reg.clusterId) {
      await reg.write(`cluster`, { type: 'cluster', clusterId: opts.clusterId ?? randomClusterId() })
    }
    await reg.reconcile()
    return reg
  }

  private async replay(): Promise<void> {
    for await (const r of replayLog(this.metaLog)) {
      this.applyRecord(r.key.toString(), r.value ? (JSON.parse(r.value.toString()) as MetadataRecord) : null)
    }
  }

  private applyRecord(key: string, rec: MetadataRecord | null): void {
    if (key.startsWith('topic:')) {
      const name = key.slice(6)
      const old = this.topics.get(name)
      if (old) this.byId.delete(old.id)
      if (rec?.type === 'topic') {
        this.topics.set(name, rec.topic)
        this.byId.set(rec.topic.id, rec.topic)
      } else {
        this.topics.delete(name)
      }
    } else if (key.startsWith('scram:')) {
      if (rec?.type === 'scram-credential') this.scram.set(key, rec.credential)
      else this.scram.delete(key)
    } else if (key.startsWith('acl:')) {
      if (rec?.type === 'acl') this.aclBindings.set(key, rec.acl)
      else this.aclBindings.delete(key)
      this.aclVersion++
    } else if (key.startsWith('quota:')) {
      if (rec?.type === 'client-quota') this.quotas.set(key, { entity: rec.entity, values: rec.values })
      else this.quotas.delete(key)
      this.quotaVersion++
    } else if (rec?.type === 'producer-ids') {
      this.nextProducerId = rec.next
      this.producerIdLimit = rec.next
    } else if (rec?.type === 'cluster') {
      this.clusterId = rec.clusterId
    }
  }

  /** Appends one metadata record durably, then applies it. Writes are serialized. */
  private write(key: string, rec: MetadataRecord | null): Promise<void> {
    const run = async () => {
      await appendDurably(this.metaLog, [
        { key: Buffer.from(key), value: rec ? Buffer.from(JSON.stringify(rec)) : null },
      ])
      this.applyRecord(key, rec)
    }
    const p = this.pending.then(run, run)
    this.pending = p.catch(() => {})
    return p
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
      await this.write(`topic:${name}`, { type: 'topic', topic })
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
    await this.write(`topic:${name}`, null)
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
      await this.write(`topic:${name}`, { type: 'topic', topic: { ...t, partitions: total } })
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
    await this.write(`topic:${name}`, { type: 'topic', topic: { ...t, configs } })
    for (let p = 0; p < t.partitions; p++) this.logs.get(name, p)?.updateConfig(config)
  }

  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.scram.get(`scram:${mechanism}:${user}`)
  }

  /** Every user with SCRAM credentials, with the mechanisms and iteration counts (never the keys). */
  scramUsers(): Map<string, ScramCredential[]> {
    const out = new Map<string, ScramCredential[]>()
    for (const [key, cred] of this.scram) {
      const user = key.slice(`scram:${cred.mechanism}:`.length)
      out.set(user, [...(out.get(user) ?? []), cred])
    }
    return out
  }

  /** Stores (or, with null, deletes) one user's credential for one mechanism, durably. */
  setScramCredential(user: string, mechanism: ScramMechanism, credential: ScramCredential | null): Promise<void> {
    const key = `scram:${mechanism}:${user}`
    return this.write(key, credential ? { type: 'scram-credential', user, credential } : null)
  }

  /** The ACL set; `version` changes with every change so readers can cache indexes. Called per authorization. */
  acls(): { version: number; bindings: AclBinding[] } {
    if (this.aclSnapshot?.version !== this.aclVersion) {
      this.aclSnapshot = { version: this.aclVersion, bindings: [...this.aclBindings.values()] }
    }
    return this.aclSnapshot
  }

  /** Adds an ACL binding durably; adding one that exists changes nothing. */
  async addAcl(acl: AclBinding): Promise<void> {
    const key = aclKey(acl)
    if (!this.aclBindings.has(key)) await this.write(key, { type: 'acl', acl })
  }

  async removeAcl(acl: AclBinding): Promise<void> {
    const key = aclKey(acl)
    if (this.aclBindings.has(key)) await this.write(key, null)
  }

  /** Called for every request by the quota manager, hence the snapshot per version. */
  clientQuotas(): { version: number; entries: { entity: QuotaEntity; values: Record<string, number> }[] } {
    if (this.quotaSnapshot?.version !== this.quotaVersion) {
      this.quotaSnapshot = { version: this.quotaVersion, entries: [...this.quotas.values()] }
    }
    return this.quotaSnapshot
  }

  /** Replaces the quota values of one entity durably; an empty set removes the entity. */
  setClientQuota(entity: QuotaEntity, values: Record<string, number>): Promise<void> {
    const key = quotaKey(entity)
    if (Object.keys(values).length === 0) return this.quotas.has(key) ? this.write(key, null) : Promise.resolve()
    return this.write(key, { type: 'client-quota', entity, values })
  }

  /** Hands out producer ids; blocks are persisted before use so ids never repeat across restarts. */
  async allocateProducerId(): Promise<number> {
    while (this.nextProducerId >= this.producerIdLimit) {
      this.allocating ??= (async () => {
        const next = this.producerIdLimit + PRODUCER_ID_BLOCK_SIZE
        await this.write('producer-ids', { type: 'producer-ids', next })
        this.nextProducerId = next - PRODUCER_ID_BLOCK_SIZE
        this.producerIdLimit = next
      })().finally(() => {
        this.allocating = null
      })
      await this.allocating
    }
    return this.nextProducerId++
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
