/**
 * Top self-time functions of a V8 .cpuprofile (from `--cpu-prof`), to point at a broker bottleneck.
 *
 *   BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/results/profiles" node --import tsx bench/throughput.ts --quick
 *   node --import tsx bench/profile-summary.ts bench/results/profiles/CPU.*.cpuprofile
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { REPO_ROOT } from './lib/report.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
}

const top = Number(process.env.TOP ?? 25)
for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const self = new Map<string, number>()
  let total = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    total += hits
    const { functionName, url, lineNumber } = node.callFrame
    const where = url.startsWith('file://') ? relative(REPO_ROOT, new URL(url).pathname) : url
    const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim()
    self.set(key, (self.get(key) ?? 0) + hits)
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6
  process.stdout.write(`\n${file}: ${seconds.toFixed(1)} s wall, ${total} samples\n`)
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}\n`)
  }
}
