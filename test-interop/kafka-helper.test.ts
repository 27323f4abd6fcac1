/**
 * The Apache Kafka test helper (test/helpers/kafka.ts): the node it starts answers Metadata, stop() ends it and
 * removes its data, and a Kafka whose parent process dies (even by SIGKILL) shuts itself down.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { KafkaWireClient } from '../src/client/wire-client.ts'
import { ApiKeys } from '../src/protocol/generated/api-table.ts'
import { startKafka } from '../test/helpers/kafka.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Resolves when `pid` is gone (there is no exit event for a process that is not our child). */
async function gone(pid: number, ms = 60000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (alive(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
  return true
}

describe('Apache Kafka test helper', () => {
  test('starts a KRaft node on loopback that answers Metadata, and stop() ends it and removes its data', async () => {
    const kafka = await startKafka()
    const pid = kafka.process.pid!
    try {
      assert.match(kafka.bootstrap, /^127\.0\.0\.1:\d+$/)
      const c = await KafkaWireClient.connect(kafka.bootstrap)
      const md = await c.call(ApiKeys.Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      })
      c.close()
      assert.deepEqual(
        md.brokers.map((b: { nodeId: number; host: string; port: number }) => [b.nodeId, b.host, b.port]),
        [[0, '127.0.0.1', kafka.port]],
      )
      assert.ok(existsSync(kafka.dataDir))
    } finally {
      await kafka.stop()
    }
    assert.equal(alive(pid), false)
    assert.equal(existsSync(kafka.dataDir), false)
    await kafka.stop() // idempotent
  })

  test('a Kafka whose parent is killed shuts itself down', async () => {
    const script = [
      "import { startKafka } from './test/helpers/kafka.ts'",
      'const k = await startKafka()',
      'process.stdout.write(`${k.process.pid} ${k.dataDir}\\n`)',
      'setInterval(() => {}, 1000)',
    ].join('\n')
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const [javaPid, dataDir] = await new Promise<[number, string]>((resolve, reject) => {
      let out = ''
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /^(\d+) (.+)\n/.exec(out)
        if (m) resolve([Number(m[1]), m[2]!])
      })
      parent.once('exit', (code) => reject(new Error(`the parent exited with ${code} before Kafka started`)))
    })
    assert.ok(alive(javaPid))
    parent.kill('SIGKILL')
    assert.ok(await gone(javaPid), 'Kafka went away with its parent')
    // The killed parent could not remove the temp data dir; the test does.
    rmSync(dataDir, { recursive: true, force: true })
  })
})
