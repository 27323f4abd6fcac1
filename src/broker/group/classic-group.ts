/**
 * The in-memory model of one classic consumer group: its members, its state in the rebalance protocol, and its
 * committed offsets. The GroupCoordinator drives the state transitions; this file only holds and queries state.
 */

import type { TimerHandle } from '../../common/time.ts'
import {
  type ConsumerProtocolSubscription,
  decodeConsumerProtocolSubscription,
} from '../../protocol/generated/consumer-protocol-subscription.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import { Reader } from '../../protocol/primitives.ts'
import type { StoredOffset } from './state-store.ts'

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export const GROUP_STATES: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
]

export const CONSUMER_PROTOCOL_TYPE = 'consumer'

export interface GroupProtocol {
  name: string
  metadata: Buffer
}

export interface JoinGroupResult {
  errorCode: number
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  skipAssignment: boolean
  memberId: string
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]
}

export interface SyncGroupResult {
  errorCode: number
  protocolType: string | null
  protocolName: string | null
  assignment: Buffer
}

export const EMPTY_BYTES = Buffer.alloc(0)

export class GroupMember {
  memberId: string
  readonly groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  sessionTimeoutMs: number
  protocolType: string
  protocols: GroupProtocol[]
  assignment: Buffer = EMPTY_BYTES
  /** Set while a JoinGroup call of this member waits for the rebalance to complete. */
  joinWaiter: ((r: JoinGroupResult) => void) | null = null
  /** Set while a SyncGroup call of this member waits for the leader's assignment. */
  syncWaiter: ((r: SyncGroupResult) => void) | null = null
  /** A member that has not yet received its first JoinGroup response: it cannot heartbeat yet. */
  isNew = true
  heartbeatTimer: TimerHandle | null = null

  constructor(init: {
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    rebalanceTimeoutMs: number
    sessionTimeoutMs: number
    protocolType: string
    protocols: GroupProtocol[]
  }) {
    this.memberId = init.memberId
    this.groupInstanceId = init.groupInstanceId
    this.clientId = init.clientId
    this.clientHost = init.clientHost
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs
    this.sessionTimeoutMs = init.sessionTimeoutMs
    this.protocolType = init.protocolType
    this.protocols = init.protocols
  }

  metadataFor(protocol: string | null): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES
  }

  /** Same protocols, same order, same bytes: a rejoin with these changes nothing. */
  matches(protocols: GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false
    return protocols.every(
      (p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata),
    )
  }

  /** Answers this member's waiting JoinGroup call, if any. */
  completeJoin(result: JoinGroupResult): void {
    const waiter = this.joinWaiter
    this.joinWaiter = null
    waiter?.(result)
  }

  /** Answers this member's waiting SyncGroup call, if any. */
  completeSync(result: SyncGroupResult): void {
    const waiter = this.syncWaiter
    this.syncWaiter = null
    waiter?.(result)
  }
}

export class ClassicGroup {
  readonly groupId: string
  state: GroupState = 'Empty'
  /** When the group entered its current state (offset retention of Empty groups counts from here). */
  stateTimestamp: number
  protocolType: string | null = null
  protocolName: string | null = null
  generationId = 0
  leaderId: string | null = null
  readonly members = new Map<string, GroupMember>()
  /** group.instance.id → current member id of that static member. */
  readonly staticMembers = new Map<string, string>()
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined with them yet. */
  readonly pendingMembers = new Map<string, TimerHandle>()
  /** Members that received a JoinGroup response of the current generation but have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>()
  pendingSyncTimer: TimerHandle | null = null
  joinTimer: TimerHandle | null = null
  /** True while group.initial.rebalance.delay.ms holds the first rebalance of an empty group open. */
  initialDelayActive = false
  newMemberAdded = false
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, StoredOffset>>()

  constructor(groupId: string, now: number) {
    this.groupId = groupId
    this.stateTimestamp = now
  }

