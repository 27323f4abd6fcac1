import type { SyncSerde } from '../../serde/serde.ts'
import type { StateStore } from '../state/state-store.ts'
import type { Record, RecordMetadata } from './record.ts'

/** When a punctuation fires: on stream time (driven by record timestamps) or on wall-clock time. */
export type PunctuationType = 'stream-time' | 'wall-clock-time'

export const PunctuationType = {
  STREAM_TIME: 'stream-time',
  WALL_CLOCK_TIME: 'wall-clock-time',
} as const satisfies { readonly [name: string]: PunctuationType }

export type Punctuator = (timestamp: number) => void

export interface Cancellable {
  cancel(): void
}

/**
 * What a processor sees of its task (Kafka Streams' `api.ProcessorContext`): forward records to its children,
 * reach its stores, schedule punctuations, ask for a commit.
 */
export interface ProcessorContext<KForward = unknown, VForward = unknown> {
  readonly applicationId: string
  /** The task id, `<subtopology>_<partition>`. */
  readonly taskId: string
  readonly appConfigs: Readonly<globalThis.Record<string, unknown>>
  readonly keySerde: SyncSerde<unknown> | undefined
  readonly valueSerde: SyncSerde<unknown> | undefined
  /** The task's state directory (persistent stores live there), if any. */
  readonly stateDir: string | undefined

  /** Sends a record to all children, or to the named child only. */
  forward<K extends KForward, V extends VForward>(record: Record<K, V>, childName?: string): void
  /** Topic, partition and offset of the input record being processed; undefined inside a punctuation. */
  recordMetadata(): RecordMetadata | undefined
  /** The largest record timestamp the task has processed (-1 before the first record). */
  currentStreamTimeMs(): number
  /** Wall-clock time as the task's clock tells it (the driver's mock clock in tests). */
  currentSystemTimeMs(): number
  /** A store connected to this processor. */
  getStateStore<S extends StateStore = StateStore>(name: string): S
  /**
   * Calls `punctuator` every `intervalMs`: on stream time (first as soon as stream time is known, then whenever it
   * passes the next multiple of the interval) or on wall-clock time (first after one interval).
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable
  /** Asks the task to commit as soon as possible (not at once). */
  commit(): void
}

/** A processor of the Processor API (Kafka Streams' `api.Processor`). */
export interface Processor<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void
  process(record: Record<KIn, VIn>): void
  close?(): void
}

/**
 * Makes a new processor for each task (a processor instance must never be shared). A plain function returning a
 * processor will do, or an object with `get()` (and `stores()` to connect the stores it needs).
 */
export type ProcessorSupplier<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> =
  | (() => Processor<KIn, VIn, KOut, VOut>)
  | ProcessorSupplierObject<KIn, VIn, KOut, VOut>

export interface ProcessorSupplierObject<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  get(): Processor<KIn, VIn, KOut, VOut>
  /** Stores to add and connect to the processor (Kafka's ConnectedStoreProvider). */
  stores?(): Iterable<import('../state/stores.ts').StoreBuilder>
}

export function supplierGet<KIn, VIn, KOut, VOut>(
  supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
): Processor<KIn, VIn, KOut, VOut> {
  return typeof supplier === 'function' ? supplier() : supplier.get()
}

export function supplierStores(supplier: ProcessorSupplier<never, never, never, never>) {
  return typeof supplier === 'function' ? [] : [...(supplier.stores?.() ?? [])]
}

/** Picks the output topic per record (Kafka Streams' TopicNameExtractor). */
export type TopicNameExtractor<K, V> = (key: K, value: V, context: RecordMetadata | undefined) => string

/**
 * Picks the output partition(s) per record (Kafka Streams' StreamPartitioner): a partition, a list of partitions
 * (multicast), an empty list (drop), or undefined for the default (murmur2 of the key bytes).
 */
export type StreamPartitioner<K, V> = (
  topic: string,
  key: K,
  value: V,
  numPartitions: number,
) => number | readonly number[] | undefined

/** What the DSL's processors use beyond the public context: forwarding later from the node that owns a store. */
export interface InternalProcessorContext<KForward = unknown, VForward = unknown>
  extends ProcessorContext<KForward, VForward> {
  currentNodeHandle(): unknown
  forwardFrom(node: unknown, record: Record<unknown, unknown>): void
  /**
   * Counts a record a DSL processor skipped on purpose (a null key or value a join cannot use, a stale foreign-key
   * response, a record too late for its window...): Kafka Streams' dropped-records sensor. `reason` labels the
   * metric; `late` records also go to `late.records.dead.letter.topic` when one is set.
   */
  recordDropped(reason: string, late?: boolean): void
}
