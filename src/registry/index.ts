/**
 * Tributary's schema registry (`tributary/registry`): a Confluent-compatible server whose state lives in a
 * compacted Kafka topic, the compatibility rules of Avro, JSON Schema and Protobuf, and client-side serdes in
 * the Confluent wire format.
 */

export { type AvroNode, checkAvro } from '../serde/formats/avro.ts'
export { FORMATS, type ParsedSchema, type SchemaFormat } from '../serde/formats/index.ts'
export { checkJsonSchema } from '../serde/formats/json-schema.ts'
export { checkProtobuf } from '../serde/formats/protobuf.ts'
// The serdes are the serde module's (`tributary/serde`); the registry re-exports what it always exported.
export {
  AvroSerde,
  type AvroSerdeOptions,
  BytesSerde,
  decodeMessageIndexes,
  decodeWire,
  encodeMessageIndexes,
  encodeWire,
  JsonSchemaSerde,
  JsonSerde,
  kafkaSerdes,
  MAGIC_BYTE,
  ProtobufSerde,
  type RecordLocation,
  RegistryClientError,
  recordNameStrategy,
  SchemaRegistryClient,
  SchemaSerde,
  type SchemaSerdeOptions,
  type Serde,
  SerdeError,
  StringSerde,
  SubjectNameStrategies,
  type SubjectNameStrategy,
  type SyncSerde,
  topicNameStrategy,
  topicRecordNameStrategy,
} from '../serde/index.ts'
export { InMemoryChangeSink, type SchemaChangeEvent, type SchemaChangeSink } from './change-events.ts'
export { type CompatibilityResult, checkCompatibility } from './compatibility.ts'
export { RegistryError } from './errors.ts'
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
export * from './types.ts'
