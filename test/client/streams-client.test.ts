/**
 * The client pieces the streams runtime is built on, against a real broker: a group member with its own
 * subscription and assignment user data, the fetcher under read_committed, and transactional offset commits
 * fenced by the group generation.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import {
  createProducer,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  ensureTopic,
  type FetchedRecord,
  Fetcher,
  GroupFencedError,
  GroupMember,
  KafkaCluster,
  sendOffsetsToTransaction,
} from '../../src/client/index.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

let broker: TestBroker
const clusters: KafkaCluster[] = []

function cluster(): KafkaCluster {
  const c = new KafkaCluster({ bootstrap: broker.bootstrap, requestTimeoutMs: 30000 })
  clusters.push(c)
  return c
}

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
})

after(async () => {
  for (const c of clusters) await c.close()
  await broker.close()
})

const protocol = (name: string) => [
  { name: 'stream', metadata: encodeSubscription({ topics: ['t'], userData: Buffer.from(name), ownedPartitions: [] }) },
]

describe('GroupMember', () => {
  it('carries subscription and assignment user data, tells of rebalances, and fences old generations', async () => {
    const seenByLeader: string[][] = []
    const assign = async (members: Array<{ memberId: string; metadata: Buffer }>) => {
      seenByLeader.push(members.map((m) => decodeSubscription(m.metadata).userData!.toString()).sort())
      return new Map(
        members.map((m) => [
          m.memberId,
          encodeAssignment({
            partitions: [{ topic: 't', partitions: [0] }],
            userData: Buffer.from(`for ${decodeSubscription(m.metadata).userData}`),
          }),
        ]),
      )
    }
    await ensureTopic(cluster().admin, 't', { partitions: 1 })
    let rebalances = 0
    let onRebalance: () => void = () => {}
    const first = new GroupMember({
      cluster: cluster(),
      groupId: 'member-test',
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 100,
      onRebalanceNeeded: () => {
        rebalances++
        onRebalance()
      },
    })
    const second = new GroupMember({
      cluster: cluster(),
      groupId: 'member-test',
      sessionTimeoutMs: 3000,
      heartbeatIntervalMs: 100,
    })
    const alone = await first.join(protocol('first'), assign)
    assert.equal(alone.isLeader, true)
    assert.equal(decodeAssignment(alone.assignment).userData!.toString(), 'for first')
    const staleGeneration = first.generation()

    const rebalanceSeen = new Promise<void>((resolve) => {
      onRebalance = resolve
    })
    const joining = second.join(protocol('second'), assign)
    await rebalanceSeen
    assert.equal(first.rebalanceNeeded, true)
    const [again, joined] = await Promise.all([first.join(protocol('first'), assign), joining])
    assert.equal(again.generationId, joined.generationId)
    assert.ok(again.generationId > alone.generationId)
    assert.deepEqual(seenByLeader.at(-1), ['first', 'second'])
    assert.equal(decodeAssignment(joined.assignment).userData!.toString(), 'for second')
    assert.equal(rebalances, 1)

    // The new generation commits; the old one is refused (a zombie cannot commit).
    await first.commitOffsets([{ topic: 't', partition: 0, offset: 5n }])
    await assert.rejects(sendOffsetsAsOldGeneration(staleGeneration), (e: Error) => e instanceof GroupFencedError)
    assert.deepEqual(await second.committedOffsets([{ topic: 't', partition: 0 }]), new Map([['t:0', 5n]]))
    await second.leave()
    await first.leave()
    first.close()
    second.close()
  })
})

/** A transactional offset commit with a generation that is over. */
async function sendOffsetsAsOldGeneration(generation: ReturnType<GroupMember['generation']>): Promise<void> {
  const producer = createProducer({
    bootstrap: broker.bootstrap,
    transactionalId: 'zombie',
    idempotent: true,
    producerId: -1n,
    producerEpoch: -1,
  })
  try {
    const transaction = await producer.beginTransaction()
    try {
      await sendOffsetsToTransaction({
        producer,
        transaction: transaction as never,
        cluster: cluster(),
        group: generation,
        offsets: [{ topic: 't', partition: 0, offset: 99n }],
      })
    } finally {
      await transaction.abort().catch(() => {})
    }
  } finally {
    await producer.close()
  }
}

describe('Fetcher', () => {
  it('drops aborted transactions and control records under read_committed', async () => {
    const admin = cluster()
    await ensureTopic(admin.admin, 'fetch-txn', { partitions: 1 })
    const kafka = new Kafka({ clientId: 'fetch-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ transactionalId: 'fetch-test-tx', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const send = async (values: string[], commit: boolean) => {
      const tx = await producer.transaction()
      await tx.send({ topic: 'fetch-txn', messages: values.map((value) => ({ key: value, value })) })
      if (commit) await tx.commit()
      else await tx.abort()
    }
    await send(['c1', 'c2'], true)
    await send(['a1', 'a2'], false)
    await send(['c3'], true)
    await producer.disconnect()

    const read = async (isolationLevel: 'read_committed' | 'read_uncommitted') => {
      const fetcher = new Fetcher({ cluster: cluster(), isolationLevel, maxWaitMs: 100 })
      fetcher.assign('fetch-txn', 0, 0)
      const records: FetchedRecord[] = []
      let next = 0
      // Control records count in positions: the end is the log end, 8 offsets (5 records, 3 markers).
      while (next < 8) {
        for (const batch of await fetcher.poll(200)) {
          records.push(...batch.records)
          next = batch.nextOffset
        }
      }
      fetcher.close()
      return records.map((r) => `${r.value}@${r.offset}`)
    }
    assert.deepEqual(await read('read_committed'), ['c1@0', 'c2@1', 'c3@6'])
    assert.deepEqual(await read('read_uncommitted'), ['c1@0', 'c2@1', 'a1@3', 'a2@4', 'c3@6'])
  })
})
