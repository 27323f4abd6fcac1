/**
 * Task assignment by the group leader (Kafka Streams' StreamsPartitionAssignor with its sticky task assignor):
 * every member says in its subscription user data which tasks it ran, which it kept warm as standbys and which it
 * has state for on disk; the leader balances active tasks (counts differ by at most one), keeps each task where it
 * ran (or where its state is), and places `num.standby.replicas` standbys of every stateful task on other members.
 * The assignment user data carries each member's active and standby tasks and, for interactive queries, which
 * host (`application.server`) holds which partitions.
 *
 * Rebalancing is cooperative (KIP-429, as Kafka Streams since 2.4): a member keeps running its tasks while the
 * group rebalances, and the leader never gives a task to a new member while another member still owns it. Such a
 * task is assigned to nobody in this generation; its owner, seeing it gone from its assignment, commits and
 * closes it, then rejoins at once, and the follow-up rebalance gives the task to its new member. So a task moves
 * in two phases and two members never run it at the same time (see `cooperativeHandoff`).
 */
import { streamsError } from '../errors.ts'
import { compareTaskIds, type TaskDef } from './task-plan.ts'

const SUBSCRIPTION_MAGIC = 'TRBS'
const ASSIGNMENT_MAGIC = 'TRBA'
/** Version 2: the member rebalances cooperatively (keeps its tasks while joining, revokes only what moves). */
export const SUBSCRIPTION_VERSION = 2
/** Subscriptions from this version on come from members that hand tasks over in two phases. */
export const COOPERATIVE_SUBSCRIPTION_VERSION = 2
export const ASSIGNMENT_VERSION = 1

export interface SubscriptionInfo {
  readonly version: number
  /** Stable id of the process (kept in the state directory), so a restarted process is recognised. */
  readonly processId: string
  /** `application.server` (host:port) for interactive queries, or null. */
  readonly endpoint: string | null
  readonly prevActive: readonly string[]
  readonly prevStandby: readonly string[]
  /** Tasks with state on disk → sum of their checkpointed changelog offsets (higher: more caught up). */
  readonly stateTasks: Readonly<Record<string, number>>
  /** Set when this member's uncaught exception handler asked to shut the whole application down. */
  readonly shutdownRequested?: boolean
}

export const AssignmentError = {
  NONE: 0,
  /** Source topics are missing: every member stops with TRB_STREAMS_MISSING_SOURCE_TOPIC. */
  MISSING_SOURCE_TOPICS: 1,
  /** Co-partitioned topics disagree, or an internal topic exists with the wrong partition count. */
  INVALID_TOPOLOGY: 2,
  /** A member asked to shut the application down (StreamsUncaughtExceptionHandler SHUTDOWN_APPLICATION). */
  SHUTDOWN_APPLICATION: 3,
} as const

export interface AssignmentInfo {
  readonly version: number
  readonly errorCode: number
  readonly errorMessage?: string
  readonly active: readonly string[]
  readonly standby: readonly string[]
  /** application.server → input partitions (`topic:partition`) of its active tasks. */
  readonly partitionsByHost: Readonly<Record<string, readonly string[]>>
  readonly standbyPartitionsByHost: Readonly<Record<string, readonly string[]>>
}

function encode(magic: string, version: number, body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8')
  const head = Buffer.alloc(8)
  head.write(magic, 0, 'latin1')
  head.writeInt32BE(version, 4)
  return Buffer.concat([head, json])
}

function decode(magic: string, bytes: Buffer | null, what: string): { version: number; body: Record<string, unknown> } {
  if (!bytes || bytes.length < 8 || bytes.toString('latin1', 0, 4) !== magic) {
    throw streamsError(
      'TRB_STREAMS_ILLEGAL_STATE',
      `the group's ${what} data is not Tributary Streams' (is another kind of application using this application.id?)`,
    )
  }
  return { version: bytes.readInt32BE(4), body: JSON.parse(bytes.toString('utf8', 8)) as Record<string, unknown> }
}

export function encodeSubscriptionInfo(info: Omit<SubscriptionInfo, 'version'>): Buffer {
  return encode(SUBSCRIPTION_MAGIC, SUBSCRIPTION_VERSION, info)
}

export function decodeSubscriptionInfo(bytes: Buffer | null): SubscriptionInfo {
  const { version, body } = decode(SUBSCRIPTION_MAGIC, bytes, 'subscription')
  return {
    version,
    processId: String(body.processId ?? ''),
    endpoint: typeof body.endpoint === 'string' ? body.endpoint : null,
    prevActive: Array.isArray(body.prevActive) ? body.prevActive.map(String) : [],
    prevStandby: Array.isArray(body.prevStandby) ? body.prevStandby.map(String) : [],
    stateTasks: (body.stateTasks as Record<string, number>) ?? {},
    shutdownRequested: body.shutdownRequested === true,
  }
}

export function encodeAssignmentInfo(info: Omit<AssignmentInfo, 'version'>): Buffer {
  return encode(ASSIGNMENT_MAGIC, ASSIGNMENT_VERSION, info)
}

