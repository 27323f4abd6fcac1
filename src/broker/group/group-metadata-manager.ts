/**
 * Group membership and rebalancing for classic (JoinGroup/SyncGroup) groups (Kafka's GroupMetadataManager side of
 * the group coordinator): member ids handed out by MEMBER_ID_REQUIRED, rebalances that wait for every known member
 * (or the rebalance timeout), the initial rebalance delay for new groups, session-timeout expiry, static
 * membership, group metadata records, and the groups as a whole (list, describe). Committed offsets are
 * kept on each group but owned by OffsetMetadataManager.
 *
 * Every state change happens synchronously inside one call; JoinGroup and SyncGroup return promises that the
 * rebalance resolves.
 */

import { randomUUID } from 'node:crypto'
import type { KeyedLog } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import type { Clock, Timers } from '../../common/time.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import { ClassicGroup, EMPTY_BYTES, GroupMember, type JoinGroupResult, type SyncGroupResult } from './classic-group.ts'
import {
  type DescribedGroupInfo,
  type GroupDetails,
  type HeartbeatParams,
  type JoinGroupParams,
  joinError,
  type LeaveGroupResult,
  type LeavingMember,
  type ListedGroupInfo,
  type SyncGroupParams,
  syncError,
} from './group-api.ts'
import { groupFromRecord, groupRecordValue } from './group-records.ts'
import { describeGroup, describeGroups, listGroups } from './group-views.ts'
import { encodeGroupKey, type StoredGroup } from './state-store.ts'

/** Kafka gives a member that joined but never got a JoinGroup response this long before dropping it. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000

export interface GroupMetadataManagerOptions {
  store: KeyedLog
  clock: Clock
  timers: Timers
  logger: Logger
  initialRebalanceDelayMs: number
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
}

export class GroupMetadataManager {
  readonly groups = new Map<string, ClassicGroup>()
  status: 'loading' | 'active' | 'closed' = 'loading'
  private readonly store: KeyedLog
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly logger: Logger
  private readonly initialRebalanceDelayMs: number
  private readonly minSessionTimeoutMs: number
  private readonly maxSessionTimeoutMs: number

  constructor(o: GroupMetadataManagerOptions) {
    this.store = o.store
    this.clock = o.clock
    this.timers = o.timers
    this.logger = o.logger
    this.initialRebalanceDelayMs = o.initialRebalanceDelayMs
    this.minSessionTimeoutMs = o.minSessionTimeoutMs
    this.maxSessionTimeoutMs = o.maxSessionTimeoutMs
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores the groups replayed from the store (metadata records; offsets are restored separately). */
  restore(groupValues: Map<string, StoredGroup | null>): void {
    for (const [groupId, stored] of groupValues) {
      if (stored) this.groups.set(groupId, groupFromRecord(groupId, stored))
    }
  }

  /** The group of `groupId`, created Empty when it does not exist (offsets of a group without metadata). */
  getOrCreateGroup(groupId: string, now: number): ClassicGroup {
    let group = this.groups.get(groupId)
    if (!group) {
      group = new ClassicGroup(groupId, now)
      this.groups.set(groupId, group)
    }
    return group
  }

  /** Loading done: group APIs are served and restored members' sessions start counting. */
  activate(): void {
    this.status = 'active'
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) this.scheduleHeartbeat(group, member)
    }
  }

  /** Stops all timers; JoinGroup/SyncGroup calls still waiting get COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.status = 'closed'
    for (const group of this.groups.values()) {
      this.clearGroupTimers(group)
      for (const member of group.members.values()) {
        this.clearHeartbeat(member)
        member.completeJoin(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId))
        member.completeSync(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE))
      }
    }
    this.groups.clear()
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
          done(group.currentJoinResult(member))
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
          done(group.currentJoinResult(member))
        }
        return
      default:
        done(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId))
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
    member.completeJoin(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId))
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
    old.completeJoin(joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId))
    old.completeSync(syncError(ErrorCode.FENCED_INSTANCE_ID))
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

  validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
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
        member.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
        group.remove(member.memberId)
      }
    }
    if (group.members.size > 0 && !group.electJoinedLeader()) {
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
        member.completeJoin(group.currentJoinResult(member))
      }
      member.isNew = false
      this.scheduleHeartbeat(group, member)
    }
    this.schedulePendingSync(group)
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
          member.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
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
      member.completeSync(syncError(errorCode))
    }
  }

  private setAndPropagateAssignment(group: ClassicGroup, assignment: Map<string, Buffer>): void {
    for (const member of group.members.values()) {
      member.assignment = assignment.get(member.memberId) ?? EMPTY_BYTES
      if (member.syncWaiter) {
        member.completeSync({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        })
        this.scheduleHeartbeat(group, member)
      }
    }
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
          member.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
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

  scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
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
    member.completeJoin(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId))
    member.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
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

  // ---------------------------------------------------------------- groups as a whole

  removeGroup(group: ClassicGroup): void {
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
    return listGroups(this.groups, filter)
  }

  /** DescribeGroups (see group-views.ts). */
  describeGroups(groupIds: string[]): DescribedGroupInfo[] {
    return describeGroups(this.groups, groupIds, this.availabilityError())
  }

  /** For the console and CLI: everything known about one group, or undefined. */
  describeGroup(groupId: string): GroupDetails | undefined {
    return describeGroup(this.groups, groupId)
  }

  // ---------------------------------------------------------------- persistence

  /** Writes the group's metadata (with `assignment` replacing the members' current assignments when given). */
  private async storeGroup(group: ClassicGroup, assignment?: Map<string, Buffer>): Promise<Error | null> {
    const value = groupRecordValue(group, assignment)
    try {
      await this.store.append([{ key: encodeGroupKey(group.groupId), value }])
      return null
    } catch (err) {
      this.logger.warn('storing group metadata failed', { group: group.groupId, err })
      return err instanceof Error ? err : new Error(String(err))
    }
  }
}
