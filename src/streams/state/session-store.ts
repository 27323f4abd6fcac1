/**
 * Session stores (Kafka Streams' SessionStore): one entry per session under Kafka's key layout
 * `key bytes + session end (8 bytes, big-endian) + session start (8)`, value = the aggregate's bytes, which is
 * also the changelog record; sessions expire by their end (see state/segmented-store.ts).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { SessionWindow, Windowed } from '../dsl/windows.ts'
import { KeyValue } from '../processor/record.ts'
import { type BytesKeyValueStore, type KeyValueIterator, makeIterator } from './key-value-store.ts'
import type { LmdbStoreOptions } from './lmdb-store.ts'
import {
  BuilderBase,
  bytesStore,
  checkRetention,
  type Kind,
  MAX_TS,
  SegmentedBase,
  type SerdeCfg,
  segmentIntervalFor,
  ts8,
} from './segmented-store.ts'
import type { StateStore } from './state-store.ts'
import { type BuildOptions, validateStoreName } from './stores.ts'

export interface ReadOnlySessionStore<K, AGG> {
  /** Sessions of `key` ending at or after `earliestSessionEndTime` and starting at or before `latestSessionStartTime`. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<Windowed<K>, AGG>
  backwardFindSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValueIterator<Windowed<K>, AGG>
  /** The aggregate of exactly this session, if stored. */
  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined
  /** All sessions of `key` (or of keys in [keyFrom, keyTo] when two keys are given). */
  fetch(key: K): KeyValueIterator<Windowed<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<Windowed<K>, AGG>
  backwardFetch(key: K): KeyValueIterator<Windowed<K>, AGG>
}

export interface SessionStore<K, AGG> extends StateStore, ReadOnlySessionStore<K, AGG> {
  put(session: Windowed<K>, aggregate: AGG | null): void
  remove(session: Windowed<K>): void
  readonly retentionPeriod: number
}

export interface SessionBytesStoreSupplier {
  readonly name: string
  readonly persistent: boolean
  readonly retentionPeriod: number
  readonly segmentInterval: number
  get(options?: BuildOptions): BytesKeyValueStore
}

function sessionKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 16)
  key.copy(out, 0)
  out.writeBigInt64BE(BigInt(end), key.length)
  out.writeBigInt64BE(BigInt(start), key.length + 8)
  return out
}

/** A session store: one entry per session (key, start, end), expiring by session end. */
export class SessionStoreImpl<K, AGG> extends SegmentedBase<K, AGG> implements SessionStore<K, AGG> {
  constructor(
    supplier: SessionBytesStoreSupplier,
    options: BuildOptions | undefined,
    logging: boolean,
    serdes: SerdeCfg<K, AGG>,
  ) {
    super(
      supplier.name,
      supplier.get(options),
      supplier.retentionPeriod,
      supplier.segmentInterval,
      logging,
      false,
      serdes,
    )
  }

  protected timeOfStoreKey(key: Buffer): number {
    return Number(key.readBigInt64BE(key.length - 16))
  }

  #startOf(key: Buffer): number {
    return Number(key.readBigInt64BE(key.length - 8))
  }

  put(session: Windowed<K>, aggregate: AGG | null): void {
    const k = this.serKey(session.key)
    this.observe(session.window.endMs)
    if (session.window.endMs < this.earliestLive) return
    const value =
      aggregate === null || aggregate === undefined ? null : this.valueSerde!.serializeSync(this.topic, aggregate)
    this.inner.put(sessionKey(k, session.window.startMs, session.window.endMs), value)
  }

  remove(session: Windowed<K>): void {
    this.put(session, null)
  }

  fetchSession(key: K, sessionStartTime: number, sessionEndTime: number): AGG | undefined {
    const v = this.inner.get(sessionKey(this.serKey(key), sessionStartTime, sessionEndTime))
    return v === undefined || v === null ? undefined : this.valueSerde!.deserializeSync(v, { topic: this.topic })
  }

  *#scan(
    keyFrom: Buffer | undefined,
    keyTo: Buffer | undefined,
    earliestEnd: number,
    latestStart: number,
    backward: boolean,
  ): Generator<KeyValue<Windowed<K>, AGG>> {
    const lo = Math.max(earliestEnd, this.earliestLive)
    const lower = keyFrom ? Buffer.concat([keyFrom, ts8(lo), ts8(0)]) : undefined
    const upper = keyTo ? Buffer.concat([keyTo, ts8(MAX_TS), ts8(MAX_TS)]) : undefined
    const it = backward ? this.inner.reverseRange(lower, upper) : this.inner.range(lower, upper)
    try {
      for (const kv of it) {
        const kb = kv.key.subarray(0, kv.key.length - 16)
        if (keyFrom && Buffer.compare(kb, keyFrom) < 0) continue
        if (keyTo && Buffer.compare(kb, keyTo) > 0) continue
        const end = this.timeOfStoreKey(kv.key)
        const start = this.#startOf(kv.key)
        if (end < lo || start > latestStart) continue
        yield new KeyValue(
          new Windowed(this.deKey(kb), new SessionWindow(start, end)),
          this.valueSerde!.deserializeSync(kv.value, { topic: this.topic }),
        )
      }
    } finally {
      it.close()
    }
  }

  findSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, earliestSessionEndTime, latestSessionStartTime, false))
  }
  backwardFindSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number) {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, earliestSessionEndTime, latestSessionStartTime, true))
  }
  fetch(key: K): KeyValueIterator<Windowed<K>, AGG>
  fetch(keyFrom: K | null, keyTo: K | null): KeyValueIterator<Windowed<K>, AGG>
  fetch(...args: [K] | [K | null, K | null]): KeyValueIterator<Windowed<K>, AGG> {
    if (args.length === 1) {
      const k = this.serKey(args[0])
      return makeIterator(this.#scan(k, k, 0, MAX_TS, false))
    }
    const [a, b] = args
    const kf = a === null || a === undefined ? undefined : this.serKey(a)
    const kt = b === null || b === undefined ? undefined : this.serKey(b)
    return makeIterator(this.#scan(kf, kt, 0, MAX_TS, false))
  }
  backwardFetch(key: K): KeyValueIterator<Windowed<K>, AGG> {
    const k = this.serKey(key)
    return makeIterator(this.#scan(k, k, 0, MAX_TS, true))
  }
}

export class SessionStoreBuilder<K, V> extends BuilderBase<SessionStore<K, V>> {
  readonly supplier: SessionBytesStoreSupplier
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  constructor(
    supplier: SessionBytesStoreSupplier,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ) {
    super(supplier.retentionPeriod)
    this.supplier = supplier
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }
  get name(): string {
    return this.supplier.name
  }
  get persistent(): boolean {
    return this.supplier.persistent
  }
  build(options?: BuildOptions): SessionStore<K, V> {
    return new SessionStoreImpl<K, V>(this.supplier, options, this.loggingEnabled, {
      keySerde: this.keySerde,
      valueSerde: this.valueSerde,
    })
  }
}

export function sessionSupplier(kind: Kind, name: string, retentionPeriod: number, lmdb?: LmdbStoreOptions) {
  validateStoreName(name)
  checkRetention(name, retentionPeriod, 0)
  return {
    name,
    persistent: kind !== 'in_memory',
    retentionPeriod,
    segmentInterval: segmentIntervalFor(retentionPeriod),
    get: (options?: BuildOptions) => bytesStore(kind, name, lmdb, options),
  } satisfies SessionBytesStoreSupplier
}
