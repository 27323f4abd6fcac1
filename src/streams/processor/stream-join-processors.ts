/**
 * KStream-KStream windowed joins (Kafka Streams' KStreamJoinWindow and KStreamKStreamJoin, 3.x+ semantics): each
 * side keeps its records in a window store (duplicates retained); a record joins the other side's records within
 * [t - before, t + after]; for left/outer joins an unmatched record waits in the "outer shared store" until its
 * window closes (stream time > t + after + grace) and is then emitted joined with null — no eager spurious results.
 * The outer store's keys are Kafka's: `timestamp (8) + side (1: left, 0: right) + key bytes`, so entries leave in
 * timestamp order; each key holds a list of values (`1 byte side + value bytes` each, as LeftOrRightValue).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { KeyValueStore } from '../state/key-value-store.ts'
import type { WindowStore } from '../state/window-store.ts'
import type { InternalProcessorContext, Processor } from './api.ts'
import { Record } from './record.ts'

type Ctx = InternalProcessorContext<unknown, unknown>

/** Kafka Streams' internal config for the throttle of outer-join emission (wall-clock ms between scans). */
export const EMIT_INTERVAL_CONFIG = '__emit.interval.ms.kstreams.outer.join.spurious.results.fix__'

export type StreamValueJoiner<K, V1, V2, VR> = (value1: V1, value2: V2, key: K) => VR

/** Stream time and the outer store's earliest entry, shared by both sides of one join in one task. */
class TimeTracker {
  emitIntervalMs = 1000
  streamTime = -1
  minTime = Number.MAX_SAFE_INTEGER
  nextTimeToEmit = 0
}

export class SharedTimeTrackers {
  readonly #byTask = new Map<string, TimeTracker>()
  get(taskId: string): TimeTracker {
    let t = this.#byTask.get(taskId)
    if (!t) {
      t = new TimeTracker()
      this.#byTask.set(taskId, t)
    }
    return t
  }
  remove(taskId: string): void {
    this.#byTask.delete(taskId)
  }
}

/** Puts every keyed record into its side's window store, after forwarding it to the join (Kafka's order). */
export function kstreamJoinWindow<K, V>(storeName: string) {
  return (): Processor<K, V, K, V> => {
    let ctx: Ctx
    let store: WindowStore<K, V>
    return {
      init(c) {
        ctx = c as Ctx
        store = ctx.getStateStore(storeName)
      },
      process(r) {
        ctx.forward(r)
        if (r.key !== null && r.key !== undefined) store.put(r.key, r.value, r.timestamp)
      },
    }
  }
}

export interface StreamJoinSideOptions<K, VL, VR, VOut> {
  readonly leftSide: boolean
  readonly otherStoreName: string
  readonly outerStoreName: string | undefined
  /** Whether this side emits unmatched records (left side of left/outer joins, right side of outer joins). */
  readonly outer: boolean
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number
  readonly joiner: StreamValueJoiner<K, VL | null, VR | null, VOut>
  readonly trackers: SharedTimeTrackers
  readonly keySerde: SyncSerde<K> | undefined
  readonly leftValueSerde: SyncSerde<VL> | undefined
  readonly rightValueSerde: SyncSerde<VR> | undefined
}

interface OuterEntry<K> {
  storeKey: Buffer
  timestamp: number
  left: boolean
  key: K
  values: Array<{ left: boolean; value: unknown }>
}

