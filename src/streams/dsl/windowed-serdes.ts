/**
 * Serdes for Windowed keys with Kafka Streams' byte layouts, so a Java application reads the same topics:
 * time windows are `key bytes + window start (8 bytes, big-endian)` (the end is start + window size), session
 * windows are `key bytes + window end (8) + window start (8)`.
 */
import { PlainSerde } from '../../serde/plain.ts'
import type { RecordLocation, SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { SessionWindow, TimeWindow, Windowed } from './windows.ts'

export class TimeWindowedSerde<K> extends PlainSerde<Windowed<K>> {
  readonly inner: SyncSerde<K>
  readonly windowSizeMs: number
  /** `windowSizeMs` gives the end of a deserialized window (Kafka's default is Long.MAX_VALUE: pass the size). */
  constructor(inner: SyncSerde<K>, windowSizeMs = Number.MAX_SAFE_INTEGER) {
    super()
    this.inner = inner
    this.windowSizeMs = windowSizeMs
  }
  serializeSync(topic: string, value: Windowed<K>, options?: { isKey?: boolean }): Buffer {
    const key = this.inner.serializeSync(topic, value.key, options)
    const out = Buffer.allocUnsafe(key.length + 8)
    key.copy(out, 0)
    out.writeBigInt64BE(BigInt(value.window.startMs), key.length)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation & { isKey?: boolean }): Windowed<K> {
    if (data.length < 8) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `time-windowed key of ${data.length} bytes: needs at least 8`)
    }
    const start = Number(data.readBigInt64BE(data.length - 8))
    const key = this.inner.deserializeSync(data.subarray(0, data.length - 8), where)
    const end = Math.min(Number.MAX_SAFE_INTEGER, start + this.windowSizeMs)
    return new Windowed(key, new TimeWindow(start, end))
  }
}

export class SessionWindowedSerde<K> extends PlainSerde<Windowed<K>> {
  readonly inner: SyncSerde<K>
  constructor(inner: SyncSerde<K>) {
    super()
    this.inner = inner
  }
  serializeSync(topic: string, value: Windowed<K>, options?: { isKey?: boolean }): Buffer {
    const key = this.inner.serializeSync(topic, value.key, options)
    const out = Buffer.allocUnsafe(key.length + 16)
    key.copy(out, 0)
    out.writeBigInt64BE(BigInt(value.window.endMs), key.length)
    out.writeBigInt64BE(BigInt(value.window.startMs), key.length + 8)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation & { isKey?: boolean }): Windowed<K> {
    if (data.length < 16) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `session-windowed key of ${data.length} bytes: needs at least 16`,
      )
    }
    const end = Number(data.readBigInt64BE(data.length - 16))
    const start = Number(data.readBigInt64BE(data.length - 8))
    const key = this.inner.deserializeSync(data.subarray(0, data.length - 16), where)
    return new Windowed(key, new SessionWindow(start, end))
  }
}

/** Kafka Streams' WindowedSerdes factory. */
export const WindowedSerdes = {
  timeWindowedSerdeFrom<K>(inner: SyncSerde<K>, windowSizeMs: number): TimeWindowedSerde<K> {
    return new TimeWindowedSerde(inner, windowSizeMs)
  },
  sessionWindowedSerdeFrom<K>(inner: SyncSerde<K>): SessionWindowedSerde<K> {
    return new SessionWindowedSerde(inner)
  },
}
