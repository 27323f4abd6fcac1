/**
 * Runs every benchmark, one process each and one after another (they share 2 cores, so never in parallel),
 * then prints the Markdown summary used in BENCHMARKS.md.
 *
 *   npm run bench                      # full run (~10 minutes here)
 *   npm run bench -- --quick           # smoke run with small sizes
 *   npm run bench -- --only latency,rss
 *   npm run bench -- --no-build          # do not run `npm run build` first
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { BENCH_ROOT, log, REPO_ROOT } from './lib/report.ts'

const ALL = [
  'throughput',
  'latency',
  'rss',
  'startup',
  'transactions',
  'security',
  'registry-serde',
  'streams',
  'streams-restore',
  'streams-iq',
  'cli',
  'rest-proxy',
]
const args = process.argv.slice(2)
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : ALL
const unknown = only.filter((n) => !ALL.includes(n))
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (known: ${ALL.join(', ')})\n`)
  process.exit(2)
}
const passThrough = args.includes('--quick') ? ['--quick'] : []

/**
 * The benchmark processes (the clients, not the servers they start) get a 32 MiB young generation: with Node's
 * default, requests waiting a millisecond for their answers survive scavenges, get promoted, and the resulting
 * full GCs (2-7 ms pauses, several a second) showed up as the latency tail of whichever system was being measured.
 */
const CLIENT_NODE_FLAGS = ['--max-semi-space-size=32']

function run(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...CLIENT_NODE_FLAGS, '--import', 'tsx', join(BENCH_ROOT, script), ...passThrough],
      {
        cwd: REPO_ROOT,
        stdio: 'inherit',
      },
    )
    child.once('exit', (code) => resolve(code ?? 1))
  })
}

/**
 * The servers run from dist/ as users run them (bench/lib/servers.ts): build it first, so the figures are of the
 * current sources. `--no-build` skips this (the servers then run through tsx if dist/ is older than src/).
 */
if (!args.includes('--no-build')) {
  log('npm run build (the broker runs from dist/, as `npm start` runs it)')
  const code = await new Promise<number>((resolve) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' })
    child.once('exit', (c) => resolve(c ?? 1))
  })
  if (code !== 0) {
    process.stderr.write('npm run build failed: not benchmarking stale or missing dist/\n')
    process.exit(1)
  }
}

const failed: string[] = []
const started = Date.now()
for (const name of only) {
  log(`=== ${name} ===`)
  const code = await run(`${name}.ts`)
  if (code !== 0) failed.push(`${name} (exit ${code})`)
}
await run('summary.ts')
log(`all benchmarks done in ${Math.round((Date.now() - started) / 1000)} s`)
if (failed.length) {
  process.stderr.write(`failed: ${failed.join(', ')}\n`)
  process.exit(1)
}
