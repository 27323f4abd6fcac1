/**
 * `tributary rest-proxy` on its own against a broker, and `tributary dev` serving the proxy beside the broker and
 * the registry; both answer the v3 API and stop cleanly on SIGTERM. Bad flags exit non-zero with a message.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitFor(get: () => string, pattern: RegExp, exited: Promise<unknown>): Promise<RegExpExecArray> {
  for (;;) {
    const m = pattern.exec(get())
    if (m) return m
    const ended = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))])
    if (ended) throw new Error(`process exited before ${pattern}:\n${get()}`)
  }
}

describe('tributary rest-proxy and dev', () => {
  let tb: TestBroker
  before(async () => {
    tb = await startTestBroker()
  })
  after(() => tb.close())

  test('rest-proxy --bootstrap serves the v3 API and stops on SIGTERM', async () => {
    const p = run(['rest-proxy', '--bootstrap', tb.bootstrap, '--port', '0'])
    const [, url] = await waitFor(p.output, /"msg":"rest proxy started","url":"([^"]+)"/, p.exited)
    const res = await fetch(`${url}/v3/clusters`)
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as { kind: string }).kind, 'KafkaClusterList')
    p.child.kill('SIGTERM')
    assert.equal(await p.exited, 0)
  })

  test('rest-proxy with a bad flag exits 2 (usage) with a message', async () => {
    const p = run(['rest-proxy', '--bootstrap', tb.bootstrap, '--auth', 'magic'])
    assert.equal(await p.exited, 2)
    assert.match(p.output(), /--auth must be none or basic/)
  })

  test('dev serves the REST proxy beside the broker and the registry', async () => {
    const dir = tempDir()
    const p = run(['dev', '--data-dir', dir.path, '--port', '0', '--registry-port', '0', '--rest-proxy-port', '0'])
    try {
      const [, url] = await waitFor(p.output, /rest proxy started \{"url":"([^"]+)"\}/, p.exited)
      const clusters = (await (await fetch(`${url}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }
      const topic = await fetch(`${url}/v3/clusters/${clusters.data[0].cluster_id}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic_name: 'dev-topic', partitions_count: 1 }),
      })
      assert.equal(topic.status, 201)
      // The proxy was given the dev registry: an Avro record registers its schema there.
      const res = await fetch(`${url}/v3/clusters/${clusters.data[0].cluster_id}/topics/dev-topic/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: { type: 'AVRO', schema: '"string"', data: 'hi' } }),
      })
      const report = JSON.parse(await res.text())
      assert.equal(report.error_code, 200, JSON.stringify(report))
      assert.equal(report.value.subject, 'dev-topic-value')
    } finally {
      p.child.kill('SIGTERM')
      await p.exited
      dir.remove()
    }
  })
})
