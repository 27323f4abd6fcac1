/**
 * KStream-KTable join / leftJoin with a grace period (Kafka Streams' KStreamKTableJoinProcessor with its buffer,
 * KIP-923): the table must be versioned; each stream record waits in a time-ordered buffer until the buffer's
 * stream time passes its timestamp + grace, then joins the table version valid at its own timestamp, so a table
 * update arriving late (within the grace) is still seen. A stream record already older than stream time - grace
 * joins at once (against the history the table still keeps). The output carries the stream record's timestamp,
 * headers and record context, whenever it is emitted.
 */
import { streamsError } from '../errors.ts'
import type { RecordContext } from '../state/state-store.ts'
import type { Eviction, TimeOrderedKeyValueBuffer } from '../state/time-ordered-buffer.ts'
import type { InternalProcessorContext, Processor, ProcessorContext } from './api.ts'
import type { ValueGetterSupplier } from './dsl-processors.ts'
import { DropReason, type ValueJoinerWithKey } from './join-processors.ts'
import type { Record } from './record.ts'

type Ctx = InternalProcessorContext<unknown, unknown> & {
  recordContext(): RecordContext
  setRecordContext(context: RecordContext): void
}

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined

/** Kafka Streams' message when the table is not versioned. */
export const GRACE_NEEDS_VERSIONED_TABLE = 'KTable must be versioned to use a grace period in a stream table join.'

/** Kafka Streams' message when a null-key record reaches the stream-side buffer of a left join with a grace period. */
export const NULL_KEY_IN_BUFFER = 'key cannot be null'

export class KStreamKTableGraceJoin<K, V, VT, VR> {
  readonly #getter: ValueGetterSupplier<K, VT>
  readonly #joiner: ValueJoinerWithKey<K, V, VT | null, VR>
  readonly #leftJoin: boolean
  readonly bufferName: string

  constructor(
    getter: ValueGetterSupplier<K, VT>,
    joiner: ValueJoinerWithKey<K, V, VT | null, VR>,
    leftJoin: boolean,
    bufferName: string,
  ) {
    this.#getter = getter
    this.#joiner = joiner
    this.#leftJoin = leftJoin
    this.bufferName = bufferName
  }

  get(): Processor<K, V, K, VR> {
    const getter = this.#getter.get()
    const joiner = this.#joiner
    const leftJoin = this.#leftJoin
    const bufferName = this.bufferName
    let ctx: Ctx
    let buffer: TimeOrderedKeyValueBuffer<K, V>

    const doJoin = (r: Record<K, V>) => {
      const vt = isNull(r.key) ? null : getter.getAsOf!(r.key, r.timestamp)
      const other = vt?.value ?? null
      if (leftJoin || other !== null) ctx.forward(r.withValue(joiner(r.value, other, r.key)))
    }
    const emit = (e: Eviction<K, V>) => {
      const previous = ctx.recordContext()
      try {
        ctx.setRecordContext(e.context)
        doJoin(e.record)
      } finally {
        ctx.setRecordContext(previous)
      }
    }

    return {
      init(c) {
        ctx = c as unknown as Ctx
        getter.init(c as ProcessorContext)
        if (!getter.isVersioned?.() || !getter.getAsOf) {
          throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `${GRACE_NEEDS_VERSIONED_TABLE} (docs/streams/joins.md)`)
        }
        buffer = ctx.getStateStore<TimeOrderedKeyValueBuffer<K, V>>(bufferName)
      },
      process(r: Record<K, V>) {
        // As Kafka Streams: a null value (or, for an inner join, a null key) cannot join and is dropped.
        if (isNull(r.value) || (!leftJoin && isNull(r.key))) {
          ctx.recordDropped(DropReason.NULL_JOIN_KEY_OR_VALUE)
          return
        }
        // As Kafka Streams: a left join keeps a null-key record, but its buffer refuses a null key and the record
        // fails (the processing exception handler decides), late or not.
        if (isNull(r.key)) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `${NULL_KEY_IN_BUFFER} (${bufferName})`)
        if (!buffer.put(r, ctx.recordContext())) {
          doJoin(r)
          return
        }
        buffer.evict(emit)
      },
      close() {
        getter.close?.()
      },
    }
  }
}
