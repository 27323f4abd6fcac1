/** Prints aligned tables and writes bench/results/<name>.json. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { arch, cpus, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
export const REPO_ROOT = dirname(BENCH_ROOT)

export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a'
  const s = n.toFixed(digits)
  // -0.04 rounds to "-0.0", which reads as a sign that means something.
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  process.stdout.write(`\n${title}\n`)
  process.stdout.write(`${line(header)}\n`)
  process.stdout.write(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`)
  for (const r of cells.slice(1)) process.stdout.write(`${line(r)}\n`)
}

export function machineInfo(): Record<string, unknown> {
  const cpu = cpus()
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    arch: arch(),
    node: process.version,
  }
}

export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = join(BENCH_ROOT, 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    `${JSON.stringify({ name, date: new Date().toISOString(), machine: machineInfo(), ...result }, null, 2)}\n`,
  )
  process.stdout.write(`\nwrote ${file}\n`)
  return file
}

export function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}
