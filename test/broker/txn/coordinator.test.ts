/**
 * The transaction coordinator on its own, with an in-memory state store, a manual clock and recorded markers:
 * recovery of prepared transactions after a crash between PrepareCommit and the markers, timeouts, epoch
 * exhaustion and transactional-id expiry.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { GroupCoordinator } from '../../../src/broker/group/group-coordinator.ts'
import { TransactionCoordinator } from '../../../src/broker/txn/index.ts'
import { InMemoryKeyedLog } from '../../../src/common/keyed-log.ts'
import { ManualTime } from '../../../src/common/time.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'

interface Marker {
  topic: string
  partition: number
  producerId: number
  epoch: number
  commit: boolean
}

async function harness(store = new InMemoryKeyedLog(), groupStore = new InMemoryKeyedLog()) {
  const time = new ManualTime()
  const markers: Marker[] = []
  let failMarkers = false
  let nextProducerId = 1000
  const groups = new GroupCoordinator({ store: groupStore, clock: time, timers: time })
  await groups.load()
  const coordinator = new TransactionCoordinator({
    store,
    groups,
    clock: time,
    timers: time,
    async writeMarker(topic, partition, producerId, epoch, commit) {
      if (failMarkers) throw new Error('disk on fire')
      markers.push({ topic, partition, producerId, epoch, commit })
    },
    partitionExists: (topic) => topic !== 'missing',
    allocateProducerId: async () => nextProducerId++,
    transactionalIdExpirationMs: 60_000,
  })
  await coordinator.load()
  return {
    time,
    markers,
    store,
    groupStore,
    groups,
    coordinator,
    failMarkers(on: boolean) {
      failMarkers = on
    },
  }
}

/** Lets queued coordinator work (promise chains) run after a manual timer fired. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('TransactionCoordinator', () => {
  test('a crash after PrepareCommit is completed at load: markers re-written, offsets committed', async () => {
    const h = await harness()
    const { producerId, producerEpoch } = await h.coordinator.initProducerId({
      transactionalId: 'tx',
      transactionTimeoutMs: 10_000,
      producerId: -1,
      producerEpoch: -1,
    })
    const id = { transactionalId: 'tx', producerId, producerEpoch }
    const added = await h.coordinator.addPartitions(id, [{ name: 'orders', partitions: [0, 1] }])
    assert.deepEqual(
      added.map((a) => a.errorCode),
      [0, 0],
    )
    assert.equal(await h.coordinator.addOffsets(id, 'g'), ErrorCode.NONE)
    const committedOffsets = await h.coordinator.txnOffsetCommit(
      id,
      { groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null },
      [
        {
          name: 'input',
          partitions: [{ partitionIndex: 0, committedOffset: 9n, committedLeaderEpoch: -1, committedMetadata: null }],
        },
      ],
    )
    assert.equal(committedOffsets[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
    h.failMarkers(true)
    // The commit decision is durable; writing the markers fails (as if the broker died right there).
    await h.coordinator.endTxn(id, true)
    assert.equal(h.coordinator.describe(['tx'])[0]!.state, 'PrepareCommit')
    await h.coordinator.close()

    const again = await harness(h.store, h.groupStore)
    await settle()
    assert.equal(again.coordinator.describe(['tx'])[0]!.state, 'CompleteCommit')
    assert.deepEqual(
      again.markers.map((m) => [m.topic, m.partition, m.producerId, m.epoch, m.commit]),
      [
        ['orders', 0, producerId, producerEpoch, true],
        ['orders', 1, producerId, producerEpoch, true],
      ],
    )
    const fetched = again.groups.fetchOffsets('g', [{ name: 'input', partitionIndexes: [0] }], true)
    assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 9n)
    assert.equal(fetched.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
    // A retried EndTxn from the producer after the failover still succeeds.
    assert.equal(await again.coordinator.endTxn(id, true), ErrorCode.NONE)
    await again.coordinator.close()
  })

  test('failed marker writes are retried until the transaction completes', async () => {
    const h = await harness()
    const p = await h.coordinator.initProducerId({
      transactionalId: 'r',
      transactionTimeoutMs: 10_000,
      producerId: -1,
      producerEpoch: -1,
    })
    const id = { transactionalId: 'r', ...p }
    await h.coordinator.addPartitions(id, [{ name: 'orders', partitions: [0] }])
    h.failMarkers(true)
    assert.equal(await h.coordinator.endTxn(id, false), ErrorCode.CONCURRENT_TRANSACTIONS)
    assert.equal(h.coordinator.describe(['r'])[0]!.state, 'PrepareAbort')
    h.failMarkers(false)
    h.time.advance(1000)
    await settle()
    assert.equal(h.coordinator.describe(['r'])[0]!.state, 'CompleteAbort')
    assert.equal(h.markers.length, 1)
    await h.coordinator.close()
  })

  test('an ongoing transaction recovered at load is aborted when its timeout passes', async () => {
    const h = await harness()
    const p = await h.coordinator.initProducerId({
      transactionalId: 'slow',
      transactionTimeoutMs: 5_000,
      producerId: -1,
      producerEpoch: -1,
    })
    const id = { transactionalId: 'slow', ...p }
    await h.coordinator.addPartitions(id, [{ name: 'orders', partitions: [3] }])
    await h.coordinator.close()

    const again = await harness(h.store)
    assert.equal(again.coordinator.describe(['slow'])[0]!.state, 'Ongoing')
    again.time.advance(4_000)
    await settle()
    assert.equal(again.coordinator.describe(['slow'])[0]!.state, 'Ongoing', 'not before the timeout')
    again.time.advance(2_000)
    await settle()
    const state = again.coordinator.describe(['slow'])[0]!
    assert.equal(state.state, 'CompleteAbort')
    assert.equal(state.producerEpoch, p.producerEpoch + 1)
    assert.deepEqual(again.markers, [
      { topic: 'orders', partition: 3, producerId: p.producerId, epoch: p.producerEpoch + 1, commit: false },
    ])
    await again.coordinator.close()
  })

  test('an exhausted epoch moves the transactional id to a new producer id', async () => {
    const h = await harness()
    let p = await h.coordinator.initProducerId({
      transactionalId: 'old',
      transactionTimeoutMs: 1000,
      producerId: -1,
      producerEpoch: -1,
    })
    const first = p.producerId
    for (let i = 0; i < 32766; i++) {
      p = await h.coordinator.initProducerId({
        transactionalId: 'old',
        transactionTimeoutMs: 1000,
        producerId: -1,
        producerEpoch: -1,
      })
    }
    assert.equal(p.producerId, first)
    assert.equal(p.producerEpoch, 32766)
    p = await h.coordinator.initProducerId({
      transactionalId: 'old',
      transactionTimeoutMs: 1000,
      producerId: -1,
      producerEpoch: -1,
    })
    assert.notEqual(p.producerId, first)
    assert.equal(p.producerEpoch, 0)
    await h.coordinator.close()
  })

  test('idle transactional ids expire and are tombstoned', async () => {
    const h = await harness()
    await h.coordinator.initProducerId({
      transactionalId: 'idle',
      transactionTimeoutMs: 1000,
      producerId: -1,
      producerEpoch: -1,
    })
    h.time.advance(59_000)
    assert.equal(await h.coordinator.expireIds(), 0)
    h.time.advance(2_000) // the periodic sweep falls due
    await settle()
    assert.equal(h.coordinator.describe(['idle'])[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
    assert.equal(h.store.records.at(-1)!.value, null)
    await h.coordinator.close()
  })

  test('adding an unknown partition fails it and leaves the others untouched', async () => {
    const h = await harness()
    const p = await h.coordinator.initProducerId({
      transactionalId: 'u',
      transactionTimeoutMs: 1000,
      producerId: -1,
      producerEpoch: -1,
    })
    const res = await h.coordinator.addPartitions({ transactionalId: 'u', ...p }, [
      { name: 'orders', partitions: [0] },
      { name: 'missing', partitions: [0] },
    ])
    assert.deepEqual(
      res.map((r) => r.errorCode),
      [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    )
    assert.equal(h.coordinator.describe(['u'])[0]!.state, 'Empty')
    await h.coordinator.close()
  })
})
