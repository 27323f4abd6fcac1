/**
 * A member of a classic Kafka consumer group with full control over the protocol's user data: the member chooses
 * its subscription bytes at every join, and when it is the leader it computes every member's assignment bytes
 * (Kafka Streams needs both: task state in the subscription, active/standby tasks and hosts in the assignment).
 * @platformatic/kafka's Consumer sends no assignment user data and skips the assignor for a group of one, so the
 * streams runtime uses this instead. Built on the low-level JoinGroup / SyncGroup / Heartbeat / LeaveGroup /
 * OffsetCommit / OffsetFetch APIs, with versions negotiated with the broker.
 *
 * The member never rejoins by itself: a heartbeat that learns of a rebalance sets `rebalanceNeeded` (and calls
 * `onRebalanceNeeded`), and the owner rejoins when it is ready (the streams runtime at once, running the tasks it
 * owns while `join()` is in flight). No heartbeat is sent while a join is in flight (the coordinator does not expire
 * a member waiting in JoinGroup or SyncGroup).
 */
import type { Connection } from '@platformatic/kafka'
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import {
  COORDINATOR_ERRORS,
  describeKafkaError,
  hasKafkaError,
  isNetworkError,
  type KafkaCluster,
  kafkaErrorIds,
  responseOf,
} from './kafka-cluster.ts'

export interface GroupProtocol {
  readonly name: string
  readonly metadata: Buffer
}

export interface GroupMemberMetadata {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly metadata: Buffer
}

export interface JoinResult {
  readonly generationId: number
  readonly memberId: string
  readonly leaderId: string
  readonly isLeader: boolean
  readonly protocolName: string
  /** This member's assignment bytes, as the leader encoded them. */
  readonly assignment: Buffer
  /**
   * The member had been dropped from the group (the coordinator refused its id during the join with UNKNOWN_MEMBER_ID
   * or FENCED_INSTANCE_ID, or a heartbeat said so) and joined again, so what it owned may already belong to another.
   */
  readonly dropped: boolean
}

/** What a transactional offset commit must carry to fence zombies (KIP-447). */
export interface GroupGeneration {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface PartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly metadata?: string | null
}

export interface GroupMemberOptions {
  readonly cluster: KafkaCluster
  readonly groupId: string
  readonly groupInstanceId?: string | null
  readonly protocolType?: string
  readonly sessionTimeoutMs?: number
  readonly rebalanceTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  readonly retryBackoffMs?: number
  readonly log?: Logger
  /** Called (once per rebalance) when a heartbeat learns the group is rebalancing or this member was dropped. */
  readonly onRebalanceNeeded?: (reason: string) => void
}

/** Thrown by commits when this member no longer owns its partitions (another generation has started). */
export class GroupFencedError extends TributaryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRB_CLIENT_GROUP_FENCED', message, options)
    this.name = 'GroupFencedError'
  }
}

const FENCING_ERRORS = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID', 'REBALANCE_IN_PROGRESS']

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.())

export class GroupMember {
  readonly groupId: string
  readonly groupInstanceId: string | null
  readonly #cluster: KafkaCluster
  readonly #protocolType: string
  readonly #sessionTimeoutMs: number
  readonly #rebalanceTimeoutMs: number
  readonly #heartbeatIntervalMs: number
  readonly #retryBackoffMs: number
  readonly #log: Logger | undefined
  readonly #onRebalanceNeeded: ((reason: string) => void) | undefined
  #memberId = ''
  #generationId = -1
  #heartbeatTimer: NodeJS.Timeout | undefined
  #heartbeatInFlight = false
  #active = false
  #closed = false
  /** Set by a heartbeat: the group is rebalancing (rejoin) or this member was dropped from it (`lost`). */
  rebalanceNeeded = false
  /** The member was dropped from the group (session timeout, fenced): its partitions may be owned by another. */
  lost = false

  constructor(options: GroupMemberOptions) {
    this.#cluster = options.cluster
    this.groupId = options.groupId
    this.groupInstanceId = options.groupInstanceId ?? null
    this.#protocolType = options.protocolType ?? 'consumer'
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 45000
    this.#rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 300000
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000
    this.#retryBackoffMs = options.retryBackoffMs ?? 100
    this.#log = options.log
    this.#onRebalanceNeeded = options.onRebalanceNeeded
  }

  get memberId(): string {
    return this.#memberId
  }

  get generationId(): number {
    return this.#generationId
  }

