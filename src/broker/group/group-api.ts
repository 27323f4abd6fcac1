/**
 * What the group coordinator's callers pass and get back: options, the parameters of each group API, and the views
 * of groups and offsets the console and CLI read; and the small helpers both group managers use.
 */
import type { KeyedLog } from '../../common/keyed-log.ts'
import type { Logger } from '../../common/logger.ts'
import type { Clock, Timers } from '../../common/time.ts'
import {
  EMPTY_BYTES,
  type GroupProtocol,
  type GroupState,
  type JoinGroupResult,
  type SyncGroupResult,
} from './classic-group.ts'
import type { StoredOffset } from './state-store.ts'

export interface GroupCoordinatorOptions {
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
  topics: OffsetCommitTopic[]
}

/** The offsets one commit (OffsetCommit or TxnOffsetCommit) writes for one topic. */
export interface OffsetCommitTopic {
  name: string
  partitions: {
    partitionIndex: number
    committedOffset: bigint
    committedLeaderEpoch: number
    committedMetadata: string | null
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

export { noopLogger } from '../../common/logger.ts'

export function joinError(errorCode: number, memberId = ''): JoinGroupResult {
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

export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES }
}
