/**
 * What window and session stores share (state/window-store.ts, state/session-store.ts): the segmented base store
 * (serdes, the inner bytes store and its changelog layer, stream time, retention and expiry by segment), the
 * builders' logging defaults (Kafka's changelog retention: the store's retention plus a day, compact,delete) and
 * the choice of bytes store (in memory or LMDB).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { InMemoryKeyValueStore } from './in-memory-store.ts'
import type { BytesKeyValueStore } from './key-value-store.ts'
import { ChangeLoggingKeyValueBytesStore, changelogTopicFor } from './layers.ts'
import { LmdbKeyValueStore, type LmdbStoreOptions } from './lmdb-store.ts'
import type { StateStore, StateStoreContext } from './state-store.ts'
import type { BuildOptions, StoreBuilder } from './stores.ts'

/** Kafka Streams' windowstore.changelog.additional.retention.ms default: the changelog keeps windows a day longer. */
export const WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS = 86_400_000

export const MAX_TS = Number.MAX_SAFE_INTEGER

export function ts8(ms: number): Buffer {
  const b = Buffer.allocUnsafe(8)
  b.writeBigInt64BE(BigInt(Math.max(0, Math.min(ms, MAX_TS))))
  return b
}

export function segmentIntervalFor(retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000)
}

export function checkRetention(name: string, retentionMs: number, windowSizeMs: number): void {
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: retention period must be >= 0 ms, got ${retentionMs}`,
    )
  }
  if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: window size must be >= 0 ms, got ${windowSizeMs}`,
    )
  }
  if (windowSizeMs > retentionMs) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: the retention period (${retentionMs} ms) must be at least the window size (${windowSizeMs} ms)`,
    )
  }
}

export interface SerdeCfg<K, V> {
  keySerde: SyncSerde<K> | undefined
  valueSerde: SyncSerde<V> | undefined
}

/** What the window and session stores share: serdes, the inner (and logging) stores, stream time and expiry. */
export abstract class SegmentedBase<K, V> implements StateStore {
  readonly name: string
  readonly retentionPeriod: number
  readonly segmentInterval: number
  protected readonly raw: BytesKeyValueStore
  protected readonly inner: BytesKeyValueStore
  protected keySerde: SyncSerde<K> | undefined
  protected valueSerde: SyncSerde<V> | undefined
  protected topic = ''
  /** The largest window start (session end) written: Kafka's observedStreamTime of the segmented store. */
  protected observedStreamTime = -1
  #lastSegment = -1
  #open = false

  constructor(
    name: string,
    raw: BytesKeyValueStore,
    retentionPeriod: number,
    segmentInterval: number,
    logging: boolean,
    timestamped: boolean,
    serdes: SerdeCfg<K, V>,
  ) {
    this.name = name
    this.raw = raw
    this.inner = logging ? new ChangeLoggingKeyValueBytesStore(raw, timestamped) : raw
    this.retentionPeriod = retentionPeriod
    this.segmentInterval = segmentInterval
    this.keySerde = serdes.keySerde
    this.valueSerde = serdes.valueSerde
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.keySerde ??= context.defaultKeySerde as SyncSerde<K> | undefined
    this.valueSerde ??= context.defaultValueSerde as SyncSerde<V> | undefined
    if (!this.keySerde || !this.valueSerde) {
      throw streamsError(
        'TRB_STREAMS_MISSING_SERDE',
        `state store ${this.name} has no ${this.keySerde ? 'value' : 'key'} serde: give one (Materialized.with / ` +
          'Stores.windowStoreBuilder) or set default.key.serde / default.value.serde',
      )
    }
    this.topic = changelogTopicFor(context.applicationId, this.name)
    this.inner.init(context, root)
    this.#open = true
    // After a restore, stream time is what the restored entries say.
    for (const kv of this.raw.all()) this.observe(this.timeOfStoreKey(kv.key))
  }

  /** The time a store key carries (window start, or session end). */
  protected abstract timeOfStoreKey(key: Buffer): number

  protected observe(time: number): void {
    if (time > this.observedStreamTime) this.observedStreamTime = time
    const segment = Math.floor(this.observedStreamTime / this.segmentInterval)
    if (segment !== this.#lastSegment && this.#open) {
      this.#lastSegment = segment
      this.#dropExpired()
    }
  }

  /** Earliest live time: entries at or before stream time - retention are expired. */
  protected get earliestLive(): number {
    return this.observedStreamTime - this.retentionPeriod + 1
  }

  #dropExpired(): void {
    const limit = this.earliestLive
    const expired: Buffer[] = []
    for (const kv of this.raw.all()) if (this.timeOfStoreKey(kv.key) < limit) expired.push(kv.key)
    for (const k of expired) this.raw.delete(k)
  }

  protected serKey(key: K): Buffer {
    if (key === null || key === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: keys cannot be null`)
    }
    return this.keySerde!.serializeSync(this.topic, key, { isKey: true })
  }

  protected deKey(bytes: Buffer): K {
    return this.keySerde!.deserializeSync(bytes, { topic: this.topic, isKey: true })
  }

  flush(): void {
    this.inner.flush()
  }
  close(): void | Promise<void> {
    this.#open = false
    return this.inner.close()
  }
  persistent(): boolean {
    return this.raw.persistent()
  }
  isOpen(): boolean {
    return this.#open
  }
}

export abstract class BuilderBase<S extends StateStore> implements StoreBuilder<S> {
  loggingEnabled = true
  cachingEnabled = false
  logConfig: Record<string, string>
  readonly #retention: number
  constructor(retention: number) {
    this.#retention = retention
    this.logConfig = this.#defaults()
  }
  #defaults(): Record<string, string> {
    return {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(this.#retention + WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS),
    }
  }
  abstract readonly name: string
  abstract readonly persistent: boolean
  /** Window and session stores here write through (no record cache): every update is forwarded. */
  withCachingEnabled(): this {
    this.cachingEnabled = true
    return this
  }
  withCachingDisabled(): this {
    this.cachingEnabled = false
    return this
  }
  withLoggingEnabled(config: Record<string, string> = {}): this {
    this.loggingEnabled = true
    this.logConfig = { ...this.#defaults(), ...config }
    return this
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false
    this.logConfig = {}
    return this
  }
  abstract build(options?: BuildOptions): S
}

export type Kind = 'in_memory' | 'lmdb' | 'dsl'

export function bytesStore(kind: Kind, name: string, lmdb: LmdbStoreOptions | undefined, options?: BuildOptions) {
  const persistent = kind === 'lmdb' || (kind === 'dsl' && options?.dslStore !== 'in_memory')
  return persistent ? new LmdbKeyValueStore(name, lmdb) : new InMemoryKeyValueStore(name)
}
