/**
 * The processors of windowed aggregations and of suppress() (Kafka Streams' KStreamWindowAggregate,
 * KStreamSlidingWindowAggregate, KStreamSessionWindowAggregate and KTableSuppressProcessor), with Kafka Streams'
 * rules for stream time, grace and late records: a record is dropped when all its windows closed (window end +
 * grace <= stream time); the drop is counted in the task's dropped-records.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import {
  SessionWindow,
  type SessionWindows,
  SlidingWindow,
  type SlidingWindows,
  type TimeWindows,
  type Window,
  Windowed,
} from '../dsl/windows.ts'
import { streamsError } from '../errors.ts'
import type { BufferedChange, InMemoryTimeOrderedKeyValueBuffer } from '../state/suppression-buffer.ts'
import type { SessionStore, TimestampedWindowStore } from '../state/window-store.ts'
import type { InternalProcessorContext, Processor } from './api.ts'
import type { Aggregator, Initializer, KTableSupplier, ValueGetterSupplier } from './dsl-processors.ts'
import { type Change, change, type Headers, Record, type ValueAndTimestamp } from './record.ts'

type Ctx = InternalProcessorContext<unknown, unknown>

/** Merges two session aggregates when a record joins two sessions (Kafka Streams' Merger). */
export type Merger<K, A> = (key: K, aggregate1: A, aggregate2: A) => A

function skipNull(ctx: Ctx, what: string): void {
  const m = ctx.recordMetadata()
  ctx.recordDropped(`${what}: null key`)
  process.emitWarning(
    `${what}: skipping record with null key or value${m ? ` (topic ${m.topic}, partition ${m.partition}, offset ${m.offset})` : ''}`,
    { code: 'TRB_STREAMS_SKIPPED_RECORD' },
  )
}

function dropLate(ctx: Ctx, what: string, timestamp: number, detail: string): void {
  const reason = `${what}: record with timestamp ${timestamp} is too late (${detail}); dropped`
  ctx.recordDropped(reason, true)
}

/** A windowed aggregation's supplier: also the KTable's link (old values, value getter) and its close delay. */
abstract class WindowedSupplier<K, V, A> implements KTableSupplier {
  readonly storeName: string
  sendOldValues = false
  /** How long after a window's end it closes (grace, plus the inactivity gap for sessions): suppress() uses it. */
  abstract readonly closeDelayMs: number
  protected readonly initializer: Initializer<A | null>
  protected readonly aggregator: Aggregator<K, V, A>

  constructor(storeName: string, initializer: Initializer<A | null>, aggregator: Aggregator<K, V, A>) {
    this.storeName = storeName
    this.initializer = initializer
    this.aggregator = aggregator
  }
  enableSendingOldValues(): boolean {
    this.sendOldValues = true
    return true
  }
  abstract view(): ValueGetterSupplier<unknown, unknown>
  abstract get(): Processor<never, never, never, never>
}

function windowViewOf(storeName: string): ValueGetterSupplier<unknown, unknown> {
  return {
    storeNames: () => [storeName],
    get: () => {
      let store: TimestampedWindowStore<unknown, unknown>
      return {
        init: (ctx) => {
          store = ctx.getStateStore(storeName)
        },
        get: (key) => {
          const w = key as Windowed<unknown>
          return store.fetch(w.key, w.window.startMs) ?? null
        },
      }
    },
  }
}

