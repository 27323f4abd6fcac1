import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { Headers, KeyValue } from '../processor/record.ts'
import type { TopologyTestDriver } from './topology-test-driver.ts'

/** A record as tests write and read it (Kafka Streams' TestRecord). */
export interface TestRecord<K, V> {
  readonly key: K | null
  readonly value: V | null
  readonly timestamp: number
  readonly headers: Headers
}

export interface TestRecordInput<K, V> {
  key?: K | null
  value: V | null
  timestamp?: number
  headers?: Headers | Iterable<readonly [string, Buffer | string | null]>
}

function toHeaders(h: TestRecordInput<unknown, unknown>['headers']): Headers {
  if (!h) return new Headers()
  return h instanceof Headers ? h : new Headers(h)
}

/** Pipes records into one input topic of a TopologyTestDriver. */
export class TestInputTopic<K, V> {
  readonly topic: string
  readonly #driver: TopologyTestDriver
  readonly #keySerde: SyncSerde<K>
  readonly #valueSerde: SyncSerde<V>
  #nextTimestamp: number
  readonly #advanceMs: number

  constructor(
    driver: TopologyTestDriver,
    topic: string,
    keySerde: SyncSerde<K>,
    valueSerde: SyncSerde<V>,
    start: number,
    advanceMs: number,
  ) {
    this.#driver = driver
    this.topic = topic
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
    this.#nextTimestamp = start
    this.#advanceMs = advanceMs
  }

  #timestamp(given: number | undefined): number {
    if (given !== undefined) return given
    const t = this.#nextTimestamp
    this.#nextTimestamp += this.#advanceMs
    return t
  }

  /** Moves the timestamp given to records piped without one. */
  advanceTime(ms: number): void {
    this.#nextTimestamp += ms
  }

  #serialize(key: K | null | undefined, value: V | null) {
    return {
      key: key === null || key === undefined ? null : this.#keySerde.serializeSync(this.topic, key, { isKey: true }),
      value:
        value === null || value === undefined
          ? null
          : this.#valueSerde.serializeSync(this.topic, value, { isKey: false }),
    }
  }

  async #serializeAsync(key: K | null | undefined, value: V | null) {
    if (key !== null && key !== undefined) await this.#keySerde.prepareSerialize(this.topic, { isKey: true })
    if (value !== null && value !== undefined) await this.#valueSerde.prepareSerialize(this.topic, { isKey: false })
    return this.#serialize(key, value)
  }

  /** Pipes one record (key may be null; timestamp defaults to the topic's clock). */
  pipeInput(key: K | null, value: V | null, timestamp?: number): void
  pipeInput(value: V | null): void
  pipeInput(...args: unknown[]): void {
    const [key, value, ts] = args.length === 1 ? [null, args[0], undefined] : args
    const bytes = this.#serialize(key as K | null, value as V | null)
    this.#driver.pipeRaw(this.topic, bytes.key, bytes.value, this.#timestamp(ts as number | undefined), new Headers())
  }

  /** Pipes one record with headers. */
  pipeRecord(record: TestRecordInput<K, V>): void {
    const bytes = this.#serialize(record.key, record.value)
    this.#driver.pipeRaw(
      this.topic,
      bytes.key,
      bytes.value,
      this.#timestamp(record.timestamp),
      toHeaders(record.headers),
    )
  }

  pipeRecordList(records: Iterable<TestRecordInput<K, V>>): void {
    for (const r of records) this.pipeRecord(r)
  }

  pipeKeyValueList(list: Iterable<KeyValue<K, V> | { key: K; value: V }>): void {
    for (const kv of list) this.pipeInput(kv.key, kv.value)
  }

  pipeValueList(values: Iterable<V>): void {
    for (const v of values) this.pipeInput(null, v)
  }

  /** As pipeInput, waiting for serdes that need an asynchronous preparation (schema registry serdes). */
  async pipeInputAsync(key: K | null, value: V | null, timestamp?: number): Promise<void> {
    const bytes = await this.#serializeAsync(key, value)
    await this.#driver.pipeRawAsync(this.topic, bytes.key, bytes.value, this.#timestamp(timestamp), new Headers())
  }

  async pipeRecordListAsync(records: Iterable<TestRecordInput<K, V>>): Promise<void> {
    for (const r of records) {
      const bytes = await this.#serializeAsync(r.key, r.value)
      await this.#driver.pipeRawAsync(
        this.topic,
        bytes.key,
        bytes.value,
        this.#timestamp(r.timestamp),
        toHeaders(r.headers),
      )
    }
  }
}

