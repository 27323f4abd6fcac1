/**
 * Kafka Streams as the oracle: runs a named topology of test-interop/java/src/StreamsOracle.java on Kafka's
 * TopologyTestDriver (kafka-streams-test-utils 4.x) and returns the records it output. A streams test feeds the
 * same input records to tributary/streams' TopologyTestDriver and compares record for record; see
 * test-interop/README.md.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { javaArgs, javaClasspath } from './kafka.ts'

export interface OracleRecord {
  topic: string
  key: string | null
  /** Strings for String serdes, numbers for Long serdes, null for a tombstone. */
  value: string | number | null
  timestamp: number
}

export type OracleTopology =
  | 'word-count'
  | 'ktable-aggregate'
  | 'window-tumbling-count'
  | 'window-hopping-count'
  | 'window-sliding-count'
  | 'window-session-count'
  | 'window-suppress'
  | 'ss-join'
  | 'stream-table-join'
  | 'table-table-join'
  | 'fk-join'
  | 'self-join'
  | 'rekey-global-join'
  | 'versioned-table'
  | 'versioned-grace-join'
  | 'versioned-table-join'
  | 'versioned-table-ops'
  | 'versioned-stream-tables'
  | 'versioned-fk-join'
  | 'transform-values'
  | 'transform-values-versioned'

const RUN_TIMEOUT_MS = 120000

/**
 * Runs each case (a list of input records, piped in order) on a fresh TopologyTestDriver in one JVM, and returns
 * the output records of each case. `config` adds StreamsConfig settings (default: statestore.cache.max.bytes=0).
 */
export async function runStreamsOracleCases(
  topology: OracleTopology,
  cases: OracleRecord[][],
  config: Record<string, string> = {},
): Promise<OracleRecord[][]> {
  const classpath = await javaClasspath()
  // A state directory of its own: Kafka Streams' default (/tmp/kafka-streams/<application.id>) is shared by every
  // oracle run on the machine, and two runs at once would remove each other's RocksDB files.
  const stateDir = config['state.dir'] === undefined ? mkdtempSync(join(tmpdir(), 'streams-oracle-')) : undefined
  if (stateDir) config = { ...config, 'state.dir': stateDir }
  const input = cases.map((records) => records.map((r) => JSON.stringify(r)).join('\n')).join('\n{"reset":true}\n')
  const args = [
    ...javaArgs(classpath),
    'StreamsOracle',
    topology,
    ...Object.entries(config).map(([k, v]) => `${k}=${v}`),
  ]
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.once('close', (c) => {
        clearTimeout(timer)
        resolve({ code: c, stdout: out, stderr: err })
      })
      child.stdin.on('error', () => {})
      child.stdin.end(`${input}\n`)
    },
  )
  if (stateDir) rmSync(stateDir, { recursive: true, force: true })
  if (code !== 0) throw new Error(`StreamsOracle ${topology} exited with ${code}:\n${stderr.slice(-4000)}`)
  const results: OracleRecord[][] = [[]]
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue
    const parsed = JSON.parse(line) as OracleRecord | { reset: true }
    if ('reset' in parsed) results.push([])
    else results[results.length - 1]!.push(parsed)
  }
  if (results.length !== cases.length) {
    throw new Error(`StreamsOracle answered ${results.length} cases for ${cases.length}:\n${stderr.slice(-2000)}`)
  }
  return results
}

/** One case: the records the Kafka Streams topology outputs for `records`. */
export async function runStreamsOracle(
  topology: OracleTopology,
  records: OracleRecord[],
  config: Record<string, string> = {},
): Promise<OracleRecord[]> {
  return (await runStreamsOracleCases(topology, [records], config))[0]!
}