  /** Whether the member holds a generation (joined and not dropped). */
  get active(): boolean {
    return this.#active
  }

  generation(): GroupGeneration {
    return {
      groupId: this.groupId,
      generationId: this.#generationId,
      memberId: this.#memberId,
      groupInstanceId: this.groupInstanceId,
    }
  }

  coordinator(): Promise<Connection> {
    return this.#cluster.coordinator(0, this.groupId)
  }

  #checkOpen() {
    if (this.#closed) throw new TributaryError('TRB_CLIENT_CLOSED', `group member of ${this.groupId} is closed`)
  }

  /**
   * Joins (or rejoins) the group: JoinGroup, then, as leader, `assign` computes every member's assignment bytes,
   * then SyncGroup. Retries what the protocol says to retry; resolves with this member's assignment.
   */
  async join(
    protocols: readonly GroupProtocol[] | (() => readonly GroupProtocol[]),
    assign: (members: GroupMemberMetadata[], protocolName: string) => Promise<Map<string, Buffer>>,
    reason = '',
  ): Promise<JoinResult> {
    this.#checkOpen()
    this.#stopHeartbeats()
    this.#active = false
    let attempts = 0
    let dropped = false
    for (;;) {
      this.#checkOpen()
      attempts++
      let connection: Connection
      try {
        connection = await this.coordinator()
      } catch (error) {
        await this.#backoff(error, attempts, 'finding the group coordinator')
        continue
      }
      const list = typeof protocols === 'function' ? protocols() : protocols
      let joined: {
        generationId: number
        memberId: string | null
        leader: string
        protocolName: string | null
        members: Array<{ memberId: string; groupInstanceId?: string | null; metadata: Buffer | null }>
      }
      try {
        joined = await this.#cluster.call(
          connection,
          'JoinGroup',
          this.groupId,
          this.#sessionTimeoutMs,
          this.#rebalanceTimeoutMs,
          this.#memberId,
          this.groupInstanceId,
          this.#protocolType,
          list.map((p) => ({ name: p.name, metadata: p.metadata })),
          reason || null,
        )
      } catch (error) {
        if (hasKafkaError(error, 'MEMBER_ID_REQUIRED')) {
          const memberId =
            findProtocolError(error, 'MEMBER_ID_REQUIRED')?.memberId ??
            responseOf<{ memberId?: string }>(error)?.memberId
          if (typeof memberId === 'string' && memberId) this.#memberId = memberId
          continue
        }
        if (hasKafkaError(error, 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID')) {
          this.#memberId = ''
          dropped = true
          continue
        }
        if (hasKafkaError(error, 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION')) continue
        if (hasKafkaError(error, ...COORDINATOR_ERRORS) || isNetworkError(error)) {
          this.#cluster.forgetCoordinator(0, this.groupId)
          await this.#backoff(error, attempts, 'joining the group')
          continue
        }
        throw new TributaryError(
          'TRB_CLIENT_GROUP_JOIN_FAILED',
          `cannot join group ${this.groupId}: ${describeKafkaError(error)}`,
          { cause: error },
        )
      }
      this.#memberId = joined.memberId ?? this.#memberId
      this.#generationId = joined.generationId
      const isLeader = joined.leader === this.#memberId
      const protocolName = joined.protocolName ?? list[0]?.name ?? ''
      let assignments: Array<{ memberId: string; assignment: Buffer }> = []
      if (isLeader) {
        const members = joined.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? null,
          metadata: m.metadata ?? Buffer.alloc(0),
        }))
        const computed = await assign(members, protocolName)
        assignments = members.map((m) => ({
          memberId: m.memberId,
          assignment: computed.get(m.memberId) ?? Buffer.alloc(0),
        }))
      }
      let synced: { assignment: Buffer }
      try {
        synced = await this.#cluster.call(
          connection,
          'SyncGroup',
          this.groupId,
          this.#generationId,
          this.#memberId,
          this.groupInstanceId,
          this.#protocolType,
          protocolName,
          assignments,
        )
      } catch (error) {
        if (hasKafkaError(error, 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID')) {
          this.#memberId = ''
          dropped = true
        }
        if (hasKafkaError(error, 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID')) continue
        if (hasKafkaError(error, ...COORDINATOR_ERRORS) || isNetworkError(error)) {
          this.#cluster.forgetCoordinator(0, this.groupId)
          await this.#backoff(error, attempts, 'syncing the group')
          continue
        }
        throw new TributaryError(
          'TRB_CLIENT_GROUP_JOIN_FAILED',
          `cannot sync group ${this.groupId}: ${describeKafkaError(error)}`,
          { cause: error },
        )
      }
      // A heartbeat still in flight when the join began may have learnt that the member was dropped.
      if (this.lost) dropped = true
      this.rebalanceNeeded = false
      this.lost = false
      this.#active = true
      this.#scheduleHeartbeat()
      this.#log?.info('joined group', {
        group: this.groupId,
        generation: this.#generationId,
        member: this.#memberId,
        leader: isLeader,
        members: isLeader ? joined.members.length : undefined,
      })
      return {
        generationId: this.#generationId,
        memberId: this.#memberId,
        leaderId: joined.leader,
        isLeader,
        protocolName,
        assignment: Buffer.from(synced.assignment ?? Buffer.alloc(0)),
        dropped,
      }
    }
  }

  async #backoff(error: unknown, attempts: number, what: string) {
    if (attempts > 50) {
      throw new TributaryError(
        'TRB_CLIENT_GROUP_JOIN_FAILED',
        `gave up ${what} for group ${this.groupId} after ${attempts} attempts: ${describeKafkaError(error)}`,
        { cause: error },
      )
    }
    this.#log?.debug(`retrying: ${what}`, { group: this.groupId, error: describeKafkaError(error) })
    await sleep(Math.min(this.#retryBackoffMs * attempts, 1000))
  }

  #scheduleHeartbeat() {
    this.#stopHeartbeats()
    if (this.#closed) return
    this.#heartbeatTimer = setTimeout(() => void this.#heartbeat(), this.#heartbeatIntervalMs)
  }

  #stopHeartbeats() {
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer)
    this.#heartbeatTimer = undefined
  }

  #needRejoin(reason: string, lost: boolean) {
    if (lost) {
      this.lost = true
      this.#active = false
    }
    if (this.rebalanceNeeded) return
    this.rebalanceNeeded = true
    this.#log?.info('group rebalance needed', { group: this.groupId, reason })
    this.#onRebalanceNeeded?.(reason)
  }

  async #heartbeat() {
    if (this.#closed || this.#heartbeatInFlight || !this.#memberId) return
    this.#heartbeatInFlight = true
    const generation = this.#generationId
    try {
      const connection = await this.coordinator()
      await this.#cluster.call(connection, 'Heartbeat', this.groupId, generation, this.#memberId, this.groupInstanceId)
    } catch (error) {
      if (generation === this.#generationId && !this.#closed) {
        if (hasKafkaError(error, 'REBALANCE_IN_PROGRESS')) this.#needRejoin('the group is rebalancing', false)
        else if (hasKafkaError(error, 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID')) {
          if (hasKafkaError(error, 'UNKNOWN_MEMBER_ID')) this.#memberId = ''
          this.#needRejoin(`dropped from the group (${kafkaErrorIds(error).join(', ')})`, true)
        } else if (hasKafkaError(error, ...COORDINATOR_ERRORS) || isNetworkError(error)) {
          this.#cluster.forgetCoordinator(0, this.groupId)
        } else {
          this.#log?.warn('heartbeat failed', { group: this.groupId, error: describeKafkaError(error) })
        }
      }
    } finally {
      this.#heartbeatInFlight = false
      if (!this.#closed && this.#active) this.#scheduleHeartbeat()
    }
  }

  /** Commits offsets for this generation (OffsetCommit). Throws GroupFencedError when the generation is gone. */
  async commitOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    this.#checkOpen()
    if (offsets.length === 0) return
    const topics = new Map<
      string,
      {
        name: string
        partitions: Array<{
          partitionIndex: number
          committedOffset: bigint
          committedLeaderEpoch: number
          committedMetadata: string | null
        }>
      }
    >()
    for (const o of offsets) {
      let t = topics.get(o.topic)
      if (!t) {
        t = { name: o.topic, partitions: [] }
        topics.set(o.topic, t)
      }
      t.partitions.push({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: -1,
        committedMetadata: o.metadata ?? null,
      })
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const connection = await this.coordinator()
        await this.#cluster.call(
          connection,
          'OffsetCommit',
          this.groupId,
          this.#generationId,
          this.#memberId,
          this.groupInstanceId,
          [...topics.values()],
        )
        return
      } catch (error) {
        if (hasKafkaError(error, ...FENCING_ERRORS)) {
          this.#needRejoin('offset commit fenced', !hasKafkaError(error, 'REBALANCE_IN_PROGRESS'))
          throw new GroupFencedError(`offset commit for group ${this.groupId} refused: ${describeKafkaError(error)}`, {
            cause: error,
          })
        }
        if ((hasKafkaError(error, ...COORDINATOR_ERRORS) || isNetworkError(error)) && attempt < 20) {
          this.#cluster.forgetCoordinator(0, this.groupId)
          await sleep(Math.min(this.#retryBackoffMs * attempt, 1000))
          continue
        }
        throw new TributaryError(
          'TRB_CLIENT_COMMIT_FAILED',
          `offset commit for group ${this.groupId} failed: ${describeKafkaError(error)}`,
          { cause: error },
        )
      }
    }
  }

  /**
   * Committed offsets of partitions (undefined: none committed). Waits while a transactional commit on them is
   * pending (requireStable), so a new owner never starts from offsets a zombie may still commit.
   */
  async committedOffsets(
    partitions: ReadonlyArray<{ topic: string; partition: number }>,
    timeoutMs = 60000,
  ): Promise<Map<string, bigint | undefined>> {
    this.#checkOpen()
    const out = new Map<string, bigint | undefined>()
    if (partitions.length === 0) return out
    const byTopic = new Map<string, number[]>()
    for (const p of partitions) {
      const list = byTopic.get(p.topic) ?? []
      list.push(p.partition)
      byTopic.set(p.topic, list)
    }
    const deadline = Date.now() + timeoutMs
    for (let attempt = 1; ; attempt++) {
      try {
        const connection = await this.coordinator()
        const response = await this.#cluster.call<{
          groups: Array<{
            errorCode: number
            topics: Array<{
              name: string
              partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }>
            }>
          }>
        }>(
          connection,
          'OffsetFetch',
          [
            {
              groupId: this.groupId,
              memberId: null,
              memberEpoch: -1,
              topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
          true,
        )
        for (const t of response.groups[0]?.topics ?? []) {
          for (const p of t.partitions) {
            out.set(`${t.name}:${p.partitionIndex}`, p.committedOffset >= 0n ? p.committedOffset : undefined)
          }
        }
        return out
      } catch (error) {
        const retriable = hasKafkaError(error, 'UNSTABLE_OFFSET_COMMIT', ...COORDINATOR_ERRORS) || isNetworkError(error)
        if (retriable && Date.now() < deadline) {
          if (!hasKafkaError(error, 'UNSTABLE_OFFSET_COMMIT')) this.#cluster.forgetCoordinator(0, this.groupId)
          await sleep(Math.min(this.#retryBackoffMs * attempt, 500))
          continue
        }
        throw new TributaryError(
          'TRB_CLIENT_OFFSET_FETCH_FAILED',
          `cannot read the committed offsets of group ${this.groupId}: ${describeKafkaError(error)}`,
          { cause: error },
        )
      }
    }
  }

  /** Leaves the group (LeaveGroup), so the others rebalance at once instead of after the session timeout. */
  async leave(reason = 'the member is closing'): Promise<void> {
    this.#stopHeartbeats()
    const memberId = this.#memberId
    this.#active = false
    if (!memberId) return
    try {
      const connection = await this.coordinator()
      await this.#cluster.call(connection, 'LeaveGroup', this.groupId, [
        { memberId, groupInstanceId: this.groupInstanceId, reason },
      ])
    } catch (error) {
      if (!hasKafkaError(error, 'UNKNOWN_MEMBER_ID')) {
        this.#log?.warn('leaving the group failed', { group: this.groupId, error: describeKafkaError(error) })
      }
    }
    this.#memberId = ''
    this.#generationId = -1
  }

  /** Stops heartbeating (without leaving: `leave()` first for a clean exit). */
  close(): void {
    this.#closed = true
    this.#stopHeartbeats()
  }
}

function findProtocolError(error: unknown, id: string): ({ memberId?: string } & Error) | undefined {
  const visit = (e: unknown, depth: number): ({ memberId?: string } & Error) | undefined => {
    if (!e || typeof e !== 'object' || depth > 6) return undefined
    if ((e as { apiId?: string }).apiId === id) return e as { memberId?: string } & Error
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
      const found = visit(inner, depth + 1)
      if (found) return found
    }
    return visit((e as { cause?: unknown }).cause, depth + 1)
  }
  return visit(error, 0)
}
