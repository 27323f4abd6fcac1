/**
 * The group coordinator for classic (JoinGroup/SyncGroup) consumer groups, with Kafka's semantics: member ids
 * handed out by MEMBER_ID_REQUIRED, rebalances that wait for every known member (or the rebalance timeout), the
 * initial rebalance delay for new groups, session-timeout expiry, static membership, and committed offsets with
 * retention. Assignments and subscriptions are opaque bytes relayed between members; the only bytes ever read are
 * `consumer` protocol subscriptions, to know which topics a group is subscribed to.
 *
 * Every state change happens synchronously inside one call; JoinGroup and SyncGroup return promises that the
 * rebalance resolves. Group metadata and offsets are written to a KeyedLog (record format in state-store.ts) and
 * replayed by load() at startup.
 */
import { randomUUID } from 'node:crypto'
import type { KeyedLog, KeyedRecord } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import { type Clock, systemClock, systemTimers, type Timers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import {
  ClassicGroup,
  EMPTY_BYTES,
  GroupMember,
  type GroupProtocol,
  type GroupState,
  type JoinGroupResult,
  type SyncGroupResult,
} from './classic-group.ts'
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
  type StoredGroup,
  type StoredOffset,
} from './state-store.ts'

export type { GroupState, JoinGroupResult, SyncGroupResult } from './classic-group.ts'

export interface GroupCoordinatorOptions {
  /** Where group state is kept: the broker's `__consumer_offsets` partition. */
  store: KeyedLog
  clock?: Clock
  timers?: Timers
  logger?: Logger
  /** group.initial.rebalance.delay.ms (Kafka default 3000). */
  initialRebalanceDelayMs?: number
  /** offsets.retention.ms (Kafka default 7 days). */
  offsetsRetentionMs?: number
  /** offsets.retention.check.interval.ms (Kafka default 10 minutes). */
  offsetsRetentionCheckIntervalMs?: number
  /** group.min.session.timeout.ms / group.max.session.timeout.ms (Kafka defaults 6 s / 30 min). */
  minSessionTimeoutMs?: number
  maxSessionTimeoutMs?: number
  /** offset.metadata.max.bytes (Kafka default 4096). */
  maxOffsetMetadataBytes?: number
  /** Commits and offset deletes for topics this rejects get UNKNOWN_TOPIC_OR_PARTITION. */
  topicExists?: (topic: string) => boolean
}

export interface JoinGroupParams {
  groupId: string
  memberId: string
  groupInstanceId: string | null
  sessionTimeoutMs: number
  /** -1 (JoinGroup v0) means "same as the session timeout". */
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: GroupProtocol[]
  clientId: string
  clientHost: string
  /** JoinGroup v4+: an unknown dynamic member first gets MEMBER_ID_REQUIRED and must rejoin with that id. */
  requireKnownMemberId: boolean
  /** JoinGroup v9+: a static leader rejoining a stable group may be told to skip the assignment. */
  supportSkippingAssignment: boolean
  reason?: string | null
}

export interface SyncGroupParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
  protocolType: string | null
  protocolName: string | null
  assignments: { memberId: string; assignment: Buffer }[]
}

export interface HeartbeatParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

export interface LeavingMember {
  memberId: string
  groupInstanceId: string | null
  reason?: string | null
}

export interface LeaveGroupResult {
  errorCode: number
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[]
}

export interface OffsetCommitParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
  /** OffsetCommit v2–v4 retention_time_ms; -1 = broker default retention. */
  retentionTimeMs?: number
  /** OffsetCommit v9+: a commit with a generation to a group that does not exist gets GROUP_ID_NOT_FOUND. */
  groupIdNotFoundIfMissing?: boolean
  topics: {
    name: string
    partitions: {
      partitionIndex: number
      committedOffset: bigint
      committedLeaderEpoch: number
      committedMetadata: string | null
    }[]
  }[]
}

export interface PendingTxnOffset {
  topic: string
  partition: number
  offset: StoredOffset
}

export interface PartitionResult {
  partitionIndex: number
  errorCode: number
}

export interface TopicPartitionsResult {
  name: string
  partitions: PartitionResult[]
}

