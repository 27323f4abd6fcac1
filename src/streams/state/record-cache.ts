import type { RecordContext } from './state-store.ts'

/** One cached store write: the value bytes (null = delete), whether it still has to be flushed, and its context. */
export interface CacheEntry {
  value: Buffer | null
  dirty: boolean
  readonly context: RecordContext
}

export interface DirtyEntry {
  readonly key: Buffer
  readonly value: Buffer | null
  readonly context: RecordContext
}

export type DirtyEntryFlushListener = (entries: DirtyEntry[]) => void

interface Node {
  key: string
  entry: CacheEntry
  size: number
  prev: Node | undefined
  next: Node | undefined
}

// Kafka Streams' size estimate of one cache node: key bytes, three references, the dirty flag, the value and its
// record context (timestamp, offset, partition, topic chars, headers).
function nodeSize(keyLength: number, entry: CacheEntry): number {
  const ctx = entry.context
  return (
    keyLength +
    24 +
    1 +
    (entry.value ? entry.value.length : 0) +
    8 +
    8 +
    4 +
    (ctx.topic ? ctx.topic.length : 0) +
    ctx.headers.sizeEstimate()
  )
}

/** The cache of one store in one task (Kafka Streams' NamedCache): LRU order plus the dirty keys in write order. */
class NamedCache {
  readonly name: string
  readonly #map = new Map<string, Node>()
  readonly #dirty = new Set<string>()
  #head: Node | undefined
  #tail: Node | undefined
  sizeBytes = 0
  listener: DirtyEntryFlushListener | undefined
  readonly #account: (delta: number) => void

  constructor(name: string, account: (delta: number) => void) {
    this.name = name
    this.#account = account
  }

  #adjust(delta: number) {
    this.sizeBytes += delta
    this.#account(delta)
  }

  get size(): number {
    return this.#map.size
  }

  get(key: string): CacheEntry | undefined {
    const node = this.#map.get(key)
    if (!node) return undefined
    this.#touch(node)
    return node.entry
  }

  put(key: string, keyLength: number, entry: CacheEntry): void {
    let node = this.#map.get(key)
    if (node) {
      this.#adjust(-node.size)
      node.entry = entry
      node.size = nodeSize(keyLength, entry)
      this.#touch(node)
    } else {
      node = { key, entry, size: nodeSize(keyLength, entry), prev: undefined, next: undefined }
      this.#map.set(key, node)
      this.#pushHead(node)
    }
    if (entry.dirty) {
      // Remove and re-add so the dirty keys stay in the order of their latest write, as Kafka Streams'.
      this.#dirty.delete(key)
      this.#dirty.add(key)
    }
    this.#adjust(node.size)
  }

  delete(key: string): CacheEntry | undefined {
    const node = this.#map.get(key)
    if (!node) return undefined
    this.#map.delete(key)
    this.#unlink(node)
    this.#dirty.delete(key)
    this.#adjust(-node.size)
    return node.entry
  }

  /** Flushes every dirty entry to the listener (the evicted one first, when there is one). */
  flush(evicted?: Node): void {
    if (this.#dirty.size === 0 && !evicted) return
    if (!this.listener) throw new Error(`no flush listener registered for cache ${this.name}`)
    const entries: DirtyEntry[] = []
    const deleted: string[] = []
    if (evicted) {
      entries.push({
        key: Buffer.from(evicted.key, 'latin1'),
        value: evicted.entry.value,
        context: evicted.entry.context,
      })
      this.#dirty.delete(evicted.key)
    }
    for (const key of this.#dirty) {
      const node = this.#map.get(key)!
      entries.push({ key: Buffer.from(key, 'latin1'), value: node.entry.value, context: node.entry.context })
      node.entry.dirty = false
      if (node.entry.value === null) deleted.push(key)
    }
    // Cleared before the listener runs: forwarding downstream may write to this cache again.
    this.#dirty.clear()
    this.listener(entries)
    for (const key of deleted) {
      const node = this.#map.get(key)
      if (node && !node.entry.dirty && node.entry.value === null) this.delete(key)
    }
  }

  evict(): void {
    const eldest = this.#tail
    if (!eldest) return
    this.#map.delete(eldest.key)
    this.#unlink(eldest)
    this.#adjust(-eldest.size)
    if (eldest.entry.dirty) this.flush(eldest)
  }

  clear(): void {
    this.#map.clear()
    this.#dirty.clear()
    this.#head = this.#tail = undefined
    this.#adjust(-this.sizeBytes)
  }

  /** Keys in [from, to] (latin1 strings, either bound optional), sorted. */
  keysInRange(from: string | undefined, to: string | undefined, toInclusive: boolean): string[] {
    const keys: string[] = []
    for (const key of this.#map.keys()) {
      if (from !== undefined && key < from) continue
      if (to !== undefined && (toInclusive ? key > to : key >= to)) continue
      keys.push(key)
    }
    return keys.sort()
  }

  #touch(node: Node) {
    if (this.#head === node) return
    this.#unlink(node)
    this.#pushHead(node)
  }

  #unlink(node: Node) {
    if (node.prev) node.prev.next = node.next
    else this.#head = node.next
    if (node.next) node.next.prev = node.prev
    else this.#tail = node.prev
    node.prev = node.next = undefined
  }

  #pushHead(node: Node) {
    node.next = this.#head
    node.prev = undefined
    if (this.#head) this.#head.prev = node
    this.#head = node
    if (!this.#tail) this.#tail = node
  }
}

