/**
 * Serdes (`tributary/serde`): the one interface every module uses to turn values into record bytes and back.
 * Plain serdes (string, bytes, JSON, numbers) and the schema serdes (Avro, JSON Schema, Protobuf in the
 * Confluent wire format, with the HTTP client of any Confluent-compatible schema registry) live here, so stream
 * processors and connectors depend on serdes, not on the registry server.
 */
export { AvroSerde, type AvroSerdeOptions } from './avro-serde.ts'
export { JsonSchemaSerde, type JsonSchemaSerdeOptions } from './json-schema-serde.ts'
export { type KafkaSerdesOptions, kafkaSerdes } from './kafka-serdes.ts'
export {
  BigInt64Serde,
  BytesSerde,
  DoubleSerde,
  Int32Serde,
  Int64Serde,
  JsonSerde,
  PlainSerde,
  StringSerde,
} from './plain.ts'
export { ProtobufSerde, type ProtobufSerdeOptions } from './protobuf-serde.ts'
export {
  type RegisteredSchema,
  RegistryClientError,
  SchemaRegistryClient,
  type SchemaRegistryClientOptions,
} from './registry-client.ts'
export { SchemaSerde, type SchemaSerdeOptions } from './schema-serde.ts'
export {
  SCHEMA_TYPES,
  type SchemaInput,
  type SchemaReference,
  type SchemaType,
  type SchemaVersion,
} from './schema-types.ts'
export { describeLocation, type RecordLocation, type Serde, SerdeError, type SyncSerde } from './serde.ts'
export {
  recordNameStrategy,
  SubjectNameStrategies,
  type SubjectNameStrategy,
  topicNameStrategy,
  topicRecordNameStrategy,
} from './subject-strategy.ts'
export {
  decodeMessageIndexes,
  decodeWire,
  encodeMessageIndexes,
  encodeWire,
  MAGIC_BYTE,
  type WireRecord,
} from './wire-format.ts'
