/**
 * The group coordinator for classic (JoinGroup/SyncGroup) consumer groups, with Kafka's semantics: a thin facade
 * over membership and rebalancing (GroupMetadataManager) and committed offsets (OffsetMetadataManager), which share
 * one KeyedLog. load() replays that store at startup; until it finishes every group API answers
 * COORDINATOR_LOAD_IN_PROGRESS. Assignments and subscriptions are opaque bytes relayed between members; the only
 * bytes ever read are `consumer` protocol subscriptions, to know which topics a group is subscribed to.
 */
import type { KeyedLog, KeyedRecord } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import { type Clock, systemClock, systemTimers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { JoinGroupResult, SyncGroupResult } from './classic-group.ts'
import {
  type CommittedOffsetInfo,
  type DescribedGroupInfo,
  type GroupCoordinatorOptions,
  type GroupDetails,
  getOrCreate,
  type HeartbeatParams,
  type JoinGroupParams,
  type LeaveGroupResult,
  type LeavingMember,
  type ListedGroupInfo,
  noopLogger,
  type OffsetCommitParams,
  type OffsetFetchResult,
  type PendingTxnOffset,
  type SyncGroupParams,
  type TopicPartitionsResult,
} from './group-api.ts'
import { GroupMetadataManager } from './group-metadata-manager.ts'
import { OffsetMetadataManager } from './offset-metadata-manager.ts'
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupKey,
  type StoredGroup,
  type StoredOffset,
} from './state-store.ts'

export type { GroupState, JoinGroupResult, SyncGroupResult } from './classic-group.ts'
export type * from './group-api.ts'

export class GroupCoordinator {
  private readonly store: KeyedLog
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly meta: GroupMetadataManager
  private readonly offsets: OffsetMetadataManager

  constructor(options: GroupCoordinatorOptions) {
    this.store = options.store
    this.clock = options.clock ?? systemClock
    const timers = options.timers ?? systemTimers
    this.logger = options.logger ?? noopLogger
    const common = { store: this.store, clock: this.clock, timers, logger: this.logger }
    this.meta = new GroupMetadataManager({
      ...common,
      initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 3000,
      minSessionTimeoutMs: options.minSessionTimeoutMs ?? 6000,
      maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 30 * 60 * 1000,
    })
    this.offsets = new OffsetMetadataManager(this.meta, {
      ...common,
      offsetsRetentionMs: options.offsetsRetentionMs ?? 7 * 24 * 60 * 60 * 1000,
      offsetsRetentionCheckIntervalMs: options.offsetsRetentionCheckIntervalMs ?? 10 * 60 * 1000,
      maxOffsetMetadataBytes: options.maxOffsetMetadataBytes ?? 4096,
      topicExists: options.topicExists ?? (() => true),
    })
  }

  // ---------------------------------------------------------------- lifecycle

  /** Replays the store; until it finishes every group API answers COORDINATOR_LOAD_IN_PROGRESS. */
  async load(): Promise<void> {
    const groupValues = new Map<string, StoredGroup | null>()
    const offsetValues = new Map<string, Map<string, Map<number, StoredOffset | null>>>()
    let records = 0
    let skipped = 0
    await this.store.replay((record) => {
      records++
      try {
        const key = decodeKey(record.key)
        if (key.kind === 'group') {
          groupValues.set(key.group, record.value ? decodeGroupValue(record.value) : null)
        } else {
          const topics = getOrCreate(offsetValues, key.group, () => new Map())
          const partitions = getOrCreate(topics, key.topic, () => new Map())
          partitions.set(key.partition, record.value ? decodeOffsetValue(record.value) : null)
        }
      } catch (err) {
        skipped++
        this.logger.warn('skipping unreadable group state record', { err })
      }
    })
    if (this.meta.status === 'closed') return
    const now = this.clock.now()
    this.meta.restore(groupValues)
    this.offsets.restore(offsetValues)
    this.meta.activate()
    this.offsets.start()
    this.logger.info('group coordinator loaded', { groups: this.meta.groups.size, records, skipped, at: now })
  }

