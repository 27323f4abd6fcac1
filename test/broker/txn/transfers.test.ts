/**
 * The book's effectively-once stock/accounting example under crashes: several transactional producers move amounts
 * between accounts — both legs of a transfer in one transaction, some aborted on purpose — while the broker (a child
 * process) is SIGKILLed and restarted several times. After every restart and at the end, a read_committed reader
 * must see a balanced ledger (the starting total) and every committed transfer exactly once.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, test } from 'node:test'
import kafkajs from 'kafkajs'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { type ChildBroker, spawnBroker, tempDir } from '../../helpers/broker.ts'
import { readCommitted } from './txn-helpers.ts'

const { Kafka, logLevel } = kafkajs

const TOPIC = 'ledger'
const PARTITIONS = 2
const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin']
const START_BALANCE = 1000
const PRODUCERS = 3
const KILL_AFTER_COMMITS = [12, 30, 50]
const TARGET_COMMITS = 70

interface Leg {
  transfer: string
  account: string
  amount: number
}

const dir = tempDir('tributary-transfers-')
let broker: ChildBroker | undefined
after(async () => {
  await broker?.kill('SIGKILL')
  dir.remove()
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function ledgerSnapshot(bootstrap: string): Promise<Leg[]> {
  const wire = await KafkaWireClient.connect(bootstrap)
  try {
    const legs: Leg[] = []
    for (let p = 0; p < PARTITIONS; p++) {
      const { values } = await readCommitted(wire, TOPIC, p)
      legs.push(...values.map((v) => JSON.parse(v) as Leg))
    }
    return legs
  } finally {
    wire.close()
  }
}

function assertBalanced(legs: Leg[], when: string): void {
  const total = legs.reduce((sum, l) => sum + l.amount, 0)
  assert.equal(total, ACCOUNTS.length * START_BALANCE, `ledger total ${when}`)
  const perTransfer = new Map<string, Leg[]>()
  for (const l of legs) {
    const list = perTransfer.get(l.transfer) ?? []
    list.push(l)
    perTransfer.set(l.transfer, list)
  }
  for (const [id, list] of perTransfer) {
    if (id === 'opening') continue
    assert.equal(list.length, 2, `transfer ${id} has both legs exactly once ${when}`)
    assert.equal(list[0]!.amount + list[1]!.amount, 0)
  }
}

test('transfers stay exactly-once across broker SIGKILLs', { timeout: 90_000 }, async (t) => {
  // `--port 0` makes the CLI advertise port 0, so the port is chosen here and passed explicitly.
  const port = await freePort()
  broker = await spawnBroker(dir.path, [], port)
  const bootstrap = broker.bootstrap
  const kafka = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    clientId: 'transfers',
    retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 300 },
  })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] })
  await admin.disconnect()
  const opening = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await opening.connect()
  await opening.send({
    topic: TOPIC,
    acks: -1,
    messages: ACCOUNTS.map((account, i) => ({
      partition: i % PARTITIONS,
      value: JSON.stringify({ transfer: 'opening', account, amount: START_BALANCE }),
    })),
  })
  await opening.disconnect()

  const committed = new Set<string>()
  const abortedOnPurpose = new Set<string>()
  const uncertain = new Set<string>()
  let stop = false
  let restarts = 0
  let seq = 0
  let interrupted = 0

  async function transferLoop(worker: number): Promise<void> {
    let producer: kafkajs.Producer | undefined
    while (!stop) {
      try {
        if (!producer) {
          producer = kafka.producer({ transactionalId: `mover-${worker}`, idempotent: true, maxInFlightRequests: 1 })
          await producer.connect()
        }
        const id = `w${worker}-${seq++}`
        const from = ACCOUNTS[seq % ACCOUNTS.length]!
        const to = ACCOUNTS[(seq * 7 + 3) % ACCOUNTS.length]!
        const amount = 1 + (seq % 50)
        const partition = seq % PARTITIONS
        const abort = seq % 5 === 0
        const txn = await producer.transaction()
        try {
          await txn.send({
            topic: TOPIC,
            messages: [
              { partition, value: JSON.stringify({ transfer: id, account: from, amount: -amount }) },
              { partition, value: JSON.stringify({ transfer: id, account: to, amount }) },
            ],
          })
          if (abort) {
            abortedOnPurpose.add(id)
            await txn.abort()
          } else {
            uncertain.add(id)
            await txn.commit()
            uncertain.delete(id)
            committed.add(id)
          }
        } catch (err) {
          // The broker went away mid-transaction: the outcome of a commit in flight is unknown until we read.
          await txn.abort().catch(() => {})
          throw err
        }
      } catch {
        interrupted++
        await producer?.disconnect().catch(() => {})
        producer = undefined
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await producer?.disconnect().catch(() => {})
  }

  async function killer(): Promise<void> {
    for (const threshold of KILL_AFTER_COMMITS) {
      while (committed.size < threshold) await new Promise((resolve) => setTimeout(resolve, 20))
      await broker!.kill('SIGKILL')
      broker = await spawnBroker(dir.path, [], port)
      restarts++
      assertBalanced(await ledgerSnapshot(bootstrap), `after restart ${restarts}`)
    }
    while (committed.size < TARGET_COMMITS) await new Promise((resolve) => setTimeout(resolve, 20))
    stop = true
  }

  await Promise.all([killer(), ...Array.from({ length: PRODUCERS }, (_, w) => transferLoop(w))])
  assert.equal(restarts, KILL_AFTER_COMMITS.length)

  const legs = await ledgerSnapshot(bootstrap)
  assertBalanced(legs, 'at the end')
  const seen = new Set(legs.map((l) => l.transfer))
  for (const id of committed) assert.ok(seen.has(id), `committed transfer ${id} is in the ledger`)
  for (const id of abortedOnPurpose) assert.ok(!seen.has(id), `aborted transfer ${id} is not in the ledger`)
  for (const id of seen) {
    if (id === 'opening') continue
    assert.ok(committed.has(id) || uncertain.has(id), `transfer ${id} in the ledger was committed`)
  }
  assert.ok(abortedOnPurpose.size > 5)
  t.diagnostic(
    `committed ${committed.size}, aborted ${abortedOnPurpose.size}, unknown outcome ${uncertain.size} ` +
      `(${[...uncertain].filter((id) => seen.has(id)).length} applied), interrupted ${interrupted}, restarts ${restarts}`,
  )
  assert.ok(interrupted > 0, 'the kills interrupted producers')
})
