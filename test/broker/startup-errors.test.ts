/**
 * Startup errors name their cause: a --data-dir that is a file (or under one) says so, instead of Node's
 * "EEXIST: file already exists, mkdir ...".
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startBroker } from '../../src/broker/index.ts'
import { tempDir } from '../helpers/broker.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('a data directory that cannot be one', () => {
  const dir = tempDir()
  after(() => dir.remove())
  const file = join(dir.path, 'not-a-dir')
  writeFileSync(file, 'x')

  it('is refused with a message that says it is a file', async () => {
    await assert.rejects(
      startBroker({ dataDir: file, port: 0, logLevel: 'silent' }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TRB_DATA_DIR_INVALID')
        assert.match(err.message, /is a file, not a directory/)
        assert.ok(err.message.includes(file))
        return true
      },
    )
    await assert.rejects(startBroker({ dataDir: join(file, 'sub'), port: 0, logLevel: 'silent' }), /is a file/)
  })

  it('makes `tributary broker` exit with that message', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'broker', '--data-dir', file, '--port', '0'],
      { cwd: root, encoding: 'utf8', timeout: 60000 },
    )
    assert.equal(r.status, 1)
    assert.match(r.stderr, /data directory .* is a file, not a directory/)
    assert.doesNotMatch(r.stderr, /EEXIST/)
  })
})
