/**
 * The Java client (kafka-clients 4.x, built with Maven from test-interop/java) against the broker: admin, the
 * idempotent producer once per codec, eager and cooperative groups, transactions under both isolation levels.
 * Runs JavaClientCheck once and reports each of its checks as a test. With TRIBUTARY_BOOTSTRAP set (as
 * `npm run test:kafka` does) it runs against that cluster instead — against Apache Kafka, a check of the check.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { startTestBroker, type TestBroker } from '../test/helpers/broker.ts'
import { javaArgs, javaClasspath } from '../test/helpers/kafka.ts'

const RUN_TIMEOUT_MS = 240000

interface CheckRun {
  code: number | null
  stdout: string
  stderr: string
}

function runCheck(classpath: string, bootstrap: string): Promise<CheckRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', [...javaArgs(classpath), 'JavaClientCheck', bootstrap], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

// Every check JavaClientCheck makes, so that a check that silently stopped running fails here.
const EXPECTED = [
  'admin describeCluster',
  'admin createTopics validateOnly',
  'admin createTopics',
  'admin listTopics',
  'admin describeTopics',
  'admin describeConfigs',
  'admin incrementalAlterConfigs',
  'admin createPartitions',
  'admin listOffsets earliest/latest/timestamp + deleteRecords',
  ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => `producer+consumer compression=${c}`),
  'group of two consumers, range, commitSync, restart resumes',
  'group of two consumers, coop, commitSync, restart resumes',
  'transactions commit/abort, sendOffsetsToTransaction, isolation levels',
  'admin listConsumerGroups',
  'admin describeConsumerGroups (empty group, then with a member)',
  'admin listConsumerGroupOffsets',
  'admin deleteConsumerGroups',
  'admin deleteTopics',
]

describe('Java client (kafka-clients 4.x)', () => {
  let broker: TestBroker
  let run: CheckRun
  const results = new Map<string, string>()

  before(async () => {
    const [classpath, tb] = await Promise.all([javaClasspath(), startTestBroker()])
    broker = tb
    run = await runCheck(classpath, broker.bootstrap)
    for (const line of run.stdout.split('\n')) {
      const m = /^(PASS|FAIL) (.+?)\s{2,}(.*)$/.exec(line) ?? /^(PASS|FAIL) (.+?)\s+\S+: .*$/.exec(line)
      if (m) results.set(m[2]!.trim(), line)
    }
  })
  after(async () => {
    await broker?.close()
  })

  test('the check runs with kafka-clients 4.x and exits 0', () => {
    assert.match(run.stdout, /^kafka-clients 4\.\d+\.\d+ against /m, run.stderr.slice(-2000))
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr.slice(-4000)}`)
    assert.match(run.stdout, /^ALL CHECKS PASSED$/m)
  })

  for (const name of EXPECTED) {
    test(name, () => {
      const line = results.get(name)
      assert.ok(line, `JavaClientCheck did not report "${name}":\n${run.stdout}`)
      assert.ok(line.startsWith('PASS '), line)
    })
  }
})
