/**
 * The processors behind the DSL's operators (Kafka Streams' KStreamFilter, KTableSource, KStreamAggregate...).
 * KTable processors forward `Change` values; stateful ones forward through the store's cache when it has one.
 */
import { streamsError } from '../errors.ts'
import type { KeyValueStore, TimestampedKeyValueStore } from '../state/key-value-store.ts'
import { isCachedStore } from '../state/key-value-store.ts'
import {
  isVersionedKeyValueStore,
  PUT_RETURN_CODE_NOT_PUT,
  PUT_RETURN_CODE_VALID_TO_UNDEFINED,
  type VersionedKeyValueStore,
} from '../state/versioned-store.ts'
import type { InternalProcessorContext, Processor, ProcessorContext } from './api.ts'
import { type Change, change, Record, type ValueAndTimestamp } from './record.ts'

type Ctx = InternalProcessorContext<unknown, unknown>

export type Predicate<K, V> = (key: K, value: V) => boolean
export type KeyValueMapper<K, V, R> = (key: K, value: V) => R
export type ValueMapperWithKey<K, V, R> = (value: V, key: K) => R
export type Initializer<A> = () => A
export type Aggregator<K, V, A> = (key: K, value: V, aggregate: A) => A
export type Reducer<V> = (aggregate: V, value: V) => V

function droppedNullKey(kind: string, ctx: ProcessorContext, what = 'key'): void {
  const m = ctx.recordMetadata()
  process.emitWarning(
    `${kind}: skipping record with null ${what}${m ? ` (topic ${m.topic}, partition ${m.partition}, offset ${m.offset})` : ''}`,
    { code: 'TRB_STREAMS_SKIPPED_RECORD' },
  )
}

// ---- KStream processors -------------------------------------------------------------------------------------------

export function kstreamFilter<K, V>(predicate: Predicate<K, V>, not: boolean) {
  return (): Processor<K, V, K, V> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        if (predicate(r.key, r.value) !== not) ctx.forward(r)
      },
    }
  }
}

export function kstreamMap<K, V, KR, VR>(mapper: KeyValueMapper<K, V, { key: KR; value: VR }>) {
  return (): Processor<K, V, KR, VR> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        const kv = mapper(r.key, r.value)
        if (kv === null || kv === undefined) {
          throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'map(): the mapper must return a KeyValue, got ' + kv)
        }
        ctx.forward(new Record(kv.key, kv.value, r.timestamp, r.headers))
      },
    }
  }
}

export function kstreamMapValues<K, V, VR>(mapper: ValueMapperWithKey<K, V, VR>) {
  return (): Processor<K, V, K, VR> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => ctx.forward(r.withValue(mapper(r.value, r.key))),
    }
  }
}

export function kstreamFlatMap<K, V, KR, VR>(mapper: KeyValueMapper<K, V, Iterable<{ key: KR; value: VR }>>) {
  return (): Processor<K, V, KR, VR> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        for (const kv of mapper(r.key, r.value)) ctx.forward(new Record(kv.key, kv.value, r.timestamp, r.headers))
      },
    }
  }
}

export function kstreamFlatMapValues<K, V, VR>(mapper: ValueMapperWithKey<K, V, Iterable<VR>>) {
  return (): Processor<K, V, K, VR> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        for (const v of mapper(r.value, r.key)) ctx.forward(r.withValue(v))
      },
    }
  }
}

/** peek (forwards) and foreach (does not). */
export function kstreamPeek<K, V>(action: (key: K, value: V) => void, forward: boolean) {
  return (): Processor<K, V, K, V> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        action(r.key, r.value)
        if (forward) ctx.forward(r)
      },
    }
  }
}

/** split(): the first matching predicate's child gets the record; `null` predicate = the default branch. */
export function kstreamBranch<K, V>(predicates: Array<Predicate<K, V> | null>, childNames: string[]) {
  return (): Processor<K, V, K, V> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        for (let i = 0; i < predicates.length; i++) {
          const p = predicates[i]
          if (p === null || p(r.key, r.value)) {
            ctx.forward(r, childNames[i])
            return
          }
        }
      },
    }
  }
}

export function passThrough<K, V>() {
  return (): Processor<K, V, K, V> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => ctx.forward(r),
    }
  }
}

// ---- KTable machinery ---------------------------------------------------------------------------------------------

