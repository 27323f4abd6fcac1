/**
 * The stream thread's group membership (the rebalance half of Kafka Streams' StreamThread + StreamsRebalanceListener):
 * it starts a join (JoinGroup, the leader's assignment, SyncGroup) **without waiting for it**, so that the thread's
 * loop goes on running the tasks it owns while the join is in flight (KIP-429: a cooperative member keeps its tasks
 * until an assignment takes them away), and applies the assignment once the join has completed.
 *
 * The loop asks `needed()` (start a join now), `settled` (a join has completed: `complete()` applies it) and
 * `joining` (a join is in flight or its result not yet applied). While `joining`, the thread processes, punctuates,
 * produces and keeps standbys updating, but does not commit: a commit is deferred to after the join (as Kafka
 * Streams' TaskManager does while `rebalanceInProgress`), because between JoinGroup and SyncGroup the coordinator may
 * refuse the old generation's commit (ILLEGAL_GENERATION once the generation moved, REBALANCE_IN_PROGRESS for an
 * OffsetCommit of the new generation before SyncGroup), and such a refusal must not be taken for a lost membership.
 * The first commit after the join is the revocation commit of `applyAssignment` (under the new generation, before any
 * revoked task is closed) or, when nothing is revoked, the thread's next commit, due at once.
 */
import { decodeAssignment, encodeSubscription, type GroupMember, type KafkaCluster } from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { streamsError } from '../errors.ts'
import { AssignmentError, type AssignmentInfo, decodeAssignmentInfo, encodeSubscriptionInfo } from './assignor.ts'
import { ensureInternalTopics } from './internal-topics.ts'
import { leaderAssignment } from './leader-assignment.ts'
import type { RuntimeSettings } from './runtime-settings.ts'
import type { StateDirectory } from './state-directory.ts'
import type { StreamThreadEvents } from './stream-thread.ts'
import type { StreamsMetrics } from './streams-metrics.ts'
import type { TaskManager } from './task-manager.ts'
import { compareTaskIds, type TaskPlan } from './task-plan.ts'

const PROTOCOL_NAME = 'stream'

type JoinOutcome = { ok: true; assignment: Buffer; dropped: boolean } | { ok: false; error: unknown }

export interface RebalancerOptions {
  readonly member: GroupMember
  readonly tasks: TaskManager
  readonly settings: RuntimeSettings
  readonly stateDirectory: StateDirectory
  readonly adminCluster: KafkaCluster
  readonly processId: string
  readonly log: Logger
  readonly metrics: StreamsMetrics
  readonly events: StreamThreadEvents
  /** The task plan of the last rebalance, and how to make a new one (the leader plans at every assignment). */
  plan(): TaskPlan | undefined
  planTasks(): Promise<TaskPlan>
  /** Whether this member asks the leader to stop the application (uncaught exception handler). */
  shutdownRequested(): boolean
  /** Commits every task (the thread's guarded commit). */
  commit(): Promise<void>
  /** Wakes the thread's loop (a completed join is applied at once, not after the poll's wait). */
  wakeup(): void
}

export class Rebalancer {
  readonly #o: RebalancerOptions
  readonly #member: GroupMember
  readonly #tasks: TaskManager
  /** idle: no join; joining: a join is in flight or completed but not applied; applying: `complete()` runs. */
  #state: 'idle' | 'joining' | 'applying' = 'idle'
  #outcome: JoinOutcome | undefined
  #inFlight: Promise<void> | undefined
  /** The in-flight join's subscription no longer holds (tasks were closed dirty meanwhile): rejoin after it. */
  #stale = false
  #joined = false
  #assignment: AssignmentInfo | undefined

  constructor(options: RebalancerOptions) {
    this.#o = options
    this.#member = options.member
    this.#tasks = options.tasks
  }

  /** Whether this member has completed a join (it holds or held a generation). */
  get joined(): boolean {
    return this.#joined
  }

  /** A join is in flight or being applied: the owned tasks run, commits wait for the join to complete. */
  get joining(): boolean {
    return this.#state !== 'idle'
  }

  /** The in-flight join has completed (successfully or not): `complete()` applies it. */
  get settled(): boolean {
    return this.#state === 'joining' && this.#outcome !== undefined
  }

  /** The last assignment applied. */
  get assignment(): AssignmentInfo | undefined {
    return this.#assignment
  }

  /** Whether a join must start now: never joined, or the group (or this member) asks for a rebalance. */
  needed(): boolean {
    return this.#state === 'idle' && (!this.#joined || this.#member.rebalanceNeeded)
  }

