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
import { Serdes, StreamsBuilder } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'
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

/**
 * The TypeScript side of an oracle comparison for String-keyed, String-valued topologies: builds the topology,
 * pipes the records into its own TopologyTestDriver (cache off, in-memory stores, as the oracle runs) and reads
 * every output topic after each input record, as the oracle does.
 */
export function driveStringTopology(build: (b: StreamsBuilder) => void, inputs: string[], outputs: string[]) {
  const S = Serdes.String()
  return (records: OracleRecord[]): OracleRecord[] => {
    const b = new StreamsBuilder()
    build(b)
    const driver = new TopologyTestDriver(b.build(), {
      'application.id': 'streams-oracle',
      'default.key.serde': S,
      'default.value.serde': S,
      'default.dsl.store': 'in_memory',
      'statestore.cache.max.bytes': 0,
    })
    try {
      const ins = new Map(inputs.map((t) => [t, driver.createInputTopic(t, S, S)]))
      const outs = outputs.map((t) => [t, driver.createOutputTopic(t, S, S)] as const)
      const out: OracleRecord[] = []
      for (const r of records) {
        ins.get(r.topic)!.pipeInput(r.key, r.value as string | null, r.timestamp)
        for (const [topic, o] of outs) {
          for (const x of o.readRecordsToList()) out.push({ topic, key: x.key, value: x.value, timestamp: x.timestamp })
        }
      }
      return out
    } finally {
      driver.close()
    }
  }
}