/** Forwards a KTable change now, or leaves it to the store's cache flush (Kafka's TimestampedTupleForwarder). */
export class TupleForwarder<K, V> {
  readonly #ctx: Ctx
  readonly #sendOldValues: boolean
  readonly #caching: boolean

  constructor(store: TimestampedKeyValueStore<K, V>, ctx: Ctx, sendOldValues: boolean) {
    this.#ctx = ctx
    this.#sendOldValues = sendOldValues
    const node = ctx.currentNodeHandle()
    this.#caching =
      isCachedStore(store) &&
      (store as unknown as import('../state/key-value-store.ts').CachedStore<K, ValueAndTimestamp<V>>).setFlushListener(
        (key, c, timestamp, headers) => {
          const nv = c.newValue
          ctx.forwardFrom(
            node,
            new Record(
              key,
              change(nv?.value ?? null, c.oldValue?.value ?? null, c.isLatest),
              nv ? nv.timestamp : timestamp,
              headers,
            ) as Record<unknown, unknown>,
          )
        },
        sendOldValues,
      )
  }

  maybeForward(record: Record<K, Change<V>>): void {
    if (this.#caching) return
    this.#ctx.forward(
      this.#sendOldValues ? record : record.withValue(change(record.value.newValue, null, record.value.isLatest)),
    )
  }
}

/** What a KTable offers its children: reading the current value of a key (materialized or computed). */
export interface ValueGetter<K, V> {
  init(ctx: ProcessorContext): void
  get(key: K): ValueAndTimestamp<V> | null
  /** Whether the table reads a versioned store (known after init): joins then look values up as of a time. */
  isVersioned?(): boolean
  /** The value as of a timestamp (versioned tables only). */
  getAsOf?(key: K, asOfTimestamp: number): ValueAndTimestamp<V> | null
  /** When the processor reading through the getter closes (transformValues' getter closes its transformer). */
  close?(): void
}

export type ValueGetterSupplier<K, V> = { get(): ValueGetter<K, V>; storeNames(): string[] }

export function storeValueGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: () => [storeName],
    get: () => {
      let store: TimestampedKeyValueStore<K, V>
      return {
        init: (ctx) => {
          store = ctx.getStateStore(storeName)
        },
        get: (key) => store.get(key) ?? null,
        isVersioned: () => isVersionedKeyValueStore(store),
        getAsOf: (key, asOf) => (store as unknown as VersionedKeyValueStore<K, V>).get(key, asOf),
      }
    },
  }
}

/**
 * Puts a table's new value into its store, timestamped or versioned (Kafka Streams' KeyValueStoreWrapper#put): returns
 * PUT_RETURN_CODE_VALID_TO_UNDEFINED when the value is now the latest for its key (always, for a timestamped store),
 * PUT_RETURN_CODE_NOT_PUT when a versioned store refused it (older than its history retention), or the timestamp the
 * new version is valid until (an out-of-order update of a versioned store).
 */
export function putTableValue<K, V>(
  store: TimestampedKeyValueStore<K, V> | VersionedKeyValueStore<K, V>,
  key: K,
  value: V | null | undefined,
  timestamp: number,
): number {
  const v = value === undefined ? null : value
  if (isVersionedKeyValueStore(store)) return (store as VersionedKeyValueStore<K, V>).put(key, v, timestamp)
  ;(store as TimestampedKeyValueStore<K, V>).put(key, v === null ? null : { value: v, timestamp })
  return PUT_RETURN_CODE_VALID_TO_UNDEFINED
}

/** A KTable processor supplier that can be asked to send old values (and so to materialize). */
export interface KTableSupplier {
  get(): Processor<never, never, never, never>
  enableSendingOldValues(forceMaterialization: boolean): boolean
  view(): ValueGetterSupplier<unknown, unknown>
}

export class KTableSource<K, V> implements KTableSupplier {
  readonly storeName: string
  queryableName: string | undefined
  sendOldValues = false

  constructor(storeName: string, queryableName: string | undefined) {
    this.storeName = storeName
    this.queryableName = queryableName
  }

  materialize(): void {
    this.queryableName = this.storeName
  }

  get materialized(): boolean {
    return this.queryableName !== undefined
  }

