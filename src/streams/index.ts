/**
 * `tributary/streams`: Kafka-Streams-class stream processing for TypeScript. The DSL (StreamsBuilder, KStream,
 * KTable...) builds a Topology; the Processor API adds custom processors; state lives in key-value stores
 * (in-memory or LMDB) backed by changelog topics. `tributary/testing` runs topologies without a broker.
 */
export * from './dsl/index.ts'
export { InvalidStateStoreError, StreamsError, StreamsErrorCode } from './errors.ts'
export type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Punctuator,
  StreamPartitioner,
  TopicNameExtractor,
} from './processor/api.ts'
export { PunctuationType } from './processor/api.ts'
export type {
  Aggregator,
  Initializer,
  KeyValueMapper,
  Predicate,
  Reducer,
  ValueMapperWithKey,
} from './processor/dsl-processors.ts'
export {
  DeadLetterHeaders,
  type DeserializationExceptionHandler,
  type ErrorHandlerContext,
  ExceptionHandlers,
  type HandlerResponse,
  type ProcessingExceptionHandler,
  type ProductionExceptionHandler,
} from './processor/exception-handlers.ts'
export type { ValueJoiner, ValueJoinerWithKey } from './processor/join-processors.ts'
export type {
  ValueTransformerContext,
  ValueTransformerWithKey,
  ValueTransformerWithKeySupplier,
} from './processor/ktable-transform-values.ts'
export {
  type Change,
  type Header,
  Headers,
  KeyValue,
  Record,
  type RecordMetadata,
  ValueAndTimestamp,
} from './processor/record.ts'
export type { ProducedRecord, RecordCollector } from './processor/record-collector.ts'
export {
  type ConsumedRecord,
  FailOnInvalidTimestamp,
  LogAndSkipOnInvalidTimestamp,
  type TimestampExtractor,
  timestampExtractor,
  UsePartitionTimeOnInvalidTimestamp,
  WallclockTimestampExtractor,
} from './processor/timestamp-extractor.ts'
export type { BufferFullStrategy, Merger } from './processor/window-processors.ts'
export {
  CompositeReadOnlyKeyValueStore,
  type KeyValueView,
} from './query/composite-key-value-store.ts'
export {
  errorAnswer,
  type InteractiveQueriesOptions,
  keyParserFor,
  registerInteractiveQueries,
  serveInteractiveQueries,
} from './query/http-server.ts'
export {
  type HostInfo,
  KEY_QUERY_METADATA_NOT_AVAILABLE,
  type KeyQueryMetadata,
  type StreamsMetadata,
  UNAVAILABLE_HOST,
} from './query/metadata.ts'
export { Position, PositionBound } from './query/position.ts'
export {
  type LocalStoreInstance,
  type QueryableStoreType,
  QueryableStoreTypes,
  type StateStoreProvider,
  StoreQueryParameters,
} from './query/store-types.ts'
export {
  CompositeReadOnlySessionStore,
  CompositeReadOnlyWindowStore,
  type QueryableSessionStore,
  type QueryableWindowStore,
  type WindowedKey,
  type WindowStoreIterator as QueryableWindowStoreIterator,
} from './query/window-store-types.ts'
export type { StateRestoreListener } from './runtime/changelog-reader.ts'
export { type StreamsConfig, type StreamsConfigInput, streamsConfig } from './runtime/config.ts'
export {
  KafkaStreams,
  type KafkaStreamsOptions,
  type KafkaStreamsState,
  type StateListener,
  type StreamsClientMetadata,
  type StreamsUncaughtExceptionHandler,
  type StreamThreadExceptionResponse,
  type ThreadMetadata,
} from './runtime/kafka-streams.ts'
export type { ConsumerRecordLike } from './runtime/partition-group.ts'
export { type CommitOffsets, StreamTask, type StreamTaskOptions, type TopicPartition } from './runtime/stream-task.ts'
export { StreamsMetricNames } from './runtime/streams-metrics.ts'
export { Serdes } from './serdes.ts'
export * from './state/index.ts'
export { TopologyDescription, type TopologyDescriptionJson } from './topology/description.ts'
export { Topology } from './topology/topology.ts'
