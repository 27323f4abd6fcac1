/**
 * The registry's durable state is a log of keyed records (the `_schemas` topic). This is the small interface the
 * store needs from that log, so the same state machine runs over Kafka and over memory in unit tests.
 */
export interface SchemaLogRecord {
  offset: number
  key: string
  /** null is a tombstone: compaction eventually removes every record with this key. */
  value: string | null
}

export interface SchemaLog {
  /** Delivers every record from the beginning, then keeps tailing until `close()`. */
  subscribe(onRecord: (record: SchemaLogRecord) => void): Promise<void>
  /** Appends and resolves with the record's offset once it is durable. */
  append(key: string, value: string | null): Promise<number>
  /** Offset the next appended record will get (the high watermark). */
  endOffset(): Promise<number>
  close(): Promise<void>
}

/**
 * A log in memory with Kafka's semantics that matter here: one ordered partition, asynchronous delivery to every
 * subscriber, and `compact()` doing what log compaction does (keep the newest record per key, drop tombstones).
 * Two stores sharing one instance behave like two registry instances sharing one topic.
 */
export class InMemorySchemaLog implements SchemaLog {
  #records: SchemaLogRecord[] = []
  #next = 0
  #subscribers = new Set<(record: SchemaLogRecord) => void>()

  get records(): readonly SchemaLogRecord[] {
    return this.#records
  }

  async subscribe(onRecord: (record: SchemaLogRecord) => void): Promise<void> {
    const snapshot = [...this.#records]
    this.#subscribers.add(onRecord)
    queueMicrotask(() => {
      for (const r of snapshot) onRecord(r)
    })
    // Records appended between the snapshot and delivery reach this subscriber through append's fan-out; the
    // snapshot is delivered first because both go through the microtask queue in order.
  }

  async append(key: string, value: string | null): Promise<number> {
    const record = { offset: this.#next++, key, value }
    this.#records.push(record)
    for (const s of this.#subscribers) queueMicrotask(() => s(record))
    return record.offset
  }

  async endOffset(): Promise<number> {
    return this.#next
  }

  /** Like Kafka's cleaner, the newest record (the active segment's tail) is never removed. */
  compact(): void {
    const latest = new Map<string, SchemaLogRecord>()
    for (const r of this.#records) latest.set(r.key, r)
    const tail = this.#records[this.#records.length - 1]
    this.#records = this.#records.filter((r) => r === tail || (latest.get(r.key) === r && r.value !== null))
  }

  async close(): Promise<void> {
    this.#subscribers.clear()
  }
}
