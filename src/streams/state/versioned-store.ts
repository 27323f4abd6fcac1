/**
 * Versioned key-value stores (Kafka Streams' VersionedKeyValueStore, KIP-889): every key keeps its history of
 * values, each valid from its timestamp until the next version's, so a reader can ask for the value a key had at a
 * point in (event) time. The semantics are those of Kafka Streams' RocksDBVersionedStore:
 * - `put(key, value, timestamp)` inserts a version (a null value is a tombstone: "deleted from then on") and
 *   returns the timestamp until which the new version is valid (the next newer version's), or
 *   PUT_RETURN_CODE_VALID_TO_UNDEFINED (-1) when it is the latest; an equal timestamp replaces the version;
 * - the store's stream time is the largest timestamp put; a put older than stream time - history retention is
 *   not applied (PUT_RETURN_CODE_NOT_PUT), and counted in `dropped-records` as Kafka's expired-record sensor;
 * - `get(key)` is the latest version (null when it is a tombstone); `get(key, asOf)` the version with the largest
 *   timestamp <= asOf, null when that is a tombstone or when asOf is older than stream time - history retention
 *   (except that the latest version never expires);
 * - `delete(key, timestamp)` puts a tombstone and returns the version valid at that timestamp.
 * One implementation of the logic over either inner bytes store (in memory, or LMDB): each key's history is one
 * entry. The changelog holds every put as (key, value, timestamp); restoring replays the puts.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { InMemoryKeyValueStore } from './in-memory-store.ts'
import type { BytesKeyValueStore } from './key-value-store.ts'
import { changelogTopicFor } from './layers.ts'
import { LmdbKeyValueStore, type LmdbStoreOptions } from './lmdb-store.ts'
import type { RestoreCallback, StateStore, StateStoreContext } from './state-store.ts'
import { type BuildOptions, type StoreBuilder, validateStoreName } from './stores.ts'

/** put() returned this: the new version is the latest for its key (Kafka's PUT_RETURN_CODE_VALID_TO_UNDEFINED). */
export const PUT_RETURN_CODE_VALID_TO_UNDEFINED = -1
/** put() returned this: the version was older than the history retention allows and was not stored. */
export const PUT_RETURN_CODE_NOT_PUT = Number.MIN_SAFE_INTEGER

/** Kafka Streams' changelog compaction lag added to a versioned store's history retention (one day). */
export const VERSIONED_CHANGELOG_ADDITIONAL_COMPACTION_LAG_MS = 24 * 60 * 60 * 1000

/** One version of a key (Kafka Streams' VersionedRecord): `validTo` is set when a newer version exists. */
export interface VersionedRecord<V> {
  readonly value: V
  readonly timestamp: number
  readonly validTo?: number
}

export interface VersionedKeyValueStore<K, V> extends StateStore {
  /** Marks versioned stores (KTables and joins check it). */
  readonly versioned: true
  readonly historyRetention: number
  /** Adds a version; returns its validTo, PUT_RETURN_CODE_VALID_TO_UNDEFINED (latest) or PUT_RETURN_CODE_NOT_PUT. */
  put(key: K, value: V | null, timestamp: number): number
  /** Puts a tombstone at `timestamp`; returns the version valid at that timestamp before the delete, or null. */
  delete(key: K, timestamp: number): VersionedRecord<V> | null
  /** The latest version, or null when there is none or it is a tombstone; with `asOfTimestamp`, as of that time. */
  get(key: K, asOfTimestamp?: number): VersionedRecord<V> | null
}

export function isVersionedKeyValueStore(store: unknown): store is VersionedKeyValueStore<unknown, unknown> {
  return (store as Partial<VersionedKeyValueStore<unknown, unknown>> | undefined)?.versioned === true
}

/** Makes the bytes store a versioned store keeps its histories in (Kafka Streams' VersionedBytesStoreSupplier). */
export interface VersionedBytesStoreSupplier {
  readonly name: string
  readonly persistent: boolean
  readonly versioned: true
  readonly historyRetentionMs: number
  readonly segmentIntervalMs: number
  get(options?: BuildOptions): BytesKeyValueStore
}

