/**
 * The processing loop of an instance (Kafka Streams' StreamThread; Node runs one per process): it is the group
 * member, owns the active and standby tasks the leader assigns it, restores their stores, fetches input, runs the
 * tasks, commits (offsets, or the transaction under exactly_once_v2) every commit.interval.ms, and rebalances
 * cooperatively: it rejoins without committing or closing anything and goes on running the tasks it owns while the
 * join is in flight (commits wait for the join to complete), and only when its assignment takes tasks away does it
 * commit and close those, then rejoin at once so the follow-up rebalance hands them to their new member
 * (assignor.ts). Joining and applying assignments is the Rebalancer's (rebalancer.ts); opening, restoring and
 * closing tasks the TaskManager's (task-manager.ts); the leader's assignment is leader-assignment.ts.
 */
import { compatibilityPartitioner, type Producer } from '@platformatic/kafka'
import {
  BatchProducer,
  createProducer,
  describeKafkaError,
  type FetchedPartition,
  Fetcher,
  GroupFencedError,
  GroupMember,
  KafkaCluster,
  type PartitionOffset,
  ProducerFencedError,
} from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import type { StreamsError } from '../errors.ts'
import type { Position } from '../query/position.ts'
import { RecordCache } from '../state/record-cache.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { AssignmentInfo } from './assignor.ts'
import { ChangelogReader, type StateRestoreListener } from './changelog-reader.ts'
import type { StreamsConfig } from './config.ts'
import { GlobalStateUpdater } from './global-state.ts'
import { KafkaRecordCollector } from './kafka-record-collector.ts'
import { Rebalancer } from './rebalancer.ts'
import type { RuntimeSettings } from './runtime-settings.ts'
import type { StateDirectory } from './state-directory.ts'
import type { TopicPartition } from './stream-task.ts'
import type { StreamsMetrics } from './streams-metrics.ts'
import { type ActiveTask, TaskManager } from './task-manager.ts'
import { planTasks, type TaskPlan } from './task-plan.ts'

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
  /** The output's record batches (the producer's transactions run on the @platformatic/kafka Producer). */
  readonly #batchProducer: BatchProducer
  readonly #member: GroupMember
  readonly #input: Fetcher
  readonly #changelogFetcher: Fetcher
  readonly #changelogs: ChangelogReader
  readonly #cache: RecordCache
  readonly #tasks: TaskManager
  readonly #rebalancer: Rebalancer
  readonly #partitionCounts = new Map<string, number>()
  readonly #global: GlobalStateUpdater | undefined
  #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  #collector: KafkaRecordCollector
  #plan: TaskPlan | undefined
  #stopping = false
  #lastCommit = Date.now()
  #lastStandbyCheckpoint = Date.now()
  #lastPurge = Date.now()
  /** Committed offsets of repartition partitions not yet purged (records before them are deleted). */
  readonly #purgeable = new Map<string, { topic: string; partition: number; offset: bigint }>()
  #purging: Promise<void> | undefined
  #shutdownRequested = false
  #loop: Promise<void> | undefined

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
    this.#batchProducer = new BatchProducer({
      cluster: new KafkaCluster({
        ...base,
        clientId: `${s.clientId}-producer`,
        requestTimeoutMs: s.producerRequestTimeoutMs,
      }),
      timeoutMs: s.producerRequestTimeoutMs,
      compression: s.compression,
      deliveryTimeoutMs: s.deliveryTimeoutMs,
      log: this.#log,
    })
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
    this.#tasks = new TaskManager({
      topology: this.#topology,
      config: this.#config,
      settings: this.#settings,
      stateDirectory: this.#stateDir,
      log: this.#log,
      metrics: this.#metrics,
      events: this.#events,
      member: this.#member,
      input: this.#input,
      changelogs: this.#changelogs,
      inputCluster: this.#inputCluster,
      adminCluster: this.#adminCluster,
      cache: this.#cache,
      global: this.#global,
      partitionCounts: this.#partitionCounts,
      collector: () => this.#collector,
      plan: () => this.#plan,
      planTasks: () => this.planTasks(),
      commit: () => this.#commitGuarded(),
      rebalancing: () => this.#member.rebalanceNeeded || this.#rebalancer.joining,
    })
    this.#tasks.registerGauges()
    this.#rebalancer = new Rebalancer({
      member: this.#member,
      tasks: this.#tasks,
      settings: this.#settings,
      stateDirectory: this.#stateDir,
      adminCluster: this.#adminCluster,
      processId: this.#processId,
      log: this.#log,
      metrics: this.#metrics,
      events: this.#events,
      plan: () => this.#plan,
      planTasks: () => this.planTasks(),
      shutdownRequested: () => this.#shutdownRequested,
      commit: () => this.#commitGuarded(),
      wakeup: () => this.#wakeup(),
    })
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
      batchProducer: this.#batchProducer,
      cluster: this.#adminCluster,
      exactlyOnce: this.#eos,
      productionExceptionHandler: this.#config.productionExceptionHandler,
      partitionCount: (topic) => this.#partitionCounts.get(topic),
      recordContextOf: (taskId) => this.#tasks.recordContextOf(taskId),
      log: this.#log,
      onSent: (n) => this.#metrics.produced(n),
    })
  }

  // ---- public -----------------------------------------------------------------------------------------------------

  /** Active task ids of this instance, and whether each runs. */
  activeTasks(): Array<{ id: string; phase: 'restoring' | 'running'; partitions: TopicPartition[] }> {
    return this.#tasks.activeTasks()
  }

  standbyTasks(): string[] {
    return this.#tasks.standbyTasks()
  }

  /** Every local instance of a store: active tasks (running or restoring) and standbys. */
  localStores(name: string): LocalStore[] {
    return this.#tasks.localStores(name)
  }

  /** The store of an active task (or undefined), for tests and interactive queries. */
  store(taskId: string, name: string): StateStore | undefined {
    return this.#tasks.store(taskId, name)
  }

  /** The stores of the running active tasks, by task. */
  activeStores(name: string): Array<{ taskId: string; store: StateStore }> {
    return this.#tasks.activeStores(name)
  }

  assignment(): AssignmentInfo | undefined {
    return this.#rebalancer.assignment
  }

  /** The task plan (tasks with their input partitions) of the last rebalance or start. */
  plan(): TaskPlan | undefined {
    return this.#plan
  }

  /** A global store of this instance, if the topology has one by that name. */
  globalStore(name: string): StateStore | undefined {
    return this.#global?.stores().get(name)
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
      await this.#tasks.closeAllDirty()
      this.#shutdownRequested = true
      this.#rebalancer.requestRejoin()
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
      // A join runs beside the loop: the owned tasks go on running until it completes, then it is applied.
      if (this.#rebalancer.needed()) await this.#rebalancer.begin()
      if (this.#rebalancer.settled) {
        if (!(await this.#rebalancer.complete())) this.#stopping = true
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
      if (restoring) await this.#tasks.completeRestorations()
    }
    if (this.#global) await this.#global.poll()
    // Input.
    let buffered = false
    for (const a of this.#tasks.active.values()) if (a.phase === 'running' && a.task.hasRecordsQueued()) buffered = true
    const rebalance = this.#rebalancer
    const wait = restoring || buffered || rebalance.needed() || rebalance.settled ? 0 : this.#settings.pollMs
    const batches = await this.#input.poll(wait)
    this.#addInput(batches)
    await this.#process()
    this.#collector.sendPending()
    if (this.#collector.backlogBytes > this.#settings.maxProducerBacklogBytes) await this.#flushGuarded()
    const now = Date.now()
    let requested = false
    for (const a of this.#tasks.active.values()) if (a.task.commitRequested) requested = true
    // No commit while a join is in flight (rebalancer.ts): it is due at once after the join.
    if (rebalance.joining) return
    if (now - this.#lastCommit >= this.#config.commitIntervalMs || requested) await this.#commitGuarded()
  }

  #addInput(batches: readonly FetchedPartition[]) {
    const limit = this.#config.bufferedRecordsPerPartition
    for (const b of batches) {
      const key = `${b.topic}:${b.partition}`
      const owner = this.#tasks.inputOwner.get(key)
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
    for (const a of this.#tasks.active.values()) {
      if (a.phase !== 'running') continue
      const task = a.task
      let n = 0
      const now = Date.now()
      // Batches of records in one LMDB write transaction per store (a window store writes once per record).
      task.inWriteScope(() => {
        while (task.isProcessable(now) && task.process(now)) {
          task.maybePunctuateStreamTime()
          n++
          if ((n & 1023) === 0 && Date.now() > budgetEnd) break
        }
      })
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
      await this.#tasks.closeAllDirty()
      if (error instanceof ProducerFencedError) await this.#replaceProducer()
      this.#rebalancer.requestRejoin()
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
    for (const a of this.#tasks.active.values()) {
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
      if (!this.#eos) this.#tasks.writeCheckpoint(a)
    }
    if (this.#global) this.#global.postCommit()
    if (Date.now() - this.#lastStandbyCheckpoint >= this.#settings.standbyCheckpointIntervalMs) {
      this.#lastStandbyCheckpoint = Date.now()
      for (const s of this.#tasks.standby.values()) this.#tasks.writeStandbyCheckpoint(s)
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

  // ---- task plan --------------------------------------------------------------------------------------------------

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

  // ---- closing ----------------------------------------------------------------------------------------------------

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
   * error, tasks are closed without committing. A join in flight is first waited for when `clean` (the final commit
   * needs the generation it ends in; its assignment is not applied), and given up when not (leaving the group
   * answers it).
   */
  async shutdown(clean: boolean): Promise<void> {
    this.requestStop()
    await this.#loop?.catch(() => {})
    const committable = clean && (await this.#rebalancer.settle())
    if (committable && this.#member.active && !this.#member.lost) {
      try {
        await this.#commit()
        await this.#tasks.closeAllClean()
      } catch (error) {
        this.#log.warn('final commit failed: closing tasks without it', { error: describeKafkaError(error) })
        await this.#tasks.closeAllDirty()
        for (const s of [...this.#tasks.standby.values()]) await this.#tasks.closeStandby(s)
      }
    } else {
      await this.#tasks.closeAllDirty().catch(() => {})
      for (const s of [...this.#tasks.standby.values()]) await this.#tasks.closeStandby(s)
    }
    await this.#global?.close(clean)
    await this.#purging
    // Closed first, so a join still in flight gives up instead of rejoining as a new member once it is answered.
    this.#member.close()
    await this.#member.leave()
    this.#input.close()
    this.#changelogFetcher.close()
    await this.#producer.close().catch(() => {})
    await Promise.allSettled([
      this.#groupCluster.close(),
      this.#inputCluster.close(),
      this.#changelogCluster.close(),
      this.#adminCluster.close(),
      this.#batchProducer.close(),
    ])
    // Let pending socket events settle so nothing fires after close resolves.
    await sleep(0)
  }
}
