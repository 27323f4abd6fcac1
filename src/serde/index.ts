/**
 * Serdes (`tributary/serde`): the one interface every module uses to turn values into record bytes and back.
 * The plain serdes live here; the schema registry's Avro / JSON Schema / Protobuf serdes implement the same
 * interface, so stream processors and connectors depend on serdes, not on the registry server.
 */
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
export { describeLocation, type RecordLocation, type Serde, SerdeError, type SyncSerde } from './serde.ts'
