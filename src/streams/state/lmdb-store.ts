import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open, type RootDatabase } from 'lmdb'
import { streamsError } from '../errors.ts'
import { KeyValue } from '../processor/record.ts'
import { prefixUpperBound } from './bytes.ts'
import type { BytesKeyValueStore, KeyValueIterator } from './key-value-store.ts'
import { makeIterator } from './key-value-store.ts'
import type { RestoreRecord, StateStore, StateStoreContext } from './state-store.ts'

/** LMDB's limit on key size as lmdb-js builds it; larger keys are refused with a clear error. */
export const LMDB_MAX_KEY_BYTES = 1978

export interface LmdbStoreOptions {
  /** Directory of the store; default `<task state dir>/lmdb/<store name>`. */
  path?: string
  /** Map size hint in bytes (LMDB grows it as needed). */
  mapSize?: number
}

/**
 * A persistent key-value store of bytes on LMDB (the role RocksDB plays in Kafka Streams). Writes are not
 * fsynced: durability comes from the changelog topic, as in Kafka Streams; a crash loses at most what the
 * changelog restores. Ranges iterate LMDB's B+ tree in unsigned byte order.
 */
export class LmdbKeyValueStore implements BytesKeyValueStore {
  readonly name: string
  readonly #options: LmdbStoreOptions
  #db: RootDatabase<Buffer, Buffer> | undefined
  #pendingClose: Promise<void> | undefined

  constructor(name: string, options: LmdbStoreOptions = {}) {
    this.name = name
    this.#options = options
  }

  /** Where the store keeps its files, once initialized. */
  path: string | undefined

  init(context: StateStoreContext, root: StateStore): void {
    const dir = this.#options.path ?? (context.stateDir ? join(context.stateDir, 'lmdb', this.name) : undefined)
    if (!dir) {
      throw streamsError(
        'TRB_STREAMS_INVALID_CONFIG',
        `persistent store ${this.name} needs a state directory: set state.dir in the streams config`,
      )
    }
    mkdirSync(dir, { recursive: true })
    this.path = dir
    this.#db = open<Buffer, Buffer>({
      path: dir,
      keyEncoding: 'binary',
      encoding: 'binary',
      noSync: true,
      compression: false,
      cache: false,
      mapSize: this.#options.mapSize,
    })
    context.register(root, (records) => this.restoreBatch(records))
    // A write outside a transaction is a transaction of its own (window and session stores write once per record).
    context.registerWriteScope?.((work) => this.batch(work))
  }

  restoreBatch(records: readonly RestoreRecord[]): void {
    const db = this.#require()
    db.transactionSync(() => {
      for (const r of records) {
        if (r.value === null) db.removeSync(r.key)
        else db.putSync(r.key, r.value)
      }
    })
  }

  /** Runs many writes in one LMDB transaction (the caching layer flushes through this). */
  batch(fn: () => void): void {
    this.#require().transactionSync(fn)
  }

  persistent(): boolean {
    return true
  }

  isOpen(): boolean {
    return this.#db !== undefined
  }

  flush(): void {
    // Writes are committed synchronously (putSync); nothing is buffered here.
  }

  close(): Promise<void> {
    const db = this.#db
    this.#db = undefined
    if (!db) return this.#pendingClose ?? Promise.resolve()
    this.#pendingClose = db.close()
    return this.#pendingClose
  }

  #require(): RootDatabase<Buffer, Buffer> {
    if (!this.#db) throw streamsError('TRB_STREAMS_STORE_CLOSED', `store ${this.name} is not open`)
    return this.#db
  }

  #checkKey(key: Buffer): void {
    if (key.length === 0 || key.length > LMDB_MAX_KEY_BYTES) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `store ${this.name}: LMDB keys must be 1..${LMDB_MAX_KEY_BYTES} bytes, got ${key.length}`,
      )
    }
  }

  get(key: Buffer): Buffer | undefined {
    const db = this.#require()
    if (key.length === 0 || key.length > LMDB_MAX_KEY_BYTES) return undefined
    const value = db.getBinary(key)
    return value === undefined || value === null ? undefined : Buffer.from(value)
  }

  put(key: Buffer, value: Buffer | null): void {
    const db = this.#require()
    this.#checkKey(key)
    if (value === null || value === undefined) db.removeSync(key)
    else db.putSync(key, value)
  }

  putIfAbsent(key: Buffer, value: Buffer | null): Buffer | undefined {
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  putAll(entries: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.batch(() => {
      for (const e of entries) this.put(e.key, e.value)
    })
  }

  delete(key: Buffer): Buffer | undefined {
    const existing = this.get(key)
    if (existing !== undefined) this.#require().removeSync(key)
    return existing
  }

  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    if (from && to && Buffer.compare(from, to) > 0) return makeIterator<Buffer, Buffer>([][Symbol.iterator]())
    return this.#scan({ start: from, end: to, inclusiveEnd: true })
  }

  reverseRange(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    if (from && to && Buffer.compare(from, to) > 0) return makeIterator<Buffer, Buffer>([][Symbol.iterator]())
    // lmdb-js walks a reverse range from `start` (the high key) down to `end` (the low key).
    return this.#scan({ start: to, end: from, inclusiveEnd: true, reverse: true })
  }

  prefixScan<P>(
    prefix: P,
    serializer: { serializeSync(topic: string, value: P): Buffer },
  ): KeyValueIterator<Buffer, Buffer> {
    const from = serializer.serializeSync(this.name, prefix)
    const to = prefixUpperBound(from)
    return this.#scan({ start: from, end: to, inclusiveEnd: false })
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    return this.#scan({})
  }

  reverseAll(): KeyValueIterator<Buffer, Buffer> {
    return this.#scan({ reverse: true })
  }

  approximateNumEntries(): number {
    return (this.#require().getStats() as { entryCount: number }).entryCount
  }

  #scan(options: {
    start?: Buffer
    end?: Buffer
    inclusiveEnd?: boolean
    reverse?: boolean
  }): KeyValueIterator<Buffer, Buffer> {
    const db = this.#require()
    const clean: Record<string, unknown> = { snapshot: true }
    for (const [k, v] of Object.entries(options)) if (v !== undefined) clean[k] = v
    const source = db.getRange(clean)[Symbol.iterator]()
    function* entries(): Generator<KeyValue<Buffer, Buffer>> {
      for (let r = source.next(); !r.done; r = source.next()) {
        yield new KeyValue(Buffer.from(r.value.key as Buffer), Buffer.from(r.value.value as Buffer))
      }
    }
    const gen = entries()
    return makeIterator(gen, () => source.return?.())
  }
}
