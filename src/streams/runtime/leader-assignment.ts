/**
 * What the group leader computes at a rebalance (Kafka Streams' StreamsPartitionAssignor.assign): every member's
 * assignment bytes, from their subscriptions and the cluster's topics. The task assignment itself is assignor.ts.
 */
import { decodeSubscription, encodeAssignment, type GroupMemberMetadata } from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { StreamsError } from '../errors.ts'
import {
  AssignmentError,
  assignTasks,
  cooperativeHandoff,
  decodeSubscriptionInfo,
  encodeAssignmentInfo,
  type MemberState,
} from './assignor.ts'
import { type TaskPlan, TaskPlanError } from './task-plan.ts'

/** What the leader needs of its thread. */
export interface LeaderContext {
  /** Reads partition counts from the cluster and plans tasks and internal topics. */
  planTasks(): Promise<TaskPlan>
  /** Creates the plan's internal topics (or checks the existing ones). */
  ensureInternalTopics(plan: TaskPlan): Promise<void>
  readonly numStandbyReplicas: number
  readonly log: Logger
}

/**
 * The leader's job: plan tasks and internal topics from the cluster's topics, create them, assign (balanced,
 * sticky, with standbys, then the cooperative handoff) and encode every member's assignment.
 */
export async function leaderAssignment(
  members: GroupMemberMetadata[],
  ctx: LeaderContext,
): Promise<Map<string, Buffer>> {
  const states: MemberState[] = []
  const out = new Map<string, Buffer>()
  const fail = (errorCode: number, errorMessage: string) => {
    for (const m of members) {
      out.set(
        m.memberId,
        encodeAssignment({
          partitions: [],
          userData: encodeAssignmentInfo({
            errorCode,
            errorMessage,
            active: [],
            standby: [],
            partitionsByHost: {},
            standbyPartitionsByHost: {},
          }),
        }),
      )
    }
    return out
  }
  for (const m of members) {
    try {
      states.push({ memberId: m.memberId, info: decodeSubscriptionInfo(decodeSubscription(m.metadata).userData) })
    } catch (error) {
      return fail(AssignmentError.INVALID_TOPOLOGY, (error as Error).message)
    }
  }
  if (states.some((s) => s.info.shutdownRequested)) {
    return fail(
      AssignmentError.SHUTDOWN_APPLICATION,
      'a member of the application asked to shut it down (uncaught exception handler)',
    )
  }
  let plan: TaskPlan
  try {
    plan = await ctx.planTasks()
    await ctx.ensureInternalTopics(plan)
  } catch (error) {
    if (error instanceof TaskPlanError) {
      return fail(
        error.reason === 'missing-source-topics'
          ? AssignmentError.MISSING_SOURCE_TOPICS
          : AssignmentError.INVALID_TOPOLOGY,
        error.message,
      )
    }
    if (error instanceof StreamsError && error.code === 'TRB_STREAMS_INTERNAL_TOPIC_MISMATCH') {
      return fail(AssignmentError.INVALID_TOPOLOGY, error.message)
    }
    throw error
  }
  const target = assignTasks(states, plan.tasks, ctx.numStandbyReplicas)
  const { standby } = target
  const { active, withheld } = cooperativeHandoff(states, target.active)
  const partitionsByHost: Record<string, string[]> = {}
  const standbyPartitionsByHost: Record<string, string[]> = {}
  for (const s of states) {
    const host = s.info.endpoint
    if (!host) continue
    const parts = (ids: string[]) =>
      ids.flatMap((id) => plan.tasks.get(id)!.inputs.map((i) => `${i.topic}:${i.partition}`))
    partitionsByHost[host] = [...(partitionsByHost[host] ?? []), ...parts(active.get(s.memberId) ?? [])]
    standbyPartitionsByHost[host] = [...(standbyPartitionsByHost[host] ?? []), ...parts(standby.get(s.memberId) ?? [])]
  }
  for (const s of states) {
    const ids = active.get(s.memberId) ?? []
    const byTopic = new Map<string, number[]>()
    for (const id of ids) {
      for (const i of plan.tasks.get(id)!.inputs) byTopic.set(i.topic, [...(byTopic.get(i.topic) ?? []), i.partition])
    }
    out.set(
      s.memberId,
      encodeAssignment({
        partitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        userData: encodeAssignmentInfo({
          errorCode: AssignmentError.NONE,
          active: ids,
          standby: standby.get(s.memberId) ?? [],
          partitionsByHost,
          standbyPartitionsByHost,
        }),
      }),
    )
  }
  ctx.log.info('assigned tasks', {
    members: states.length,
    tasks: plan.tasks.size,
    handingOver: withheld,
    assignment: Object.fromEntries(
      states.map((s) => [
        s.info.processId.slice(0, 8),
        { active: active.get(s.memberId), standby: standby.get(s.memberId) },
      ]),
    ),
  })
  return out
}