  /** Stops all timers; JoinGroup/SyncGroup calls still waiting get COORDINATOR_NOT_AVAILABLE. */
  async close(): Promise<void> {
    if (this.meta.status === 'closed') return
    this.offsets.close()
    this.meta.close()
    this.logger.info('group coordinator closed')
  }

  /** NONE when group requests can be served, else the error code to answer with. */
  availabilityError(): number {
    return this.meta.availabilityError()
  }

  // ---------------------------------------------------------------- membership (GroupMetadataManager)

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    return this.meta.joinGroup(params)
  }

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    return this.meta.syncGroup(p)
  }

  heartbeat(p: HeartbeatParams): number {
    return this.meta.heartbeat(p)
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    return this.meta.leaveGroup(groupId, leaving)
  }

  /** DeleteGroups: an Empty group goes with its committed offsets (tombstones for both, written together). */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const unavailable = this.availabilityError()
    if (unavailable) return groupIds.map((groupId) => ({ groupId, errorCode: unavailable }))
    const results: { groupId: string; errorCode: number }[] = []
    const tombstones: KeyedRecord[] = []
    const deleted: { groupId: string; errorCode: number }[] = []
    for (const groupId of groupIds) {
      const group = groupId ? this.meta.groups.get(groupId) : undefined
      let errorCode: number = ErrorCode.NONE
      if (!groupId) errorCode = ErrorCode.INVALID_GROUP_ID
      else if (!group) errorCode = ErrorCode.GROUP_ID_NOT_FOUND
      else if (!group.is('Empty')) errorCode = ErrorCode.NON_EMPTY_GROUP
      else {
        tombstones.push(...this.offsets.tombstonesOf(group))
        tombstones.push({ key: encodeGroupKey(groupId), value: null })
        this.meta.removeGroup(group)
      }
      const result = { groupId, errorCode }
      if (errorCode === ErrorCode.NONE) deleted.push(result)
      results.push(result)
    }
    if (tombstones.length > 0) {
      try {
        await this.store.append(tombstones)
        this.logger.info('groups deleted', { groups: deleted.map((d) => d.groupId) })
      } catch (err) {
        this.logger.warn('storing group deletion failed', { err })
        for (const d of deleted) d.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE
      }
    }
    return results
  }

  listGroups(filter: { states?: string[]; types?: string[] } = {}): ListedGroupInfo[] {
    return this.meta.listGroups(filter)
  }

  describeGroups(groupIds: string[]): DescribedGroupInfo[] {
    return this.meta.describeGroups(groupIds)
  }

  describeGroup(groupId: string): GroupDetails | undefined {
    return this.meta.describeGroup(groupId)
  }

  // ---------------------------------------------------------------- committed offsets (OffsetMetadataManager)

  commitOffsets(p: OffsetCommitParams): Promise<TopicPartitionsResult[]> {
    return this.offsets.commitOffsets(p)
  }

  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    requireStable = false,
  ): OffsetFetchResult {
    return this.offsets.fetchOffsets(groupId, topics, requireStable)
  }

  validateTxnOffsetCommit(p: {
    groupId: string
    generationId: number
    memberId: string
    groupInstanceId: string | null
  }): number {
    return this.offsets.validateTxnOffsetCommit(p)
  }

  offsetMetadataError(metadata: string | null): number {
    return this.offsets.offsetMetadataError(metadata)
  }

  addPendingTxnOffsets(producerId: number, groupId: string, offsets: PendingTxnOffset[]): void {
    this.offsets.addPendingTxnOffsets(producerId, groupId, offsets)
  }

  completeTxnOffsets(producerId: number, groupIds: string[], commit: boolean): Promise<void> {
    return this.offsets.completeTxnOffsets(producerId, groupIds, commit)
  }

  deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: TopicPartitionsResult[] }> {
    return this.offsets.deleteOffsets(groupId, topics)
  }

  onTopicDeleted(topic: string): Promise<void> {
    return this.offsets.onTopicDeleted(topic)
  }

  expireOffsets(): Promise<number> {
    return this.offsets.expireOffsets()
  }

  committedOffsets(groupId: string): CommittedOffsetInfo[] {
    return this.offsets.committedOffsets(groupId)
  }
}