export function decodeAssignmentInfo(bytes: Buffer | null): AssignmentInfo {
  const { version, body } = decode(ASSIGNMENT_MAGIC, bytes, 'assignment')
  return {
    version,
    errorCode: Number(body.errorCode ?? 0),
    errorMessage: typeof body.errorMessage === 'string' ? body.errorMessage : undefined,
    active: Array.isArray(body.active) ? body.active.map(String) : [],
    standby: Array.isArray(body.standby) ? body.standby.map(String) : [],
    partitionsByHost: (body.partitionsByHost as Record<string, string[]>) ?? {},
    standbyPartitionsByHost: (body.standbyPartitionsByHost as Record<string, string[]>) ?? {},
  }
}

export interface MemberState {
  readonly memberId: string
  readonly info: SubscriptionInfo
}

export interface TaskAssignment {
  readonly active: Map<string, string[]>
  readonly standby: Map<string, string[]>
}

/**
 * Assigns tasks to members. Deterministic for the same input. Active tasks: each member gets ⌊T/N⌋ or ⌈T/N⌉;
 * a task stays with the member that ran it while that keeps the balance, else goes to a member with its state
 * (the most caught up first), else to the least loaded. Standbys: `numStandby` per stateful task, never on the
 * member running it, preferring members with its state, then the least loaded.
 */
export function assignTasks(
  members: readonly MemberState[],
  tasks: ReadonlyMap<string, TaskDef>,
  numStandby: number,
): TaskAssignment {
  const ids = [...members].map((m) => m.memberId).sort()
  const byId = new Map(members.map((m) => [m.memberId, m]))
  const active = new Map<string, string[]>(ids.map((id) => [id, []]))
  const standby = new Map<string, string[]>(ids.map((id) => [id, []]))
  if (ids.length === 0) return { active, standby }
  const taskIds = [...tasks.keys()].sort(compareTaskIds)
  const base = Math.floor(taskIds.length / ids.length)
  let extra = taskIds.length % ids.length
  const load = (id: string) => active.get(id)!.length
  const canTake = (id: string) => load(id) < base || (load(id) === base && extra > 0)
  const give = (id: string, task: string) => {
    if (load(id) === base) extra--
    active.get(id)!.push(task)
  }
  const owner = new Map<string, string>()
  // 1. Sticky: a task stays where it ran (the first claimant in member order, for determinism).
  for (const task of taskIds) {
    for (const id of ids) {
      if (byId.get(id)!.info.prevActive.includes(task) && canTake(id)) {
        give(id, task)
        owner.set(task, id)
        break
      }
    }
  }
  // 2. The rest: to a member with its state (the most caught up), else to the least loaded.
  for (const task of taskIds) {
    if (owner.has(task)) continue
    const candidates = ids.filter(canTake)
    const stateOf = (id: string) => {
      const info = byId.get(id)!.info
      if (info.prevStandby.includes(task)) return Number.MAX_SAFE_INTEGER
      return info.stateTasks[task] ?? -1
    }
    candidates.sort((a, b) => stateOf(b) - stateOf(a) || load(a) - load(b) || (a < b ? -1 : 1))
    const chosen = candidates[0]!
    give(chosen, task)
    owner.set(task, chosen)
  }
  // 3. Standbys of stateful tasks on other members.
  if (numStandby > 0) {
    for (const task of taskIds) {
      if (!tasks.get(task)!.stateful) continue
      for (let r = 0; r < numStandby; r++) {
        const candidates = ids.filter((id) => id !== owner.get(task) && !standby.get(id)!.includes(task))
        if (candidates.length === 0) break
        const hasState = (id: string) => {
          const info = byId.get(id)!.info
          return info.prevStandby.includes(task) || info.prevActive.includes(task) || task in info.stateTasks ? 1 : 0
        }
        const standbyLoad = (id: string) => standby.get(id)!.length + load(id)
        candidates.sort((a, b) => hasState(b) - hasState(a) || standbyLoad(a) - standbyLoad(b) || (a < b ? -1 : 1))
        standby.get(candidates[0]!)!.push(task)
      }
    }
  }
  for (const list of active.values()) list.sort(compareTaskIds)
  for (const list of standby.values()) list.sort(compareTaskIds)
  return { active, standby }
}

/**
 * Withholds, for this generation, every active task the target assignment gives to a member while another member
 * still owns it (it ran it in the previous generation and rebalances cooperatively): the owner first revokes it
 * (commit, close) and rejoins, and the follow-up rebalance assigns it. Members on the eager protocol (subscription
 * version 1) committed and let go of everything before joining, so their tasks move at once. Returns the active
 * tasks to send now and the tasks held back.
 */
export function cooperativeHandoff(
  members: readonly MemberState[],
  target: ReadonlyMap<string, readonly string[]>,
): { active: Map<string, string[]>; withheld: string[] } {
  const owners = new Map<string, string[]>()
  for (const m of members) {
    if (m.info.version < COOPERATIVE_SUBSCRIPTION_VERSION) continue
    for (const task of m.info.prevActive) owners.set(task, [...(owners.get(task) ?? []), m.memberId])
  }
  const active = new Map<string, string[]>()
  const withheld: string[] = []
  for (const [memberId, tasks] of target) {
    const now: string[] = []
    for (const task of tasks) {
      const claimants = owners.get(task) ?? []
      const claimedElsewhere = !claimants.includes(memberId) && claimants.length > 0
      if (claimedElsewhere) withheld.push(task)
      else now.push(task)
    }
    active.set(memberId, now)
  }
  withheld.sort(compareTaskIds)
  return { active, withheld }
}
