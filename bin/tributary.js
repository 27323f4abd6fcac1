#!/usr/bin/env node
// Runs the compiled CLI from dist/ (built by `npm ci` / `npm run build`). Without dist/ (a checkout that was not
// built), or with TRIBUTARY_FROM_SOURCE=1, it runs the TypeScript sources through tsx (a dev dependency) instead.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
let entry = join(root, 'dist', 'cli', 'main.js')
if (process.env.TRIBUTARY_FROM_SOURCE === '1' || !existsSync(entry)) {
  const source = join(root, 'src', 'cli', 'main.ts')
  if (!existsSync(source)) {
    process.stderr.write(`tributary: ${entry} is missing: run npm run build\n`)
    process.exit(1)
  }
  try {
    const { register } = await import('tsx/esm/api')
    register()
  } catch {
    process.stderr.write(`tributary: ${entry} is missing and tsx is not installed: run npm run build\n`)
    process.exit(1)
  }
  entry = source
}
const { main } = await import(pathToFileURL(entry).href)
await main(process.argv)
