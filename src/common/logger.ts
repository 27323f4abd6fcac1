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

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { message: value.message, code: (value as { code?: string }).code }
  return value
}