  transitionTo(state: GroupState, now: number): void {
    this.state = state
    this.stateTimestamp = now
  }

  is(state: GroupState): boolean {
    return this.state === state
  }

  add(member: GroupMember): void {
    if (this.members.size === 0) this.protocolType = member.protocolType
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    if (this.leaderId === null) this.leaderId = member.memberId
  }

  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId)
    if (!member) return undefined
    this.members.delete(memberId)
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId)
    }
    this.pendingSyncMembers.delete(memberId)
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null
    return member
  }

  /** Moves a static member to a new member id, keeping its assignment and leadership. */
  replaceStaticMember(oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId)!
    this.members.delete(oldMemberId)
    member.memberId = newMemberId
    this.members.set(newMemberId, member)
    this.staticMembers.set(member.groupInstanceId!, newMemberId)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId)
    return member
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId
  }

  get rebalanceTimeoutMs(): number {
    let max = 0
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs)
    return max
  }

  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false
    for (const m of this.members.values()) if (!m.joinWaiter) return false
    return true
  }

  /** Protocols every current member supports. */
  private candidateProtocols(): string[] {
    const members = [...this.members.values()]
    if (members.length === 0) return []
    return members[0]!.protocols
      .map((p) => p.name)
      .filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)))
  }

  supportsProtocols(protocolType: string, protocolNames: string[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocolNames.length > 0
    if (protocolType !== this.protocolType) return false
    const candidates = new Set(this.candidateProtocols())
    return protocolNames.some((n) => candidates.has(n))
  }

  /** The protocol most members prefer among those all support; ties go to the earlier one in the leader's list. */
  selectProtocol(): string | null {
    const candidates = this.candidateProtocols()
    if (candidates.length === 0) return null
    const leader = this.leaderId ? this.members.get(this.leaderId) : undefined
    const order = leader ? leader.protocols.map((p) => p.name).filter((n) => candidates.includes(n)) : candidates
    const votes = new Map<string, number>()
    for (const m of this.members.values()) {
      const vote = m.protocols.find((p) => candidates.includes(p.name))!.name
      votes.set(vote, (votes.get(vote) ?? 0) + 1)
    }
    let best = order[0]!
    for (const n of order) if ((votes.get(n) ?? 0) > (votes.get(best) ?? 0)) best = n
    return best
  }

  /** Keeps the leader if it has joined this round, else makes the first joined member leader; false if none has. */
  electJoinedLeader(): boolean {
    const leader = this.leaderId ? this.members.get(this.leaderId) : undefined
    if (leader?.joinWaiter) return true
    for (const m of this.members.values()) {
      if (m.joinWaiter) {
        this.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  /** The JoinGroup answer of the current generation for `member` (the leader also gets the members' metadata). */
  currentJoinResult(member: GroupMember): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: this.isLeader(member.memberId) ? this.currentMemberMetadata() : [],
    }
  }

  currentMemberMetadata(): JoinGroupResult['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(this.protocolName),
    }))
  }

  /**
   * Topics the members subscribe to, read from their `consumer` protocol Subscription bytes; null when the group
   * does not use the consumer protocol or a subscription cannot be parsed (then nothing counts as subscribed).
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null
    const topics = new Set<string>()
    for (const m of this.members.values()) {
      const protocols = this.protocolName ? m.protocols.filter((p) => p.name === this.protocolName) : m.protocols
      for (const p of protocols) {
        const sub = parseSubscription(p.metadata)
        if (!sub) return null
        for (const t of sub.topics) topics.add(t)
      }
    }
    return topics
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0
  }
}

/** Decodes `consumer` protocol Subscription bytes (int16 version + body); newer versions extend v3 at the end. */
export function parseSubscription(metadata: Buffer): ConsumerProtocolSubscription | null {
  try {
    const r = new Reader(metadata)
    const version = r.int16()
    if (version < 0) return null
    return decodeConsumerProtocolSubscription(r, Math.min(version, 3))
  } catch {
    return null
  }
}
