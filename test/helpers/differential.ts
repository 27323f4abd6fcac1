/**
 * Differential checks: the same scripted scenario against Apache Kafka 4.x and against Tributary, configured
 * alike, with the answers compared field by field. Both brokers run with auto-creation off, a PLAINTEXT listener
 * whose principal (User:ANONYMOUS) is a super user, and a SASL_PLAINTEXT listener (PLAIN users admin and alice)
 * behind an authorizer (Kafka's StandardAuthorizer), so that ACL denials can be compared too.
 *
 * A field that differs fails the test unless it is listed as a known difference (with both values, exactly, and
 * the reason documented in docs/broker/compatibility.md); a known difference that stops differing fails too, so
 * the list stays true.
 */
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import { type RunningBroker, startBroker } from '../../src/broker/index.ts'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { tempDir } from './broker.ts'
import { type RunningKafka, startKafka } from './kafka.ts'

export const USERS = { admin: 'admin-secret', alice: 'alice-secret' } as const
export type User = keyof typeof USERS

export interface Side {
  name: 'kafka' | 'tributary'
  bootstrap: string
  saslBootstrap: string
  /** A raw connection: PLAINTEXT (a super user) without `user`, else SASL PLAIN as that user. */
  connect(user?: User): Promise<KafkaWireClient>
}

export interface Pair {
  kafka: Side
  tributary: Side
  close(): Promise<void>
}

export async function startPair(): Promise<Pair> {
  const dir = tempDir('tributary-differential-')
  const clients: KafkaWireClient[] = []
  const side = (name: Side['name'], bootstrap: string, saslBootstrap: string): Side => ({
    name,
    bootstrap,
    saslBootstrap,
    async connect(user) {
      const c = user
        ? await KafkaWireClient.connect(saslBootstrap, {
            clientId: 'differential',
            sasl: { mechanism: 'PLAIN', username: user, password: USERS[user] },
          })
        : await KafkaWireClient.connect(bootstrap, { clientId: 'differential' })
      clients.push(c)
      return c
    },
  })
  let kafka: RunningKafka | undefined
  let broker: RunningBroker | undefined
  try {
    ;[kafka, broker] = await Promise.all([
      startKafka({ autoCreateTopics: false, sasl: { users: { ...USERS }, superUsers: ['admin'] } }),
      startBroker({
        dataDir: dir.path,
        logLevel: 'silent',
        groupInitialRebalanceDelayMs: 0,
        autoCreateTopics: false,
        listeners: [
          { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
          { name: 'SASL_PLAINTEXT', securityProtocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
        ],
        saslUsers: { ...USERS },
        authorizerEnabled: true,
        superUsers: ['User:ANONYMOUS', 'User:admin'],
      }),
    ])
  } catch (err) {
    await kafka?.stop()
    await broker?.close()
    dir.remove()
    throw err
  }
  const listener = (p: string) => broker!.listeners.find((l) => l.securityProtocol === p)!.bootstrap
  return {
    kafka: side('kafka', kafka.bootstrap, kafka.saslBootstrap!),
    tributary: side('tributary', listener('PLAINTEXT'), listener('SASL_PLAINTEXT')),
    async close() {
      for (const c of clients) c.close()
      await Promise.all([kafka!.stop(), broker!.close()])
      dir.remove()
    },
  }
}

export interface KnownDifference {
  kafka: unknown
  tributary: unknown
  /** Why, in a few words; the full story is in docs/broker/compatibility.md. */
  why: string
}

export interface Divergence {
  field: string
  kafka: unknown
  tributary: unknown
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : Buffer.isBuffer(x) ? x.toString('hex') : x))
}

/**
 * Runs `scenario` against Kafka, then against Tributary (one after the other, so neither loads the other), and
 * compares the two records of answers field by field. `known` maps a field to its documented difference.
 */
export async function compareScenario(
  pair: Pair,
  scenario: (side: Side) => Promise<Record<string, unknown>>,
  known: Record<string, KnownDifference> = {},
  log: (message: string) => void = () => {},
): Promise<void> {
  const k = await scenario(pair.kafka)
  const t = await scenario(pair.tributary)
  if (process.env.DIFFERENTIAL_VERBOSE) for (const [f, v] of Object.entries(k)) log(`kafka ${f}: ${show(v)}`)
  const unexpected: Divergence[] = []
  const noLongerDifferent: string[] = []
  for (const field of new Set([...Object.keys(k), ...Object.keys(t)])) {
    const same = isDeepStrictEqual(k[field], t[field])
    const doc = known[field]
    if (same) {
      if (doc) noLongerDifferent.push(field)
      continue
    }
    if (doc && isDeepStrictEqual(doc.kafka, k[field]) && isDeepStrictEqual(doc.tributary, t[field])) {
      log(`known difference ${field}: kafka ${show(k[field])}, tributary ${show(t[field])} (${doc.why})`)
      continue
    }
    unexpected.push({ field, kafka: k[field], tributary: t[field] })
  }
  for (const field of Object.keys(known)) {
    if (!(field in k) && !(field in t)) noLongerDifferent.push(`${field} (not answered by the scenario)`)
  }
  assert.deepEqual(
    noLongerDifferent,
    [],
    `known differences no longer seen (update the list and docs/broker/compatibility.md): ${noLongerDifferent.join(', ')}`,
  )
  assert.equal(
    unexpected.length,
    0,
    `Kafka and Tributary answer differently:\n${unexpected
      .map((d) => `  ${d.field}: kafka ${show(d.kafka)} / tributary ${show(d.tributary)}`)
      .join('\n')}`,
  )
}

/** Polls until `ready` holds: the state of another process has no event to await across the wire. */
export async function until(ready: () => Promise<boolean>, what: string, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
