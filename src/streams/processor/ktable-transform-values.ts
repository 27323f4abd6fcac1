/**
 * KTable.transformValues (Kafka Streams' KTableTransformValues): a ValueTransformerWithKey, made per task by its
 * supplier, computes each row's new value from the key and the parent's value, with access to the stores named in
 * the call and to a context that cannot forward. As Kafka Streams:
 * - the transformer sees every update, a deletion too (`transform(key, null)`); what it returns is the new value
 *   (null deletes the row);
 * - materialized (a Materialized with a store name), the result is put in the store: the old value sent downstream
 *   is read from the store, a versioned store says whether the update is the latest and a put it refuses is not
 *   forwarded; not materialized, the old value (when downstream asks for old values) is the transformer applied to
 *   the parent's old value, and the parent's isLatest passes through;
 * - not materialized, the table's value getter (joins, lookups) applies a transformer of its own to the parent's
 *   current value, the parent's missing value included (`transform(key, null)`), as if out of band: the record
 *   context then has the parent value's timestamp (-1 when there is none) and no topic, offset or headers.
 */
import { streamsError } from '../errors.ts'
import type { TimestampedKeyValueStore } from '../state/key-value-store.ts'
import type { RecordContext, StateStore } from '../state/state-store.ts'
import { PUT_RETURN_CODE_NOT_PUT, PUT_RETURN_CODE_VALID_TO_UNDEFINED } from '../state/versioned-store.ts'
import type { InternalProcessorContext, Processor, ProcessorContext } from './api.ts'
import {
  type KTableParent,
  type KTableSupplier,
  putTableValue,
  storeValueGetter,
  TupleForwarder,
  type ValueGetterSupplier,
} from './dsl-processors.ts'
import { type Change, change, Headers, type Record, type ValueAndTimestamp } from './record.ts'

/**
 * What a ValueTransformerWithKey sees of its task (Kafka Streams' ProcessorContext as a transformer gets it): the
 * stores connected to the operator, punctuation, commit requests and the current record's metadata. It cannot
 * forward: `forward()` throws (the value returned by `transform` is the output).
 */
export interface ValueTransformerContext extends Omit<ProcessorContext, 'forward'> {
  /** The timestamp of the record being transformed (Kafka Streams' `context.timestamp()`). */
  timestamp(): number
  /** The headers of the record being transformed. */
  headers(): Headers
  /** Always throws: a transformer cannot forward records (Kafka Streams' ForwardingDisabledProcessorContext). */
  forward(record: Record<unknown, unknown>, childName?: string): never
}

/**
 * A stateful mapping of a table's values (Kafka Streams' ValueTransformerWithKey). `transform` gets the read-only
 * key and the value, null for a deletion, and returns the new value (null deletes the row).
 */
export interface ValueTransformerWithKey<K, V, VR> {
  init?(context: ValueTransformerContext): void
  transform(readOnlyKey: K, value: V | null): VR | null
  close?(): void
}

/**
 * Makes a new transformer each time it is called (one per task, and one per value getter a downstream join or
 * lookup uses): a function, or an object with `get()`.
 */
export type ValueTransformerWithKeySupplier<K, V, VR> =
  | (() => ValueTransformerWithKey<K, V, VR>)
  | { get(): ValueTransformerWithKey<K, V, VR> }

/** Kafka Streams' explanation when a transformer forwards (ForwardingDisabledProcessorContext). */
export const FORWARD_DISABLED =
  'ProcessorContext#forward() is not supported from this context, as the framework must ensure the key is not ' +
  'changed (#forward allows changing the key on messages which are sent). Use KStream.process() if you need to ' +
  'change the key.'

type Ctx = InternalProcessorContext<unknown, unknown> & {
  recordContext(): RecordContext
  setRecordContext(context: RecordContext): void
}

/** Calls the supplier once, checking that it gave a transformer. */
export function transformerOf<K, V, VR>(
  supplier: ValueTransformerWithKeySupplier<K, V, VR>,
  operator: string,
): ValueTransformerWithKey<K, V, VR> {
  const transformer = typeof supplier === 'function' ? supplier() : supplier.get()
  if (typeof transformer?.transform !== 'function') {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${operator}: the ValueTransformerWithKeySupplier returned ${transformer === null ? 'null' : typeof transformer}` +
        ', not a transformer ({ init?, transform(readOnlyKey, value), close? })',
    )
  }
  return transformer
}

/**
 * Refuses a supplier that hands out one transformer for every call (Kafka Streams' supplier contract: "a new
 * instance each time get() is called"; a shared instance would be initialized by every task and getter).
 */
export function checkTransformerSupplier(
  supplier: ValueTransformerWithKeySupplier<never, never, unknown>,
  operator: string,
): void {
  const first = transformerOf(supplier, operator)
  const second = transformerOf(supplier, operator)
  if (first === second) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${operator}: the ValueTransformerWithKeySupplier generates a single transformer reference; it must return ` +
        'a new object each time it is called',
    )
  }
}

