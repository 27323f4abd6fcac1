/**
 * Runs `tributary` commands in-process (src/cli/main.ts run()) with captured output and exit code, and as a real
 * child process when what matters is the process (exit status, signals, stdin).
 */
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { CliContext } from '../../src/cli/context.ts'
import { run } from '../../src/cli/main.ts'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv
  stdin?: string
  /** Pretend standard error is a terminal (progress is shown). */
  interactive?: boolean
  signal?: AbortSignal
  /** Called with each piece of standard output as it is written. */
  onOut?: (text: string) => void
}

/** Only what the test gives: the caller's TRIBUTARY_* variables (an external cluster, say) do not leak in. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRIBUTARY_')) env[k] = v
  env.TRIBUTARY_PROFILES = join(root, '.no-such-profiles.json')
  return { ...env, ...extra }
}

export async function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const ctx: CliContext = {
    env: baseEnv(options.env),
    out: (t) => {
      stdout += t
      options.onOut?.(t)
    },
    err: (t) => {
      stderr += t
    },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    interactive: options.interactive ?? false,
    outIsTerminal: false,
    signal: options.signal ?? new AbortController().signal,
    keepAlive: false,
  }
  const code = await run(['node', 'tributary', ...args], ctx)
  return { code, stdout, stderr }
}

/** `tributary` as a child process (the TypeScript sources through tsx), with standard input. */
export function cliProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args],
      { cwd: root, env: baseEnv(options.env), timeout: 120000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
    child.stdin!.end(options.stdin ?? '')
  })
}