export function isVersionedSupplier(supplier: unknown): supplier is VersionedBytesStoreSupplier {
  return (supplier as Partial<VersionedBytesStoreSupplier> | undefined)?.versioned === true
}

/** Kafka Streams' default segment interval for a history retention (RocksDbVersionedKeyValueBytesStoreSupplier). */
export function defaultSegmentInterval(historyRetentionMs: number): number {
  if (historyRetentionMs <= 60_000) return Math.max(Math.floor(historyRetentionMs / 3), 2_000)
  if (historyRetentionMs <= 300_000) return Math.max(Math.floor(historyRetentionMs / 5), 20_000)
  if (historyRetentionMs <= 12 * 3_600_000) return Math.max(Math.floor(historyRetentionMs / 12), 60_000)
  return 3_600_000
}

function checkDuration(name: string, what: string, ms: number, min: number): void {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${name}: ${what} must be an integer >= ${min} ms, got ${ms}`,
    )
  }
}

export function versionedSupplier(
  kind: 'in_memory' | 'lmdb',
  name: string,
  historyRetentionMs: number,
  segmentIntervalMs?: number,
  lmdb?: LmdbStoreOptions,
): VersionedBytesStoreSupplier {
  validateStoreName(name)
  checkDuration(name, 'history retention', historyRetentionMs, 0)
  const segment = segmentIntervalMs ?? defaultSegmentInterval(historyRetentionMs)
  checkDuration(name, 'segment interval', segment, 1)
  return {
    name,
    persistent: kind === 'lmdb',
    versioned: true,
    historyRetentionMs,
    segmentIntervalMs: segment,
    get: () => (kind === 'lmdb' ? new LmdbKeyValueStore(name, lmdb) : new InMemoryKeyValueStore(name)),
  }
}

// ---- the history of one key, as stored ------------------------------------------------------------------------------

interface Version {
  ts: number
  value: Buffer | null
}

/** [timestamp int64][length int32, -1 for a tombstone][bytes], oldest first. */
function encodeHistory(versions: readonly Version[]): Buffer {
  let size = 0
  for (const v of versions) size += 12 + (v.value?.length ?? 0)
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const v of versions) {
    out.writeBigInt64BE(BigInt(v.ts), at)
    out.writeInt32BE(v.value === null ? -1 : v.value.length, at + 8)
    at += 12
    if (v.value !== null) {
      v.value.copy(out, at)
      at += v.value.length
    }
  }
  return out
}

function decodeHistory(raw: Buffer): Version[] {
  const out: Version[] = []
  let at = 0
  while (at < raw.length) {
    const ts = Number(raw.readBigInt64BE(at))
    const len = raw.readInt32BE(at + 8)
    at += 12
    if (len < 0) out.push({ ts, value: null })
    else {
      out.push({ ts, value: Buffer.from(raw.subarray(at, at + len)) })
      at += len
    }
  }
  return out
}

/** The index of the last version with ts <= t, or -1. */
function floorIndex(versions: readonly Version[], t: number): number {
  let lo = 0
  let hi = versions.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (versions[mid].ts <= t) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * The typed versioned store: serdes (the changelog topic is the serde topic, as for every store), history logic,
 * changelog writes and restore, over an inner bytes store.
 */
export class VersionedKeyValueStoreImpl<K, V> implements VersionedKeyValueStore<K, V> {
  readonly versioned = true as const
  readonly name: string
  readonly historyRetention: number
  readonly segmentInterval: number
  readonly #raw: BytesKeyValueStore
  readonly #logging: boolean
  #keySerde: SyncSerde<K> | undefined
  #valueSerde: SyncSerde<V> | undefined
  #topic = ''
  #context: StateStoreContext | undefined
  #observedStreamTime = -1
  #lastSweep = Number.NEGATIVE_INFINITY
  #open = false

  constructor(
    supplier: VersionedBytesStoreSupplier,
    options: BuildOptions | undefined,
    logging: boolean,
    keySerde: SyncSerde<K> | undefined,
    valueSerde: SyncSerde<V> | undefined,
  ) {
    this.name = supplier.name
    this.historyRetention = supplier.historyRetentionMs
    this.segmentInterval = supplier.segmentIntervalMs
    this.#raw = supplier.get(options)
    this.#logging = logging
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  get keySerde(): SyncSerde<K> | undefined {
    return this.#keySerde
  }
  get valueSerde(): SyncSerde<V> | undefined {
    return this.#valueSerde
  }

  /** The store's stream time: the largest timestamp put (or restored); -1 before any. */
  get observedStreamTime(): number {
    return this.#observedStreamTime
  }

  init(context: StateStoreContext, root: StateStore): void {
    this.#keySerde ??= context.defaultKeySerde as SyncSerde<K> | undefined
    this.#valueSerde ??= context.defaultValueSerde as SyncSerde<V> | undefined
    if (!this.#keySerde || !this.#valueSerde) {
      throw streamsError(
        'TRB_STREAMS_MISSING_SERDE',
        `state store ${this.name} has no ${this.#keySerde ? 'value' : 'key'} serde: give one (Materialized.with / ` +
          'Stores.versionedKeyValueStoreBuilder) or set default.key.serde / default.value.serde',
      )
    }
    this.#context = context
    this.#topic = changelogTopicFor(context.applicationId, this.name)
    // The inner store registers itself; the versioned store restores by replaying the logged puts instead.
    const restore: RestoreCallback = (records) => {
      for (const r of records) this.#putBytes(r.key, r.value, r.timestamp)
    }
    const proxied = new Proxy(context, {
      get(target, prop) {
        if (prop === 'register') return (store: StateStore) => target.register(store, restore)
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    this.#raw.init(proxied, root)
    this.#open = true
    // A persistent store reopened without restore: stream time is what its histories say.
    for (const kv of this.#raw.all()) {
      const versions = decodeHistory(kv.value)
      const last = versions[versions.length - 1]
      if (last && last.ts > this.#observedStreamTime) this.#observedStreamTime = last.ts
    }
  }

  #check(): void {
    if (!this.#open) throw streamsError('TRB_STREAMS_STORE_CLOSED', `store ${this.name} is not open`)
  }

  #serKey(key: K): Buffer {
    if (key === null || key === undefined) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: keys cannot be null`)
    }
    return this.#keySerde!.serializeSync(this.#topic, key, { isKey: true })
  }

  #serValue(value: V | null | undefined): Buffer | null {
    if (value === null || value === undefined) return null
    return this.#valueSerde!.serializeSync(this.#topic, value)
  }

  #deValue(bytes: Buffer): V {
    return this.#valueSerde!.deserializeSync(bytes, { topic: this.#topic })
  }

  #checkTimestamp(timestamp: number): void {
    if (!Number.isSafeInteger(timestamp)) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: timestamp must be an integer`)
    }
  }

  /** Versions still visible: those valid at or after stream time - history retention (and the latest). */
  #prune(versions: Version[]): Version[] {
    const horizon = this.#observedStreamTime - this.historyRetention
    let drop = 0
    while (drop < versions.length - 1 && versions[drop + 1].ts <= horizon) drop++
    const kept = drop > 0 ? versions.slice(drop) : versions
    // A lone expired tombstone says nothing a missing key would not.
    if (kept.length === 1 && kept[0].value === null && kept[0].ts <= horizon) return []
    return kept
  }

  #history(key: Buffer): Version[] {
    const raw = this.#raw.get(key)
    return raw === undefined ? [] : decodeHistory(raw)
  }

  #write(key: Buffer, versions: Version[]): void {
    if (versions.length === 0) this.#raw.delete(key)
    else this.#raw.put(key, encodeHistory(versions))
  }

  /** The history logic on bytes (also the restore path): returns the put return code. */
  #putBytes(key: Buffer, value: Buffer | null, timestamp: number): number {
    if (timestamp < this.#observedStreamTime - this.historyRetention) return PUT_RETURN_CODE_NOT_PUT
    if (timestamp > this.#observedStreamTime) this.#observedStreamTime = timestamp
    const versions = this.#prune(this.#history(key))
    const i = floorIndex(versions, timestamp)
    let validTo: number
    if (i >= 0 && versions[i].ts === timestamp) {
      versions[i] = { ts: timestamp, value }
      validTo = i + 1 < versions.length ? versions[i + 1].ts : PUT_RETURN_CODE_VALID_TO_UNDEFINED
    } else {
      versions.splice(i + 1, 0, { ts: timestamp, value })
      validTo = i + 2 < versions.length ? versions[i + 2].ts : PUT_RETURN_CODE_VALID_TO_UNDEFINED
    }
    this.#write(key, this.#prune(versions))
    this.#maybeSweep()
    return validTo
  }

  // Drops expired versions of every key once per segment interval of stream time (Kafka drops whole segments).
  #maybeSweep(): void {
    if (this.#observedStreamTime - this.#lastSweep < this.segmentInterval) return
    this.#lastSweep = this.#observedStreamTime
    const updates: Array<[Buffer, Version[]]> = []
    for (const kv of this.#raw.all()) {
      const versions = decodeHistory(kv.value)
      const kept = this.#prune(versions)
      if (kept.length !== versions.length) updates.push([kv.key, kept])
    }
    for (const [key, kept] of updates) this.#write(key, kept)
  }

  #dropped(): void {
    const ctx = this.#context as unknown as { recordDropped?: (reason: string) => void } | undefined
    ctx?.recordDropped?.('expired record (versioned store history retention)')
  }

  #log(key: Buffer, value: Buffer | null, timestamp: number): void {
    if (!this.#logging || !this.#context) return
    this.#context.logChange(this.name, key, value, timestamp, this.#context.recordContext().headers)
  }

  put(key: K, value: V | null, timestamp: number): number {
    this.#check()
    this.#checkTimestamp(timestamp)
    const k = this.#serKey(key)
    const v = this.#serValue(value)
    const code = this.#putBytes(k, v, timestamp)
    if (code === PUT_RETURN_CODE_NOT_PUT) this.#dropped()
    else this.#log(k, v, timestamp)
    return code
  }

  delete(key: K, timestamp: number): VersionedRecord<V> | null {
    this.#check()
    this.#checkTimestamp(timestamp)
    if (timestamp < this.#observedStreamTime - this.historyRetention) {
      this.#dropped()
      return null
    }
    const existing = this.get(key, timestamp)
    const k = this.#serKey(key)
    this.#putBytes(k, null, timestamp)
    this.#log(k, null, timestamp)
    return existing
  }

  get(key: K, asOfTimestamp?: number): VersionedRecord<V> | null {
    this.#check()
    const versions = this.#history(this.#serKey(key))
    if (versions.length === 0) return null
    const latest = versions[versions.length - 1]
    if (asOfTimestamp === undefined) {
      return latest.value === null ? null : { value: this.#deValue(latest.value), timestamp: latest.ts }
    }
    if (asOfTimestamp < this.#observedStreamTime - this.historyRetention) {
      // History retention has passed: only the latest version (which never expires) may still answer.
      if (latest.value !== null && latest.ts <= asOfTimestamp) {
        return { value: this.#deValue(latest.value), timestamp: latest.ts }
      }
      return null
    }
    const i = floorIndex(versions, asOfTimestamp)
    if (i < 0 || versions[i].value === null) return null
    const v = versions[i]
    const value = this.#deValue(v.value as Buffer)
    return i + 1 < versions.length
      ? { value, timestamp: v.ts, validTo: versions[i + 1].ts }
      : { value, timestamp: v.ts }
  }

  /** Every version of `key` still kept, oldest first (tombstones as null values): for tests and tools. */
  history(key: K): Array<{ value: V | null; timestamp: number }> {
    this.#check()
    return this.#history(this.#serKey(key)).map((v) => ({
      value: v.value === null ? null : this.#deValue(v.value),
      timestamp: v.ts,
    }))
  }

  flush(): void {
    this.#raw.flush()
  }
  close(): void | Promise<void> {
    this.#open = false
    return this.#raw.close()
  }
  persistent(): boolean {
    return this.#raw.persistent()
  }
  isOpen(): boolean {
    return this.#open
  }
}

