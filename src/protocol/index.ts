/**
 * Pure Kafka protocol codecs: wire primitives, the generated request/response codecs (one namespace per message,
 * e.g. `ProduceRequest.decodeProduceRequest`), the API table, error codes, record batches v2, CRC-32C and
 * compression. No I/O.
 */
export * from './compression.ts'
export { crc32c } from './crc32c.ts'
export * from './generated/index.ts'
export { ProtocolError, Reader, Writer, ZERO_UUID } from './primitives.ts'
export * from './record-batch.ts'
