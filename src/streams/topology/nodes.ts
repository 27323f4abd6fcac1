import type { SyncSerde } from '../../serde/serde.ts'
import type { ProcessorSupplier, StreamPartitioner, TopicNameExtractor } from '../processor/api.ts'
import type { TimestampExtractor } from '../processor/timestamp-extractor.ts'

export type OffsetReset = 'earliest' | 'latest' | 'none'

/** A source node: reads topics (or a pattern) and deserializes their records. */
export interface SourceNodeDef {
  readonly kind: 'source'
  readonly name: string
  readonly topics: readonly string[]
  readonly pattern?: RegExp
  readonly keySerde?: SyncSerde<unknown>
  readonly valueSerde?: SyncSerde<unknown>
  readonly timestampExtractor?: TimestampExtractor
  readonly offsetReset?: OffsetReset
}

/** A processor node: runs a processor made per task by its supplier. */
export interface ProcessorNodeDef {
  readonly kind: 'processor'
  readonly name: string
  readonly supplier: ProcessorSupplier<never, never, never, never>
  readonly parents: readonly string[]
}

/** A sink node: serializes records and writes them to a topic (fixed, or chosen per record). */
export interface SinkNodeDef {
  readonly kind: 'sink'
  readonly name: string
  readonly topic?: string
  readonly topicExtractor?: TopicNameExtractor<never, never>
  readonly keySerde?: SyncSerde<unknown>
  readonly valueSerde?: SyncSerde<unknown>
  readonly partitioner?: StreamPartitioner<never, never>
  readonly parents: readonly string[]
}

export type NodeDef = SourceNodeDef | ProcessorNodeDef | SinkNodeDef

/** A repartition topic the application creates (`<application.id>-<name>`). */
export interface InternalTopicDef {
  readonly name: string
  readonly numberOfPartitions?: number
}
