#!/usr/bin/env node
// Node 20's test runner takes no glob patterns: collect *.test.ts under the given folders and run them.
//   node scripts/run-tests.mjs [--concurrency N] DIR|FILE...
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const args = process.argv.slice(2)
let concurrency = '2'
const dirs = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--concurrency') concurrency = args[++i]
  else dirs.push(args[i])
}

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = dirs.flatMap((d) => (statSync(d).isDirectory() ? collect(d, []) : [d]))
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(', ')}`)
  process.exit(1)
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
)
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)))
