/**
 * A keyed log replayed into state: how every stateful part of Tributary keeps what must survive a restart, as Kafka
 * keeps it in compacted topics. The group coordinator (`__consumer_offsets`), the transaction coordinator
 * (`__transaction_state`) and the schema registry (`_schemas`) fold their logs into memory at start and append
 * each change before it takes effect; stream changelogs, connector offsets and workflow journals do the same.
 *
 * Implementations: InMemoryKeyedLog (here), PartitionKeyedLog (a broker-internal partition of the local log,
 * src/broker/internal-topic.ts) and KafkaKeyedLog (a topic reached through the Kafka client, src/client).
 */

/** A record to append. A null value is a tombstone: compaction eventually removes every record with its key. */
export interface KeyedRecord {
  key: Buffer
  value: Buffer | null
}

/** A record read back, with its offset in the log. */
export interface LoggedRecord extends KeyedRecord {
  offset: number
}

export interface ReplayOptions {
  /**
   * Start at this offset instead of the log start: a restore from a checkpoint. A position compaction or retention
   * removed continues at the next record that exists.
   */
  from?: number
  /**
   * Keep delivering after the replay: every record appended later, by this writer or another sharing the log,
   * until `close()`. Needed when several processes write one log (registry instances); a single writer that
   * keeps its state in memory replays without following.
   */
  follow?: boolean
}

export interface KeyedLog {
  /** Appends the records in order; resolves with the offset of the last one once they are durable. */
  append(records: readonly KeyedRecord[]): Promise<number>
  /**
   * Delivers the log's records from its start (or `from`) to `onRecord`, in offset order, and resolves once every record that
   * was in the log when `replay` was called has been delivered. Compaction may have removed superseded records;
   * the newest record per key is always delivered.
   */
  replay(onRecord: (record: LoggedRecord) => void, options?: ReplayOptions): Promise<void>
  /** The offset the next appended record will get. */
  endOffset(): Promise<number>
  /** Stops following and releases what the log holds (its clients, for a log reached over the network). */
  close(): Promise<void>
}

/**
 * A keyed log in memory with the semantics of a one-partition topic that matter to state kept in it: ordered
 * offsets, asynchronous delivery to every follower, and `compact()` doing what log compaction does. Two owners
 * sharing one instance behave like two processes sharing one topic.
 */
export class InMemoryKeyedLog implements KeyedLog {
  #records: LoggedRecord[] = []
  #next = 0
  #followers = new Set<(record: LoggedRecord) => void>()
  /** Set to make the next appends fail (tests of store errors). */
  failAppends: Error | null = null

  /** The records the log holds now (after any compaction). */
  get records(): readonly LoggedRecord[] {
    return this.#records
  }

  async append(records: readonly KeyedRecord[]): Promise<number> {
    if (this.failAppends) throw this.failAppends
    for (const r of records) {
      const record = { offset: this.#next++, key: Buffer.from(r.key), value: r.value && Buffer.from(r.value) }
      this.#records.push(record)
      for (const f of this.#followers) queueMicrotask(() => f(record))
    }
    return this.#next - 1
  }

  async replay(onRecord: (record: LoggedRecord) => void, options: ReplayOptions = {}): Promise<void> {
    const from = options.from ?? 0
    const snapshot = this.#records.filter((r) => r.offset >= from)
    // Records appended from here on reach a follower through append's fan-out, after the snapshot: both go
    // through the microtask queue in order.
    if (options.follow) this.#followers.add(onRecord)
    await new Promise<void>((resolve) =>
      queueMicrotask(() => {
        for (const r of snapshot) onRecord(r)
        resolve()
      }),
    )
  }

  async endOffset(): Promise<number> {
    return this.#next
  }

  /** The newest record per key, tombstoned keys omitted: what the log converges to under compaction. */
  compacted(): LoggedRecord[] {
    const latest = new Map<string, LoggedRecord>()
    for (const r of this.#records) {
      const k = r.key.toString('hex')
      latest.delete(k)
      latest.set(k, r)
    }
    return [...latest.values()].filter((r) => r.value !== null)
  }

  /**
   * Keeps the newest record per key and drops tombstones, as Kafka's cleaner does; like the cleaner, it never
   * removes the newest record of the log (the active segment's tail).
   */
  compact(): void {
    const latest = new Map<string, LoggedRecord>()
    for (const r of this.#records) latest.set(r.key.toString('hex'), r)
    const tail = this.#records[this.#records.length - 1]
    this.#records = this.#records.filter(
      (r) => r === tail || (latest.get(r.key.toString('hex')) === r && r.value !== null),
    )
  }

  /** Stops delivering to followers. The records stay: another owner may open the same log again. */
  async close(): Promise<void> {
    this.#followers.clear()
  }
}
