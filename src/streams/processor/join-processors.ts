/**
 * The processors behind the DSL's table joins, with Kafka Streams' semantics record for record:
 * - stream-table and stream-global-table joins (Kafka's KStreamKTableJoinProcessor): the stream side triggers, the
 *   table side is only looked up; the output keeps the stream record's timestamp;
 * - table-table joins (KTableKTableInnerJoin / LeftJoin / RightJoin / OuterJoin and the JoinMerger): an update on
 *   either side looks the other side up and emits a change whose timestamp is the larger of the two inputs'.
 * Records a join cannot use (null key, null stream value) are dropped and counted (`recordDropped`).
 */
import type { TimestampedKeyValueStore } from '../state/key-value-store.ts'
import { PUT_RETURN_CODE_NOT_PUT, PUT_RETURN_CODE_VALID_TO_UNDEFINED } from '../state/versioned-store.ts'
import type { InternalProcessorContext, Processor, ProcessorContext } from './api.ts'
import {
  type KTableParent,
  type KTableSupplier,
  putTableValue,
  storeValueGetter,
  TupleForwarder,
  type ValueGetter,
  type ValueGetterSupplier,
} from './dsl-processors.ts'
import { type Change, change, type Record, type ValueAndTimestamp } from './record.ts'

/** Joins a value of each side into the result (Kafka Streams' ValueJoiner). */
export type ValueJoiner<V1, V2, VR> = (value1: V1, value2: V2) => VR

/**
 * Stream-table joins also pass the stream record's read-only key, as the last argument (Kafka Streams'
 * ValueJoinerWithKey), so a ValueJoiner fits too.
 */
export type ValueJoinerWithKey<K, V1, V2, VR> = (value1: V1, value2: V2, key: K) => VR

type Ctx = InternalProcessorContext<unknown, unknown>

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined

/** Why a join dropped a record: the metric label and the log line say it. */
export const DropReason = {
  NULL_JOIN_KEY_OR_VALUE: 'null-join-key-or-value',
  NULL_KEY: 'null-key',
  NULL_FOREIGN_KEY: 'null-foreign-key',
  STALE_FK_RESPONSE: 'stale-foreign-key-response',
  OUT_OF_ORDER_VERSIONED: 'out-of-order-versioned-table-update',
} as const

// ---- stream-table ---------------------------------------------------------------------------------------------------

/**
 * KStream-KTable and KStream-GlobalKTable joins. `keyMapper` maps the stream record to the table's key (the identity
 * on the key for a KTable, the user's key selector for a GlobalKTable). As Kafka Streams 4.x: a record with a null
 * value, or whose mapped key is null, is dropped, except that a left join keeps a record whose mapped key is null
 * (and joins it with null); the table is only read, never triggers.
 */
export class KStreamKTableJoin<K, V, KT, VT, VR> {
  readonly #getter: ValueGetterSupplier<KT, VT>
  readonly #keyMapper: (key: K, value: V) => KT
  readonly #joiner: ValueJoinerWithKey<K, V, VT | null, VR>
  readonly #leftJoin: boolean

  constructor(
    getter: ValueGetterSupplier<KT, VT>,
    keyMapper: (key: K, value: V) => KT,
    joiner: ValueJoinerWithKey<K, V, VT | null, VR>,
    leftJoin: boolean,
  ) {
    this.#getter = getter
    this.#keyMapper = keyMapper
    this.#joiner = joiner
    this.#leftJoin = leftJoin
  }

  get(): Processor<K, V, K, VR> {
    const getter = this.#getter.get()
    const keyMapper = this.#keyMapper
    const joiner = this.#joiner
    const leftJoin = this.#leftJoin
    let ctx: Ctx
    return {
      init(c) {
        ctx = c as unknown as Ctx
        getter.init(c as ProcessorContext)
      },
      process(r: Record<K, V>) {
        const mapped = keyMapper(r.key, r.value)
        const keep = leftJoin && isNull(mapped) && !isNull(r.value)
        if (!keep && (isNull(mapped) || isNull(r.value))) {
          ctx.recordDropped(DropReason.NULL_JOIN_KEY_OR_VALUE)
          return
        }
        // A versioned table answers with the version valid at the stream record's time (KIP-914).
        const other = isNull(mapped)
          ? null
          : ((getter.isVersioned?.() ? getter.getAsOf!(mapped, r.timestamp) : getter.get(mapped))?.value ?? null)
        if (leftJoin || other !== null) ctx.forward(r.withValue(joiner(r.value, other, r.key)))
      },
      close() {
        getter.close?.()
      },
    }
  }
}

// ---- table-table ----------------------------------------------------------------------------------------------------