/** The context a transformer gets: the task's, forwarding disabled (Kafka's ForwardingDisabledProcessorContext). */
function forwardingDisabled(c: ProcessorContext): ValueTransformerContext {
  const ctx = c as unknown as Ctx
  return {
    get applicationId() {
      return ctx.applicationId
    },
    get taskId() {
      return ctx.taskId
    },
    get appConfigs() {
      return ctx.appConfigs
    },
    get keySerde() {
      return ctx.keySerde
    },
    get valueSerde() {
      return ctx.valueSerde
    },
    get stateDir() {
      return ctx.stateDir
    },
    getStateStore: <S extends StateStore = StateStore>(name: string) => ctx.getStateStore<S>(name),
    schedule: (intervalMs, type, punctuator) => ctx.schedule(intervalMs, type, punctuator),
    commit: () => ctx.commit(),
    timestamp: () => ctx.recordContext().timestamp,
    headers: () => ctx.recordContext().headers,
    recordMetadata: () => ctx.recordMetadata(),
    currentStreamTimeMs: () => ctx.currentStreamTimeMs(),
    currentSystemTimeMs: () => ctx.currentSystemTimeMs(),
    forward: () => {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', FORWARD_DISABLED)
    },
  }
}

const UNKNOWN_TIMESTAMP = -1

function orNull<T>(value: T | null | undefined): T | null {
  return value === undefined ? null : value
}

export class KTableTransformValues<K, V, VR> implements KTableSupplier {
  readonly #parent: KTableParent
  readonly #supplier: ValueTransformerWithKeySupplier<K, V, VR>
  readonly queryableName: string | undefined
  sendOldValues = false

  constructor(
    parent: KTableParent,
    supplier: ValueTransformerWithKeySupplier<K, V, VR>,
    queryableName: string | undefined,
  ) {
    this.#parent = parent
    this.#supplier = supplier
    this.queryableName = queryableName
  }

  /** Materialized, the old values come from the store; otherwise the parent must send them. */
  enableSendingOldValues(forceMaterialization: boolean): boolean {
    if (this.queryableName !== undefined) {
      this.sendOldValues = true
      return true
    }
    if (this.#parent.enableSendingOldValues(forceMaterialization)) this.sendOldValues = true
    return this.sendOldValues
  }

  view(): ValueGetterSupplier<unknown, unknown> {
    if (this.queryableName !== undefined) return storeValueGetter(this.queryableName)
    const parent = this.#parent.valueGetterSupplier() as ValueGetterSupplier<K, V>
    const supplier = this.#supplier
    return {
      storeNames: () => parent.storeNames(),
      get: () => {
        const getter = parent.get()
        const transformer = transformerOf(supplier, 'transformValues()')
        let ctx: Ctx
        // As Kafka's KTableTransformValuesGetter: the transformer runs out of band, in a record context of its own.
        const transformValue = (key: K, vt: ValueAndTimestamp<V> | null): ValueAndTimestamp<VR> | null => {
          const timestamp = vt ? vt.timestamp : UNKNOWN_TIMESTAMP
          const current = ctx.recordContext()
          ctx.setRecordContext({ timestamp, topic: null, partition: -1, offset: -1, headers: new Headers() })
          try {
            const value = transformer.transform(key, vt ? vt.value : null)
            return value === null || value === undefined ? null : { value, timestamp }
          } finally {
            ctx.setRecordContext(current)
          }
        }
        return {
          init(c: ProcessorContext) {
            ctx = c as unknown as Ctx
            getter.init(c)
            transformer.init?.(forwardingDisabled(c))
          },
          get: (key: unknown) => transformValue(key as K, getter.get(key as K)),
          isVersioned: () => getter.isVersioned?.() ?? false,
          getAsOf: (key: unknown, asOf: number) => transformValue(key as K, getter.getAsOf?.(key as K, asOf) ?? null),
          close() {
            getter.close?.()
            transformer.close?.()
          },
        }
      },
    }
  }

  get(): Processor<never, never, never, never> {
    const self = this
    const transformer = transformerOf(this.#supplier, 'transformValues()')
    let ctx: Ctx
    let store: TimestampedKeyValueStore<K, VR> | undefined
    let forwarder: TupleForwarder<K, VR> | undefined
    const p: Processor<K, Change<V>, K, Change<VR>> = {
      init(c) {
        ctx = c as unknown as Ctx
        transformer.init?.(forwardingDisabled(c as ProcessorContext))
        if (self.queryableName !== undefined) {
          store = ctx.getStateStore<TimestampedKeyValueStore<K, VR>>(self.queryableName)
          forwarder = new TupleForwarder(store, ctx, self.sendOldValues)
        }
      },
      process(r: Record<K, Change<V>>) {
        const newValue = orNull(transformer.transform(r.key, r.value.newValue))
        if (store && forwarder) {
          const oldValue = self.sendOldValues ? (store.get(r.key)?.value ?? null) : null
          // A versioned store says whether the value is the latest; a put it refuses is not forwarded (as Kafka).
          const code = putTableValue(store, r.key, newValue, r.timestamp)
          if (code === PUT_RETURN_CODE_NOT_PUT) return
          forwarder.maybeForward(r.withValue(change(newValue, oldValue, code === PUT_RETURN_CODE_VALID_TO_UNDEFINED)))
        } else {
          const oldValue = self.sendOldValues ? orNull(transformer.transform(r.key, r.value.oldValue)) : null
          ctx.forward(r.withValue(change(newValue, oldValue, r.value.isLatest)))
        }
      },
      close() {
        transformer.close?.()
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}
