/**
 * Start-up of the `tributary` command: wall time from spawn to exit of `npx tributary ...` as users run it
 * (bin/tributary.js → dist/), for --help, --version, an admin command on the raw client (users list) and commands
 * through @platformatic/kafka (topics list, cluster describe), against a local broker. Side by side in the same
 * rounds: the same commands from the TypeScript sources through tsx (how bin/ ran them before), kcat -L as a
 * native peer when installed, and `node -e 0` as the floor of any Node command. Rounds alternate the series.
 *
 *   node --import tsx bench/cli.ts [--quick]
 *
 * The target is < 0.5 s for --help and for a simple admin command; take the figures on a quiet machine.
 */
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fmt, log, printTable, REPO_ROOT, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, startTributary, which } from './lib/servers.ts'
import { ratio, spread } from './lib/stats.ts'

const quick = process.argv.includes('--quick')
const rounds = quick ? 2 : 15

const dataDir = makeTempDir(tmpdir(), 'cli')
const broker = await startTributary({ dataDir })
const bootstrap = `${HOST}:${broker.port}`
const bin = join(REPO_ROOT, 'bin', 'tributary.js')
const source = join(REPO_ROOT, 'src', 'cli', 'main.ts')
const env = { ...process.env, TRIBUTARY_BOOTSTRAP: bootstrap }

interface Series {
  name: string
  command: string[]
}

const commands: [string, string[]][] = [
  ['--help', ['--help']],
  ['--version', ['--version']],
  ['users list (raw client)', ['users', 'list']],
  ['topics list (@platformatic/kafka)', ['topics', 'list']],
  ['cluster describe (@platformatic/kafka)', ['cluster', 'describe']],
]
const series: Series[] = [{ name: 'node -e 0 (floor)', command: [process.execPath, '-e', '0'] }]
for (const [name, args] of commands) {
  series.push({ name: `tributary ${name}`, command: [process.execPath, bin, ...args] })
  series.push({ name: `tsx sources: ${name}`, command: [process.execPath, '--import', 'tsx', source, ...args] })
}
const kcat = which('kcat')
if (kcat) series.push({ name: 'kcat -L (peer)', command: [kcat, '-L', '-b', bootstrap] })

const samples = new Map<string, number[]>(series.map((s) => [s.name, []]))
try {
  // Warm the page cache once, so the first round is not a cold read of node_modules.
  for (const s of series) spawnSync(s.command[0]!, s.command.slice(1), { cwd: REPO_ROOT, env, stdio: 'ignore' })
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? series : [...series].reverse()
    for (const s of order) {
      const t0 = performance.now()
      const res = spawnSync(s.command[0]!, s.command.slice(1), { cwd: REPO_ROOT, env, stdio: 'pipe' })
      const ms = performance.now() - t0
      if (res.status !== 0) throw new Error(`${s.name} exited ${res.status}: ${res.stderr}`)
      samples.get(s.name)!.push(ms)
    }
    log(`round ${r + 1}/${rounds}`)
  }
} finally {
  await broker.close()
}

const floor = spread(samples.get('node -e 0 (floor)')!).median
const rows: (string | number)[][] = []
const summary: Record<string, unknown> = {}
for (const s of series) {
  const sp = spread(samples.get(s.name)!)
  const base = s.name.startsWith('tsx sources: ') ? spread(samples.get(`tributary ${s.name.slice(13)}`)!).median : NaN
  rows.push([
    s.name,
    fmt(sp.min, 0),
    fmt(sp.median, 0),
    fmt(sp.max, 0),
    fmt(ratio(sp.median, floor), 1),
    fmt(ratio(sp.median, base), 1),
  ])
  summary[s.name] = { min: sp.min, median: sp.median, max: sp.max, vsNode: ratio(sp.median, floor) }
}
printTable(
  `tributary start-up, wall ms from spawn to exit (${rounds} alternating rounds)`,
  ['series', 'min', 'median', 'max', '× node -e 0', 'tsx ÷ dist'],
  rows,
)
writeResult('cli', { options: { rounds }, summary })
