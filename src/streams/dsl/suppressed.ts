/**
 * suppress()'s configuration, by Kafka Streams' names: `Suppressed.untilWindowCloses(BufferConfig...)` emits only
 * the final result of each window; `Suppressed.untilTimeLimit(ms, BufferConfig...)` rate-limits a table's updates.
 */
import { streamsError } from '../errors.ts'
import type { BufferFullStrategy } from '../processor/window-processors.ts'

/** How big the suppress buffer may grow and what happens when it is full (Kafka Streams' BufferConfig). */
export class BufferConfig {
  readonly maxRecords: number
  readonly maxBytes: number
  readonly strategy: BufferFullStrategy
  /** Whether the buffer is backed by a changelog topic (on by default, as Kafka Streams). */
  readonly loggingEnabled: boolean
  /** Configs of the buffer's changelog topic (cleanup.policy=compact is always set). */
  readonly logConfig: Readonly<Record<string, string>>

  private constructor(
    maxRecords: number,
    maxBytes: number,
    strategy: BufferFullStrategy,
    loggingEnabled = true,
    logConfig: Readonly<Record<string, string>> = {},
  ) {
    this.maxRecords = maxRecords
    this.maxBytes = maxBytes
    this.strategy = strategy
    this.loggingEnabled = loggingEnabled
    this.logConfig = logConfig
  }

  #with(changes: Partial<Pick<BufferConfig, 'maxRecords' | 'maxBytes' | 'strategy'>>): BufferConfig {
    return new BufferConfig(
      changes.maxRecords ?? this.maxRecords,
      changes.maxBytes ?? this.maxBytes,
      changes.strategy ?? this.strategy,
      this.loggingEnabled,
      this.logConfig,
    )
  }

  /** No limit: the buffer holds whatever is not yet due (memory permitting). */
  static unbounded(): BufferConfig {
    return new BufferConfig(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 'shut_down')
  }
  /** At most `n` records; when full, emits the oldest early unless shutDownWhenFull() is chained. */
  static maxRecords(n: number): BufferConfig {
    return BufferConfig.unbounded().withMaxRecords(n).emitEarlyWhenFull()
  }
  /** At most `n` bytes (keys and values as serialized, plus 8 bytes a record); emits early when full by default. */
  static maxBytes(n: number): BufferConfig {
    return BufferConfig.unbounded().withMaxBytes(n).emitEarlyWhenFull()
  }
  withMaxRecords(n: number): BufferConfig {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `BufferConfig max records must be an integer >= 0, got ${n}`)
    }
    return this.#with({ maxRecords: n })
  }
  withMaxBytes(n: number): BufferConfig {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `BufferConfig max bytes must be an integer >= 0, got ${n}`)
    }
    return this.#with({ maxBytes: n })
  }
  withNoBound(): BufferConfig {
    return this.#with({ maxRecords: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY })
  }
  /** When full, stop the application with TRB_STREAMS_BUFFER_FULL (so results are never emitted early). */
  shutDownWhenFull(): BufferConfig {
    return this.#with({ strategy: 'shut_down' })
  }
  /** When full, emit the oldest records before their time (results may then not be final). */
  emitEarlyWhenFull(): BufferConfig {
    return this.#with({ strategy: 'emit' })
  }
  /**
   * Backs the buffer with its changelog topic `<application.id>-<name>-store-changelog` (the default), with these
   * topic configs: what is buffered survives a restart or a move to another instance.
   */
  withLoggingEnabled(config: Record<string, string> = {}): BufferConfig {
    return new BufferConfig(this.maxRecords, this.maxBytes, this.strategy, true, { ...config })
  }
  /** No changelog: a restart loses what was buffered (results held back are then never emitted). */
  withLoggingDisabled(): BufferConfig {
    return new BufferConfig(this.maxRecords, this.maxBytes, this.strategy, false, {})
  }
}

/** A suppress() configuration (Kafka Streams' Suppressed). */
export class Suppressed {
  /** null for untilWindowCloses: the wait is the windows' grace (plus the gap for sessions). */
  readonly timeToWaitMs: number | null
  readonly bufferConfig: BufferConfig
  readonly name: string | undefined

  private constructor(timeToWaitMs: number | null, bufferConfig: BufferConfig, name: string | undefined) {
    this.timeToWaitMs = timeToWaitMs
    this.bufferConfig = bufferConfig
    this.name = name
  }

  /** Emits each window's final result once stream time passes window end + grace; only for windowed tables. */
  static untilWindowCloses(bufferConfig: BufferConfig): Suppressed {
    return new Suppressed(null, bufferConfig, undefined)
  }

  /** Emits a key's latest value once stream time is `timeToWaitMs` past the first buffered update's timestamp. */
  static untilTimeLimit(timeToWaitMs: number, bufferConfig: BufferConfig): Suppressed {
    if (!Number.isSafeInteger(timeToWaitMs) || timeToWaitMs < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `suppress time limit must be >= 0 ms, got ${timeToWaitMs}`)
    }
    return new Suppressed(timeToWaitMs, bufferConfig, undefined)
  }

  /** Names the suppress processor (`<name>-suppress`) and its buffer (`<name>-store`). */
  withName(name: string): Suppressed {
    return new Suppressed(this.timeToWaitMs, this.bufferConfig, name)
  }
}
