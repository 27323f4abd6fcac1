import {
  BigInt64Serde,
  BytesSerde,
  DoubleSerde,
  Int32Serde,
  Int64Serde,
  JsonSerde,
  StringSerde,
} from '../serde/plain.ts'
import type { SyncSerde } from '../serde/serde.ts'

/**
 * Serdes by Kafka Streams' names. Numbers are encoded as Kafka encodes them (big-endian), so a Java application
 * reading the topic with Serdes.Long() sees the same values. The schema registry's Avro / JSON Schema / Protobuf
 * serdes implement the same SyncSerde interface and can be passed wherever these are.
 */
export const Serdes = {
  String: (): SyncSerde<string> => new StringSerde(),
  /** 64-bit integers as JavaScript numbers (safe integer range): what count() produces. */
  Long: (): SyncSerde<number> => new Int64Serde(),
  /** 64-bit integers over their whole range, as bigint. */
  BigLong: (): SyncSerde<bigint> => new BigInt64Serde(),
  Integer: (): SyncSerde<number> => new Int32Serde(),
  Double: (): SyncSerde<number> => new DoubleSerde(),
  Bytes: (): SyncSerde<Buffer> => new BytesSerde(),
  ByteArray: (): SyncSerde<Buffer> => new BytesSerde(),
  /** JSON text, UTF-8 (no schema; use the registry's JsonSchemaSerde for one). */
  Json: <T = unknown>(): SyncSerde<T> => new JsonSerde<T>(),
}