  /**
   * Asks for a new rebalance after tasks were closed dirty (fencing, a fatal error): with a join in flight, whose
   * subscription still names those tasks, its result is dropped and the member rejoins at once.
   */
  requestRejoin(): void {
    if (this.#state === 'joining') this.#stale = true
    this.#member.rebalanceNeeded = true
  }

  /**
   * Starts a join and returns without waiting for it. Only a member dropped from the group (its tasks may already
   * run elsewhere) first closes its tasks, without committing: it then has nothing to run while it rejoins.
   */
  async begin(): Promise<void> {
    this.#o.events.onPhase('rebalancing')
    this.#o.metrics.rebalance()
    if (this.#joined && this.#member.lost) await this.#tasks.closeAllDirty()
    this.#state = 'joining'
    this.#outcome = undefined
    this.#stale = false
    this.#inFlight = this.#member
      .join(
        () => this.#protocols(),
        (members) =>
          leaderAssignment(members, {
            planTasks: () => this.#o.planTasks(),
            ensureInternalTopics: (plan) =>
              ensureInternalTopics(
                this.#o.adminCluster,
                plan.internalTopics,
                this.#o.settings.replicationFactor,
                this.#o.log,
              ),
            numStandbyReplicas: this.#o.settings.numStandbyReplicas,
            log: this.#o.log,
          }),
        this.#joined ? 'rebalance' : 'starting',
      )
      .then(
        (joined): JoinOutcome => ({ ok: true, assignment: joined.assignment, dropped: joined.dropped }),
        (error): JoinOutcome => ({ ok: false, error }),
      )
      .then((outcome) => {
        this.#outcome = outcome
        this.#o.wakeup()
      })
  }

  /**
   * Waits for an in-flight join to complete (a clean shutdown commits under the generation it ends in). False when
   * that join failed or found the member dropped: what its tasks ran must then not be committed.
   */
  async settle(): Promise<boolean> {
    if (this.#state !== 'joining') return true
    await this.#inFlight
    const outcome = this.#outcome
    return outcome?.ok === true && !outcome.dropped
  }

  /**
   * Applies the completed join: revokes (commit, clean close) what the assignment takes away, opens what it adds.
   * Returns false when the assignment says the thread must stop (the error was reported). Throws when the join
   * failed.
   */
  async complete(): Promise<boolean> {
    const outcome = this.#outcome
    if (this.#state !== 'joining' || !outcome) return true
    this.#state = 'applying'
    this.#outcome = undefined
    this.#inFlight = undefined
    try {
      if (!outcome.ok) throw outcome.error
      this.#joined = true
      if (outcome.dropped && this.#tasks.active.size > 0) {
        // The coordinator had dropped this member (its tasks may run elsewhere by now): what ran during the join is
        // thrown away (under exactly_once_v2 the transaction is aborted), nothing of it is committed.
        this.#o.log.warn('dropped from the group during the rebalance: closing tasks without committing', {
          generation: this.#member.generationId,
        })
        await this.#tasks.closeAllDirty()
      }
      if (this.#stale) {
        this.#stale = false
        this.#member.rebalanceNeeded = true
        this.#o.log.info('tasks were closed during the rebalance: rejoining', {
          generation: this.#member.generationId,
        })
        return true
      }
      const info = decodeAssignmentInfo(decodeAssignment(outcome.assignment).userData)
      this.#assignment = info
      this.#o.events.onProgress?.()
      if (info.errorCode !== AssignmentError.NONE) {
        const shutdown = info.errorCode === AssignmentError.SHUTDOWN_APPLICATION
        const code =
          info.errorCode === AssignmentError.MISSING_SOURCE_TOPICS
            ? 'TRB_STREAMS_MISSING_SOURCE_TOPIC'
            : shutdown
              ? 'TRB_STREAMS_APPLICATION_SHUTDOWN'
              : 'TRB_STREAMS_INVALID_TOPOLOGY'
        const error = streamsError(code, info.errorMessage ?? 'the group leader refused to assign tasks')
        // What ran during the join is committed before the tasks close (the generation is valid again).
        await this.#o.commit()
        await this.#tasks.closeAllClean()
        this.#o.events.onAssignmentError(error, shutdown)
        return false
      }
      await this.#tasks.applyAssignment(info)
    } finally {
      this.#state = 'idle'
    }
    if (this.#tasks.allRunning() && !this.#member.rebalanceNeeded) this.#o.events.onPhase('running')
    return true
  }

  #protocols() {
    const sourceTopics = this.#o.plan()?.sourceTopics ?? []
    const info = encodeSubscriptionInfo({
      processId: this.#o.processId,
      endpoint: this.#o.settings.applicationServer,
      prevActive: [...this.#tasks.active.keys()].sort(compareTaskIds),
      prevStandby: [...this.#tasks.standby.keys()],
      stateTasks: this.#o.stateDirectory.tasksWithState(),
      shutdownRequested: this.#o.shutdownRequested(),
    })
    return [
      {
        name: PROTOCOL_NAME,
        metadata: encodeSubscription({
          topics: [...sourceTopics].sort(),
          userData: info,
          ownedPartitions: this.#ownedPartitions(),
        }),
      },
    ]
  }

  /** Input partitions of the active tasks, as the consumer protocol's owned partitions (what tools display). */
  #ownedPartitions(): Array<{ topic: string; partitions: number[] }> {
    const byTopic = new Map<string, number[]>()
    for (const a of this.#tasks.active.values()) {
      for (const tp of a.def.inputs) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((x, y) => x - y) }))
  }
}
