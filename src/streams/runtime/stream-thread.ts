/**
 * The processing loop of an instance (Kafka Streams' StreamThread; Node runs one per process): it is the group
 * member, owns the active and standby tasks the leader assigns it, restores their stores, fetches input, runs the
 * tasks, commits (offsets, or the transaction under exactly_once_v2) every commit.interval.ms, and rebalances
 * cooperatively: it rejoins without committing or closing anything, keeps the tasks that stay open and running
 * (state, caches and transaction untouched), and only when its assignment takes tasks away does it commit and
 * close those, then rejoin at once so the follow-up rebalance hands them to their new member (assignor.ts).
 */
import { compatibilityPartitioner, type Producer } from '@platformatic/kafka'
import {
  createProducer,
  decodeAssignment,
  decodeSubscription,
  describeKafkaError,
  encodeAssignment,
  encodeSubscription,
  type FetchedPartition,
  Fetcher,
  GroupFencedError,
  GroupMember,
  type GroupMemberMetadata,
  KafkaCluster,
  listOffsets,
  type PartitionOffset,
  ProducerFencedError,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { StreamsError, streamsError } from '../errors.ts'
import { Position } from '../query/position.ts'
import { RecordCache } from '../state/record-cache.ts'
import type { RecordContext, StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import {
  AssignmentError,
  type AssignmentInfo,
  assignTasks,
  cooperativeHandoff,
  decodeAssignmentInfo,
  decodeSubscriptionInfo,
  encodeAssignmentInfo,
  encodeSubscriptionInfo,
  type MemberState,
} from './assignor.ts'
import { ChangelogReader, type StateRestoreListener } from './changelog-reader.ts'
import type { StreamsConfig } from './config.ts'
import { GlobalStateUpdater } from './global-state.ts'
import { ensureInternalTopics } from './internal-topics.ts'
import { KafkaRecordCollector } from './kafka-record-collector.ts'
import type { RuntimeSettings } from './runtime-settings.ts'
import type { StateDirectory } from './state-directory.ts'
import { StreamTask, type TopicPartition } from './stream-task.ts'
import { StreamsMetricNames, type StreamsMetrics } from './streams-metrics.ts'
import { compareTaskIds, planTasks, type TaskDef, type TaskPlan, TaskPlanError } from './task-plan.ts'

const PROTOCOL_NAME = 'stream'

interface ActiveTask {
  readonly task: StreamTask
  readonly def: TaskDef
  phase: 'restoring' | 'running'
  /** Input offsets to start from once restored (the committed ones, or the reset policy's). */
  startOffsets: Map<string, number> | undefined
  /** changelog `topic:partition` → last offset the stores hold (for the checkpoint). */
  readonly storeOffsets: Map<string, number>
}

interface StandbyTask {
  readonly task: StreamTask
  readonly def: TaskDef
}

export interface StreamThreadEvents {
  /** Rebalancing (joining, restoring) or running (every active task processing). */
  onPhase(phase: 'rebalancing' | 'running'): void
  /** The assignment says the application must stop (missing topics, another member's shutdown request). */
  onAssignmentError(error: StreamsError, shutdownApplication: boolean): void
  /** Records were processed, or tasks opened, closed or finished restoring (what position waiters look at). */
  onProgress?(): void
}

/** One local instance of a store, for interactive queries. */
export interface LocalStore {
  readonly taskId: string
  readonly partition: number
  readonly kind: 'active' | 'standby'
  readonly phase: 'restoring' | 'running'
  readonly store: StateStore
  /** Input offsets applied (empty unless an active running task: restored state has no known position). */
  readonly position: Position
}

export interface StreamThreadOptions {
  readonly topology: Topology
  readonly config: StreamsConfig
  readonly settings: RuntimeSettings
  readonly stateDirectory: StateDirectory
  readonly processId: string
  readonly log: Logger
  readonly metrics: StreamsMetrics
  readonly events: StreamThreadEvents
  readonly restoreListener?: StateRestoreListener
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class StreamThread {
  readonly #topology: Topology
  readonly #config: StreamsConfig
  readonly #settings: RuntimeSettings
  readonly #stateDir: StateDirectory
  readonly #processId: string
  readonly #log: Logger
  readonly #metrics: StreamsMetrics
  readonly #events: StreamThreadEvents
  readonly #eos: boolean
  readonly #groupCluster: KafkaCluster
  readonly #inputCluster: KafkaCluster
  readonly #changelogCluster: KafkaCluster
  readonly #adminCluster: KafkaCluster
  readonly #member: GroupMember
  readonly #input: Fetcher
  readonly #changelogFetcher: Fetcher
  readonly #changelogs: ChangelogReader
  readonly #cache: RecordCache
  readonly #active = new Map<string, ActiveTask>()
  readonly #standby = new Map<string, StandbyTask>()
  /** input `topic:partition` → the active task reading it. */
  readonly #inputOwner = new Map<string, ActiveTask>()
  readonly #partitionCounts = new Map<string, number>()
  readonly #global: GlobalStateUpdater | undefined
  #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  #collector: KafkaRecordCollector
  #plan: TaskPlan | undefined
  #joined = false
  #stopping = false
  #lastCommit = Date.now()
  #lastStandbyCheckpoint = Date.now()
  #lastPurge = Date.now()
  /** Committed offsets of repartition partitions not yet purged (records before them are deleted). */
  readonly #purgeable = new Map<string, { topic: string; partition: number; offset: bigint }>()
  #purging: Promise<void> | undefined
  #shutdownRequested = false
  #loop: Promise<void> | undefined
  #assignment: AssignmentInfo | undefined

  constructor(options: StreamThreadOptions) {
    this.#topology = options.topology
    this.#config = options.config
    this.#settings = options.settings
    this.#stateDir = options.stateDirectory
    this.#processId = options.processId
    this.#log = options.log
    this.#metrics = options.metrics
    this.#events = options.events
    this.#eos = this.#config.processingGuarantee === 'exactly_once_v2'
    const s = this.#settings
    const base = { bootstrap: s.bootstrap, connection: s.connection }
    this.#groupCluster = new KafkaCluster({
      ...base,
      clientId: `${s.clientId}-group`,
      requestTimeoutMs: s.rebalanceTimeoutMs + 5000,
    })
    this.#inputCluster = new KafkaCluster({
      ...base,
      clientId: `${s.clientId}-consumer`,
      requestTimeoutMs: s.fetchMaxWaitMs + 30000,
    })
    this.#changelogCluster = new KafkaCluster({
      ...base,
      clientId: `${s.clientId}-restore-consumer`,
      requestTimeoutMs: s.fetchMaxWaitMs + 30000,
    })
    this.#adminCluster = new KafkaCluster({ ...base, clientId: `${s.clientId}-admin` })
    this.#member = new GroupMember({
      cluster: this.#groupCluster,
      groupId: this.#config.applicationId,
      groupInstanceId: s.groupInstanceId,
      sessionTimeoutMs: s.sessionTimeoutMs,
      rebalanceTimeoutMs: s.rebalanceTimeoutMs,
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      log: this.#log,
      onRebalanceNeeded: () => this.#wakeup(),
    })
    const isolation = this.#eos ? 'read_committed' : 'read_uncommitted'
    this.#input = new Fetcher({
      cluster: this.#inputCluster,
      isolationLevel: isolation,
      maxWaitMs: s.fetchMaxWaitMs,
      partitionMaxBytes: s.maxPartitionFetchBytes,
      offsetReset: s.autoOffsetReset,
      log: this.#log,
    })
    this.#changelogFetcher = new Fetcher({
      cluster: this.#changelogCluster,
      isolationLevel: isolation,
      maxWaitMs: s.fetchMaxWaitMs,
      partitionMaxBytes: s.restorePartitionFetchBytes,
      maxBytes: s.restoreFetchMaxBytes,
      offsetReset: 'earliest',
      log: this.#log,
    })
    this.#changelogs = new ChangelogReader({
      fetcher: this.#changelogFetcher,
      cluster: this.#changelogCluster,
      log: this.#log,
      listener: options.restoreListener,
    })
    this.#cache = new RecordCache(this.#config.cacheMaxBytes)
    this.#producer = this.#newProducer()
    this.#collector = this.#newCollector()
    if (this.#topology.globalStoreGroups().length > 0) {
      this.#global = new GlobalStateUpdater({
        topology: this.#topology,
        config: this.#config,
        cluster: new KafkaCluster({
          ...base,
          clientId: `${s.clientId}-global-consumer`,
          requestTimeoutMs: s.fetchMaxWaitMs + 30000,
        }),
        stateDirectory: this.#stateDir,
        collector: () => this.#collector,
        cache: this.#cache,
        isolation,
        fetchMaxWaitMs: s.fetchMaxWaitMs,
        log: this.#log,
      })
    }
    this.#registerGauges()
  }

  #newProducer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    const s = this.#settings
    return createProducer({
      bootstrap: s.bootstrap,
      clientId: `${s.clientId}-producer`,
      ...(this.#eos
        ? {
            transactionalId: `${this.#config.applicationId}-${this.#processId}-1`,
            idempotent: true,
            timeout: s.transactionTimeoutMs,
            // InitProducerId with no producer id (-1/-1) starts a new epoch whatever a previous run left behind;
            // @platformatic/kafka sends 0/0 by default, which the coordinator takes for a stale producer.
            producerId: -1n,
            producerEpoch: -1,
          }
        : { idempotent: false, timeout: s.producerRequestTimeoutMs }),
      partitioner: compatibilityPartitioner,
      retries: 5,
      ...(s.connection ?? {}),
    })
  }

  #newCollector(): KafkaRecordCollector {
    return new KafkaRecordCollector({
      producer: this.#producer,
      exactlyOnce: this.#eos,
      productionExceptionHandler: this.#config.productionExceptionHandler,
      partitionCount: (topic) => this.#partitionCounts.get(topic),
      recordContextOf: (taskId) => this.#recordContextOf(taskId),
      log: this.#log,
      onSent: (n) => this.#metrics.produced(n),
    })
  }

  #recordContextOf(taskId: string): RecordContext | undefined {
    const entry = this.#active.get(taskId)
    return entry?.task.context.currentRecordContext()
  }

  #registerGauges() {
    this.#metrics.registry.collect((m) => {
      const labels = this.#metrics.labels()
      for (const [key, entry] of this.#inputOwner) {
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
      for (const a of this.#active.values()) a.phase === 'running' ? running++ : restoring++
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
        this.#standby.size,
      )
    })
  }

  // ---- public -----------------------------------------------------------------------------------------------------

  /** Active task ids of this instance, and whether each runs. */
  activeTasks(): Array<{ id: string; phase: 'restoring' | 'running'; partitions: TopicPartition[] }> {
    return [...this.#active.values()].map((a) => ({ id: a.task.id, phase: a.phase, partitions: [...a.def.inputs] }))
  }

  standbyTasks(): string[] {
    return [...this.#standby.keys()]
  }

  assignment(): AssignmentInfo | undefined {
    return this.#assignment
  }

  /** The task plan (tasks with their input partitions) of the last rebalance or start. */
  plan(): TaskPlan | undefined {
    return this.#plan
  }

  /** Every local instance of a store: active tasks (running or restoring) and standbys. */
  localStores(name: string): LocalStore[] {
    const out: LocalStore[] = []
    for (const a of this.#active.values()) {
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
    for (const sb of this.#standby.values()) {
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

  /** A global store of this instance, if the topology has one by that name. */
  globalStore(name: string): StateStore | undefined {
    return this.#global?.stores().get(name)
  }

  /** The store of an active task (or undefined), for tests and interactive queries. */
  store(taskId: string, name: string) {
    return this.#active.get(taskId)?.task.getStore(name)
  }

  activeStores(name: string) {
    const out = []
    for (const a of this.#active.values()) {
      if (a.phase !== 'running') continue
      const s = a.task.getStore(name)
      if (s) out.push({ taskId: a.task.id, store: s })
    }
    return out
  }

  get restoredTotal(): number {
    return this.#changelogs.restoredTotal
  }

  /** Prepares what must be ready before joining: fences a previous incarnation's transaction, bootstraps globals. */
  async init(): Promise<void> {
    if (this.#eos) {
      // InitProducerId for our transactional id aborts whatever a crashed previous run of this process left open.
      const tx = await this.#producer.beginTransaction()
      await tx.cancel()
    }
    await this.#global?.bootstrap()
  }

  start(onFatal: (error: unknown) => void): void {
    this.#loop = this.#run().catch(onFatal)
  }

  /** Asks the loop to stop after the current iteration; `await stopped()` waits for it. */
  requestStop(): void {
    this.#stopping = true
    this.#wakeup()
  }

  async stopped(): Promise<void> {
    await this.#loop
  }

  /**
   * After a fatal error whose handler said SHUTDOWN_APPLICATION: closes the tasks, then rejoins asking the leader
   * to stop every member (the flag travels in the subscription; the leader answers with an error assignment).
   */
  resumeForApplicationShutdown(onFatal: (error: unknown) => void): void {
    this.#loop = (async () => {
      await this.#closeAllDirty()
      this.#shutdownRequested = true
      this.#member.rebalanceNeeded = true
      this.#joined = true
      this.#stopping = false
      await this.#run()
    })().catch(onFatal)
  }

  #wakeup() {
    this.#input.wakeup()
    this.#changelogFetcher.wakeup()
  }

  // ---- the loop ---------------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    this.#events.onPhase('rebalancing')
    while (!this.#stopping) {
      if (!this.#joined || this.#member.rebalanceNeeded) {
        await this.#rebalance()
        continue
      }
      await this.#runOnce()
    }
  }

  async #runOnce(): Promise<void> {
    const restoring = this.#changelogs.restoring()
    // Restoration and standbys.
    if (this.#changelogs.reading()) {
      if (restoring) await this.#changelogs.measureEndOffsets()
      const batches = await this.#changelogFetcher.poll(restoring ? Math.min(this.#settings.pollMs, 50) : 0)
      const before = this.#changelogs.restoredTotal
      this.#changelogs.apply(batches)
      this.#metrics.restored(this.#changelogs.restoredTotal - before)
      if (restoring) await this.#completeRestorations()
    }
    if (this.#global) await this.#global.poll()
    // Input.
    let buffered = false
    for (const a of this.#active.values()) if (a.phase === 'running' && a.task.hasRecordsQueued()) buffered = true
    const wait = restoring || buffered || this.#member.rebalanceNeeded ? 0 : this.#settings.pollMs
    const batches = await this.#input.poll(wait)
    this.#addInput(batches)
    await this.#process()
    this.#collector.sendPending()
    if (this.#collector.backlogBytes > this.#settings.maxProducerBacklogBytes) await this.#flushGuarded()
    const now = Date.now()
    let requested = false
    for (const a of this.#active.values()) if (a.task.commitRequested) requested = true
    if (now - this.#lastCommit >= this.#config.commitIntervalMs || requested) await this.#commitGuarded()
  }

  #addInput(batches: readonly FetchedPartition[]) {
    const limit = this.#config.bufferedRecordsPerPartition
    for (const b of batches) {
      const key = `${b.topic}:${b.partition}`
      const owner = this.#inputOwner.get(key)
      if (!owner) continue
      const tp = { topic: b.topic, partition: b.partition }
      if (b.records.length > 0) owner.task.addRecords(tp, b.records)
      owner.task.updateLag(tp, Math.max(0, b.endOffset - b.nextOffset))
      const queue = owner.task.partitionGroup.queue(b.topic, b.partition)
      if (queue && queue.size >= limit) this.#input.pause(b.topic, b.partition)
    }
  }

  async #process(): Promise<void> {
    const budgetEnd = Date.now() + this.#settings.processBudgetMs
    const limit = this.#config.bufferedRecordsPerPartition
    let progressed = false
    for (const a of this.#active.values()) {
      if (a.phase !== 'running') continue
      const task = a.task
      let n = 0
      const now = Date.now()
      while (task.isProcessable(now) && task.process(now)) {
        task.maybePunctuateStreamTime()
        n++
        if ((n & 1023) === 0 && Date.now() > budgetEnd) break
      }
      task.maybePunctuateSystemTime(Date.now())
      this.#metrics.processed(task.id, n)
      for (const [reason, count] of task.droppedByReason) this.#metrics.dropped(reason, count)
      task.droppedByReason.clear()
      const pending = task.pendingPreparation()
      if (pending) await pending
      for (const [, q] of task.partitionGroup.queues) {
        if (q.size < limit / 2 && this.#input.isPaused(q.topic, q.partition)) this.#input.resume(q.topic, q.partition)
      }
      if (n > 0) {
        this.#collector.sendPending()
        progressed = true
      }
    }
    if (progressed) this.#events.onProgress?.()
  }

  async #flushGuarded(): Promise<void> {
    try {
      await this.#collector.flush()
    } catch (error) {
      await this.#onCommitFailure(error)
    }
  }

  async #commitGuarded(): Promise<void> {
    try {
      await this.#commit()
    } catch (error) {
      await this.#onCommitFailure(error)
    }
  }

  /** A fenced commit means the tasks may belong to someone else now: close them dirty and rejoin. */
  async #onCommitFailure(error: unknown): Promise<void> {
    if (error instanceof GroupFencedError || error instanceof ProducerFencedError) {
      this.#log.warn('tasks migrated: closing them without committing and rejoining', {
        error: describeKafkaError(error),
      })
      await this.#closeAllDirty()
      if (error instanceof ProducerFencedError) await this.#replaceProducer()
      this.#member.rebalanceNeeded = true
      return
    }
    throw error
  }

  // ---- commit -----------------------------------------------------------------------------------------------------

  async #commit(): Promise<void> {
    const started = performance.now()
    this.#lastCommit = Date.now()
    const offsets: PartitionOffset[] = []
    const committed: ActiveTask[] = []
    for (const a of this.#active.values()) {
      if (a.phase !== 'running') continue
      if (!a.task.commitNeeded && !a.task.commitRequested) continue
      for (const o of a.task.prepareCommit().values()) {
        offsets.push({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset) })
      }
      committed.push(a)
    }
    if (this.#global) this.#global.prepareCommit()
    if (this.#eos) {
      await this.#collector.commitTransaction(this.#groupCluster, this.#member.generation(), offsets)
    } else {
      await this.#collector.flush()
      await this.#member.commitOffsets(offsets)
    }
    for (const a of committed) {
      for (const [store, offset] of a.task.postCommit()) {
        const cp = a.task.changelogPartitions().find((c) => c.store === store)
        if (cp) a.storeOffsets.set(`${cp.topic}:${cp.partition}`, offset)
      }
      if (!this.#eos) this.#writeCheckpoint(a)
    }
    if (this.#global) this.#global.postCommit()
    if (Date.now() - this.#lastStandbyCheckpoint >= this.#settings.standbyCheckpointIntervalMs) {
      this.#lastStandbyCheckpoint = Date.now()
      for (const s of this.#standby.values()) this.#writeStandbyCheckpoint(s)
    }
    if (offsets.length > 0 || committed.length > 0) this.#metrics.commit((performance.now() - started) / 1000)
    this.#maybePurgeRepartitionTopics(offsets)
  }

  /**
   * Records of repartition topics are only read once: after they are committed, they are deleted (DeleteRecords)
   * every repartition.purge.interval.ms, as Kafka Streams does, so those topics do not grow for ever.
   */
  #maybePurgeRepartitionTopics(offsets: readonly PartitionOffset[]) {
    const appId = this.#config.applicationId
    for (const o of offsets) {
      if (o.topic.startsWith(`${appId}-`) && o.topic.endsWith('-repartition')) {
        this.#purgeable.set(`${o.topic}:${o.partition}`, { topic: o.topic, partition: o.partition, offset: o.offset })
      }
    }
    if (this.#purging || this.#purgeable.size === 0) return
    if (Date.now() - this.#lastPurge < this.#settings.repartitionPurgeIntervalMs) return
    this.#lastPurge = Date.now()
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>()
    for (const p of this.#purgeable.values()) {
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: p.offset }])
    }
    this.#purgeable.clear()
    this.#purging = this.#adminCluster.admin
      .deleteRecords({ topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) })
      .then(
        () => undefined,
        (error) => this.#log.debug('purging repartition topics failed', { error: describeKafkaError(error) }),
      )
      .finally(() => {
        this.#purging = undefined
      })
  }

  #writeCheckpoint(a: ActiveTask) {
    if (a.storeOffsets.size === 0 || !this.#persistent(a.task)) return
    this.#stateDir.writeCheckpoint(a.task.id, a.storeOffsets)
  }

  #writeStandbyCheckpoint(s: StandbyTask) {
    if (!this.#persistent(s.task)) return
    const offsets = this.#changelogs.lastOffsets(s.task.id)
    if (offsets.size > 0) this.#stateDir.writeCheckpoint(s.task.id, offsets)
  }

  /** Only persistent stores survive a restart; a checkpoint for in-memory ones would skip their restore. */
  #persistent(task: StreamTask): boolean {
    return task.storeNames().some((n) => task.getStore(n)?.persistent())
  }

  // ---- rebalance --------------------------------------------------------------------------------------------------

  async #rebalance(): Promise<void> {
    this.#events.onPhase('rebalancing')
    this.#metrics.rebalance()
    // Cooperative: the tasks stay open while joining; only a member dropped from the group (its tasks may already
    // run elsewhere) closes them first, without committing.
    if (this.#joined && this.#member.lost) await this.#closeAllDirty()
    const joined = await this.#member.join(
      () => this.#protocols(),
      (members) => this.#leaderAssign(members),
      this.#joined ? 'rebalance' : 'starting',
    )
    this.#joined = true
    const assignment = decodeAssignment(joined.assignment)
    const info = decodeAssignmentInfo(assignment.userData)
    this.#assignment = info
    this.#events.onProgress?.()
    if (info.errorCode !== AssignmentError.NONE) {
      const shutdown = info.errorCode === AssignmentError.SHUTDOWN_APPLICATION
      const code =
        info.errorCode === AssignmentError.MISSING_SOURCE_TOPICS
          ? 'TRB_STREAMS_MISSING_SOURCE_TOPIC'
          : shutdown
            ? 'TRB_STREAMS_APPLICATION_SHUTDOWN'
            : 'TRB_STREAMS_INVALID_TOPOLOGY'
      const error = streamsError(code, info.errorMessage ?? 'the group leader refused to assign tasks')
      await this.#closeAllClean()
      this.#stopping = true
      this.#events.onAssignmentError(error, shutdown)
      return
    }
    await this.#applyAssignment(info)
    if (this.#allRunning() && !this.#member.rebalanceNeeded) this.#events.onPhase('running')
  }

  #protocols() {
    const sourceTopics = this.#plan?.sourceTopics ?? []
    const info = encodeSubscriptionInfo({
      processId: this.#processId,
      endpoint: this.#settings.applicationServer,
      prevActive: [...this.#active.keys()].sort(compareTaskIds),
      prevStandby: [...this.#standby.keys()],
      stateTasks: this.#stateDir.tasksWithState(),
      shutdownRequested: this.#shutdownRequested,
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
    for (const a of this.#active.values()) {
      for (const tp of a.def.inputs) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((x, y) => x - y) }))
  }

  /** The leader's job: plan tasks and internal topics from the cluster's topics, create them, assign. */
  async #leaderAssign(members: GroupMemberMetadata[]): Promise<Map<string, Buffer>> {
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
      plan = await this.planTasks()
      await ensureInternalTopics(this.#adminCluster, plan.internalTopics, this.#settings.replicationFactor, this.#log)
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
    const target = assignTasks(states, plan.tasks, this.#settings.numStandbyReplicas)
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
      standbyPartitionsByHost[host] = [
        ...(standbyPartitionsByHost[host] ?? []),
        ...parts(standby.get(s.memberId) ?? []),
      ]
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
    this.#log.info('assigned tasks', {
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

  /** Reads partition counts from the cluster and plans tasks and internal topics (also used at start). */
  async planTasks(): Promise<TaskPlan> {
    const appId = this.#config.applicationId
    const topics = new Set<string>()
    const hasPattern = this.#topology.nodes().some((n) => n.kind === 'source' && n.pattern)
    if (hasPattern)
      for (const t of await this.#adminCluster.admin.listTopics({ includeInternals: false })) topics.add(t)
    for (const s of this.#topology.allGroups()) {
      for (const name of s.nodes) {
        const node = this.#topology.node(name)
        if (node?.kind === 'source') for (const t of node.topics) topics.add(this.#topology.resolveTopic(t, appId))
      }
    }
    for (const t of this.#topology.internalTopics()) topics.delete(this.#topology.resolveTopic(t.name, appId))
    const counts = await this.#adminCluster.partitionCounts([...topics])
    const plan = planTasks(this.#topology, appId, counts)
    this.#plan = plan
    return plan
  }

  async #applyAssignment(info: AssignmentInfo): Promise<void> {
    const plan = this.#plan ?? (await this.planTasks())
    const newActive = new Set(info.active)
    const newStandby = new Set(info.standby)
    // Task definitions may be missing here if this member's plan predates the leader's: plan again.
    if ([...newActive, ...newStandby].some((id) => !plan.tasks.has(id))) await this.planTasks()
    const tasks = this.#plan!.tasks
    await this.#refreshPartitionCounts()
    // Revoke what moves away: commit (under exactly_once_v2 the one transaction covers every task), close cleanly,
    // then rejoin at once: the follow-up rebalance gives these tasks to their new member, which therefore starts
    // from offsets and changelogs this member has committed.
    const revoked = [...this.#active.values()].filter((a) => !newActive.has(a.task.id))
    if (revoked.length > 0) {
      await this.#commitGuarded()
      for (const a of revoked) if (this.#active.get(a.task.id) === a) await this.#closeActive(a, true)
      if (!this.#member.lost) this.#member.rebalanceNeeded = true
      this.#log.info('tasks revoked', { tasks: revoked.map((a) => a.task.id) })
    }
    for (const [id, s] of this.#standby) {
      if (newStandby.has(id) && !newActive.has(id)) continue
      if (newActive.has(id)) continue // promoted below
      await this.#closeStandby(s)
    }
    // Open what is new.
    const created: ActiveTask[] = []
    for (const id of info.active) {
      if (this.#active.has(id)) continue
      const def = tasks.get(id)!
      const standby = this.#standby.get(id)
      let entry: ActiveTask
      if (standby) {
        this.#standby.delete(id)
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
      this.#active.set(id, entry)
      this.#metrics.taskCreated('active')
      created.push(entry)
    }
    for (const id of info.standby) {
      if (this.#standby.has(id) || newActive.has(id)) continue
      const def = tasks.get(id)!
      const checkpoint = this.#openCheckpoint(id)
      const task = this.#newTask(def)
      this.#standby.set(id, { task, def })
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
    await this.#completeRestorations()
    this.#log.info('assignment applied', {
      generation: this.#member.generationId,
      active: [...this.#active.keys()],
      standby: [...this.#standby.keys()],
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
    for (const t of this.#plan?.internalTopics ?? []) topics.add(t.name)
    const dlq = this.#config.deadLetterQueueTopic
    if (dlq) topics.add(dlq)
    const counts = await this.#adminCluster.partitionCounts([...topics])
    for (const [t, n] of counts) if (n !== undefined) this.#partitionCounts.set(t, n)
  }

  /** Active tasks whose changelogs are read to the end start processing from their start offsets. */
  async #completeRestorations(): Promise<void> {
    let changed = false
    for (const a of this.#active.values()) {
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
        this.#inputOwner.set(key, a)
      }
      changed = true
    }
    if (changed && this.#allRunning() && !this.#member.rebalanceNeeded) this.#events.onPhase('running')
    if (changed) this.#events.onProgress?.()
  }

  #allRunning(): boolean {
    for (const a of this.#active.values()) if (a.phase !== 'running') return false
    return true
  }

  // ---- closing ----------------------------------------------------------------------------------------------------

  async #closeActive(a: ActiveTask, clean: boolean): Promise<void> {
    this.#active.delete(a.task.id)
    this.#metrics.taskClosed('active')
    for (const tp of a.def.inputs) {
      this.#input.unassign(tp.topic, tp.partition)
      this.#inputOwner.delete(`${tp.topic}:${tp.partition}`)
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
    if (clean || a.phase === 'restoring') this.#writeCheckpoint(a)
    this.#collector.forgetOffsets(a.task.changelogPartitions().map((c) => `${c.topic}:${c.partition}`))
  }

  async #closeStandby(s: StandbyTask): Promise<void> {
    this.#standby.delete(s.task.id)
    this.#metrics.taskClosed('standby')
    this.#writeStandbyCheckpoint(s)
    this.#changelogs.unregister(s.task.id)
    await s.task.close(false).catch((error) => {
      this.#log.warn('closing a standby task failed', { task: s.task.id, error: describeKafkaError(error) })
    })
  }

  async #closeAllDirty(): Promise<void> {
    if (this.#eos) await this.#collector.abortTransaction()
    else this.#collector.reset()
    for (const a of [...this.#active.values()]) await this.#closeActive(a, false)
  }

  async #closeAllClean(): Promise<void> {
    for (const a of [...this.#active.values()]) await this.#closeActive(a, true)
    for (const s of [...this.#standby.values()]) await this.#closeStandby(s)
  }

  async #replaceProducer(): Promise<void> {
    const old = this.#producer
    await old.close().catch(() => {})
    this.#producer = this.#newProducer()
    this.#collector = this.#newCollector()
    if (this.#eos) {
      const tx = await this.#producer.beginTransaction()
      await tx.cancel()
    }
  }

  /**
   * Shuts down: a final commit, tasks closed with checkpoints (so a restart replays nothing), then the group is
   * left at once (the others rebalance without waiting for the session timeout). `clean` false: after a fatal
   * error, tasks are closed without committing.
   */
  async shutdown(clean: boolean): Promise<void> {
    this.requestStop()
    await this.#loop?.catch(() => {})
    if (clean && this.#joined && !this.#member.lost) {
      try {
        await this.#commit()
        await this.#closeAllClean()
      } catch (error) {
        this.#log.warn('final commit failed: closing tasks without it', { error: describeKafkaError(error) })
        await this.#closeAllDirty()
        for (const s of [...this.#standby.values()]) await this.#closeStandby(s)
      }
    } else {
      await this.#closeAllDirty().catch(() => {})
      for (const s of [...this.#standby.values()]) await this.#closeStandby(s)
    }
    await this.#global?.close(clean)
    await this.#purging
    if (this.#joined) await this.#member.leave()
    this.#member.close()
    this.#input.close()
    this.#changelogFetcher.close()
    await this.#producer.close().catch(() => {})
    await Promise.allSettled([
      this.#groupCluster.close(),
      this.#inputCluster.close(),
      this.#changelogCluster.close(),
      this.#adminCluster.close(),
    ])
    // Let pending socket events settle so nothing fires after close resolves.
    await sleep(0)
  }
}
