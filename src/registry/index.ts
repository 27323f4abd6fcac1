/**
 * Tributary's schema registry (`tributary/registry`): a Confluent-compatible server whose state lives in a
 * compacted Kafka topic, the compatibility rules of Avro, JSON Schema and Protobuf, and client-side serdes in
 * the Confluent wire format.
 */

export { kafkaSerdes } from '../serde/kafka-serdes.ts'
export { InMemoryChangeSink, type SchemaChangeEvent, type SchemaChangeSink } from './change-events.ts'
export { type CompatibilityResult, checkCompatibility } from './compatibility.ts'
export { RegistryError } from './errors.ts'
export { type AvroNode, checkAvro } from './formats/avro.ts'
export { FORMATS, type ParsedSchema, type SchemaFormat } from './formats/index.ts'
export { checkJsonSchema } from './formats/json-schema.ts'
export { checkProtobuf } from './formats/protobuf.ts'
export { KafkaChangeSink, KafkaSchemaLog, SCHEMA_CHANGES_TOPIC, SCHEMAS_TOPIC } from './kafka-schema-log.ts'
export {
  type RunningSchemaRegistry,
  type SchemaRegistryServerOptions,
  startSchemaRegistry,
} from './registry-server.ts'
export { RegistryService } from './registry-service.ts'
export { createRegistryRestApi } from './rest-api.ts'
export { InMemorySchemaLog, type SchemaLog, type SchemaLogRecord } from './schema-log.ts'
export { SchemaStore } from './schema-store.ts'
export { BytesSerde, JsonSerde, StringSerde } from './serde/plain-serdes.ts'
export { RegistryClientError, SchemaRegistryClient } from './serde/registry-client.ts'
export {
  AvroSerde,
  type AvroSerdeOptions,
  JsonSchemaSerde,
  ProtobufSerde,
  SchemaSerde,
  type SchemaSerdeOptions,
  type Serde,
  type SyncSerde,
} from './serde/schema-serde.ts'
export {
  recordNameStrategy,
  SubjectNameStrategies,
  type SubjectNameStrategy,
  topicNameStrategy,
  topicRecordNameStrategy,
} from './serde/subject-strategy.ts'
export {
  decodeMessageIndexes,
  decodeWire,
  encodeMessageIndexes,
  encodeWire,
  MAGIC_BYTE,
  type RecordLocation,
  SerdeError,
} from './serde/wire-format.ts'
export * from './types.ts'
