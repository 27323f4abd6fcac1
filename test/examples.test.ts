import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startTestBroker } from './helpers/broker.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('examples', () => {
  it("the README's quickstart produces and consumes an event", async () => {
    const tb = await startTestBroker()
    after(() => tb.close())
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'examples', 'quickstart.ts')],
      { cwd: root, env: { ...process.env, TRIBUTARY_BOOTSTRAP: tb.bootstrap }, timeout: 60000 },
    )
    assert.equal(stdout.trim(), 'order-1 created')
  })
})