/**
 * The record cache (Kafka Streams' ThreadCache): one byte budget, `statestore.cache.max.bytes`, shared by the
 * cached stores of all tasks of an instance. A write that takes the cache over budget evicts the least recently
 * used entries of the written store; evicting a dirty entry flushes all dirty entries of that store downstream.
 * A commit flushes every store's dirty entries. So a KTable emits the latest value per key at most once per commit
 * interval while the cache holds it, and on every update when the cache size is 0.
 */
export class RecordCache {
  #maxBytes: number
  readonly #caches = new Map<string, NamedCache>()
  #sizeBytes = 0
  puts = 0
  gets = 0
  evictions = 0
  flushes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, maxBytes)
  }

  static namespace(taskId: string, storeName: string): string {
    return `${taskId}-${storeName}`
  }

  get maxBytes(): number {
    return this.#maxBytes
  }

  get sizeBytes(): number {
    return this.#sizeBytes
  }

  /** Number of cached entries across all stores. */
  get size(): number {
    let n = 0
    for (const c of this.#caches.values()) n += c.size
    return n
  }

  resize(maxBytes: number): void {
    this.#maxBytes = Math.max(0, maxBytes)
    const caches = [...this.#caches.values()]
    let i = 0
    while (this.#sizeBytes > this.#maxBytes && caches.some((c) => c.size > 0)) {
      const cache = caches[i++ % caches.length]
      cache.evict()
      this.evictions++
    }
  }

  addDirtyEntryFlushListener(namespace: string, listener: DirtyEntryFlushListener): void {
    this.#cache(namespace).listener = listener
  }

  get(namespace: string, key: Buffer): CacheEntry | undefined {
    this.gets++
    return this.#caches.get(namespace)?.get(key.toString('latin1'))
  }

  put(namespace: string, key: Buffer, entry: CacheEntry): void {
    this.puts++
    const cache = this.#cache(namespace)
    cache.put(key.toString('latin1'), key.length, entry)
    this.#maybeEvict(cache)
  }

  delete(namespace: string, key: Buffer): CacheEntry | undefined {
    const cache = this.#caches.get(namespace)
    if (!cache) return undefined
    return cache.delete(key.toString('latin1'))
  }

  flush(namespace: string): void {
    this.flushes++
    const cache = this.#caches.get(namespace)
    if (cache) cache.flush()
  }

  /** Cached entries of a store with keys in [from, to], sorted by key. */
  range(
    namespace: string,
    from: Buffer | undefined,
    to: Buffer | undefined,
    toInclusive = true,
  ): Array<[Buffer, CacheEntry]> {
    const cache = this.#caches.get(namespace)
    if (!cache) return []
    const out: Array<[Buffer, CacheEntry]> = []
    for (const key of cache.keysInRange(from?.toString('latin1'), to?.toString('latin1'), toInclusive)) {
      out.push([Buffer.from(key, 'latin1'), cache.get(key)!])
    }
    return out
  }

  /** Drops a store's cache without flushing (task closed dirty, or store closed after its final flush). */
  close(namespace: string): void {
    const cache = this.#caches.get(namespace)
    if (!cache) return
    cache.clear()
    this.#caches.delete(namespace)
  }

  #cache(namespace: string): NamedCache {
    let cache = this.#caches.get(namespace)
    if (!cache) {
      cache = new NamedCache(namespace, (delta) => {
        this.#sizeBytes += delta
      })
      this.#caches.set(namespace, cache)
    }
    return cache
  }

  #maybeEvict(cache: NamedCache) {
    while (this.#sizeBytes > this.#maxBytes) {
      // A put on this cache may have flushed into another one; only this store's entries are evicted here.
      if (cache.size === 0) return
      cache.evict()
      this.evictions++
    }
  }
}
