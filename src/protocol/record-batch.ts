/**
 * RecordBatch v2 (magic 2): the unit Kafka stores and ships. One import for the whole codec, in parts under
 * record-batch/: the header layout, length, CRC and iteration (header.ts), validation before storing
 * (validate.ts), encoding and re-encoding (encode.ts), a producer's batch in one pass (producer-batch.ts), decoding into records (decode.ts), and the LogError every
 * rejection carries (log-error.ts).
 */
export * from './record-batch/decode.ts'
export * from './record-batch/encode.ts'
export * from './record-batch/header.ts'
export { LogError, type LogRejection } from './record-batch/log-error.ts'
export * from './record-batch/producer-batch.ts'
export * from './record-batch/validate.ts'