export interface FetchedOffset {
  partitionIndex: number
  committedOffset: bigint
  committedLeaderEpoch: number
  metadata: string
  errorCode: number
}

export interface OffsetFetchResult {
  errorCode: number
  topics: { name: string; partitions: FetchedOffset[] }[]
}

export interface ListedGroupInfo {
  groupId: string
  protocolType: string
  state: GroupState
  groupType: 'classic'
}

export interface DescribedMemberInfo {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  memberMetadata: Buffer
  memberAssignment: Buffer
}

export interface DescribedGroupInfo {
  errorCode: number
  groupId: string
  state: GroupState
  protocolType: string
  protocol: string
  members: DescribedMemberInfo[]
}

export interface GroupDetails {
  groupId: string
  state: GroupState
  protocolType: string | null
  protocol: string | null
  generationId: number
  leader: string | null
  members: (DescribedMemberInfo & { sessionTimeoutMs: number; rebalanceTimeoutMs: number })[]
}

export interface CommittedOffsetInfo {
  topic: string
  partition: number
  offset: bigint
  leaderEpoch: number
  metadata: string | null
  commitTimestamp: number
  expireTimestamp: number | null
}

/** Kafka gives a member that joined but never got a JoinGroup response this long before dropping it. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000

const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger
  },
}

function joinError(errorCode: number, memberId = ''): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES }
}

export class GroupCoordinator {
  private readonly store: KeyedLog
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly logger: Logger
  private readonly initialRebalanceDelayMs: number
  private readonly offsetsRetentionMs: number
  private readonly retentionCheckIntervalMs: number
  private readonly minSessionTimeoutMs: number
  private readonly maxSessionTimeoutMs: number
  private readonly maxOffsetMetadataBytes: number
  private readonly topicExists: (topic: string) => boolean
  private readonly groups = new Map<string, ClassicGroup>()
  /** TxnOffsetCommit offsets not yet committed or aborted, per producer id then group (KIP-98, KIP-447). */
  private readonly pendingTxnOffsets = new Map<number, Map<string, PendingTxnOffset[]>>()
  private status: 'loading' | 'active' | 'closed' = 'loading'
  private sweepTimer: unknown = null

  constructor(options: GroupCoordinatorOptions) {
    this.store = options.store
    this.clock = options.clock ?? systemClock
    this.timers = options.timers ?? systemTimers
    this.logger = options.logger ?? noopLogger
    this.initialRebalanceDelayMs = options.initialRebalanceDelayMs ?? 3000
    this.offsetsRetentionMs = options.offsetsRetentionMs ?? 7 * 24 * 60 * 60 * 1000
    this.retentionCheckIntervalMs = options.offsetsRetentionCheckIntervalMs ?? 10 * 60 * 1000
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? 6000
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 30 * 60 * 1000
    this.maxOffsetMetadataBytes = options.maxOffsetMetadataBytes ?? 4096
    this.topicExists = options.topicExists ?? (() => true)
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
    if (this.status === 'closed') return
    const now = this.clock.now()
    for (const [groupId, stored] of groupValues) {
      if (stored) this.groups.set(groupId, this.restoreGroup(groupId, stored))
    }
    for (const [groupId, topics] of offsetValues) {
      for (const [topic, partitions] of topics) {
        for (const [partition, offset] of partitions) {
          if (!offset) continue
          let group = this.groups.get(groupId)
          if (!group) {
            // Offsets of a group without metadata (simple consumers, admin commits): an Empty group whose
            // retention counts from the commits themselves.
            group = new ClassicGroup(groupId, 0)
            this.groups.set(groupId, group)
          }
          getOrCreate(group.offsets, topic, () => new Map()).set(partition, offset)
        }
      }
    }
    this.status = 'active'
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) this.scheduleHeartbeat(group, member)
    }
    this.scheduleSweep()
    this.logger.info('group coordinator loaded', { groups: this.groups.size, records, skipped, at: now })
  }

  private restoreGroup(groupId: string, stored: StoredGroup): ClassicGroup {
    const group = new ClassicGroup(groupId, stored.stateTimestamp)
    group.protocolType = stored.protocolType
    group.protocolName = stored.protocol
    group.generationId = stored.generation
    for (const m of stored.members) {
      const member = new GroupMember({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        protocolType: stored.protocolType ?? '',
        protocols: [{ name: stored.protocol ?? '', metadata: m.metadata }],
      })
      member.assignment = m.assignment
      member.isNew = false
      group.add(member)
    }
    group.protocolType = stored.protocolType
    if (stored.leader !== null && group.members.has(stored.leader)) group.leaderId = stored.leader
    group.state = group.members.size > 0 ? 'Stable' : 'Empty'
    return group
  }

  /** Stops all timers; JoinGroup/SyncGroup calls still waiting get COORDINATOR_NOT_AVAILABLE. */
  async close(): Promise<void> {
    if (this.status === 'closed') return
    this.status = 'closed'
    if (this.sweepTimer !== null) this.timers.clearTimeout(this.sweepTimer)
    this.sweepTimer = null
    for (const group of this.groups.values()) {
      this.clearGroupTimers(group)
      for (const member of group.members.values()) {
        this.clearHeartbeat(member)
        this.resolveJoin(member, joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId))
        this.resolveSync(member, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE))
      }
    }
    this.groups.clear()
    this.logger.info('group coordinator closed')
  }

  /** NONE when group requests can be served, else the error code to answer with. */
  availabilityError(): number {
    if (this.status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    if (this.status === 'closed') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    return ErrorCode.NONE
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    const unavailable = this.availabilityError()
    if (unavailable) return Promise.resolve(joinError(unavailable, params.memberId))
    if (!params.groupId) return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, params.memberId))
    if (params.sessionTimeoutMs < this.minSessionTimeoutMs || params.sessionTimeoutMs > this.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, params.memberId))
    }
    if (params.rebalanceTimeoutMs < 0) params = { ...params, rebalanceTimeoutMs: params.sessionTimeoutMs }
    const isUnknownMember = params.memberId === ''
    let group = this.groups.get(params.groupId)
    if (!group) {
      if (!isUnknownMember) return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, params.memberId))
      if (params.protocolType === '' || params.protocols.length === 0) {
        return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, params.memberId))
      }
      group = new ClassicGroup(params.groupId, this.clock.now())
      this.groups.set(params.groupId, group)
    }
    const g = group
    if (
      !g.supportsProtocols(
        params.protocolType,
        params.protocols.map((p) => p.name),
      )
    ) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, params.memberId))
    }
    return new Promise((resolve) => {
      if (isUnknownMember) this.joinUnknownMember(g, params, resolve)
      else this.joinKnownMember(g, params, resolve)
    })
  }

  private joinUnknownMember(group: ClassicGroup, p: JoinGroupParams, done: (r: JoinGroupResult) => void): void {
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(p.groupInstanceId)
      if (oldMemberId !== undefined && group.members.has(oldMemberId)) {
        this.replaceStaticMember(group, p, oldMemberId, newMemberId, done)
      } else {
        this.addMemberAndRebalance(group, p, newMemberId, done)
      }
      return
    }
    if (p.requireKnownMemberId) {
      // The member gets its id first and must come back with it, so a client that loses the response (timeout,
      // disconnect) does not leave a phantom member behind that the rebalance would wait for.
      const timer = this.timers.setTimeout(() => this.expirePendingMember(group, newMemberId), p.sessionTimeoutMs)
      group.pendingMembers.set(newMemberId, timer)
      done(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId))
      return
    }
    this.addMemberAndRebalance(group, p, newMemberId, done)
  }

  private joinKnownMember(group: ClassicGroup, p: JoinGroupParams, done: (r: JoinGroupResult) => void): void {
    const pendingTimer = group.pendingMembers.get(p.memberId)
    if (pendingTimer !== undefined) {
      this.timers.clearTimeout(pendingTimer)
      group.pendingMembers.delete(p.memberId)
      this.addMemberAndRebalance(group, p, p.memberId, done)
      return
    }
    const error = this.validateCurrentMember(group, p.memberId, p.groupInstanceId)
    if (error) {
      done(joinError(error, p.memberId))
      return
    }
    const member = group.members.get(p.memberId)!
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, p, done)
        return
      case 'CompletingRebalance':
        if (member.matches(p.protocols)) {
          // A retried JoinGroup whose response got lost: answer it again with the current generation.
          done(this.currentJoinResult(group, member))
        } else {
          this.updateMemberAndRebalance(group, member, p, done)
        }
        return
      case 'Stable':
        if (group.isLeader(member.memberId) || !member.matches(p.protocols)) {
          // The leader rejoining means it wants a new assignment (e.g. metadata changed): rebalance.
          this.updateMemberAndRebalance(group, member, p, done)
        } else {
          this.scheduleHeartbeat(group, member)
          done(this.currentJoinResult(group, member))
        }
        return
      default:
        done(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId))
    }
  }

  private currentJoinResult(group: ClassicGroup, member: GroupMember): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    }
  }

  private addMemberAndRebalance(
    group: ClassicGroup,
    p: JoinGroupParams,
    memberId: string,
    done: (r: JoinGroupResult) => void,
  ): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: p.groupInstanceId,
      clientId: p.clientId,
      clientHost: p.clientHost,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs,
      sessionTimeoutMs: p.sessionTimeoutMs,
      protocolType: p.protocolType,
      protocols: p.protocols,
    })
    group.add(member)
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true
    member.joinWaiter = done
    this.scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
    this.maybePrepareRebalance(group, `member ${memberId} joined`)
    this.tryCompleteJoin(group)
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: GroupMember,
    p: JoinGroupParams,
    done: (r: JoinGroupResult) => void,
  ): void {
    member.protocols = p.protocols
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs
    member.sessionTimeoutMs = p.sessionTimeoutMs
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    // A second JoinGroup while the first still waits: the client gave up on the first one.
    this.resolveJoin(member, joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId))
    member.joinWaiter = done
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined`)
    this.tryCompleteJoin(group)
  }

  private replaceStaticMember(
    group: ClassicGroup,
    p: JoinGroupParams,
    oldMemberId: string,
    newMemberId: string,
    done: (r: JoinGroupResult) => void,
  ): void {
    const old = group.members.get(oldMemberId)!
    this.resolveJoin(old, joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId))
    this.resolveSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID))
    const oldLeader = group.leaderId
    const member = group.replaceStaticMember(oldMemberId, newMemberId)
    member.protocols = p.protocols
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs
    member.sessionTimeoutMs = p.sessionTimeoutMs
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    this.scheduleHeartbeat(group, member)
    this.logger.info('static member replaced', {
      group: group.groupId,
      groupInstanceId: p.groupInstanceId,
      oldMemberId,
      newMemberId,
    })
    switch (group.state) {
      case 'Stable': {
        if (group.selectProtocol() !== group.protocolName) {
          member.joinWaiter = done
          this.prepareRebalance(group, `static member ${newMemberId} rejoined with other protocols`)
          return
        }
        // Nothing changed: keep the generation and the assignment, no rebalance (the point of static membership).
        const generation = group.generationId
        void this.storeGroup(group).then((err) => {
          if (err) return done(joinError(ErrorCode.UNKNOWN_SERVER_ERROR, newMemberId))
          const isLeader = group.isLeader(newMemberId)
          const skip = isLeader && p.supportSkippingAssignment
          done({
            errorCode: ErrorCode.NONE,
            generationId: generation,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            // Without skipAssignment a leader named in the response would reassign, which a stable group never
            // broadcasts; naming the old id makes the client behave as a follower and sync its kept assignment.
            leader: skip ? newMemberId : isLeader ? (oldLeader ?? '') : (group.leaderId ?? ''),
            skipAssignment: skip,
            memberId: newMemberId,
            members: skip ? group.currentMemberMetadata() : [],
          })
        })
        return
      }
      case 'CompletingRebalance':
        // The leader may already be computing an assignment naming the old member id.
        member.joinWaiter = done
        this.prepareRebalance(group, `static member ${newMemberId} replaced during sync`)
        return
      case 'PreparingRebalance':
        member.joinWaiter = done
        this.tryCompleteJoin(group)
        return
      default:
        done(joinError(ErrorCode.UNKNOWN_MEMBER_ID, newMemberId))
    }
  }

  private validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId)
      if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    if (!group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
    return ErrorCode.NONE
  }

  // ---------------------------------------------------------------- rebalance

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group, reason)
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS)
    this.clearPendingSync(group)
    const wasEmpty = group.is('Empty')
    group.transitionTo('PreparingRebalance', this.clock.now())
    this.logger.info('preparing rebalance', { group: group.groupId, generation: group.generationId, reason })
    const rebalanceTimeout = group.rebalanceTimeoutMs
    if (wasEmpty && this.initialRebalanceDelayMs > 0) {
      // Consumers of a new group usually start together: hold the first rebalance open a little so they land in
      // one generation instead of one rebalance per arriving member.
      group.newMemberAdded = false
      group.initialDelayActive = true
      const delay = Math.min(this.initialRebalanceDelayMs, rebalanceTimeout)
      this.armInitialDelay(group, delay, Math.max(rebalanceTimeout - delay, 0))
      return
    }
    group.joinTimer = this.timers.setTimeout(() => {
      group.joinTimer = null
      this.completeJoin(group)
    }, rebalanceTimeout)
    this.tryCompleteJoin(group)
  }

  private armInitialDelay(group: ClassicGroup, delay: number, remaining: number): void {
    group.joinTimer = this.timers.setTimeout(() => {
      group.joinTimer = null
      if (group.newMemberAdded && remaining > 0) {
        group.newMemberAdded = false
        const next = Math.min(this.initialRebalanceDelayMs, remaining)
        this.armInitialDelay(group, next, remaining - next)
      } else {
        group.initialDelayActive = false
        this.completeJoin(group)
      }
    }, delay)
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && !group.initialDelayActive && group.hasAllMembersJoined()) {
      this.completeJoin(group)
    }
  }

  private completeJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance') || this.groups.get(group.groupId) !== group) return
    if (group.joinTimer !== null) this.timers.clearTimeout(group.joinTimer)
    group.joinTimer = null
    group.initialDelayActive = false
    for (const member of [...group.members.values()]) {
      if (!member.joinWaiter && member.groupInstanceId === null) {
        this.logger.info('member did not rejoin in time', { group: group.groupId, memberId: member.memberId })
        this.clearHeartbeat(member)
        this.resolveSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID))
        group.remove(member.memberId)
      }
    }
    if (group.members.size > 0 && !this.electJoinedLeader(group)) {
      // Only static members that have not rejoined are left: wait for them (or for their sessions to expire).
      group.joinTimer = this.timers.setTimeout(() => {
        group.joinTimer = null
        this.completeJoin(group)
      }, group.rebalanceTimeoutMs)
      return
    }
    const now = this.clock.now()
    group.generationId++
    if (group.members.size === 0) {
      group.protocolName = null
      group.transitionTo('Empty', now)
      this.logger.info('group is empty', { group: group.groupId, generation: group.generationId })
      void this.storeGroup(group)
      return
    }
    group.protocolName = group.selectProtocol()
    group.transitionTo('CompletingRebalance', now)
    this.logger.info('rebalance joined', {
      group: group.groupId,
      generation: group.generationId,
      protocol: group.protocolName,
      members: group.members.size,
      leader: group.leaderId,
    })
    for (const member of group.members.values()) {
      if (member.joinWaiter) {
        group.pendingSyncMembers.add(member.memberId)
        this.resolveJoin(member, this.currentJoinResult(group, member))
      }
      member.isNew = false
      this.scheduleHeartbeat(group, member)
    }
    this.schedulePendingSync(group)
  }

  private electJoinedLeader(group: ClassicGroup): boolean {
    const leader = group.leaderId ? group.members.get(group.leaderId) : undefined
    if (leader?.joinWaiter) return true
    for (const m of group.members.values()) {
      if (m.joinWaiter) {
        group.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  private schedulePendingSync(group: ClassicGroup): void {
    this.clearPendingSync(group)
    const generation = group.generationId
    group.pendingSyncTimer = this.timers.setTimeout(() => {
      group.pendingSyncTimer = null
      if (generation !== group.generationId) return
      if (!group.is('CompletingRebalance') && !group.is('Stable')) return
      if (group.pendingSyncMembers.size === 0) return
      const late = [...group.pendingSyncMembers]
      this.logger.info('members did not sync in time', { group: group.groupId, members: late })
      for (const memberId of late) {
        const member = group.remove(memberId)
        if (member) {
          this.clearHeartbeat(member)
          this.resolveSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID))
        }
      }
      this.prepareRebalance(group, 'members did not send SyncGroup within the rebalance timeout')
    }, group.rebalanceTimeoutMs)
  }

  private clearPendingSync(group: ClassicGroup): void {
    group.pendingSyncMembers.clear()
    if (group.pendingSyncTimer !== null) this.timers.clearTimeout(group.pendingSyncTimer)
    group.pendingSyncTimer = null
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES
      this.resolveSync(member, syncError(errorCode))
    }
  }

  private setAndPropagateAssignment(group: ClassicGroup, assignment: Map<string, Buffer>): void {
    for (const member of group.members.values()) {
      member.assignment = assignment.get(member.memberId) ?? EMPTY_BYTES
      if (member.syncWaiter) {
        this.resolveSync(member, {
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        })
        this.scheduleHeartbeat(group, member)
      }
    }
  }

  private resolveJoin(member: GroupMember, result: JoinGroupResult): void {
    const waiter = member.joinWaiter
    member.joinWaiter = null
    waiter?.(result)
  }

  private resolveSync(member: GroupMember, result: SyncGroupResult): void {
    const waiter = member.syncWaiter
    member.syncWaiter = null
    waiter?.(result)
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const unavailable = this.availabilityError()
    if (unavailable) return Promise.resolve(syncError(unavailable))
    if (!p.groupId) return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID))
    const group = this.groups.get(p.groupId)
    if (!group) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    const error = this.validateCurrentMember(group, p.memberId, p.groupInstanceId)
    if (error) return Promise.resolve(syncError(error))
    if (p.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION))
    if (
      (p.protocolType !== null && p.protocolType !== group.protocolType) ||
      (p.protocolName !== null && p.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    }
    const member = group.members.get(p.memberId)!
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
      case 'Stable':
        group.pendingSyncMembers.delete(member.memberId)
        this.scheduleHeartbeat(group, member)
        return Promise.resolve({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        })
      case 'CompletingRebalance':
        return new Promise((resolve) => {
          this.resolveSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS))
          member.syncWaiter = resolve
          group.pendingSyncMembers.delete(member.memberId)
          if (!group.isLeader(member.memberId)) return
          const assignment = new Map<string, Buffer>()
          for (const a of p.assignments) if (group.members.has(a.memberId)) assignment.set(a.memberId, a.assignment)
          const generation = group.generationId
          void this.storeGroup(group, assignment).then((err) => {
            // Another member may have joined while the write was in flight; that rebalance already answered
            // everybody waiting here with REBALANCE_IN_PROGRESS.
            if (!group.is('CompletingRebalance') || group.generationId !== generation) return
            if (err) {
              this.resetAndPropagateAssignmentError(group, ErrorCode.COORDINATOR_NOT_AVAILABLE)
              this.maybePrepareRebalance(group, 'storing the group assignment failed')
              return
            }
            this.setAndPropagateAssignment(group, assignment)
            group.transitionTo('Stable', this.clock.now())
            this.logger.info('group stable', { group: group.groupId, generation })
          })
        })
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    }
  }

  // ---------------------------------------------------------------- Heartbeat

  heartbeat(p: HeartbeatParams): number {
    const unavailable = this.availabilityError()
    if (unavailable) return unavailable
    if (!p.groupId) return ErrorCode.INVALID_GROUP_ID
    const group = this.groups.get(p.groupId)
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID
    const error = this.validateCurrentMember(group, p.memberId, p.groupInstanceId)
    if (error) return error
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    const member = group.members.get(p.memberId)!
    switch (group.state) {
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, member)
        return ErrorCode.REBALANCE_IN_PROGRESS
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleHeartbeat(group, member)
        return ErrorCode.NONE
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID
    }
  }

  private scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
    if (this.status !== 'active') return
    this.clearHeartbeat(member)
    member.heartbeatTimer = this.timers.setTimeout(() => {
      member.heartbeatTimer = null
      this.onHeartbeatExpired(group, member)
    }, timeoutMs)
  }

  private clearHeartbeat(member: GroupMember): void {
    if (member.heartbeatTimer !== null) this.timers.clearTimeout(member.heartbeatTimer)
    member.heartbeatTimer = null
  }

  private onHeartbeatExpired(group: ClassicGroup, member: GroupMember): void {
    if (group.members.get(member.memberId) !== member) return
    if (!member.isNew && (member.joinWaiter || member.syncWaiter)) {
      // A member waiting in JoinGroup/SyncGroup cannot heartbeat; the rebalance timeout bounds that wait instead.
      this.scheduleHeartbeat(group, member)
      return
    }
    this.logger.info('member session expired', { group: group.groupId, memberId: member.memberId })
    this.removeMemberAndUpdateGroup(group, member, 'session timeout')
  }

  private expirePendingMember(group: ClassicGroup, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return
    this.tryCompleteJoin(group)
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember, reason: string): void {
    this.clearHeartbeat(member)
    this.resolveJoin(member, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId))
    this.resolveSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    group.remove(member.memberId)
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group, `member ${member.memberId} left: ${reason}`)
        break
      case 'PreparingRebalance':
        this.tryCompleteJoin(group)
        break
      default:
    }
  }

  // ---------------------------------------------------------------- LeaveGroup

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const unavailable = this.availabilityError()
    if (unavailable) return { errorCode: unavailable, members: [] }
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] }
    const group = this.groups.get(groupId)
    const results: LeaveGroupResult['members'] = []
    for (const l of leaving) {
      const echo = { memberId: l.memberId, groupInstanceId: l.groupInstanceId }
      if (!group) {
        results.push({ ...echo, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })
        continue
      }
      let memberId = l.memberId
      if (memberId === '') {
        // Admin removal of a static member by instance id alone.
        const current = l.groupInstanceId !== null ? group.staticMembers.get(l.groupInstanceId) : undefined
        if (current === undefined) {
          results.push({ ...echo, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })
          continue
        }
        memberId = current
      } else if (group.pendingMembers.has(memberId)) {
        this.timers.clearTimeout(group.pendingMembers.get(memberId))
        this.expirePendingMember(group, memberId)
        results.push({ ...echo, errorCode: ErrorCode.NONE })
        continue
      } else {
        const error = this.validateCurrentMember(group, memberId, l.groupInstanceId)
        if (error) {
          results.push({ ...echo, errorCode: error })
          continue
        }
      }
      const member = group.members.get(memberId)!
      this.logger.info('member leaving group', { group: groupId, memberId, reason: l.reason ?? undefined })
      this.removeMemberAndUpdateGroup(group, member, l.reason ?? 'the consumer is leaving the group')
      results.push({ ...echo, errorCode: ErrorCode.NONE })
    }
    return { errorCode: ErrorCode.NONE, members: results }
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
    let group = this.groups.get(p.groupId)
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
    if (!group) {
      group = new ClassicGroup(p.groupId, now)
      this.groups.set(p.groupId, group)
    }
    const target = group
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
        let group = this.groups.get(groupId)
        if (!group) {
          group = new ClassicGroup(groupId, this.clock.now())
          this.groups.set(groupId, group)
        }
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

  // ---------------------------------------------------------------- groups as a whole

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const unavailable = this.availabilityError()
    if (unavailable) return groupIds.map((groupId) => ({ groupId, errorCode: unavailable }))
    const results: { groupId: string; errorCode: number }[] = []
    const tombstones: KeyedRecord[] = []
    const deleted: { groupId: string; errorCode: number }[] = []
    for (const groupId of groupIds) {
      const group = groupId ? this.groups.get(groupId) : undefined
      let errorCode: number = ErrorCode.NONE
      if (!groupId) errorCode = ErrorCode.INVALID_GROUP_ID
      else if (!group) errorCode = ErrorCode.GROUP_ID_NOT_FOUND
      else if (!group.is('Empty')) errorCode = ErrorCode.NON_EMPTY_GROUP
      else {
        for (const [topic, parts] of group.offsets) {
          for (const partition of parts.keys())
            tombstones.push({ key: encodeOffsetKey(groupId, topic, partition), value: null })
        }
        tombstones.push({ key: encodeGroupKey(groupId), value: null })
        this.removeGroup(group)
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

  private removeGroup(group: ClassicGroup): void {
    this.clearGroupTimers(group)
    group.transitionTo('Dead', this.clock.now())
    this.groups.delete(group.groupId)
  }

  private clearGroupTimers(group: ClassicGroup): void {
    if (group.joinTimer !== null) this.timers.clearTimeout(group.joinTimer)
    group.joinTimer = null
    this.clearPendingSync(group)
    for (const t of group.pendingMembers.values()) this.timers.clearTimeout(t)
    group.pendingMembers.clear()
  }

  /** ListGroups; filters compare case-insensitively as Kafka does (empty filter = all). */
  listGroups(filter: { states?: string[]; types?: string[] } = {}): ListedGroupInfo[] {
    const states = new Set((filter.states ?? []).map((s) => s.toLowerCase()))
    const types = new Set((filter.types ?? []).map((s) => s.toLowerCase()))
    const out: ListedGroupInfo[] = []
    for (const group of this.groups.values()) {
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue
      if (types.size > 0 && !types.has('classic')) continue
      out.push({
        groupId: group.groupId,
        protocolType: group.protocolType ?? '',
        state: group.state,
        groupType: 'classic',
      })
    }
    return out.sort((a, b) => a.groupId.localeCompare(b.groupId))
  }

  /**
   * DescribeGroups semantics: member metadata and assignments only while Stable; an unknown group is described as
   * Dead with no members (not an error).
   */
  describeGroups(groupIds: string[]): DescribedGroupInfo[] {
    const unavailable = this.availabilityError()
    return groupIds.map((groupId) => {
      const base = { groupId, state: 'Dead' as GroupState, protocolType: '', protocol: '', members: [] }
      if (unavailable) return { ...base, errorCode: unavailable }
      const group = this.groups.get(groupId)
      if (!group) return { ...base, errorCode: ErrorCode.NONE }
      const stable = group.is('Stable')
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        state: group.state,
        protocolType: group.protocolType ?? '',
        protocol: stable ? (group.protocolName ?? '') : '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadataFor(group.protocolName) : EMPTY_BYTES,
          memberAssignment: stable ? m.assignment : EMPTY_BYTES,
        })),
      }
    })
  }

  /** For the console and CLI: everything known about one group, or undefined. */
  describeGroup(groupId: string): GroupDetails | undefined {
    const group = this.groups.get(groupId)
    if (!group) return undefined
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocolName,
      generationId: group.generationId,
      leader: group.leaderId,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        memberMetadata: m.metadataFor(group.protocolName ?? m.protocols[0]?.name ?? null),
        memberAssignment: m.assignment,
      })),
    }
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

  // ---------------------------------------------------------------- persistence

  /** Writes the group's metadata (with `assignment` replacing the members' current assignments when given). */
  private async storeGroup(group: ClassicGroup, assignment?: Map<string, Buffer>): Promise<Error | null> {
    const value = encodeGroupValue({
      protocolType: group.protocolType,
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      stateTimestamp: group.stateTimestamp,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        metadata: m.metadataFor(group.protocolName),
        assignment: assignment ? (assignment.get(m.memberId) ?? EMPTY_BYTES) : m.assignment,
      })),
    })
    try {
      await this.store.append([{ key: encodeGroupKey(group.groupId), value }])
      return null
    } catch (err) {
      this.logger.warn('storing group metadata failed', { group: group.groupId, err })
      return err instanceof Error ? err : new Error(String(err))
    }
  }
}
