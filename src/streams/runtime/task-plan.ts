import { changelogTopicFor } from '../state/layers.ts'
import type { Topology } from '../topology/topology.ts'
import type { TopicPartition } from './stream-task.ts'

/** One task to assign: a sub-topology instance for one partition number of its inputs. */
export interface TaskDef {
  readonly id: string
  readonly subtopology: number
  readonly partition: number
  readonly inputs: readonly TopicPartition[]
  /** Whether it has stores restored from a changelog (only those get standby replicas). */
  readonly stateful: boolean
}

export interface InternalTopicSpec {
  readonly name: string
  readonly partitions: number
  readonly configs: Readonly<Record<string, string>>
  readonly kind: 'repartition' | 'changelog'
}

export interface TaskPlan {
  readonly tasks: ReadonlyMap<string, TaskDef>
  readonly internalTopics: readonly InternalTopicSpec[]
  /** Source topics each sub-topology reads (real names), for subscriptions. */
  readonly sourceTopics: readonly string[]
}

export class TaskPlanError extends Error {
  readonly reason: 'missing-source-topics' | 'copartitioning' | 'internal-topic-mismatch'
  readonly topics: readonly string[]
  constructor(reason: TaskPlanError['reason'], topics: readonly string[], message: string) {
    super(message)
    this.reason = reason
    this.topics = topics
  }
}

/** Kafka Streams' repartition topic configs (records are purged after commit; time retention off). */
export const REPARTITION_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'delete',
  'segment.bytes': '52428800',
  'retention.ms': '-1',
})