/** Tumbling and hopping windows (Kafka's KStreamWindowAggregate, eager emission). */
export class KStreamWindowAggregate<K, V, A> extends WindowedSupplier<K, V, A> {
  readonly windows: TimeWindows
  constructor(
    storeName: string,
    windows: TimeWindows,
    initializer: Initializer<A | null>,
    aggregator: Aggregator<K, V, A>,
  ) {
    super(storeName, initializer, aggregator)
    this.windows = windows
  }
  get closeDelayMs(): number {
    return this.windows.gracePeriodMs()
  }
  view() {
    return windowViewOf(this.storeName)
  }
  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let store: TimestampedWindowStore<K, A>
    let observedStreamTime = -1
    const p: Processor<K, V, Windowed<K>, Change<A>> = {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(self.storeName)
      },
      process(r) {
        // Kafka 4.x skips only null keys here: a null value is aggregated (count counts it).
        if (r.key === null || r.key === undefined) {
          skipNull(ctx, 'windowed aggregation')
          return
        }
        observedStreamTime = Math.max(observedStreamTime, r.timestamp)
        const closeTime = observedStreamTime - self.windows.gracePeriodMs()
        for (const [start, window] of self.windows.windowsFor(r.timestamp)) {
          if (window.endMs > closeTime) {
            const old = store.fetch(r.key, start) as ValueAndTimestamp<A> | undefined
            const oldAgg = old ? old.value : self.initializer()
            const timestamp = old ? Math.max(r.timestamp, old.timestamp) : r.timestamp
            const newAgg = oldAgg === null ? (r.value as unknown as A) : self.aggregator(r.key, r.value, oldAgg)
            store.put(r.key, { value: newAgg, timestamp }, start)
            ctx.forward(
              new Record(
                new Windowed(r.key, window),
                change(newAgg, self.sendOldValues ? (old?.value ?? null) : null),
                timestamp,
                r.headers,
              ),
            )
          } else {
            dropLate(
              ctx,
              'time-windowed aggregation',
              r.timestamp,
              `window [${start},${window.endMs}) closed at ${closeTime}`,
            )
          }
        }
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** Sliding windows (Kafka's KStreamSlidingWindowAggregate): left and right windows of each record. */
export class KStreamSlidingWindowAggregate<K, V, A> extends WindowedSupplier<K, V, A> {
  readonly windows: SlidingWindows
  constructor(
    storeName: string,
    windows: SlidingWindows,
    initializer: Initializer<A>,
    aggregator: Aggregator<K, V, A>,
  ) {
    super(storeName, initializer, aggregator)
    this.windows = windows
  }
  get closeDelayMs(): number {
    return this.windows.gracePeriodMs()
  }
  view() {
    return windowViewOf(this.storeName)
  }
  get(): Processor<never, never, never, never> {
    const self = this
    const diff = this.windows.timeDifferenceMs
    let ctx: Ctx
    let store: TimestampedWindowStore<K, A>
    let observedStreamTime = -1
    const win = (start: number) => new SlidingWindow(start, start + diff)

    const updateAndForward = (
      r: Record<K, V>,
      window: Window,
      current: ValueAndTimestamp<A | null>,
      closeTime: number,
    ) => {
      if (window.endMs >= closeTime) {
        const oldAgg = current.value
        const newAgg = self.aggregator(r.key, r.value, oldAgg as A)
        const timestamp = oldAgg === null ? r.timestamp : Math.max(r.timestamp, current.timestamp)
        store.put(r.key, { value: newAgg, timestamp }, window.startMs)
        ctx.forward(
          new Record(
            new Windowed(r.key, window),
            change(newAgg, self.sendOldValues ? oldAgg : null),
            timestamp,
            r.headers,
          ),
        )
      } else {
        dropLate(ctx, 'sliding-window aggregation', r.timestamp, `window [${window.startMs},${window.endMs}] closed`)
      }
    }
    const createRight = (r: Record<K, V>, agg: ValueAndTimestamp<A>) => {
      const window = win(r.timestamp + 1)
      store.put(r.key, agg, window.startMs)
      ctx.forward(new Record(new Windowed(r.key, window), change(agg.value, null), agg.timestamp, r.headers))
    }
    const fresh = (ts: number): ValueAndTimestamp<A | null> => ({ value: self.initializer(), timestamp: ts })
    const createPreviousRight = (r: Record<K, V>, start: number, closeTime: number) =>
      updateAndForward(r, win(start), fresh(r.timestamp), closeTime)

    const createWindows = (
      r: Record<K, V>,
      closeTime: number,
      starts: Set<number>,
      rightAgg: ValueAndTimestamp<A> | undefined,
      leftAgg: ValueAndTimestamp<A> | undefined,
      leftCreated: boolean,
      rightCreated: boolean,
      previous: number | undefined,
    ) => {
      const ts = r.timestamp
      if (previous !== undefined) {
        const start = previous + 1
        if (!starts.has(start) && start + diff >= ts) createPreviousRight(r, start, closeTime)
      }
      if (!leftCreated) {
        const leftNotEmpty = previous !== undefined && ts - diff <= previous
        const base: ValueAndTimestamp<A | null> =
          leftNotEmpty && leftAgg ? { value: leftAgg.value, timestamp: ts } : fresh(ts)
        updateAndForward(r, win(ts - diff), base, closeTime)
      }
      if (!rightCreated && rightAgg !== undefined && rightAgg.timestamp > ts) createRight(r, rightAgg)
    }

    const processEarly = (r: Record<K, V>, closeTime: number) => {
      const ts = r.timestamp
      let combined: { window: Window; value: ValueAndTimestamp<A> } | undefined
      let rightAgg: ValueAndTimestamp<A> | undefined
      let rightCreated = false
      const starts = new Set<number>()
      let previous: number | undefined
      for (const kv of [...store.fetch(r.key, r.key, 0, ts + 1)]) {
        const start = kv.key.window.startMs
        starts.add(start)
        if (start === 0) {
          combined = { window: kv.key.window, value: kv.value }
          if (kv.value.timestamp < ts) previous = kv.value.timestamp
        } else if (start <= ts) {
          rightAgg = kv.value
          updateAndForward(r, kv.key.window, kv.value, closeTime)
        } else if (start === ts + 1) {
          rightCreated = true
        } else {
          throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `sliding windows: unexpected window at ${start} for ${ts}`)
        }
      }
      if (rightAgg === undefined && combined !== undefined && combined.value.timestamp > ts) rightAgg = combined.value
      if (!rightCreated && rightAgg !== undefined && rightAgg.timestamp > ts) createRight(r, rightAgg)
      if (previous !== undefined && !starts.has(previous + 1)) createPreviousRight(r, previous + 1, closeTime)
      if (combined === undefined) updateAndForward(r, win(0), fresh(ts), closeTime)
      else updateAndForward(r, combined.window, combined.value, closeTime)
    }

    /** Kafka's processReverse: windows from the latest start backwards (the stores here all iterate backwards). */
    const processReverse = (r: Record<K, V>, closeTime: number) => {
      const ts = r.timestamp
      const starts = new Set<number>()
      let leftAgg: ValueAndTimestamp<A> | undefined
      let rightAgg: ValueAndTimestamp<A> | undefined
      let leftCreated = false
      let rightCreated = false
      let previous: number | undefined
      for (const kv of [...store.backwardFetch(r.key, r.key, Math.max(0, ts - 2 * diff), ts + 1)]) {
        const start = kv.key.window.startMs
        starts.add(start)
        const end = start + diff
        const maxTs = kv.value.timestamp
        if (start === ts + 1) {
          rightCreated = true
        } else if (end > ts) {
          if (rightAgg === undefined) rightAgg = kv.value
          updateAndForward(r, kv.key.window, kv.value, closeTime)
        } else if (end === ts) {
          leftCreated = true
          updateAndForward(r, kv.key.window, kv.value, closeTime)
          if (maxTs < ts) previous = maxTs
          else return
        } else {
          leftAgg = kv.value
          previous = maxTs
          break
        }
      }
      createWindows(r, closeTime, starts, rightAgg, leftAgg, leftCreated, rightCreated, previous)
    }

    const p: Processor<K, V, Windowed<K>, Change<A>> = {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(self.storeName)
      },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          skipNull(ctx, 'sliding-window aggregation')
          return
        }
        const ts = r.timestamp
        observedStreamTime = Math.max(observedStreamTime, ts)
        const closeTime = observedStreamTime - self.windows.gracePeriodMs()
        if (ts + diff < closeTime) {
          dropLate(ctx, 'sliding-window aggregation', ts, `window [${ts},${ts + diff}] closed at ${closeTime}`)
          return
        }
        if (ts < diff) {
          processEarly(r, closeTime)
          return
        }
        processReverse(r, closeTime)
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

/** Session windows (Kafka's KStreamSessionWindowAggregate): merges the sessions a record bridges. */
export class KStreamSessionWindowAggregate<K, V, A> extends WindowedSupplier<K, V, A> {
  readonly windows: SessionWindows
  readonly merger: Merger<K, A>
  constructor(
    storeName: string,
    windows: SessionWindows,
    initializer: Initializer<A | null>,
    aggregator: Aggregator<K, V, A>,
    merger: Merger<K, A>,
  ) {
    super(storeName, initializer, aggregator)
    this.windows = windows
    this.merger = merger
  }
  get closeDelayMs(): number {
    return this.windows.gracePeriodMs() + this.windows.inactivityGap()
  }
  view(): ValueGetterSupplier<unknown, unknown> {
    const storeName = this.storeName
    return {
      storeNames: () => [storeName],
      get: () => {
        let store: SessionStore<unknown, unknown>
        return {
          init: (ctx) => {
            store = ctx.getStateStore(storeName)
          },
          get: (key) => {
            const w = key as Windowed<unknown>
            const value = store.fetchSession(w.key, w.window.startMs, w.window.endMs)
            return value === undefined ? null : { value, timestamp: w.window.endMs }
          },
        }
      },
    }
  }
  get(): Processor<never, never, never, never> {
    const self = this
    const gap = this.windows.inactivityGap()
    let ctx: Ctx
    let store: SessionStore<K, A>
    let observedStreamTime = -1
    const p: Processor<K, V, Windowed<K>, Change<A>> = {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(self.storeName)
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          skipNull(ctx, 'session-windowed aggregation')
          return
        }
        const ts = r.timestamp
        observedStreamTime = Math.max(observedStreamTime, ts)
        const closeTime = observedStreamTime - self.windows.gracePeriodMs() - gap
        const merged = [...store.findSessions(r.key, ts - gap, ts + gap)]
        let agg = self.initializer() as A
        let start = ts
        let end = ts
        for (const s of merged) {
          agg = self.merger(r.key, agg, s.value)
          start = Math.min(start, s.key.window.startMs)
          end = Math.max(end, s.key.window.endMs)
        }
        if (end < closeTime) {
          dropLate(ctx, 'session-windowed aggregation', ts, `session [${start},${end}] closed at ${closeTime}`)
          return
        }
        if (start !== ts || end !== ts) {
          for (const s of merged) {
            store.remove(s.key)
            ctx.forward(
              new Record(s.key, change<A>(null, self.sendOldValues ? s.value : null), s.key.window.endMs, r.headers),
            )
          }
        }
        agg = self.aggregator(r.key, r.value, agg)
        const session = new Windowed(r.key, new SessionWindow(start, end))
        store.put(session, agg)
        ctx.forward(new Record(session, change(agg, null), end, r.headers))
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}

// ---- suppress -----------------------------------------------------------------------------------------------------

/** What a full suppress() buffer does: emit its oldest records early, or stop the application with an error. */
export type BufferFullStrategy = 'emit' | 'shut_down'

export interface BufferLimits {
  readonly maxRecords: number
  readonly maxBytes: number
  readonly strategy: BufferFullStrategy
}

/**
 * suppress() (Kafka's KTableSuppressProcessor with its in-memory time-ordered buffer): holds each key's latest
 * change until its time (window end for untilWindowCloses, record time for untilTimeLimit) is at least the wait
 * behind stream time, then emits it; entries leave in (time, key bytes) order.
 */
export class KTableSuppress<K, V> implements KTableSupplier {
  readonly parent: KTableSupplier
  readonly waitMs: number
  readonly windowEnd: boolean
  readonly limits: BufferLimits
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  readonly name: string
  sendOldValues = false

  constructor(
    parent: KTableSupplier,
    name: string,
    options: {
      waitMs: number
      windowEnd: boolean
      limits: BufferLimits
      keySerde: SyncSerde<K> | undefined
      valueSerde: SyncSerde<V> | undefined
    },
  ) {
    this.parent = parent
    this.name = name
    this.waitMs = options.waitMs
    this.windowEnd = options.windowEnd
    this.limits = options.limits
    this.keySerde = options.keySerde
    this.valueSerde = options.valueSerde
  }
  enableSendingOldValues(): boolean {
    this.sendOldValues = true
    return true
  }
  view(): ValueGetterSupplier<unknown, unknown> {
    return this.parent.view()
  }
  get(): Processor<never, never, never, never> {
    const self = this
    let ctx: Ctx
    let buffer: InMemoryTimeOrderedKeyValueBuffer<K, V>
    let observedStreamTime = -1
    const emit = (e: BufferedChange<K, V>) => {
      // untilWindowCloses drops tombstones (a closed window has no deletes to tell); untilTimeLimit keeps them.
      if (self.windowEnd && (e.change.newValue === null || e.change.newValue === undefined)) return
      ctx.forward(
        new Record(
          e.key,
          change(e.change.newValue, self.sendOldValues ? e.change.oldValue : null),
          e.timestamp,
          e.headers,
        ) as Record<unknown, unknown>,
      )
    }
    const overCapacity = () =>
      buffer.numRecords() > self.limits.maxRecords || buffer.bufferSize() > self.limits.maxBytes
    const p: Processor<K, Change<V>, K, Change<V>> = {
      init(c) {
        ctx = c as Ctx
        // The buffer was rebuilt from its changelog before processors start.
        buffer = ctx.getStateStore(self.name)
      },
      process(r) {
        observedStreamTime = Math.max(observedStreamTime, r.timestamp)
        const time = self.windowEnd ? (r.key as unknown as Windowed<unknown>).window.endMs : r.timestamp
        buffer.put(r.key, time, r.value, r.timestamp, r.headers)
        // Evict what is due.
        const expiry = observedStreamTime - self.waitMs
        buffer.evictWhile((e) => e.time <= expiry, emit)
        if (overCapacity()) {
          if (self.limits.strategy === 'shut_down') {
            throw streamsError(
              'TRB_STREAMS_BUFFER_FULL',
              `suppress buffer ${self.name} is full (${buffer.numRecords()} records, ${buffer.bufferSize()} bytes; ` +
                `limits ${self.limits.maxRecords} records, ${self.limits.maxBytes} bytes) and is configured to shut ` +
                'down when full: raise the limits or use emitEarlyWhenFull()',
            )
          }
          buffer.evictWhile(overCapacity, emit)
        }
      },
    }
    return p as unknown as Processor<never, never, never, never>
  }
}
