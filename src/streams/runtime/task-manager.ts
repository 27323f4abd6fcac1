/**
 * The tasks of a stream thread (Kafka Streams' TaskManager): it opens the active and standby tasks an assignment
 * gives this instance, closes those it takes away, promotes standbys, finds where new tasks start reading (committed
 * offsets or the reset policy), hands them to the changelog reader until they are restored, writes checkpoints, and
 * exposes the local stores (interactive queries) and the task gauges. The thread runs the loop and commits.
 */
import {
  describeKafkaError,
  type Fetcher,
  type GroupMember,
  type KafkaCluster,
  listOffsets,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { streamsError } from '../errors.ts'
import { Position } from '../query/position.ts'
import type { RecordCache } from '../state/record-cache.ts'
import type { RecordContext } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { AssignmentInfo } from './assignor.ts'
import type { ChangelogReader } from './changelog-reader.ts'
import type { StreamsConfig } from './config.ts'
import type { GlobalStateUpdater } from './global-state.ts'
import type { KafkaRecordCollector } from './kafka-record-collector.ts'
import type { RuntimeSettings } from './runtime-settings.ts'
import type { StateDirectory } from './state-directory.ts'
import { StreamTask, type TopicPartition } from './stream-task.ts'
import type { LocalStore, StreamThreadEvents } from './stream-thread.ts'
import { StreamsMetricNames, type StreamsMetrics } from './streams-metrics.ts'
import type { TaskDef, TaskPlan } from './task-plan.ts'

export interface ActiveTask {
  readonly task: StreamTask
  readonly def: TaskDef
  phase: 'restoring' | 'running'
  /** Input offsets to start from once restored (the committed ones, or the reset policy's). */
  startOffsets: Map<string, number> | undefined
  /** changelog `topic:partition` → last offset the stores hold (for the checkpoint). */
  readonly storeOffsets: Map<string, number>
}

export interface StandbyTask {
  readonly task: StreamTask
  readonly def: TaskDef
}

export interface TaskManagerOptions {
  readonly topology: Topology
  readonly config: StreamsConfig
  readonly settings: RuntimeSettings
  readonly stateDirectory: StateDirectory
  readonly log: Logger
  readonly metrics: StreamsMetrics
  readonly events: StreamThreadEvents
  readonly member: GroupMember
  readonly input: Fetcher
  readonly changelogs: ChangelogReader
  readonly inputCluster: KafkaCluster
  readonly adminCluster: KafkaCluster
  readonly cache: RecordCache
  readonly global: GlobalStateUpdater | undefined
  /** Partition counts of output and internal topics (shared with the record collector's partitioner). */
  readonly partitionCounts: Map<string, number>
  /** The thread's current collector (replaced with the producer after a fencing). */
  collector(): KafkaRecordCollector
  /** The task plan of the last rebalance, and how to make a new one. */
  plan(): TaskPlan | undefined
  planTasks(): Promise<TaskPlan>
  /** Commits every task (the thread's guarded commit: a fencing closes the tasks dirty and asks to rejoin). */
  commit(): Promise<void>
  /** Whether a rebalance is needed or in flight (the thread is not 'running' then, even with every task running). */
  rebalancing(): boolean
}

export class TaskManager {
  readonly active = new Map<string, ActiveTask>()
  readonly standby = new Map<string, StandbyTask>()
  /** input `topic:partition` → the active task reading it. */
  readonly inputOwner = new Map<string, ActiveTask>()
  readonly #options: TaskManagerOptions
  readonly #topology: Topology
  readonly #config: StreamsConfig
  readonly #settings: RuntimeSettings
  readonly #stateDir: StateDirectory
  readonly #log: Logger
  readonly #metrics: StreamsMetrics
  readonly #events: StreamThreadEvents
  readonly #member: GroupMember
  readonly #input: Fetcher
  readonly #changelogs: ChangelogReader
  readonly #inputCluster: KafkaCluster
  readonly #adminCluster: KafkaCluster
  readonly #cache: RecordCache
  readonly #global: GlobalStateUpdater | undefined
  readonly #partitionCounts: Map<string, number>
  readonly #eos: boolean

  constructor(options: TaskManagerOptions) {
    this.#options = options
    this.#topology = options.topology
    this.#config = options.config
    this.#settings = options.settings
    this.#stateDir = options.stateDirectory
    this.#log = options.log
    this.#metrics = options.metrics
    this.#events = options.events
    this.#member = options.member
    this.#input = options.input
    this.#changelogs = options.changelogs
    this.#inputCluster = options.inputCluster
    this.#adminCluster = options.adminCluster
    this.#cache = options.cache
    this.#global = options.global
    this.#partitionCounts = options.partitionCounts
    this.#eos = options.config.processingGuarantee === 'exactly_once_v2'
  }

  get #collector(): KafkaRecordCollector {
    return this.#options.collector()
  }

  recordContextOf(taskId: string): RecordContext | undefined {
    const entry = this.active.get(taskId)
    return entry?.task.context.currentRecordContext()
  }

  registerGauges() {
    this.#metrics.registry.collect((m) => {
      const labels = this.#metrics.labels()
      for (const [key, entry] of this.inputOwner) {
        const at = key.lastIndexOf(':')
        const topic = key.slice(0, at)
        const partition = Number(key.slice(at + 1))
        const end = this.#input.endOffset(topic, partition)
        const queue = entry.task.partitionGroup.queue(topic, partition)
        const position = this.#input.position(topic, partition)
        if (end < 0 || position === undefined) continue
        const consumed = position - (queue?.size ?? 0)
        m.set(
          StreamsMetricNames.LAG,
          'Records behind the end of each input partition',
          { ...labels, topic, partition: String(partition), task_id: entry.task.id },
          Math.max(0, end - consumed),
        )
      }
      for (const p of this.#changelogs.progress()) {
        m.set(
          StreamsMetricNames.RESTORE_REMAINING,
          'Changelog records left to restore',
          { ...labels, task_id: p.taskId, store: p.store, partition: String(p.partition) },
          p.remaining,
        )
      }
      m.set(
        StreamsMetricNames.RESTORE_RATE,
        'Records restored per second (last second)',
        labels,
        this.#changelogs.restoring() ? this.#changelogs.rate : 0,
      )
      for (const s of this.#changelogs.standbyLag()) {
        m.set(
          StreamsMetricNames.STANDBY_LAG,
          'Changelog records a standby task is behind',
          { ...labels, task_id: s.taskId, topic: s.topic, partition: String(s.partition) },
          s.lag,
        )
      }
      let restoring = 0
      let running = 0
      for (const a of this.active.values()) a.phase === 'running' ? running++ : restoring++
      m.set(
        StreamsMetricNames.TASKS,
        'Tasks of this instance',
        { ...labels, kind: 'active', phase: 'running' },
        running,
      )
      m.set(
        StreamsMetricNames.TASKS,
        'Tasks of this instance',
        { ...labels, kind: 'active', phase: 'restoring' },
        restoring,
      )
      m.set(
        StreamsMetricNames.TASKS,
        'Tasks of this instance',
        { ...labels, kind: 'standby', phase: 'running' },
        this.standby.size,
      )
    })
  }

  /** Active task ids of this instance, and whether each runs. */
  activeTasks(): Array<{ id: string; phase: 'restoring' | 'running'; partitions: TopicPartition[] }> {
    return [...this.active.values()].map((a) => ({ id: a.task.id, phase: a.phase, partitions: [...a.def.inputs] }))
  }

  standbyTasks(): string[] {
    return [...this.standby.keys()]
  }

  /** Every local instance of a store: active tasks (running or restoring) and standbys. */
  localStores(name: string): LocalStore[] {
    const out: LocalStore[] = []
    for (const a of this.active.values()) {
      const store = a.task.getStore(name)
      if (!store) continue
      out.push({
        taskId: a.task.id,
        partition: a.def.partition,
        kind: 'active',
        phase: a.phase,
        store,
        position: a.phase === 'running' ? a.task.position() : Position.empty(),
      })
    }
    for (const sb of this.standby.values()) {
      const store = sb.task.getStore(name)
      if (!store) continue
      out.push({
        taskId: sb.task.id,
        partition: sb.def.partition,
        kind: 'standby',
        phase: 'running',
        store,
        position: Position.empty(),
      })
    }
    return out.sort((x, y) => x.partition - y.partition)
  }

  /** The store of an active task (or undefined), for tests and interactive queries. */
  store(taskId: string, name: string) {
    return this.active.get(taskId)?.task.getStore(name)
  }

  activeStores(name: string) {
    const out = []
    for (const a of this.active.values()) {
      if (a.phase !== 'running') continue
      const s = a.task.getStore(name)
      if (s) out.push({ taskId: a.task.id, store: s })
    }
    return out
  }

  writeCheckpoint(a: ActiveTask) {
    if (a.storeOffsets.size === 0 || !this.#persistent(a.task)) return
    this.#stateDir.writeCheckpoint(a.task.id, a.storeOffsets)
  }

  writeStandbyCheckpoint(s: StandbyTask) {
    if (!this.#persistent(s.task)) return
    const offsets = this.#changelogs.lastOffsets(s.task.id)
    if (offsets.size > 0) this.#stateDir.writeCheckpoint(s.task.id, offsets)
  }

  /** Only persistent stores survive a restart; a checkpoint for in-memory ones would skip their restore. */
  #persistent(task: StreamTask): boolean {
    return task.storeNames().some((n) => task.getStore(n)?.persistent())
  }

  async applyAssignment(info: AssignmentInfo): Promise<void> {
    const plan = this.#options.plan() ?? (await this.#options.planTasks())
    const newActive = new Set(info.active)
    const newStandby = new Set(info.standby)
    // Task definitions may be missing here if this member's plan predates the leader's: plan again.
    if ([...newActive, ...newStandby].some((id) => !plan.tasks.has(id))) await this.#options.planTasks()
    const tasks = this.#options.plan()!.tasks
    await this.#refreshPartitionCounts()
    // Revoke what moves away: commit (under exactly_once_v2 the one transaction covers every task), close cleanly,
    // then rejoin at once: the follow-up rebalance gives these tasks to their new member, which therefore starts
    // from offsets and changelogs this member has committed.
    const revoked = [...this.active.values()].filter((a) => !newActive.has(a.task.id))
    if (revoked.length > 0) {
      await this.#options.commit()
      for (const a of revoked) if (this.active.get(a.task.id) === a) await this.closeActive(a, true)
      if (!this.#member.lost) this.#member.rebalanceNeeded = true
      this.#log.info('tasks revoked', {
        generation: this.#member.generationId,
        tasks: revoked.map((a) => a.task.id),
      })
    }
    for (const [id, s] of this.standby) {
      if (newStandby.has(id) && !newActive.has(id)) continue
      if (newActive.has(id)) continue // promoted below
      await this.closeStandby(s)
    }
    // Open what is new.
    const created: ActiveTask[] = []
    for (const id of info.active) {
      if (this.active.has(id)) continue
      const def = tasks.get(id)!
      const standby = this.standby.get(id)
      let entry: ActiveTask
      if (standby) {
        this.standby.delete(id)
        this.#changelogs.promote(id)
        const storeOffsets = this.#changelogs.lastOffsets(id)
        entry = { task: standby.task, def, phase: 'restoring', startOffsets: undefined, storeOffsets }
        this.#log.info('standby task promoted to active', {
          task: id,
          changelogOffsets: Object.fromEntries(storeOffsets),
        })
      } else {
        const checkpoint = this.#openCheckpoint(id)
        const task = this.#newTask(def)
        entry = { task, def, phase: 'restoring', startOffsets: undefined, storeOffsets: new Map(checkpoint ?? []) }
        this.#changelogs.register(task, 'active', checkpoint)
      }
      this.active.set(id, entry)
      this.#metrics.taskCreated('active')
      created.push(entry)
    }
    for (const id of info.standby) {
      if (this.standby.has(id) || newActive.has(id)) continue
      const def = tasks.get(id)!
      const checkpoint = this.#openCheckpoint(id)
      const task = this.#newTask(def)
      this.standby.set(id, { task, def })
      this.#metrics.taskCreated('standby')
      this.#changelogs.register(task, 'standby', checkpoint)
    }
    // Where each new task starts reading its input: committed offsets, stable (no pending transaction).
    if (created.length > 0) {
      const partitions = created.flatMap((a) => a.def.inputs)
      const committed = await this.#member.committedOffsets(partitions, this.#settings.transactionTimeoutMs * 2 + 10000)
      const resets = new Map<'earliest' | 'latest', TopicPartition[]>()
      for (const a of created) {
        a.startOffsets = new Map()
        for (const tp of a.def.inputs) {
          const key = `${tp.topic}:${tp.partition}`
          const offset = committed.get(key)
          if (offset !== undefined) {
            a.startOffsets.set(key, Number(offset))
            // Everything before the committed offset is in the (restored) stores: their position starts there.
            a.task.seedPosition(tp.topic, tp.partition, Number(offset) - 1)
          } else {
            const policy = this.#resetPolicy(tp.topic)
            if (policy === 'none') {
              throw streamsError(
                'TRB_STREAMS_ILLEGAL_STATE',
                `no committed offset for ${key} and auto.offset.reset is none`,
              )
            }
            resets.set(policy, [...(resets.get(policy) ?? []), tp])
          }
        }
      }
      for (const [policy, tps] of resets) {
        const offsets = await listOffsets(
          this.#inputCluster,
          tps,
          policy,
          this.#eos ? 'read_committed' : 'read_uncommitted',
        )
        for (const a of created) {
          for (const tp of a.def.inputs) {
            const key = `${tp.topic}:${tp.partition}`
            const o = offsets.get(key)
            if (o !== undefined && !a.startOffsets!.has(key)) a.startOffsets!.set(key, o)
          }
        }
      }
    }
    await this.completeRestorations()
    this.#log.info('assignment applied', {
      generation: this.#member.generationId,
      active: [...this.active.keys()],
      standby: [...this.standby.keys()],
    })
  }

  #resetPolicy(topic: string): 'earliest' | 'latest' | 'none' {
    for (const n of this.#topology.nodes()) {
      if (n.kind !== 'source' || !n.offsetReset) continue
      if (n.topics.some((t) => this.#topology.resolveTopic(t, this.#config.applicationId) === topic))
        return n.offsetReset
    }
    return this.#settings.autoOffsetReset
  }

  /** Under exactly_once_v2 a task without a checkpoint may hold uncommitted writes: wipe it and restore all. */
  #openCheckpoint(taskId: string) {
    const checkpoint = this.#stateDir.readCheckpoint(taskId)
    if (this.#eos && !checkpoint) this.#stateDir.wipeTask(taskId)
    return checkpoint
  }

  #newTask(def: TaskDef): StreamTask {
    return new StreamTask({
      id: def.id,
      topology: this.#topology,
      subtopologies: [def.subtopology],
      partitions: def.inputs,
      config: this.#config,
      collector: this.#collector,
      cache: this.#cache,
      changelogPartition: def.partition,
      globalStores: this.#global?.stores(),
      log: (message) => this.#log.warn(message),
    })
  }

  async #refreshPartitionCounts(): Promise<void> {
    const appId = this.#config.applicationId
    const topics = new Set<string>()
    for (const n of this.#topology.nodes()) {
      if (n.kind === 'sink' && n.topic !== undefined) topics.add(this.#topology.resolveTopic(n.topic, appId))
    }
    for (const t of this.#options.plan()?.internalTopics ?? []) topics.add(t.name)
    const dlq = this.#config.deadLetterQueueTopic
    if (dlq) topics.add(dlq)
    const counts = await this.#adminCluster.partitionCounts([...topics])
    for (const [t, n] of counts) if (n !== undefined) this.#partitionCounts.set(t, n)
  }

  /** Active tasks whose changelogs are read to the end start processing from their start offsets. */
  async completeRestorations(): Promise<void> {
    let changed = false
    for (const a of this.active.values()) {
      if (a.phase !== 'restoring' || !a.startOffsets) continue
      if (this.#changelogs.has(a.task.id)) {
        await this.#changelogs.measureEndOffsets()
        if (!this.#changelogs.restored(a.task.id)) continue
        for (const [tp, offset] of this.#changelogs.lastOffsets(a.task.id)) a.storeOffsets.set(tp, offset)
        const { restored } = this.#changelogs.finish(a.task.id)
        if (restored > 0) this.#log.info('task restored', { task: a.task.id, records: restored })
      }
      await a.task.prepare()
      a.task.completeRestoration()
      if (this.#eos) this.#stateDir.deleteCheckpoint(a.task.id)
      a.phase = 'running'
      for (const tp of a.def.inputs) {
        const key = `${tp.topic}:${tp.partition}`
        this.#input.assign(tp.topic, tp.partition, a.startOffsets.get(key) ?? 0)
        this.inputOwner.set(key, a)
      }
      changed = true
    }
    if (changed && this.allRunning() && !this.#options.rebalancing()) this.#events.onPhase('running')
    if (changed) this.#events.onProgress?.()
  }

  allRunning(): boolean {
    for (const a of this.active.values()) if (a.phase !== 'running') return false
    return true
  }

  async closeActive(a: ActiveTask, clean: boolean): Promise<void> {
    this.active.delete(a.task.id)
    this.#metrics.taskClosed('active')
    for (const tp of a.def.inputs) {
      this.#input.unassign(tp.topic, tp.partition)
      this.inputOwner.delete(`${tp.topic}:${tp.partition}`)
    }
    if (this.#changelogs.has(a.task.id)) {
      if (a.phase === 'restoring')
        for (const [tp, o] of this.#changelogs.lastOffsets(a.task.id)) a.storeOffsets.set(tp, o)
      this.#changelogs.unregister(a.task.id)
    }
    try {
      await a.task.close(clean && a.phase === 'running')
    } catch (error) {
      this.#log.warn('closing a task failed', { task: a.task.id, error: describeKafkaError(error) })
      clean = false
    }
    // A clean close leaves a checkpoint (restart without replay); a restoring task checkpoints what it restored
    // (read from the changelog, so consistent under exactly_once_v2 too). A dirty close leaves none under
    // exactly_once_v2 (the stores may hold uncommitted writes: the next owner wipes and restores them).
    if (clean || a.phase === 'restoring') this.writeCheckpoint(a)
    this.#collector.forgetOffsets(a.task.changelogPartitions().map((c) => `${c.topic}:${c.partition}`))
  }

  async closeStandby(s: StandbyTask): Promise<void> {
    this.standby.delete(s.task.id)
    this.#metrics.taskClosed('standby')
    this.writeStandbyCheckpoint(s)
    this.#changelogs.unregister(s.task.id)
    await s.task.close(false).catch((error) => {
      this.#log.warn('closing a standby task failed', { task: s.task.id, error: describeKafkaError(error) })
    })
  }

  async closeAllDirty(): Promise<void> {
    if (this.#eos) await this.#collector.abortTransaction()
    else this.#collector.reset()
    for (const a of [...this.active.values()]) await this.closeActive(a, false)
  }

  async closeAllClean(): Promise<void> {
    for (const a of [...this.active.values()]) await this.closeActive(a, true)
    for (const s of [...this.standby.values()]) await this.closeStandby(s)
  }
}