  enableSendingOldValues(forceMaterialization: boolean): boolean {
    if (!forceMaterialization && !this.materialized) return false
    this.sendOldValues = true
    this.materialize()
    return true
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    this.materialize()
    return storeValueGetter(this.storeName)
  }

  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, V> | undefined
    let versioned: VersionedKeyValueStore<K, V> | undefined
    let forwarder: TupleForwarder<K, V> | undefined
    const p: Processor<K, V, K, Change<V>> = {
      init(c) {
        ctx = c as Ctx
        if (self.queryableName !== undefined) {
          const s = ctx.getStateStore<TimestampedKeyValueStore<K, never>>(self.queryableName)
          if (isVersionedKeyValueStore(s)) versioned = s as unknown as VersionedKeyValueStore<K, V>
          else store = s as never
          forwarder = new TupleForwarder(s, ctx, self.sendOldValues) as never
        }
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          droppedNullKey('KTable source', ctx)
          return
        }
        if (versioned && forwarder) {
          versionedTableUpdate(versioned, forwarder, r)
        } else if (store && forwarder) {
          const old = store.get(r.key)
          store.put(
            r.key,
            r.value === null || r.value === undefined ? null : { value: r.value, timestamp: r.timestamp },
          )
          forwarder.maybeForward(r.withValue(change(r.value ?? null, old?.value ?? null)))
        } else {
          ctx.forward(r.withValue(change(r.value ?? null, null)))
        }
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** Parent link of a derived KTable processor: enables old values upstream and gives the parent's value getter. */
export interface KTableParent {
  enableSendingOldValues(forceMaterialization: boolean): boolean
  valueGetterSupplier(): ValueGetterSupplier<unknown, unknown>
}

abstract class KTableDerived<K, V, VR> implements KTableSupplier {
  readonly parent: KTableParent
  readonly queryableName: string | undefined
  sendOldValues = false

  constructor(parent: KTableParent, queryableName: string | undefined) {
    this.parent = parent
    this.queryableName = queryableName
  }

  enableSendingOldValues(forceMaterialization: boolean): boolean {
    if (this.queryableName !== undefined) {
      this.sendOldValues = true
      return true
    }
    if (this.parent.enableSendingOldValues(forceMaterialization)) this.sendOldValues = true
    return this.sendOldValues
  }

  protected abstract compute(key: K, value: V | null): VR | null

  view(): ValueGetterSupplier<unknown, unknown> {
    if (this.queryableName !== undefined) return storeValueGetter(this.queryableName)
    const parent = this.parent.valueGetterSupplier() as ValueGetterSupplier<K, V>
    return {
      storeNames: () => parent.storeNames(),
      get: () => {
        const getter = parent.get()
        return {
          init: (ctx: ProcessorContext) => getter.init(ctx),
          get: (key: unknown) => {
            const vt = getter.get(key as K)
            if (!vt) return null
            const v = this.compute(key as K, vt.value)
            return v === null || v === undefined ? null : { value: v, timestamp: vt.timestamp }
          },
          isVersioned: () => getter.isVersioned?.() ?? false,
          getAsOf: (key: unknown, asOf: number) => {
            const vt = getter.getAsOf?.(key as K, asOf) ?? null
            if (!vt) return null
            const v = this.compute(key as K, vt.value)
            return v === null || v === undefined ? null : { value: v, timestamp: vt.timestamp }
          },
          close: () => getter.close?.(),
        }
      },
    }
  }

  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, VR> | undefined
    let forwarder: TupleForwarder<K, VR> | undefined
    const p: Processor<K, Change<V>, K, Change<VR>> = {
      init(c) {
        ctx = c as Ctx
        if (self.queryableName !== undefined) {
          const s = ctx.getStateStore<TimestampedKeyValueStore<K, never>>(self.queryableName)
          store = s as never
          forwarder = new TupleForwarder(s, ctx, self.sendOldValues) as never
        }
      },
      process(r) {
        const newValue = self.compute(r.key, r.value.newValue)
        let oldValue: VR | null = null
        if (self.sendOldValues) {
          oldValue = store ? (store.get(r.key)?.value ?? null) : self.compute(r.key, r.value.oldValue)
        }
        if (self.skipWhenBothNull && self.sendOldValues && newValue === null && oldValue === null) return
        if (store && forwarder) {
          // A versioned store says whether the value is the latest; a refused put is not forwarded (as Kafka).
          const code = putTableValue(store, r.key, newValue, r.timestamp)
          if (code === PUT_RETURN_CODE_NOT_PUT) return
          forwarder.maybeForward(r.withValue(change(newValue, oldValue, code === PUT_RETURN_CODE_VALID_TO_UNDEFINED)))
        } else {
          ctx.forward(r.withValue(change(newValue, oldValue, r.value.isLatest)))
        }
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }

  protected get skipWhenBothNull(): boolean {
    return false
  }
}

export class KTableFilter<K, V> extends KTableDerived<K, V, V> {
  readonly #predicate: Predicate<K, V>
  readonly #not: boolean
  /**
   * The parent is versioned (KIP-914): every update is forwarded, even one filtered out both before and after, so
   * that a versioned store below sees each version (Kafka Streams' KTableFilter with versioned semantics).
   */
  useVersionedSemantics = false
  constructor(parent: KTableParent, predicate: Predicate<K, V>, not: boolean, queryableName: string | undefined) {
    super(parent, queryableName)
    this.#predicate = predicate
    this.#not = not
    // When the parent is materialized anyway, old values avoid forwarding needless tombstones.
    this.sendOldValues = parent.enableSendingOldValues(false)
  }
  protected compute(key: K, value: V | null): V | null {
    return value !== null && value !== undefined && this.#predicate(key, value) !== this.#not ? value : null
  }
  protected override get skipWhenBothNull(): boolean {
    return !this.useVersionedSemantics
  }
}

export class KTableMapValues<K, V, VR> extends KTableDerived<K, V, VR> {
  readonly #mapper: ValueMapperWithKey<K, V, VR>
  constructor(parent: KTableParent, mapper: ValueMapperWithKey<K, V, VR>, queryableName: string | undefined) {
    super(parent, queryableName)
    this.#mapper = mapper
  }
  protected compute(key: K, value: V | null): VR | null {
    return value === null || value === undefined ? null : this.#mapper(value, key)
  }
}

/**
 * KTable.groupBy's selector: forwards the old pair's removal and the new pair's addition (Kafka's
 * KTableRepartitionMap). Below a versioned table (`useVersionedSemantics`), an out-of-order update is not
 * re-grouped at all: the aggregation only sees the latest version of each row (KIP-914), silently, as Kafka does.
 */
export function ktableRepartitionMap<K, V, KR, VR>(
  selector: KeyValueMapper<K, V, { key: KR; value: VR }>,
  useVersionedSemantics = false,
) {
  return (): Processor<K, Change<V>, KR, Change<VR>> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => {
        if (r.key === null || r.key === undefined) {
          throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'record key for the grouping KTable should not be null')
        }
        const { newValue, oldValue, isLatest } = r.value
        if (useVersionedSemantics && !isLatest) return
        const np = newValue === null ? null : selector(r.key, newValue)
        const op = oldValue === null ? null : selector(r.key, oldValue)
        const oldOk = op != null && op.key != null && op.value != null
        const newOk = np != null && np.key != null && np.value != null
        if (oldOk && newOk && equalKeys(op.key, np.key)) {
          ctx.forward(new Record(np.key, change(np.value, op.value, isLatest), r.timestamp, r.headers))
          return
        }
        if (oldOk) ctx.forward(new Record(op.key, change<VR>(null, op.value, isLatest), r.timestamp, r.headers))
        if (newOk) ctx.forward(new Record(np.key, change<VR>(np.value, null, isLatest), r.timestamp, r.headers))
      },
    }
  }
}

