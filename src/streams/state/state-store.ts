import type { SyncSerde } from '../../serde/serde.ts'
import type { Headers } from '../processor/record.ts'
import type { RecordCache } from './record-cache.ts'

/** What the record being processed carries into a store write: the cache keeps it to forward on flush. */
export interface RecordContext {
  readonly timestamp: number
  readonly topic: string | null
  readonly partition: number
  readonly offset: number
  readonly headers: Headers
}

/** One changelog record handed to a store's restore callback. */
export interface RestoreRecord {
  readonly key: Buffer
  readonly value: Buffer | null
  readonly timestamp: number
  readonly offset: number
}

export type RestoreCallback = (records: readonly RestoreRecord[]) => void

export interface StoreRegistration {
  /** Whether every write must go to the store's changelog topic (and so whether it is restored from it). */
  readonly loggingEnabled: boolean
  /** Configs for the changelog topic (cleanup.policy=compact is always set). */
  readonly logConfig: Readonly<Record<string, string>>
}

/**
 * What a store sees of its task while it initializes and runs (Kafka Streams' StateStoreContext plus the internal
 * parts the caching and logging layers need).
 */
export interface StateStoreContext {
  readonly taskId: string
  readonly applicationId: string
  readonly partition: number
  /** The task's directory for persistent stores, or undefined when the task has none. */
  readonly stateDir: string | undefined
  readonly appConfigs: Readonly<Record<string, unknown>>
  readonly defaultKeySerde: SyncSerde<unknown> | undefined
  readonly defaultValueSerde: SyncSerde<unknown> | undefined
  /** The record cache shared by the instance's tasks, or undefined when caching is off (cache size 0). */
  readonly cache: RecordCache | undefined
  /** Registers the outermost store with the task; `restore` writes changelog records straight to the inner store. */
  register(store: StateStore, restore: RestoreCallback): void
  /** Sends one store write to the store's changelog topic (partition = the task's partition). */
  logChange(storeName: string, key: Buffer, value: Buffer | null, timestamp: number, headers?: Headers): void
  recordContext(): RecordContext
  setRecordContext(context: RecordContext): void
  /** Registers a promise the task must await before processing the next record (a serde warming up). */
  deferPreparation(preparation: Promise<void>): void
  /**
   * For a store whose writes cost less in one transaction (LMDB): `scope(work)` runs `work` inside one. The task
   * processes its records in batches inside every such scope (reads in the scope see its writes; if `work` throws,
   * the scope's writes are dropped and the task fails, restoring from its changelog).
   */
  registerWriteScope?(scope: (work: () => void) => void): void
}

/** Every state store: a name, a lifecycle, and whether it survives a restart. */
export interface StateStore {
  readonly name: string
  init(context: StateStoreContext, root: StateStore): void
  flush(): void
  close(): void | Promise<void>
  persistent(): boolean
  isOpen(): boolean
}

/** A StateStore that wraps another (the metered, caching and logging layers). */
export interface WrappedStore extends StateStore {
  readonly wrapped: StateStore
}

export function isWrapped(store: StateStore): store is WrappedStore {
  return (store as Partial<WrappedStore>).wrapped !== undefined
}