/** One side of the join (Kafka's KStreamKStreamJoinLeftSide / RightSide). */
export function kstreamKStreamJoin<K, VL, VR, VOut>(o: StreamJoinSideOptions<K, VL, VR, VOut>) {
  // This side's window: the left side looks [t - before, t + after], the right side the reverse.
  const joinBeforeMs = o.leftSide ? o.beforeMs : o.afterMs
  const joinAfterMs = o.leftSide ? o.afterMs : o.beforeMs
  return (): Processor<K, unknown, K, VOut> => {
    let ctx: Ctx
    let other: WindowStore<K, unknown>
    let outerStore: KeyValueStore<Buffer, Buffer> | undefined
    let tracker: TimeTracker
    let topic = ''
    const keySerde = () => (o.keySerde ?? ctx.keySerde) as SyncSerde<K>
    const valueSerde = (left: boolean) =>
      ((left ? o.leftValueSerde : o.rightValueSerde) ?? ctx.valueSerde) as SyncSerde<unknown>
    const join = (key: K, thisValue: unknown, otherValue: unknown): VOut =>
      o.leftSide ? o.joiner(thisValue as VL, otherValue as VR, key) : o.joiner(otherValue as VL, thisValue as VR, key)

    const storeKey = (key: K, timestamp: number, left: boolean): Buffer => {
      const k = keySerde().serializeSync(topic, key, { isKey: true })
      const out = Buffer.allocUnsafe(9 + k.length)
      out.writeBigInt64BE(BigInt(timestamp), 0)
      out.writeUInt8(left ? 1 : 0, 8)
      k.copy(out, 9)
      return out
    }
    const decodeValues = (bytes: Buffer): Array<{ left: boolean; value: unknown }> => {
      const out: Array<{ left: boolean; value: unknown }> = []
      const n = bytes.readInt32BE(0)
      let pos = 4
      for (let i = 0; i < n; i++) {
        const len = bytes.readInt32BE(pos)
        pos += 4
        const left = bytes[pos] === 1
        const value = valueSerde(left).deserializeSync(bytes.subarray(pos + 1, pos + len), { topic })
        out.push({ left, value })
        pos += len
      }
      return out
    }
    const appendValue = (existing: Buffer | undefined, left: boolean, value: unknown): Buffer => {
      const raw = valueSerde(left).serializeSync(topic, value)
      const item = Buffer.allocUnsafe(5 + raw.length)
      item.writeInt32BE(1 + raw.length, 0)
      item.writeUInt8(left ? 1 : 0, 4)
      raw.copy(item, 5)
      if (!existing) {
        const head = Buffer.allocUnsafe(4)
        head.writeInt32BE(1)
        return Buffer.concat([head, item])
      }
      const head = Buffer.from(existing)
      head.writeInt32BE(existing.readInt32BE(0) + 1, 0)
      return Buffer.concat([head, item])
    }
    const decodeKey = (b: Buffer): { timestamp: number; left: boolean; key: K } => ({
      timestamp: Number(b.readBigInt64BE(0)),
      left: b[8] === 1,
      key: keySerde().deserializeSync(b.subarray(9), { topic, isKey: true }),
    })

    const emitNonJoined = (store: KeyValueStore<Buffer, Buffer>, record: Record<K, unknown>) => {
      // With no pending record minTime is Long.MAX_VALUE in Kafka, and the sum overflows: the check passes there.
      const empty = tracker.minTime === Number.MAX_SAFE_INTEGER
      if (!empty && tracker.minTime + joinAfterMs + o.graceMs >= tracker.streamTime) return
      const now = ctx.currentSystemTimeMs()
      if (now < tracker.nextTimeToEmit) return
      tracker.nextTimeToEmit = now + tracker.emitIntervalMs
      tracker.minTime = Number.MAX_SAFE_INTEGER
      const entries: OuterEntry<K>[] = []
      let leftOpen = false
      let rightOpen = false
      const toDelete: Buffer[] = []
      const it = store.all()
      try {
        outer: for (const kv of it) {
          const k = decodeKey(kv.key)
          const values = decodeValues(kv.value)
          let emitted = false
          for (const v of values) {
            tracker.minTime = k.timestamp
            if (leftOpen && rightOpen) break outer
            const lookBack = k.left ? o.afterMs : o.beforeMs
            if (tracker.minTime + lookBack + o.graceMs >= tracker.streamTime) {
              if (k.left) leftOpen = true
              else rightOpen = true
              continue
            }
            entries.push({ storeKey: kv.key, timestamp: k.timestamp, left: k.left, key: k.key, values: [v] })
            emitted = true
          }
          if (emitted) toDelete.push(kv.key)
        }
      } finally {
        it.close()
      }
      for (const e of entries) {
        for (const v of e.values) {
          const lv = v.left ? v.value : null
          const rv = v.left ? null : v.value
          ctx.forward(new Record(e.key, o.joiner(lv as VL, rv as VR, e.key), e.timestamp, record.headers))
        }
      }
      for (const k of toDelete) store.put(k, null)
    }

    return {
      init(c) {
        ctx = c as Ctx
        other = ctx.getStateStore(o.otherStoreName)
        if (o.outerStoreName !== undefined)
          outerStore = ctx.getStateStore<KeyValueStore<Buffer, Buffer>>(o.outerStoreName)
        tracker = o.trackers.get(ctx.taskId)
        const interval = Number(ctx.appConfigs[EMIT_INTERVAL_CONFIG] ?? 1000)
        if (!Number.isFinite(interval) || interval < 0) {
          throw streamsError('TRB_STREAMS_INVALID_CONFIG', `${EMIT_INTERVAL_CONFIG} must be >= 0, got ${interval}`)
        }
        tracker.emitIntervalMs = interval
        topic = `${ctx.applicationId}-${o.outerStoreName ?? o.otherStoreName}-changelog`
      },
      process(r) {
        const ts = r.timestamp
        tracker.streamTime = Math.max(tracker.streamTime, ts)
        if (o.outer && (r.key === null || r.key === undefined) && r.value !== null && r.value !== undefined) {
          ctx.forward(r.withValue(join(r.key, r.value, null)))
          return
        }
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          ctx.recordDropped('stream-stream join: record with null key or value skipped')
          return
        }
        if (ts === tracker.streamTime && outerStore) emitNonJoined(outerStore, r)
        const timeFrom = Math.max(0, ts - joinBeforeMs)
        const timeTo = Math.max(0, ts + joinAfterMs)
        const matches = [...other.fetch(r.key, timeFrom, timeTo)]
        for (const m of matches) {
          if (outerStore) {
            const otherKey = storeKey(r.key, m.key, !o.leftSide)
            if (outerStore.get(otherKey) !== undefined) outerStore.delete(otherKey)
          }
          ctx.forward(r.withValue(join(r.key, r.value, m.value)).withTimestamp(Math.max(ts, m.key)))
        }
        if (o.outer && matches.length === 0) {
          if (!outerStore || timeTo < tracker.streamTime) {
            ctx.forward(r.withValue(join(r.key, r.value, null)))
          } else {
            tracker.minTime = Math.min(tracker.minTime, ts)
            const k = storeKey(r.key, ts, o.leftSide)
            outerStore.put(k, appendValue(outerStore.get(k), o.leftSide, r.value))
          }
        }
      },
      close() {
        if (ctx) o.trackers.remove(ctx.taskId)
      },
    }
  }
}