/** Reads what the topology wrote to one topic, in order. */
export class TestOutputTopic<K, V> {
  readonly topic: string
  readonly #driver: TopologyTestDriver
  readonly #keySerde: SyncSerde<K>
  readonly #valueSerde: SyncSerde<V>

  constructor(driver: TopologyTestDriver, topic: string, keySerde: SyncSerde<K>, valueSerde: SyncSerde<V>) {
    this.#driver = driver
    this.topic = topic
    this.#keySerde = keySerde
    this.#valueSerde = valueSerde
  }

  #take() {
    const list = this.#driver.outputRecords(this.topic)
    const r = list.shift()
    if (!r) throw streamsError('TRB_STREAMS_NO_SUCH_RECORD', `no more records in output topic ${this.topic}`)
    return r
  }

  #decode(r: { key: Buffer | null; value: Buffer | null; timestamp: number; headers: Headers }): TestRecord<K, V> {
    const where = { topic: this.topic, partition: 0 }
    return {
      key: r.key === null ? null : this.#keySerde.deserializeSync(r.key, { ...where, isKey: true }),
      value: r.value === null ? null : this.#valueSerde.deserializeSync(r.value, { ...where, isKey: false }),
      timestamp: r.timestamp,
      headers: r.headers,
    }
  }

  readRecord(): TestRecord<K, V> {
    return this.#decode(this.#take())
  }

  readKeyValue(): KeyValue<K | null, V | null> {
    const r = this.readRecord()
    return new KeyValue(r.key, r.value)
  }

  readValue(): V | null {
    return this.readRecord().value
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = []
    while (!this.isEmpty()) out.push(this.readRecord())
    return out
  }

  readKeyValuesToList(): KeyValue<K | null, V | null>[] {
    return this.readRecordsToList().map((r) => new KeyValue(r.key, r.value))
  }

  readValuesToList(): (V | null)[] {
    return this.readRecordsToList().map((r) => r.value)
  }

  /** The latest value per key (a null value removes the key), as Kafka's readKeyValuesToMap. */
  readKeyValuesToMap(): Map<K, V> {
    const out = new Map<K, V>()
    for (const r of this.readRecordsToList()) {
      if (r.key === null)
        throw streamsError(
          'TRB_STREAMS_INVALID_ARGUMENT',
          `readKeyValuesToMap: a record of ${this.topic} has a null key`,
        )
      if (r.value === null) out.delete(r.key)
      else out.set(r.key, r.value)
    }
    return out
  }

  /** As readRecord, preparing a registry serde for the record's schema first. */
  async readRecordAsync(): Promise<TestRecord<K, V>> {
    const r = this.#take()
    const where = { topic: this.topic, partition: 0 }
    if (r.key !== null) await this.#keySerde.prepareDeserialize(r.key, { ...where, isKey: true })
    if (r.value !== null) await this.#valueSerde.prepareDeserialize(r.value, { ...where, isKey: false })
    return this.#decode(r)
  }

  async readRecordsToListAsync(): Promise<TestRecord<K, V>[]> {
    const out: TestRecord<K, V>[] = []
    while (!this.isEmpty()) out.push(await this.readRecordAsync())
    return out
  }

  getQueueSize(): number {
    return this.#driver.outputRecords(this.topic).length
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0
  }
}
