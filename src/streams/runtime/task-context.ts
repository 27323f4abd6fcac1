import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { Cancellable, ProcessorContext, PunctuationType, Punctuator } from '../processor/api.ts'
import { Headers, type Record, type RecordMetadata } from '../processor/record.ts'
import type { RecordCache } from '../state/record-cache.ts'
import type { RecordContext, RestoreCallback, StateStore, StateStoreContext } from '../state/state-store.ts'
import type { StreamTask } from './stream-task.ts'
import { NO_RECORD_CONTEXT, ProcessorRuntimeNode, type RuntimeNode } from './task-nodes.ts'

/** The record context of an input record: it also carries the raw bytes (for dead-letter records). */
export interface InputRecordContext extends RecordContext {
  readonly rawKey?: Buffer | null
  readonly rawValue?: Buffer | null
}

/**
 * The context of one task: what processors see (ProcessorContext) and what stores see (StateStoreContext). One
 * instance per task; the current node and record context move as records are forwarded.
 */
export class TaskContext implements ProcessorContext<unknown, unknown>, StateStoreContext {
  readonly #task: StreamTask
  #node: RuntimeNode | undefined
  #record: RecordContext = NO_RECORD_CONTEXT
  initializingStore: { name: string; changelog: boolean } | undefined

  constructor(task: StreamTask) {
    this.#task = task
  }

  get applicationId(): string {
    return this.#task.config.applicationId
  }
  get taskId(): string {
    return this.#task.id
  }
  get partition(): number {
    return this.#task.partition
  }
  get appConfigs(): Readonly<globalThis.Record<string, unknown>> {
    return this.#task.config.originals
  }
  get keySerde(): SyncSerde<unknown> | undefined {
    return this.#task.config.defaultKeySerde
  }
  get valueSerde(): SyncSerde<unknown> | undefined {
    return this.#task.config.defaultValueSerde
  }
  get defaultKeySerde(): SyncSerde<unknown> | undefined {
    return this.#task.config.defaultKeySerde
  }
  get defaultValueSerde(): SyncSerde<unknown> | undefined {
    return this.#task.config.defaultValueSerde
  }
  get stateDir(): string | undefined {
    return this.#task.stateDir
  }
  get cache(): RecordCache | undefined {
    return this.#task.cache
  }

  get currentNodeName(): string | undefined {
    return this.#node?.name
  }

  /** Runs `fn` as `node` with `record` as the record context, restoring both after. */
  withNode<T>(node: RuntimeNode | undefined, record: RecordContext, fn: () => T): T {
    const prevNode = this.#node
    const prevRecord = this.#record
    this.#node = node
    this.#record = record
    try {
      return fn()
    } finally {
      this.#node = prevNode
      this.#record = prevRecord
    }
  }

  /** Has `node` process `input` in the record context `record` (withNode without a closure, per input record). */
  processAt(node: RuntimeNode, record: RecordContext, input: Record<unknown, unknown>): void {
    const prevNode = this.#node
    const prevRecord = this.#record
    this.#node = node
    this.#record = record
    try {
      node.process(input)
    } finally {
      this.#node = prevNode
      this.#record = prevRecord
    }
  }

  currentRecordContext(): RecordContext {
    return this.#record
  }

  forward<K, V>(record: Record<K, V>, childName?: string): void {
    const node = this.#node
    if (!node) throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'forward() called outside of processing')
    const prev = this.#record
    // A record forwarded with its input's timestamp and headers keeps the input's context (contexts are never
    // changed once made); only a new timestamp or headers need a new one.
    const ctx: RecordContext & { rawKey?: Buffer | null; rawValue?: Buffer | null } =
      record.timestamp === prev.timestamp && record.headers === prev.headers
        ? prev
        : {
            timestamp: record.timestamp,
            topic: prev.topic,
            partition: prev.partition,
            offset: prev.offset,
            headers: record.headers,
            rawKey: (prev as InputRecordContext).rawKey,
            rawValue: (prev as InputRecordContext).rawValue,
          }
    this.#record = ctx
    try {
      if (childName !== undefined) {
        const child = node.childByName.get(childName)
        if (!child) {
          throw streamsError('TRB_STREAMS_UNKNOWN_NODE', `processor ${node.name} has no child named ${childName}`)
        }
        this.#node = child
        child.process(record as Record<unknown, unknown>)
      } else {
        for (const child of node.children) {
          this.#node = child
          child.process(record as Record<unknown, unknown>)
        }
      }
    } finally {
      this.#node = node
      this.#record = prev
    }
  }

  recordMetadata(): RecordMetadata | undefined {
    const r = this.#record
    return r.topic === null ? undefined : { topic: r.topic, partition: r.partition, offset: r.offset }
  }

  currentStreamTimeMs(): number {
    return this.#task.streamTime()
  }

  currentSystemTimeMs(): number {
    return this.#task.currentSystemTimeMs()
  }

  getStateStore<S extends StateStore = StateStore>(name: string): S {
    const node = this.#node
    const store = this.#task.getStore(name)
    if (node instanceof ProcessorRuntimeNode && !node.stores.has(name) && !isGlobal(this.#task, name)) {
      throw streamsError(
        'TRB_STREAMS_UNKNOWN_STORE',
        `processor ${node.name} has no access to state store ${name}: connect it (process(supplier, '${name}') or ` +
          'connectProcessorAndStateStores)',
      )
    }
    if (!store) throw streamsError('TRB_STREAMS_UNKNOWN_STORE', `state store ${name} is not in this topology`)
    return store as S
  }

  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!this.#node) throw streamsError('TRB_STREAMS_ILLEGAL_STATE', 'schedule() must be called from a processor')
    return this.#task.schedule(this.#node, intervalMs, type, punctuator)
  }

  commit(): void {
    this.#task.commitRequested = true
  }

  // StateStoreContext

  register(store: StateStore, restore: RestoreCallback): void {
    const init = this.initializingStore
    this.#task.registerStore(store, restore, init?.name === store.name ? init.changelog : false)
  }

  registerWriteScope(scope: (work: () => void) => void): void {
    this.#task.writeScopes.push(scope)
  }

  logChange(storeName: string, key: Buffer, value: Buffer | null, timestamp: number, headers?: Headers): void {
    this.#task.logChange(storeName, key, value, timestamp, headers ?? new Headers())
  }

  recordContext(): RecordContext {
    return this.#record
  }

  setRecordContext(context: RecordContext): void {
    this.#record = context
  }

  deferPreparation(preparation: Promise<void>): void {
    this.#task.deferPreparation(preparation)
  }

  /** The node running now, to forward from it later (a cache flush forwards from the store's processor). */
  currentNodeHandle(): unknown {
    return this.#node
  }

  recordDropped(reason: string, late = false): void {
    if (late) this.#task.lateRecordDropped(this.#node?.name, reason)
    else this.#task.recordDropped(this.#node?.name, reason)
  }

  /** Forwards `record` as if `node` (from currentNodeHandle) were processing. */
  forwardFrom(node: unknown, record: Record<unknown, unknown>): void {
    this.withNode(node as RuntimeNode, this.#record, () => this.forward(record))
  }
}

function isGlobal(task: StreamTask, name: string): boolean {
  return task.topology.store(name)?.global === true
}
