/**
 * README.md's first example (the @platformatic/kafka producer and consumer) against a real broker: Tributary's
 * in-process broker in `npm test`, Apache Kafka in `npm run test:kafka` (through TRIBUTARY_BOOTSTRAP). The block is
 * taken from the README as written; only the bootstrap address, the topic and the group are replaced, so the run
 * does not depend on what other suites left on a shared cluster. test/docs-snippets.test.ts runs it unchanged
 * against `npm start`.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { parseDocument } from '../helpers/doc-snippets.ts'

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
let broker: TestBroker

before(async () => {
  broker = await startTestBroker()
})
after(() => broker.close())

describe('README quickstart', () => {
  it('the first TypeScript example produces one event and reads it back, then exits', async () => {
    const block = parseDocument('README.md').blocks.find((b) => b.lang === 'ts')
    assert.ok(block, 'README.md has a TypeScript example')
    assert.deepEqual(block.prints, ['order-1 created'])
    const suffix = `${process.pid}-${Date.now()}`
    const [host, port] = broker.bootstrap.split(',')[0]!.split(':')
    const code = block.text
      .replace("['127.0.0.1:9092']", JSON.stringify([`${host}:${port}`]))
      .replaceAll("'orders'", `'readme-orders-${suffix}'`)
      .replaceAll("groupId: 'billing'", `groupId: 'readme-billing-${suffix}'`)
    assert.notEqual(code, block.text, 'the example names the bootstrap address, topic and group this test replaces')
    // Inside the repository, so that '@platformatic/kafka' resolves from its node_modules as for a user's project.
    const file = join(root, 'test', 'examples', `.readme-quickstart-${suffix}.ts`)
    writeFileSync(file, code)
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60000 })
      assert.equal(stdout.trim(), 'order-1 created')
    } finally {
      rmSync(file, { force: true })
    }
  })
})