/**
 * Builds versioned stores (Kafka Streams' VersionedKeyValueStoreBuilder): logged by default, never cached. The
 * changelog is compacted with min.compaction.lag.ms = history retention + 1 day, as Kafka Streams configures it
 * (unless the given topic config sets it).
 */
export class VersionedKeyValueStoreBuilder<K, V> implements StoreBuilder<VersionedKeyValueStore<K, V>> {
  readonly supplier: VersionedBytesStoreSupplier
  readonly keySerde: SyncSerde<K> | undefined
  readonly valueSerde: SyncSerde<V> | undefined
  loggingEnabled = true
  readonly cachingEnabled = false
  logConfig: Record<string, string>

  constructor(supplier: VersionedBytesStoreSupplier, keySerde?: SyncSerde<K>, valueSerde?: SyncSerde<V>) {
    if (!isVersionedSupplier(supplier)) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        'versionedKeyValueStoreBuilder needs a versioned store supplier (Stores.persistentVersionedKeyValueStore)',
      )
    }
    this.supplier = supplier
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.logConfig = this.#withDefaults({})
  }

  #withDefaults(config: Record<string, string>): Record<string, string> {
    const lag = this.supplier.historyRetentionMs + VERSIONED_CHANGELOG_ADDITIONAL_COMPACTION_LAG_MS
    return {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': String(Number.isSafeInteger(lag) ? lag : Number.MAX_SAFE_INTEGER),
      ...config,
    }
  }

  get name(): string {
    return this.supplier.name
  }
  get persistent(): boolean {
    return this.supplier.persistent
  }
  withCachingEnabled(): this {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `store ${this.name}: versioned stores do not support caching`)
  }
  withCachingDisabled(): this {
    return this
  }
  withLoggingEnabled(config: Record<string, string> = {}): this {
    this.loggingEnabled = true
    this.logConfig = this.#withDefaults(config)
    return this
  }
  withLoggingDisabled(): this {
    this.loggingEnabled = false
    this.logConfig = {}
    return this
  }
  build(options?: BuildOptions): VersionedKeyValueStore<K, V> {
    return new VersionedKeyValueStoreImpl<K, V>(
      this.supplier,
      options,
      this.loggingEnabled,
      this.keySerde,
      this.valueSerde,
    )
  }
}

/** The versioned parts of Kafka Streams' `Stores` (spread into Stores). */
export const VersionedStores = {
  /** Kafka Streams' persistent versioned store (RocksDB there, LMDB here) keeping `historyRetentionMs` of history. */
  persistentVersionedKeyValueStore(
    name: string,
    historyRetentionMs: number,
    segmentIntervalMs?: number,
  ): VersionedBytesStoreSupplier {
    return versionedSupplier('lmdb', name, historyRetentionMs, segmentIntervalMs)
  },
  /** An in-memory versioned store (Tributary's; Kafka Streams has only the persistent one), restored from its changelog. */
  inMemoryVersionedKeyValueStore(name: string, historyRetentionMs: number): VersionedBytesStoreSupplier {
    return versionedSupplier('in_memory', name, historyRetentionMs)
  },
  versionedKeyValueStoreBuilder<K, V>(
    supplier: VersionedBytesStoreSupplier,
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
  ): VersionedKeyValueStoreBuilder<K, V> {
    return new VersionedKeyValueStoreBuilder<K, V>(supplier, keySerde, valueSerde)
  },
}
