/** Logging for every module (broker, streams, registry). One line per lifecycle event, as `time level component message {json fields}` on stderr. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(component: string): Logger
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function createLogger(
  level: LogLevel | 'silent' = 'info',
  component = 'broker',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  const min = level === 'silent' ? 100 : order[level]
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields, jsonSafe)}` : ''
    write(`${new Date().toISOString()} ${lvl.toUpperCase()} [${component}] ${msg}${extra}`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => createLogger(level, c, write),
  }
}

/** A logger that drops everything (the default of components built without one, e.g. in unit tests). */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger
  },
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { message: value.message, code: (value as { code?: string }).code }
  return value
}

export interface RateLimitOptions {
  /** Lines let through per key and interval (default 5). */
  burst?: number
  /** Length of the interval in ms (default 10 s). */
  intervalMs?: number
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => { unref?(): unknown }
}

interface RateWindow {
  start: number
  count: number
  suppressed: number
  logger: Logger
  level: LogLevel
  msg: string
  timer: boolean
}

/**
 * Log lines a client can cause at will (failed logins, refused connections, malformed frames, authorization
 * denials) go through this: each key gets `burst` lines per interval, the rest are counted and reported as one
 * summary line when the interval ends. A flood then costs a few lines, and an operator still learns how many
 * events there were. Keys must come from a fixed set (message kinds), never from what a client sends.
 */
export class LogRateLimiter {
  private readonly burst: number
  private readonly intervalMs: number
  private readonly now: () => number
  private readonly setTimer: (fn: () => void, ms: number) => { unref?(): unknown }
  private readonly windows = new Map<string, RateWindow>()

  constructor(opts: RateLimitOptions = {}) {
    this.burst = opts.burst ?? 5
    this.intervalMs = opts.intervalMs ?? 10000
    this.now = opts.now ?? Date.now
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  }

  /** Logs `msg` unless its key already used its lines in the current interval; `key` defaults to `msg`. */
  log(logger: Logger, level: LogLevel, msg: string, fields?: Record<string, unknown>, key = msg): void {
    const now = this.now()
    let w = this.windows.get(key)
    if (w && now - w.start >= this.intervalMs) {
      this.summarize(key, w)
      w = undefined
    }
    if (!w) {
      w = { start: now, count: 0, suppressed: 0, logger, level, msg, timer: false }
      this.windows.set(key, w)
    }
    if (w.count < this.burst) {
      w.count++
      logger[level](msg, fields)
      return
    }
    w.suppressed++
    if (!w.timer) {
      w.timer = true
      const window = w
      this.setTimer(
        () => {
          if (this.windows.get(key) === window) this.summarize(key, window)
        },
        Math.max(0, window.start + this.intervalMs - now),
      ).unref?.()
    }
  }

  private summarize(key: string, w: RateWindow): void {
    this.windows.delete(key)
    if (w.suppressed > 0) {
      w.logger[w.level](`${w.msg} (${w.suppressed} more like this in ${this.intervalMs / 1000} s, not logged)`, {
        suppressed: w.suppressed,
      })
    }
  }
}
