import type { Headers } from './record.ts'

/** A serialized record on its way to a topic (an output, a repartition topic, a changelog or a dead-letter topic). */
export interface ProducedRecord {
  readonly topic: string
  /** Undefined: the producer's default partitioner picks it (murmur2 of the key bytes, as Kafka's). */
  readonly partition?: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: Headers
}

/**
 * Where a task's output goes (Kafka Streams' RecordCollector). `send` is synchronous and must not throw for a
 * broker-side failure: the runtime's collector produces through the Kafka client and reports failures through the
 * production exception handler at `flush()`. The driver's collector keeps records in memory.
 */
export interface RecordCollector {
  send(record: ProducedRecord, origin: { taskId: string; processorNodeId: string | null }): void
  /** The number of partitions of a topic, when known (needed by custom partitioners). */
  partitionsFor(topic: string): number | undefined
  /** Waits until everything sent so far is acknowledged; rejects when a send failed and the handler said FAIL. */
  flush(): Promise<void>
  /** For each changelog partition written (key `topic:partition`), the offset of the last acknowledged record. */
  offsets(): ReadonlyMap<string, number>
}
