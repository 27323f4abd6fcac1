/**
 * Makes sure dist/ holds the compiled current sources (as `npm ci` leaves it), for tests that run what users run:
 * `npx tributary` (bin → dist/) and `tributary/*` imports (package exports → dist/). Rebuilds only when a source
 * file is newer than the build, under a lock so that test files running at once do not build twice.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import { root } from './cli.ts'

function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

function fresh(): boolean {
  const built = join(root, 'dist', 'cli', 'main.js')
  return existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'src'))
}

export async function ensureBuilt(): Promise<void> {
  if (fresh()) return
  const lock = join(tmpdir(), `tributary-build-${Buffer.from(root).toString('hex').slice(-24)}.lock`)
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (waited > 300_000) throw new Error(`build lock ${lock} held for 5 minutes`)
      await delay(250) // another test file is building; its result is what we need
      if (fresh()) return
    }
  }
  try {
    if (!fresh()) await promisify(execFile)('npm', ['run', 'build'], { cwd: root, timeout: 300_000 })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}