/** Which join a table-table join side computes; `right` is the other side of a left join. */
export type TableJoinKind = 'inner' | 'left' | 'right' | 'outer'

const UNKNOWN_TIMESTAMP = -1

/**
 * One side of a KTable-KTable join: processes the changes of `table1`, looking `table2` up. The DSL makes two, one
 * per side (the other with the joiner reversed), and a merger below both.
 */
export class KTableKTableJoin<K, V1, V2, VR> implements KTableSupplier {
  readonly kind: TableJoinKind
  readonly #table1: KTableParent
  readonly #table2: KTableParent
  readonly #getter1: ValueGetterSupplier<K, V1>
  readonly #getter2: ValueGetterSupplier<K, V2>
  readonly #joiner: ValueJoiner<V1 | null, V2 | null, VR>
  sendOldValues = false
  /** table1 is versioned (KIP-914): its out-of-order updates are dropped (and counted), as Kafka Streams does. */
  useVersionedSemantics = false

  constructor(
    kind: TableJoinKind,
    table1: KTableParent,
    table2: KTableParent,
    joiner: ValueJoiner<V1 | null, V2 | null, VR>,
  ) {
    this.kind = kind
    this.#table1 = table1
    this.#table2 = table2
    // Asking for the value getters materializes source tables, as Kafka Streams does for joins.
    this.#getter1 = table1.valueGetterSupplier() as ValueGetterSupplier<K, V1>
    this.#getter2 = table2.valueGetterSupplier() as ValueGetterSupplier<K, V2>
    this.#joiner = joiner
  }

  /** Table-table joins need their inputs' old values to send their own: both sides are asked. */
  enableSendingOldValues(): boolean {
    this.#table1.enableSendingOldValues(true)
    this.#table2.enableSendingOldValues(true)
    this.sendOldValues = true
    return true
  }

  /** Store names the side's processor reads (the other table's). */
  otherStoreNames(): string[] {
    return this.#getter2.storeNames()
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    const g1 = this.#getter1
    const g2 = this.#getter2
    const joiner = this.#joiner
    const kind = this.kind
    return {
      storeNames: () => [...new Set([...g1.storeNames(), ...g2.storeNames()])],
      get: (): ValueGetter<unknown, unknown> => {
        const a = g1.get()
        const b = g2.get()
        return {
          init(ctx) {
            a.init(ctx)
            b.init(ctx)
          },
          get(key) {
            return joinedValue(kind, joiner, a.get(key as K), b, key as K) as ValueAndTimestamp<unknown> | null
          },
          close() {
            a.close?.()
            b.close?.()
          },
        }
      },
    }
  }

