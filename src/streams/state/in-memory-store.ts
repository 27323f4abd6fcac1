import BTreeModule from 'sorted-btree'
import { streamsError } from '../errors.ts'
import { KeyValue } from '../processor/record.ts'
import { prefixUpperBound } from './bytes.ts'
import type { BytesKeyValueStore, KeyValueIterator } from './key-value-store.ts'
import { makeIterator } from './key-value-store.ts'
import type { RestoreRecord, StateStore, StateStoreContext } from './state-store.ts'

// sorted-btree is CommonJS with `exports.default`: under Node's ESM loader the default import is the module object.
interface SortedTree<K, V> {
  readonly size: number
  get(key: K): V | undefined
  set(key: K, value: V): boolean
  delete(key: K): boolean
  minKey(): K | undefined
  maxKey(): K | undefined
  forRange(low: K, high: K, includeHigh: boolean, onFound: (k: K, v: V) => void): number
}
type BTreeClass = new <K, V>() => SortedTree<K, V>
const BTree: BTreeClass =
  (BTreeModule as unknown as { default?: BTreeClass }).default ?? (BTreeModule as unknown as BTreeClass)

/**
 * An in-memory key-value store of bytes, ordered by key bytes (Kafka Streams' InMemoryKeyValueStore). Keys are held
 * as latin1 strings so that the B+ tree compares them natively in unsigned byte order.
 */
export class InMemoryKeyValueStore implements BytesKeyValueStore {
  readonly name: string
  #tree = new BTree<string, Buffer>()
  #open = false

  constructor(name: string) {
    this.name = name
  }

  init(context: StateStoreContext, root: StateStore): void {
    context.register(root, (records) => this.restoreBatch(records))
    this.#open = true
  }

  restoreBatch(records: readonly RestoreRecord[]): void {
    for (const r of records) {
      if (r.value === null) this.#tree.delete(r.key.toString('latin1'))
      else this.#tree.set(r.key.toString('latin1'), r.value)
    }
  }

  persistent(): boolean {
    return false
  }

  isOpen(): boolean {
    return this.#open
  }

  flush(): void {}

  close(): void {
    this.#open = false
  }

  #check() {
    if (!this.#open) throw streamsError('TRB_STREAMS_STORE_CLOSED', `store ${this.name} is not open`)
  }

  get(key: Buffer): Buffer | undefined {
    this.#check()
    return this.#tree.get(key.toString('latin1'))
  }

  put(key: Buffer, value: Buffer | null): void {
    this.#check()
    if (value === null || value === undefined) this.#tree.delete(key.toString('latin1'))
    else this.#tree.set(key.toString('latin1'), value)
  }

  putIfAbsent(key: Buffer, value: Buffer | null): Buffer | undefined {
    const existing = this.get(key)
    if (existing === undefined) this.put(key, value)
    return existing
  }

  putAll(entries: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    for (const e of entries) this.put(e.key, e.value)
  }

  delete(key: Buffer): Buffer | undefined {
    this.#check()
    const k = key.toString('latin1')
    const existing = this.#tree.get(k)
    this.#tree.delete(k)
    return existing
  }

  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    this.#check()
    return this.#scan(from?.toString('latin1'), to?.toString('latin1'), true, false)
  }

  reverseRange(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    this.#check()
    return this.#scan(from?.toString('latin1'), to?.toString('latin1'), true, true)
  }

  prefixScan<P>(
    prefix: P,
    serializer: { serializeSync(topic: string, value: P): Buffer },
  ): KeyValueIterator<Buffer, Buffer> {
    this.#check()
    const from = serializer.serializeSync(this.name, prefix)
    const to = prefixUpperBound(from)
    return this.#scan(from.toString('latin1'), to?.toString('latin1'), false, false)
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    this.#check()
    return this.#scan(undefined, undefined, true, false)
  }

  reverseAll(): KeyValueIterator<Buffer, Buffer> {
    this.#check()
    return this.#scan(undefined, undefined, true, true)
  }

  approximateNumEntries(): number {
    this.#check()
    return this.#tree.size
  }

  // Iterates a snapshot of the range (as Kafka's in-memory store does), so writes during iteration are safe.
  #scan(
    from: string | undefined,
    to: string | undefined,
    toInclusive: boolean,
    reverse: boolean,
  ): KeyValueIterator<Buffer, Buffer> {
    if (from !== undefined && to !== undefined && from > to) return makeIterator<Buffer, Buffer>([][Symbol.iterator]())
    const entries: KeyValue<Buffer, Buffer>[] = []
    const low = from ?? this.#tree.minKey()
    const high = to ?? this.#tree.maxKey()
    if (low !== undefined && high !== undefined) {
      this.#tree.forRange(low, high, toInclusive, (k: string, v: Buffer) => {
        entries.push(new KeyValue(Buffer.from(k, 'latin1'), v))
      })
    }
    if (reverse) entries.reverse()
    return makeIterator(entries[Symbol.iterator]())
  }
}
