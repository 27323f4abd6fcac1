/**
 * What a command needs from the process it runs in, passed explicitly so that tests can run commands in-process
 * with captured output, and the exit codes scripts rely on. Keep this module free of heavy imports: it is loaded
 * for every command, `--help` included.
 */
import type { Readable } from 'node:stream'
import { TributaryError } from '../errors.ts'

export interface CliContext {
  env: NodeJS.ProcessEnv
  /** Standard output: results. */
  out(text: string): void
  /** Standard error: progress, warnings, errors. */
  err(text: string): void
  stdin: Readable
  /** True when standard error is a terminal: long operations show their progress there. */
  interactive: boolean
  /** True when standard output is a terminal (progress then stays off, so it does not mix with results). */
  outIsTerminal: boolean
  /** Aborted on SIGINT/SIGTERM; commands that follow a stream end cleanly on it. */
  signal: AbortSignal
  /** Set by the server commands (broker, dev, registry): the process keeps running after the action returns. */
  keepAlive: boolean
}

/**
 * Exit codes, stable for scripts (docs/cli/README.md lists them).
 * - 0: done.
 * - 1: failed: the cluster or registry refused the request or could not be reached (authorization, network).
 * - 2: usage: a bad flag, argument or input record (an offset spec that does not parse, a record that does not
 *   match its schema). Nothing was changed.
 * - 3: not found: the named topic, partition, group or schema subject does not exist. Nothing was changed.
 * - 4: refused: the request conflicts with the current state (the topic exists, the group has active members).
 *   Nothing was changed.
 * - 130: interrupted (Ctrl-C) before the command finished.
 */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, NOT_FOUND: 3, REFUSED: 4, INTERRUPTED: 130 } as const

export function usageError(message: string): TributaryError {
  return new TributaryError('TRB_CLI_USAGE', message)
}

export function notFoundError(message: string): TributaryError {
  return new TributaryError('TRB_CLI_NOT_FOUND', message)
}

export function refusedError(message: string): TributaryError {
  return new TributaryError('TRB_CLI_REFUSED', message)
}

const USAGE_CODES = new Set([
  'TRB_CLI_USAGE',
  'TRB_CONFIG_INVALID',
  'TRB_CLIENT_NO_BOOTSTRAP',
  'TRB_CLIENT_BAD_BOOTSTRAP',
])

export function exitCodeOf(err: unknown): number {
  if (!(err instanceof TributaryError)) return ExitCode.FAILED
  if (USAGE_CODES.has(err.code)) return ExitCode.USAGE
  if (err.code === 'TRB_CLI_NOT_FOUND') return ExitCode.NOT_FOUND
  if (err.code === 'TRB_CLI_REFUSED') return ExitCode.REFUSED
  if (err.code === 'TRB_CLI_INTERRUPTED') return ExitCode.INTERRUPTED
  return ExitCode.FAILED
}

/** The context of the real process; `abort` is called on SIGINT/SIGTERM by main(). */
export function processContext(): { ctx: CliContext; abort: AbortController } {
  const abort = new AbortController()
  const ctx: CliContext = {
    env: process.env,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdin: process.stdin,
    interactive: process.stderr.isTTY === true,
    outIsTerminal: process.stdout.isTTY === true,
    signal: abort.signal,
    keepAlive: false,
  }
  return { ctx, abort }
}
