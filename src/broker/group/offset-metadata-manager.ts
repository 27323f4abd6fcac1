/**
 * Committed offsets of consumer groups (Kafka's OffsetMetadataManager side of the group coordinator): OffsetCommit
 * and OffsetFetch, transactional offsets pending until their transaction ends (KIP-98, KIP-447), OffsetDelete,
 * offsets of deleted topics, and retention (offsets.retention.ms). Offsets live on each group of the
 * GroupMetadataManager, whose membership checks a member's commit must pass.
 */
import type { KeyedLog, KeyedRecord } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import type { Clock, Timers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { ClassicGroup, GroupMember } from './classic-group.ts'
import {
  type CommittedOffsetInfo,
  type FetchedOffset,
  getOrCreate,
  type OffsetCommitParams,
  type OffsetFetchResult,
  type PartitionResult,
  type PendingTxnOffset,
  type TopicPartitionsResult,
} from './group-api.ts'
import type { GroupMetadataManager } from './group-metadata-manager.ts'
import { encodeGroupKey, encodeOffsetKey, encodeOffsetValue, type StoredOffset } from './state-store.ts'

export interface OffsetMetadataManagerOptions {
  store: KeyedLog
  clock: Clock
  timers: Timers
  logger: Logger
  offsetsRetentionMs: number
  offsetsRetentionCheckIntervalMs: number
  maxOffsetMetadataBytes: number
  topicExists: (topic: string) => boolean
}

export class OffsetMetadataManager {
  private readonly store: KeyedLog
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly logger: Logger
  private readonly offsetsRetentionMs: number
  private readonly retentionCheckIntervalMs: number
  private readonly maxOffsetMetadataBytes: number
  private readonly topicExists: (topic: string) => boolean
  /** TxnOffsetCommit offsets not yet committed or aborted, per producer id then group (KIP-98, KIP-447). */
  private readonly pendingTxnOffsets = new Map<number, Map<string, PendingTxnOffset[]>>()
  private sweepTimer: unknown = null

  constructor(
    private readonly meta: GroupMetadataManager,
    o: OffsetMetadataManagerOptions,
  ) {
    this.store = o.store
    this.clock = o.clock
    this.timers = o.timers
    this.logger = o.logger
    this.offsetsRetentionMs = o.offsetsRetentionMs
    this.retentionCheckIntervalMs = o.offsetsRetentionCheckIntervalMs
    this.maxOffsetMetadataBytes = o.maxOffsetMetadataBytes
    this.topicExists = o.topicExists
  }

  private get groups(): Map<string, ClassicGroup> {
    return this.meta.groups
  }

  private get status(): 'loading' | 'active' | 'closed' {
    return this.meta.status
  }

  private availabilityError(): number {
    return this.meta.availabilityError()
  }

  private validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    return this.meta.validateCurrentMember(group, memberId, groupInstanceId)
  }

  private scheduleHeartbeat(group: ClassicGroup, member: GroupMember): void {
    this.meta.scheduleHeartbeat(group, member)
  }

  private removeGroup(group: ClassicGroup): void {
    this.meta.removeGroup(group)
  }

  /** Tombstones for every committed offset of `group` (the group is being deleted). */
  tombstonesOf(group: ClassicGroup): KeyedRecord[] {
    const out: KeyedRecord[] = []
    for (const [topic, parts] of group.offsets) {
      for (const partition of parts.keys())
        out.push({ key: encodeOffsetKey(group.groupId, topic, partition), value: null })
    }
    return out
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores offsets replayed from the store; a group without metadata gets an Empty group. */
  restore(offsetValues: Map<string, Map<string, Map<number, StoredOffset | null>>>): void {
    for (const [groupId, topics] of offsetValues) {
      for (const [topic, partitions] of topics) {
        for (const [partition, offset] of partitions) {
          if (!offset) continue
          // Offsets of a group without metadata (simple consumers, admin commits): an Empty group whose
          // retention counts from the commits themselves.
          const group = this.meta.getOrCreateGroup(groupId, 0)
          getOrCreate(group.offsets, topic, () => new Map()).set(partition, offset)
        }
      }
    }
  }

  /** Starts the periodic retention sweep (once loading is done). */
  start(): void {
    this.scheduleSweep()
  }

  close(): void {
    if (this.sweepTimer !== null) this.timers.clearTimeout(this.sweepTimer)
    this.sweepTimer = null
  }

  // ---------------------------------------------------------------- offsets

  async commitOffsets(p: OffsetCommitParams): Promise<TopicPartitionsResult[]> {
    const fill = (errorCode: number): TopicPartitionsResult[] =>
      p.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })),
      }))
    const unavailable = this.availabilityError()
    if (unavailable) return fill(unavailable)
    if (!p.groupId) return fill(ErrorCode.INVALID_GROUP_ID)
    const group = this.groups.get(p.groupId)
    let groupError: number = ErrorCode.NONE
    if (!group) {
      if (p.generationId >= 0) {
        return fill(p.groupIdNotFoundIfMissing ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION)
      }
    } else if (!(p.generationId < 0 && group.is('Empty'))) {
      // Not an admin/simple-consumer commit: it must come from a current member of the current generation.
      groupError = this.validateCurrentMember(group, p.memberId, p.groupInstanceId)
      if (!groupError && p.generationId !== group.generationId) groupError = ErrorCode.ILLEGAL_GENERATION
      if (!groupError && group.is('CompletingRebalance')) groupError = ErrorCode.REBALANCE_IN_PROGRESS
      if (!groupError) this.scheduleHeartbeat(group, group.members.get(p.memberId)!)
    }
    const now = this.clock.now()
    const expireTimestamp = p.retentionTimeMs !== undefined && p.retentionTimeMs >= 0 ? now + p.retentionTimeMs : null
    const results: TopicPartitionsResult[] = []
    const accepted: { topic: string; partition: number; offset: StoredOffset; result: PartitionResult }[] = []
    for (const t of p.topics) {
      const known = this.topicExists(t.name)
      const partitions: PartitionResult[] = []
      for (const x of t.partitions) {
        const result = { partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE as number }
        partitions.push(result)
        if (!known) result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else if (groupError) result.errorCode = groupError
        else if (x.committedMetadata !== null && Buffer.byteLength(x.committedMetadata) > this.maxOffsetMetadataBytes) {
          result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          accepted.push({
            topic: t.name,
            partition: x.partitionIndex,
            result,
            offset: {
              offset: x.committedOffset,
              leaderEpoch: x.committedLeaderEpoch,
              metadata: x.committedMetadata ?? '',
              commitTimestamp: now,
              expireTimestamp,
            },
          })
        }
      }
      results.push({ name: t.name, partitions })
    }
    if (accepted.length === 0) return results
    const target = group ?? this.meta.getOrCreateGroup(p.groupId, now)
    try {
      await this.store.append(
        accepted.map((a) => ({
          key: encodeOffsetKey(p.groupId, a.topic, a.partition),
          value: encodeOffsetValue(a.offset),
        })),
      )
    } catch (err) {
      this.logger.warn('storing committed offsets failed', { group: p.groupId, err })
      for (const a of accepted) a.result.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE
      return results
    }
    if (this.groups.get(p.groupId) === target) {
      for (const a of accepted) {
        getOrCreate(target.offsets, a.topic, () => new Map()).set(a.partition, a.offset)
      }
    }
    return results
  }

  /** topics null = every committed offset of the group. Unknown partitions answer offset -1. */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    requireStable = false,
  ): OffsetFetchResult {
    const result = this.fetchStableOffsets(groupId, topics)
    if (!requireStable || result.errorCode) return result
    // KIP-447: a consumer asking for stable offsets must not start from an offset a transaction may still replace.
    for (const t of result.topics) {
      for (const p of t.partitions) {
        if (this.hasPendingTxnOffset(groupId, t.name, p.partitionIndex)) {
          p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT
          p.committedOffset = -1n
        }
      }
    }
    return result
  }

  private fetchStableOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
  ): OffsetFetchResult {
    const unavailable = this.availabilityError()
    if (unavailable) return { errorCode: unavailable, topics: [] }
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] }
    const group = this.groups.get(groupId)
    const toFetched = (partitionIndex: number, o: StoredOffset | undefined): FetchedOffset =>
      o
        ? {
            partitionIndex,
            committedOffset: o.offset,
            committedLeaderEpoch: o.leaderEpoch,
            metadata: o.metadata ?? '',
            errorCode: ErrorCode.NONE,
          }
        : { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
    if (topics === null) {
      const all: OffsetFetchResult['topics'] = []
      if (group) {
        for (const [name, parts] of [...group.offsets].sort((a, b) => a[0].localeCompare(b[0]))) {
          const partitions = [...parts].sort((a, b) => a[0] - b[0]).map(([i, o]) => toFetched(i, o))
          if (partitions.length > 0) all.push({ name, partitions })
        }
      }
      return { errorCode: ErrorCode.NONE, topics: all }
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((i) => toFetched(i, group?.offsets.get(t.name)?.get(i))),
      })),
    }
  }

  // ---------------------------------------------------------------- transactional offsets

  /**
   * TxnOffsetCommit's group checks (KIP-447): a producer outside the group (no member id, generation -1) may commit;
   * a member must be current and of the current generation, so a zombie of an old generation is refused.
   */
  validateTxnOffsetCommit(p: {
    groupId: string
    generationId: number
    memberId: string
    groupInstanceId: string | null
  }): number {
    const unavailable = this.availabilityError()
    if (unavailable) return unavailable
    if (!p.groupId) return ErrorCode.INVALID_GROUP_ID
    const group = this.groups.get(p.groupId)
    if (!group) return p.generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.NONE
    if (p.memberId !== '') {
      const err = this.validateCurrentMember(group, p.memberId, p.groupInstanceId)
      if (err) return err
    }
    if (p.generationId >= 0 && p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    return ErrorCode.NONE
  }

  /** Checks an offset's metadata size as OffsetCommit does. */
  offsetMetadataError(metadata: string | null): number {
    if (metadata !== null && Buffer.byteLength(metadata) > this.maxOffsetMetadataBytes) {
      return ErrorCode.OFFSET_METADATA_TOO_LARGE
    }
    return ErrorCode.NONE
  }

  /** Records offsets a transaction will commit; the transaction coordinator keeps them durable until it ends. */
  addPendingTxnOffsets(producerId: number, groupId: string, offsets: PendingTxnOffset[]): void {
    const byGroup = getOrCreate(this.pendingTxnOffsets, producerId, (): Map<string, PendingTxnOffset[]> => new Map())
    const list = getOrCreate(byGroup, groupId, () => [])
    for (const o of offsets) {
      const i = list.findIndex((x) => x.topic === o.topic && x.partition === o.partition)
      if (i >= 0) list[i] = o
      else list.push(o)
    }
  }

  /**
   * The transaction's COMMIT marker for the group: its pending offsets become committed offsets (durably, before
   * this resolves); on ABORT they are dropped. Calling it again for the same producer is harmless.
   */
  async completeTxnOffsets(producerId: number, groupIds: string[], commit: boolean): Promise<void> {
    const byGroup = this.pendingTxnOffsets.get(producerId)
    for (const groupId of groupIds) {
      const pending = byGroup?.get(groupId) ?? []
      if (commit && pending.length > 0) {
        // Retention counts from when the offsets became visible, not from the TxnOffsetCommit.
        const now = this.clock.now()
        for (const o of pending) o.offset = { ...o.offset, commitTimestamp: now }
        await this.store.append(
          pending.map((o) => ({
            key: encodeOffsetKey(groupId, o.topic, o.partition),
            value: encodeOffsetValue(o.offset),
          })),
        )
        const group = this.meta.getOrCreateGroup(groupId, this.clock.now())
        for (const o of pending) getOrCreate(group.offsets, o.topic, () => new Map()).set(o.partition, o.offset)
      }
      byGroup?.delete(groupId)
    }
    if (byGroup && byGroup.size === 0) this.pendingTxnOffsets.delete(producerId)
  }

  private hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    for (const byGroup of this.pendingTxnOffsets.values()) {
      const list = byGroup.get(groupId)
      if (list?.some((o) => o.topic === topic && o.partition === partition)) return true
    }
    return false
  }

  /** OffsetDelete: removes committed offsets unless a live consumer-protocol member subscribes to the topic. */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: TopicPartitionsResult[] }> {
    const unavailable = this.availabilityError()
    if (unavailable) return { errorCode: unavailable, topics: [] }
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] }
    const group = this.groups.get(groupId)
    if (!group) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] }
    if (!group.is('Empty') && group.protocolType !== 'consumer')
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] }
    const subscribed = group.is('Empty') ? null : group.subscribedTopics()
    const results: TopicPartitionsResult[] = []
    const deleted: { topic: string; partition: number }[] = []
    for (const t of topics) {
      const known = this.topicExists(t.name)
      results.push({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => {
          if (!known) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
          if (subscribed?.has(t.name)) return { partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }
          if (group.offsets.get(t.name)?.has(partitionIndex)) deleted.push({ topic: t.name, partition: partitionIndex })
          return { partitionIndex, errorCode: ErrorCode.NONE }
        }),
      })
    }
    if (deleted.length > 0) {
      this.removeOffsets(group, deleted)
      try {
        await this.store.append(
          deleted.map((d) => ({ key: encodeOffsetKey(groupId, d.topic, d.partition), value: null })),
        )
      } catch (err) {
        this.logger.warn('storing offset deletion failed', { group: groupId, err })
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] }
      }
    }
    return { errorCode: ErrorCode.NONE, topics: results }
  }

  /** A deleted topic's committed offsets go with it (as in Kafka), in every group. */
  async onTopicDeleted(topic: string): Promise<void> {
    const tombstones: { key: Buffer; value: null }[] = []
    for (const group of this.groups.values()) {
      const partitions = group.offsets.get(topic)
      if (!partitions) continue
      const which = [...partitions.keys()].map((partition) => ({ topic, partition }))
      this.removeOffsets(group, which)
      for (const w of which) tombstones.push({ key: encodeOffsetKey(group.groupId, topic, w.partition), value: null })
    }
    if (tombstones.length > 0) await this.store.append(tombstones)
  }

  private removeOffsets(group: ClassicGroup, which: { topic: string; partition: number }[]): void {
    for (const { topic, partition } of which) {
      const parts = group.offsets.get(topic)
      if (!parts) continue
      parts.delete(partition)
      if (parts.size === 0) group.offsets.delete(topic)
    }
  }

  /**
   * offsets.retention.ms: offsets of an Empty group expire once the group has been empty (and the offset
   * uncommitted) for the retention time; a Stable consumer group loses only offsets of topics it no longer
   * subscribes to. Empty groups left without offsets are deleted. Returns the number of offsets expired.
   */
  async expireOffsets(): Promise<number> {
    if (this.status !== 'active') return 0
    const now = this.clock.now()
    const tombstones: KeyedRecord[] = []
    let expired = 0
    for (const group of [...this.groups.values()]) {
      let subscribed: Set<string> | null = null
      let emptyBase: number | null = null
      if (group.is('Empty')) emptyBase = group.stateTimestamp
      else if (group.is('Stable') && group.protocolType === 'consumer') subscribed = group.subscribedTopics()
      if (emptyBase !== null || subscribed !== null) {
        const gone: { topic: string; partition: number }[] = []
        for (const [topic, parts] of group.offsets) {
          if (subscribed?.has(topic)) continue
          for (const [partition, o] of parts) {
            const due =
              o.expireTimestamp !== null
                ? now >= o.expireTimestamp
                : now - Math.max(o.commitTimestamp, emptyBase ?? 0) >= this.offsetsRetentionMs
            if (due) gone.push({ topic, partition })
          }
        }
        if (gone.length > 0) {
          this.removeOffsets(group, gone)
          expired += gone.length
          for (const g of gone)
            tombstones.push({ key: encodeOffsetKey(group.groupId, g.topic, g.partition), value: null })
        }
      }
      if (group.is('Empty') && !group.hasOffsets() && group.pendingMembers.size === 0) {
        this.removeGroup(group)
        tombstones.push({ key: encodeGroupKey(group.groupId), value: null })
      }
    }
    if (expired > 0) this.logger.info('expired committed offsets', { offsets: expired })
    if (tombstones.length > 0) {
      try {
        await this.store.append(tombstones)
      } catch (err) {
        this.logger.warn('storing offset expiry failed', { err })
      }
    }
    return expired
  }

  private scheduleSweep(): void {
    if (this.status !== 'active') return
    this.sweepTimer = this.timers.setTimeout(() => {
      this.scheduleSweep()
      void this.expireOffsets()
    }, this.retentionCheckIntervalMs)
  }

  /** For the console and CLI: the group's committed offsets, sorted by topic and partition. */
  committedOffsets(groupId: string): CommittedOffsetInfo[] {
    const group = this.groups.get(groupId)
    if (!group) return []
    const out: CommittedOffsetInfo[] = []
    for (const [topic, parts] of group.offsets) {
      for (const [partition, o] of parts) {
        out.push({
          topic,
          partition,
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          commitTimestamp: o.commitTimestamp,
          expireTimestamp: o.expireTimestamp,
        })
      }
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  }
}
