#!/usr/bin/env node
// Runs the CLI from source in a development checkout (through tsx), or from dist/ in an installed package.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src', 'cli', 'main.ts')
let entry = join(root, 'dist', 'cli', 'main.js')
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api')
    register()
    entry = source
  } catch {
    // tsx is a dev dependency: without it, run the compiled output.
  }
}
const { main } = await import(pathToFileURL(entry).href)
await main(process.argv)