export function taskIdOf(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`
}

export function parseTaskId(id: string): { subtopology: number; partition: number } {
  const [s, p] = id.split('_')
  return { subtopology: Number(s), partition: Number(p) }
}

/** Source topics of each sub-topology, real names (patterns resolved against `existing`). */
export function subtopologySources(
  topology: Topology,
  applicationId: string,
  existing: readonly string[] = [],
): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const s of topology.subtopologies()) {
    const topics = new Set<string>()
    for (const name of s.nodes) {
      const node = topology.node(name)
      if (node?.kind !== 'source') continue
      for (const t of node.topics) topics.add(topology.resolveTopic(t, applicationId))
      if (node.pattern) for (const t of existing) if (node.pattern.test(t)) topics.add(t)
    }
    out.set(s.id, [...topics])
  }
  return out
}

/** The real names of topics no source of the topology creates: what must exist before the application starts. */
export function externalSourceTopics(topology: Topology, applicationId: string): string[] {
  const out = new Set<string>()
  for (const s of topology.allGroups()) {
    for (const name of s.nodes) {
      const node = topology.node(name)
      if (node?.kind !== 'source') continue
      for (const t of node.topics) if (!topology.isInternalTopic(t)) out.add(t)
    }
  }
  for (const t of topology.globalTopics()) out.add(t)
  void applicationId
  return [...out]
}

/**
 * Computes the tasks and the internal topics (with their partition counts and configs) from the partition counts
 * of the external source topics, as Kafka Streams' StreamsPartitionAssignor does: a repartition topic gets the
 * partition count of the sub-topology writing it (or `Repartitioned.numberOfPartitions`), a changelog one partition
 * per task of the sub-topology owning the store, co-partitioned topics must agree.
 */
export function planTasks(
  topology: Topology,
  applicationId: string,
  partitionCounts: ReadonlyMap<string, number | undefined>,
): TaskPlan {
  const existing = [...partitionCounts].filter(([, n]) => n !== undefined).map(([t]) => t)
  const sources = subtopologySources(topology, applicationId, existing)
  const subs = topology.subtopologies()
  const counts = new Map<string, number>()
  const missing: string[] = []
  const internalNames = new Map<string, { short: string; fixed?: number }>()
  for (const def of topology.internalTopics()) {
    internalNames.set(topology.resolveTopic(def.name, applicationId), {
      short: def.name,
      fixed: def.numberOfPartitions,
    })
  }
  for (const topics of sources.values()) {
    for (const t of topics) {
      if (internalNames.has(t)) continue
      const n = partitionCounts.get(t)
      if (n === undefined) missing.push(t)
      else counts.set(t, n)
    }
  }
  for (const t of topology.globalTopics()) if (partitionCounts.get(t) === undefined) missing.push(t)
  if (missing.length > 0) {
    const list = [...new Set(missing)].sort()
    throw new TaskPlanError(
      'missing-source-topics',
      list,
      `source topic${list.length > 1 ? 's' : ''} ${list.join(', ')} of application ${applicationId} ` +
        `do${list.length > 1 ? '' : 'es'} not exist: create ${list.length > 1 ? 'them' : 'it'} before starting`,
    )
  }
  for (const [name, info] of internalNames) if (info.fixed !== undefined) counts.set(name, info.fixed)
  // Repartition topics: the partition count of the sub-topology that writes them, to a fixed point.
  for (let changed = true; changed; ) {
    changed = false
    for (const s of subs) {
      const inCounts = (sources.get(s.id) ?? []).map((t) => counts.get(t)).filter((n): n is number => n !== undefined)
      if (inCounts.length === 0) continue
      const n = Math.max(...inCounts)
      for (const sink of s.sinkTopics) {
        const real = topology.resolveTopic(sink, applicationId)
        if (!internalNames.has(real) || counts.has(real)) continue
        counts.set(real, n)
        changed = true
      }
    }
  }
  // Co-partitioned sources (joins): external topics must agree; internal ones follow them.
  for (const group of topology.copartitionGroups()) {
    const topics = new Set<string>()
    for (const source of group) {
      const node = topology.node(source)
      if (node?.kind === 'source') for (const t of node.topics) topics.add(topology.resolveTopic(t, applicationId))
    }
    const external = [...topics].filter((t) => !internalNames.has(t) || internalNames.get(t)!.fixed !== undefined)
    const externalCounts = new Set(external.map((t) => counts.get(t)))
    if (externalCounts.size > 1) {
      const detail = external.map((t) => `${t} (${counts.get(t)})`).join(', ')
      throw new TaskPlanError(
        'copartitioning',
        external,
        `topics ${detail} must be co-partitioned (the same number of partitions) to be joined: repartition one of ` +
          'them (KStream.repartition with Repartitioned.numberOfPartitions) or recreate it',
      )
    }
    const target =
      externalCounts.size === 1 ? [...externalCounts][0]! : Math.max(...[...topics].map((t) => counts.get(t) ?? 1))
    for (const t of topics) if (internalNames.has(t) && internalNames.get(t)!.fixed === undefined) counts.set(t, target)
  }
  const tasks = new Map<string, TaskDef>()
  const internalTopics: InternalTopicSpec[] = []
  for (const [name] of internalNames) {
    internalTopics.push({
      name,
      partitions: counts.get(name) ?? 1,
      configs: REPARTITION_TOPIC_CONFIGS,
      kind: 'repartition',
    })
  }
  for (const s of subs) {
    const topics = sources.get(s.id) ?? []
    const n = Math.max(0, ...topics.map((t) => counts.get(t) ?? 0))
    const logged = s.stores.filter((store) => {
      const entry = topology.store(store)
      return entry !== undefined && !entry.global && entry.builder.loggingEnabled
    })
    for (const store of logged) {
      const entry = topology.store(store)!
      internalTopics.push({
        name: changelogTopicFor(applicationId, store),
        partitions: n,
        configs: { 'cleanup.policy': 'compact', ...entry.builder.logConfig },
        kind: 'changelog',
      })
    }
    for (let p = 0; p < n; p++) {
      const inputs = topics.filter((t) => p < (counts.get(t) ?? 0)).map((topic) => ({ topic, partition: p }))
      tasks.set(taskIdOf(s.id, p), {
        id: taskIdOf(s.id, p),
        subtopology: s.id,
        partition: p,
        inputs,
        stateful: logged.length > 0,
      })
    }
  }
  return { tasks, internalTopics, sourceTopics: [...new Set([...sources.values()].flat())] }
}

/** Task ids in Kafka Streams' order: by sub-topology, then partition. */
export function compareTaskIds(a: string, b: string): number {
  const x = parseTaskId(a)
  const y = parseTaskId(b)
  return x.subtopology - y.subtopology || x.partition - y.partition
}
