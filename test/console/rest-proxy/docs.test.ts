/**
 * Runs every `sh` block of docs/rest-proxy/README.md, in order, against a broker, registry and proxy started here
 * (the blocks are written for `npm start`; only the proxy's address is replaced). A block must exit 0 and no
 * answer in it may be a Confluent error body.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Stack, startStack } from './helpers.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const readme = readFileSync(join(root, 'docs', 'rest-proxy', 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])

describe('docs/rest-proxy/README.md', () => {
  let s: Stack
  before(async () => {
    s = await startStack()
  })
  after(() => s.close())

  test('has runnable examples', () => assert.ok(blocks.length >= 8))

  for (const [i, block] of blocks.entries()) {
    test(`sh block ${i + 1}: ${block.split('\n')[0].slice(0, 70)}`, async () => {
      const script = block.replaceAll('http://localhost:8082', s.proxy.url)
      const { stdout } = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', script], {
        cwd: root,
        timeout: 60_000,
        env: { ...process.env, TRIBUTARY_BOOTSTRAP: s.tb.bootstrap },
      })
      assert.doesNotMatch(stdout, /"error_code":\s*[45]\d\d/, stdout)
    })
  }
})