function equalKeys(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null)
    return JSON.stringify(a) === JSON.stringify(b)
  return false
}

// ---- aggregations -------------------------------------------------------------------------------------------------

/** groupByKey/groupBy then aggregate/count/reduce (Kafka's KStreamAggregate / KStreamReduce). */
export class KStreamAggregate<K, V, A> implements KTableSupplier {
  readonly storeName: string
  readonly #initializer: Initializer<A> | null
  readonly #aggregator: Aggregator<K, V, A>
  sendOldValues = false

  /** With `initializer` null it is a reduce: the first value is the aggregate. */
  constructor(storeName: string, initializer: Initializer<A> | null, aggregator: Aggregator<K, V, A>) {
    this.storeName = storeName
    this.#initializer = initializer
    this.#aggregator = aggregator
  }

  enableSendingOldValues(): boolean {
    this.sendOldValues = true
    return true
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    return storeValueGetter(this.storeName)
  }

  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, A>
    let forwarder: TupleForwarder<K, A>
    const p: Processor<K, V, K, Change<A>> = {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(self.storeName)
        forwarder = new TupleForwarder(store, ctx, self.sendOldValues)
      },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          droppedNullKey('aggregation', ctx, 'key or value')
          return
        }
        const old = store.get(r.key)
        let newAgg: A
        let timestamp: number
        if (!old) {
          newAgg = self.#initializer ? self.#aggregator(r.key, r.value, self.#initializer()) : (r.value as unknown as A)
          timestamp = r.timestamp
        } else {
          newAgg = self.#aggregator(r.key, r.value, old.value)
          timestamp = Math.max(r.timestamp, old.timestamp)
        }
        const code = putTableValue(store, r.key, newAgg, timestamp)
        if (code === PUT_RETURN_CODE_NOT_PUT) return
        const oldAgg = self.sendOldValues ? (old?.value ?? null) : null
        const latest = code === PUT_RETURN_CODE_VALID_TO_UNDEFINED
        forwarder.maybeForward(new Record(r.key, change(newAgg, oldAgg, latest), timestamp, r.headers))
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** KGroupedTable aggregate/count/reduce with adder and subtractor (Kafka's KTableAggregate / KTableReduce). */
export class KTableAggregate<K, V, A> implements KTableSupplier {
  readonly storeName: string
  readonly #initializer: Initializer<A> | null
  readonly #adder: Aggregator<K, V, A>
  readonly #subtractor: Aggregator<K, V, A>
  sendOldValues = false

  constructor(
    storeName: string,
    initializer: Initializer<A> | null,
    adder: Aggregator<K, V, A>,
    subtractor: Aggregator<K, V, A>,
  ) {
    this.storeName = storeName
    this.#initializer = initializer
    this.#adder = adder
    this.#subtractor = subtractor
  }

  enableSendingOldValues(): boolean {
    this.sendOldValues = true
    return true
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    return storeValueGetter(this.storeName)
  }

  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, A>
    let forwarder: TupleForwarder<K, A>
    const p: Processor<K, Change<V>, K, Change<A>> = {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(self.storeName)
        forwarder = new TupleForwarder(store, ctx, self.sendOldValues)
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          throw streamsError(
            'TRB_STREAMS_INVALID_ARGUMENT',
            `record key for KTable aggregate with state ${self.storeName} should not be null`,
          )
        }
        const old = store.get(r.key)
        const oldAgg = old?.value ?? null
        let timestamp = r.timestamp
        let intermediate: A | null
        if (r.value.oldValue !== null && oldAgg !== null) {
          intermediate = self.#subtractor(r.key, r.value.oldValue, oldAgg)
          timestamp = Math.max(r.timestamp, old!.timestamp)
        } else {
          intermediate = oldAgg
        }
        let newAgg: A | null
        if (r.value.newValue !== null) {
          if (intermediate === null) {
            newAgg = self.#initializer
              ? self.#adder(r.key, r.value.newValue, self.#initializer())
              : (r.value.newValue as unknown as A)
          } else {
            newAgg = self.#adder(r.key, r.value.newValue, intermediate)
          }
          if (old) timestamp = Math.max(r.timestamp, old.timestamp)
        } else {
          newAgg = intermediate
        }
        const code = putTableValue(store, r.key, newAgg, timestamp)
        if (code === PUT_RETURN_CODE_NOT_PUT) return
        const latest = code === PUT_RETURN_CODE_VALID_TO_UNDEFINED
        forwarder.maybeForward(
          new Record(r.key, change(newAgg, self.sendOldValues ? oldAgg : null, latest), timestamp, r.headers),
        )
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** KTable.toStream(): the new value of each change. */
export function ktableToStream<K, V>() {
  return (): Processor<K, Change<V>, K, V | null> => {
    let ctx: ProcessorContext
    return {
      init: (c) => {
        ctx = c as ProcessorContext
      },
      process: (r) => ctx.forward(r.withValue(r.value.newValue)),
    }
  }
}

export type { KeyValueStore }

/**
 * A KTable source update into a versioned store (Kafka Streams' KTableSource with KIP-914 semantics): the old value
 * is the latest version; an update older than the history retention is neither stored nor forwarded; an
 * out-of-order update (older than the latest version) is stored and forwarded with `isLatest` false.
 */
function versionedTableUpdate<K, V>(
  store: VersionedKeyValueStore<K, V>,
  forwarder: TupleForwarder<K, V>,
  r: Record<K, V>,
): void {
  const old = store.get(r.key)
  const value = r.value === undefined ? null : r.value
  const code = store.put(r.key, value, r.timestamp)
  if (code === PUT_RETURN_CODE_NOT_PUT) return
  forwarder.maybeForward(r.withValue(change(value, old?.value ?? null, code === PUT_RETURN_CODE_VALID_TO_UNDEFINED)))
}