  get(): Processor<never, never, never, never> {
    const self = this
    const getter = this.#getter2.get()
    const joiner = this.#joiner
    const kind = this.kind
    let ctx: Ctx
    const p: Processor<K, Change<V1>, K, Change<VR>> = {
      init(c) {
        ctx = c as unknown as Ctx
        getter.init(c as ProcessorContext)
      },
      process(r) {
        if (isNull(r.key)) {
          ctx.recordDropped(DropReason.NULL_KEY)
          return
        }
        if (self.useVersionedSemantics && !r.value.isLatest) {
          ctx.recordDropped(DropReason.OUT_OF_ORDER_VERSIONED)
          return
        }
        const { newValue, oldValue, isLatest } = r.value
        const other = getter.get(r.key)
        const value2 = other?.value ?? null
        let resultTimestamp: number
        let newResult: VR | null = null
        let oldResult: VR | null = null
        switch (kind) {
          case 'inner':
            if (value2 === null) return
            resultTimestamp = Math.max(r.timestamp, other!.timestamp)
            if (newValue !== null) newResult = joiner(newValue, value2)
            if (self.sendOldValues && oldValue !== null) oldResult = joiner(oldValue, value2)
            break
          case 'left':
            if (value2 === null && newValue === null && oldValue === null) return
            resultTimestamp = Math.max(r.timestamp, value2 === null ? UNKNOWN_TIMESTAMP : other!.timestamp)
            if (newValue !== null) newResult = joiner(newValue, value2)
            if (self.sendOldValues && oldValue !== null) oldResult = joiner(oldValue, value2)
            break
          case 'right':
            // The other side of a left join: the table looked up is the left one, the joiner is reversed.
            if (value2 === null) return
            resultTimestamp = Math.max(r.timestamp, other!.timestamp)
            newResult = joiner(newValue, value2)
            if (self.sendOldValues) oldResult = joiner(oldValue, value2)
            break
          case 'outer':
            if (value2 === null) {
              if (newValue === null && oldValue === null) return
              resultTimestamp = r.timestamp
            } else {
              resultTimestamp = Math.max(r.timestamp, other!.timestamp)
            }
            if (value2 !== null || newValue !== null) newResult = joiner(newValue, value2)
            if (self.sendOldValues && (value2 !== null || oldValue !== null)) oldResult = joiner(oldValue, value2)
            break
        }
        ctx.forward(r.withValue(change(newResult, oldResult, isLatest)).withTimestamp(resultTimestamp))
      },
      close() {
        getter.close?.()
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** The join computed on the fly from both sides' current values (the join's value getter when not materialized). */
function joinedValue<K, V1, V2, VR>(
  kind: TableJoinKind,
  joiner: ValueJoiner<V1 | null, V2 | null, VR>,
  vt1: ValueAndTimestamp<V1> | null,
  getter2: ValueGetter<K, V2>,
  key: K,
): ValueAndTimestamp<VR> | null {
  switch (kind) {
    case 'inner': {
      if (!vt1) return null
      const vt2 = getter2.get(key)
      if (!vt2) return null
      return make(joiner(vt1.value, vt2.value), Math.max(vt1.timestamp, vt2.timestamp))
    }
    case 'left': {
      if (!vt1) return null
      const vt2 = getter2.get(key)
      return make(joiner(vt1.value, vt2?.value ?? null), vt2 ? Math.max(vt1.timestamp, vt2.timestamp) : vt1.timestamp)
    }
    case 'right': {
      // Kafka's right-join getter looks the second table up first: a row exists when the looked-up side has one.
      const vt2 = getter2.get(key)
      if (!vt2) return null
      return make(joiner(vt1?.value ?? null, vt2.value), vt1 ? Math.max(vt1.timestamp, vt2.timestamp) : vt2.timestamp)
    }
    case 'outer': {
      const vt2 = getter2.get(key)
      if (!vt1 && !vt2) return null
      return make(
        joiner(vt1?.value ?? null, vt2?.value ?? null),
        Math.max(vt1?.timestamp ?? UNKNOWN_TIMESTAMP, vt2?.timestamp ?? UNKNOWN_TIMESTAMP),
      )
    }
  }
}

function make<V>(value: V | null | undefined, timestamp: number): ValueAndTimestamp<V> | null {
  return isNull(value) ? null : { value, timestamp }
}

/**
 * Below both sides of a table-table join (Kafka's KTableKTableJoinMerger): writes the result to its store when the
 * join is materialized (forwarding through the cache), otherwise passes the changes on.
 */
export class KTableKTableJoinMerger<K, VR> implements KTableSupplier {
  readonly #parent1: KTableKTableJoin<K, unknown, unknown, VR>
  readonly #parent2: KTableKTableJoin<K, unknown, unknown, VR>
  readonly queryableName: string | undefined
  sendOldValues = false

  constructor(
    parent1: KTableKTableJoin<K, unknown, unknown, VR>,
    parent2: KTableKTableJoin<K, unknown, unknown, VR>,
    queryableName: string | undefined,
  ) {
    this.#parent1 = parent1
    this.#parent2 = parent2
    this.queryableName = queryableName
  }

  enableSendingOldValues(): boolean {
    this.#parent1.enableSendingOldValues()
    this.#parent2.enableSendingOldValues()
    this.sendOldValues = true
    return true
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    if (this.queryableName !== undefined) return storeValueGetter(this.queryableName)
    const v1 = this.#parent1.view()
    const v2 = this.#parent2.view()
    return {
      storeNames: () => [...new Set([...v1.storeNames(), ...v2.storeNames()])],
      get: () => v1.get(),
    }
  }

  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, VR> | undefined
    let forwarder: TupleForwarder<K, VR> | undefined
    const p: Processor<K, Change<VR>, K, Change<VR>> = {
      init(c) {
        ctx = c as unknown as Ctx
        if (self.queryableName !== undefined) {
          store = ctx.getStateStore<TimestampedKeyValueStore<K, VR>>(self.queryableName)
          forwarder = new TupleForwarder(store!, ctx, self.sendOldValues)
        }
      },
      process(r) {
        const { newValue, oldValue, isLatest } = r.value
        if (store && forwarder) {
          // In a versioned store (KIP-914) the put says whether the result is the latest; refused, it is dropped.
          const code = putTableValue(store, r.key, newValue, r.timestamp)
          if (code === PUT_RETURN_CODE_NOT_PUT) return
          forwarder.maybeForward(r.withValue(change(newValue, oldValue, code === PUT_RETURN_CODE_VALID_TO_UNDEFINED)))
        } else if (self.sendOldValues) {
          ctx.forward(r)
        } else {
          ctx.forward(r.withValue(change(newValue, null, isLatest)))
        }
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}
