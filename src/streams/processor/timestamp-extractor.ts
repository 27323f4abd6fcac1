import { streamsError } from '../errors.ts'
import type { Headers } from './record.ts'

/** An input record after deserialization, as a timestamp extractor sees it. */
export interface ConsumedRecord<K = unknown, V = unknown> {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: K
  readonly value: V
  readonly headers: Headers
}

/**
 * Gives each input record its event time (Kafka Streams' TimestampExtractor). `partitionTime` is the highest
 * timestamp seen so far on the record's partition (-1 before the first). A negative result drops the record
 * (logged and counted); throwing stops the task.
 */
export interface TimestampExtractor {
  readonly name: string
  extract(record: ConsumedRecord, partitionTime: number): number
}

function invalid(record: ConsumedRecord, name: string): Error {
  return streamsError(
    'TRB_STREAMS_INVALID_TIMESTAMP',
    `input record on ${record.topic}-${record.partition} at offset ${record.offset} has invalid (negative) timestamp ` +
      `${record.timestamp}: ${name} stops processing on it; use LogAndSkipOnInvalidTimestamp or ` +
      'UsePartitionTimeOnInvalidTimestamp to skip or repair such records, or a custom extractor',
  )
}

/** The default: the record's own timestamp; a negative one stops the task. */
export const FailOnInvalidTimestamp: TimestampExtractor = {
  name: 'FailOnInvalidTimestamp',
  extract(record) {
    if (record.timestamp < 0) throw invalid(record, 'FailOnInvalidTimestamp')
    return record.timestamp
  },
}

/** The record's timestamp; records with a negative one are skipped (logged, counted as dropped). */
export const LogAndSkipOnInvalidTimestamp: TimestampExtractor = {
  name: 'LogAndSkipOnInvalidTimestamp',
  extract(record) {
    return record.timestamp
  },
}

/** The record's timestamp; a negative one is replaced by the partition's time (fails if none is known yet). */
export const UsePartitionTimeOnInvalidTimestamp: TimestampExtractor = {
  name: 'UsePartitionTimeOnInvalidTimestamp',
  extract(record, partitionTime) {
    if (record.timestamp >= 0) return record.timestamp
    if (partitionTime < 0) {
      throw streamsError(
        'TRB_STREAMS_INVALID_TIMESTAMP',
        `input record on ${record.topic}-${record.partition} at offset ${record.offset} has a negative timestamp and ` +
          'no partition time is known yet to replace it',
      )
    }
    return partitionTime
  },
}

/** Processing time: the wall clock when the record is read. */
export const WallclockTimestampExtractor: TimestampExtractor = {
  name: 'WallclockTimestampExtractor',
  extract() {
    return Date.now()
  },
}

/** Wraps a function as an extractor. */
export function timestampExtractor(
  fn: (record: ConsumedRecord, partitionTime: number) => number,
  name = 'custom',
): TimestampExtractor {
  return { name, extract: fn }
}
