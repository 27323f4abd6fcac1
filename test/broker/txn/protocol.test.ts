/**
 * The transaction APIs on the wire: fencing with the error each version expects, KIP-890 produce verification,
 * read_committed Fetch and ListOffsets around open, committed and aborted transactions, transactional offsets
 * (requireStable), DescribeTransactions / ListTransactions, timeouts and a restart in the middle of a transaction.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { KafkaWireClient } from '../../../src/client/wire-client.ts'
import { ApiKeys } from '../../../src/protocol/generated/api-table.ts'
import { ErrorCode } from '../../../src/protocol/generated/error-codes.ts'
import { decodeRecordBatches } from '../../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'
import { txnBatch } from './txn-helpers.ts'

const READ_COMMITTED = 1
const READ_UNCOMMITTED = 0

describe('transaction APIs on the wire', () => {
  let broker: TestBroker
  let wire: KafkaWireClient
  before(async () => {
    broker = await startTestBroker()
    wire = await KafkaWireClient.connect(broker.bootstrap)
    const created = await wire.call(ApiKeys.CreateTopics, 4, {
      topics: ['t1', 't2', 'input'].map((name) => ({
        name,
        numPartitions: 2,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
      validateOnly: false,
    })
    for (const t of created.topics) assert.equal(t.errorCode, ErrorCode.NONE)
  })
  after(async () => {
    wire.close()
    await broker.close()
  })

  const init = (transactionalId: string, timeoutMs = 60_000, version = 1, producerId = -1n, producerEpoch = -1) =>
    wire.call(ApiKeys.InitProducerId, version, {
      transactionalId,
      transactionTimeoutMs: timeoutMs,
      producerId,
      producerEpoch,
    })
  const addPartitions = (
    id: string,
    pid: bigint,
    epoch: number,
    topics: { name: string; partitions: number[] }[],
    v = 1,
  ) =>
    wire.call(ApiKeys.AddPartitionsToTxn, v, {
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: topics,
    })
  const endTxn = (id: string, pid: bigint, epoch: number, committed: boolean, v = 1) =>
    wire.call(ApiKeys.EndTxn, v, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed })
  const produce = (id: string | null, topic: string, partition: number, records: Buffer) =>
    wire
      .call(ApiKeys.Produce, 7, {
        transactionalId: id,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      })
      .then((r) => r.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint })
  const describeTxn = (id: string) =>
    wire.call(ApiKeys.DescribeTransactions, 0, { transactionalIds: [id] }).then((r) => r.transactionStates[0])
  const fetch = async (topic: string, partition: number, isolationLevel: number, fetchOffset = 0n) => {
    const r = await wire.call(ApiKeys.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    const p = r.responses[0].partitions[0]
    const batches = await decodeRecordBatches(p.records)
    const aborted = [...((p.abortedTransactions ?? []) as { producerId: bigint; firstOffset: bigint }[])]
    // What a read_committed client shows: batches of an aborted transaction are skipped up to its marker.
    const skipping = new Set<number>()
    const visible: string[] = []
    for (const b of batches) {
      const h = b.header
      for (const a of aborted)
        if (Number(a.producerId) === h.producerId && Number(a.firstOffset) <= h.baseOffset) skipping.add(h.producerId)
      if (h.isControl) {
        skipping.delete(h.producerId)
        aborted.splice(
          0,
          aborted.length,
          ...aborted.filter((a) => !(Number(a.producerId) === h.producerId && Number(a.firstOffset) <= h.baseOffset)),
        )
      } else if (!skipping.has(h.producerId)) visible.push(...b.records.map((x) => x.value!.toString()))
    }
    return {
      visible,
      errorCode: p.errorCode as number,
      lastStableOffset: p.lastStableOffset as bigint,
      highWatermark: p.highWatermark as bigint,
      aborted: (p.abortedTransactions ?? []) as { producerId: bigint; firstOffset: bigint }[],
      values: batches.filter((b) => !b.header.isControl).flatMap((b) => b.records.map((x) => x.value!.toString())),
      controls: batches.filter((b) => b.header.isControl).length,
    }
  }
  const latestOffset = async (topic: string, partition: number, isolationLevel: number) => {
    const r = await wire.call(ApiKeys.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })
    return r.topics[0].partitions[0].offset as bigint
  }

  test('InitProducerId bumps the epoch; older epochs are fenced with the error each version knows', async () => {
    const a = await init('fence-me')
    assert.equal(a.errorCode, ErrorCode.NONE)
    assert.equal(a.producerEpoch, 0)
    const b = await init('fence-me')
    assert.equal(b.producerId, a.producerId)
    assert.equal(b.producerEpoch, 1)

    assert.equal((await endTxn('fence-me', a.producerId, 0, true, 1)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)
    assert.equal((await endTxn('fence-me', a.producerId, 0, true, 3)).errorCode, ErrorCode.PRODUCER_FENCED)
    const added = await addPartitions('fence-me', a.producerId, 0, [{ name: 't1', partitions: [0] }], 3)
    assert.equal(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.PRODUCER_FENCED)
    // KIP-360: a producer naming a stale id/epoch is fenced rather than handed a new epoch.
    const stale = await init('fence-me', 60_000, 4, a.producerId, 0)
    assert.equal(stale.errorCode, ErrorCode.PRODUCER_FENCED)
    assert.equal((await init('fence-me', 60_000, 3, a.producerId, 0)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)
    const resumed = await init('fence-me', 60_000, 4, b.producerId, 1)
    assert.equal(resumed.errorCode, ErrorCode.NONE)
    assert.equal(resumed.producerEpoch, 2)

    assert.equal((await endTxn('nobody', 1n, 0, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    assert.equal((await endTxn('fence-me', resumed.producerId, 2, true)).errorCode, ErrorCode.INVALID_TXN_STATE)
    assert.equal((await init('too-long', 900_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  })

  test('transactional produce needs the partition in the transaction; read_committed stops at the LSO', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('writer')
    const notAdded = await produce('writer', 't1', 0, txnBatch(Number(pid), epoch, 0, ['early']))
    assert.equal(notAdded.errorCode, ErrorCode.INVALID_TXN_STATE)

    const added = await addPartitions('writer', pid, epoch, [{ name: 't1', partitions: [0, 1] }])
    assert.deepEqual(
      added.resultsByTopicV3AndBelow[0].resultsByPartition.map(
        (p: { partitionErrorCode: number }) => p.partitionErrorCode,
      ),
      [ErrorCode.NONE, ErrorCode.NONE],
    )
    assert.equal((await produce('writer', 't1', 0, txnBatch(Number(pid), epoch, 0, ['a', 'b']))).errorCode, 0)
    assert.equal((await produce('writer', 't1', 1, txnBatch(Number(pid), epoch, 0, ['c']))).errorCode, 0)
    // A zombie of an older epoch cannot write even where the log has not yet seen the new epoch.
    assert.equal(
      (await produce('writer', 't2', 0, txnBatch(Number(pid), epoch - 1, 0, ['zombie']))).errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    )

    const open = await describeTxn('writer')
    assert.equal(open.transactionState, 'Ongoing')
    assert.deepEqual(open.topics, [{ topic: 't1', partitions: [0, 1] }])
    assert.ok(open.transactionStartTimeMs > 0n)

    let f = await fetch('t1', 0, READ_COMMITTED)
    assert.equal(f.lastStableOffset, 0n)
    assert.deepEqual(f.values, [])
    assert.deepEqual((await fetch('t1', 0, READ_UNCOMMITTED)).values, ['a', 'b'])
    assert.equal(await latestOffset('t1', 0, READ_COMMITTED), 0n)
    assert.equal(await latestOffset('t1', 0, READ_UNCOMMITTED), 2n)

    assert.equal((await endTxn('writer', pid, epoch, true)).errorCode, ErrorCode.NONE)
    assert.equal((await endTxn('writer', pid, epoch, true)).errorCode, ErrorCode.NONE, 'a retried commit succeeds')
    assert.equal((await endTxn('writer', pid, epoch, false)).errorCode, ErrorCode.INVALID_TXN_STATE)
    f = await fetch('t1', 0, READ_COMMITTED)
    assert.deepEqual(f.values, ['a', 'b'])
    assert.equal(f.controls, 1)
    assert.equal(f.lastStableOffset, 3n)
    assert.equal(await latestOffset('t1', 0, READ_COMMITTED), 3n)
    assert.equal((await describeTxn('writer')).transactionState, 'CompleteCommit')

    // The next transaction is aborted: read_committed fetches carry it in the aborted list.
    await addPartitions('writer', pid, epoch, [{ name: 't1', partitions: [0] }])
    assert.equal((await produce('writer', 't1', 0, txnBatch(Number(pid), epoch, 2, ['x']))).errorCode, 0)
    assert.equal((await endTxn('writer', pid, epoch, false)).errorCode, ErrorCode.NONE)
    f = await fetch('t1', 0, READ_COMMITTED, 3n)
    assert.deepEqual(f.aborted, [{ producerId: pid, firstOffset: 3n }])
    assert.equal(f.lastStableOffset, 5n)
    assert.equal((await describeTxn('writer')).transactionState, 'CompleteAbort')
    assert.equal(
      (await produce('writer', 't1', 0, txnBatch(Number(pid), epoch, 3, ['late']))).errorCode,
      ErrorCode.INVALID_TXN_STATE,
      'a batch after EndTxn is refused',
    )
  })

  test('transactional offsets are pending until commit: requireStable gets UNSTABLE_OFFSET_COMMIT', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('offsets')
    const fetchOffsets = (requireStable: boolean) =>
      wire
        .call(ApiKeys.OffsetFetch, 7, {
          groupId: 'g-txn',
          topics: [{ name: 'input', partitionIndexes: [0] }],
          requireStable,
        })
        .then((r) => r.topics[0].partitions[0] as { committedOffset: bigint; errorCode: number })
    const commit = (offset: bigint) =>
      wire.call(ApiKeys.TxnOffsetCommit, 2, {
        transactionalId: 'offsets',
        groupId: 'g-txn',
        producerId: pid,
        producerEpoch: epoch,
        topics: [
          {
            name: 'input',
            partitions: [
              { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null },
            ],
          },
        ],
      })
    // Before AddOffsetsToTxn the group is not part of the transaction.
    assert.equal((await commit(5n)).topics[0].partitions[0].errorCode, ErrorCode.INVALID_TXN_STATE)
    const addOffsets = await wire.call(ApiKeys.AddOffsetsToTxn, 1, {
      transactionalId: 'offsets',
      producerId: pid,
      producerEpoch: epoch,
      groupId: 'g-txn',
    })
    assert.equal(addOffsets.errorCode, ErrorCode.NONE)
    assert.equal((await commit(5n)).topics[0].partitions[0].errorCode, ErrorCode.NONE)
    assert.deepEqual(await fetchOffsets(true), {
      partitionIndex: 0,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
    })
    assert.equal((await fetchOffsets(false)).committedOffset, -1n)
    assert.equal((await endTxn('offsets', pid, epoch, false)).errorCode, ErrorCode.NONE)
    assert.equal((await fetchOffsets(true)).committedOffset, -1n, 'aborted offsets are dropped')

    await wire.call(ApiKeys.AddOffsetsToTxn, 1, {
      transactionalId: 'offsets',
      producerId: pid,
      producerEpoch: epoch,
      groupId: 'g-txn',
    })
    await commit(7n)
    assert.equal((await endTxn('offsets', pid, epoch, true)).errorCode, ErrorCode.NONE)
    const stable = await fetchOffsets(true)
    assert.equal(stable.errorCode, ErrorCode.NONE)
    assert.equal(stable.committedOffset, 7n)
  })

  test('ListTransactions filters by state and producer id and reports unknown states', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('listed')
    await addPartitions('listed', pid, epoch, [{ name: 't2', partitions: [1] }])
    const all = await wire.call(ApiKeys.ListTransactions, 1, {
      stateFilters: [],
      producerIdFilters: [],
      durationFilter: -1n,
    })
    const ids = all.transactionStates.map((t: { transactionalId: string }) => t.transactionalId)
    assert.ok(ids.includes('listed') && ids.includes('writer'))
    const ongoing = await wire.call(ApiKeys.ListTransactions, 1, {
      stateFilters: ['Ongoing', 'Bogus'],
      producerIdFilters: [pid],
      durationFilter: -1n,
    })
    assert.deepEqual(ongoing.unknownStateFilters, ['Bogus'])
    assert.deepEqual(
      ongoing.transactionStates.map((t: { transactionalId: string; transactionState: string }) => [
        t.transactionalId,
        t.transactionState,
      ]),
      [['listed', 'Ongoing']],
    )
    const long = await wire.call(ApiKeys.ListTransactions, 1, {
      stateFilters: [],
      producerIdFilters: [],
      durationFilter: 3_600_000n,
    })
    assert.deepEqual(long.transactionStates, [])
    assert.equal((await endTxn('listed', pid, epoch, false)).errorCode, ErrorCode.NONE)
    const missing = await describeTxn('no-such-id')
    assert.equal(missing.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
  })

  test('a transaction past its timeout is aborted and its producer fenced', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('sleepy', 300)
    await addPartitions('sleepy', pid, epoch, [{ name: 't2', partitions: [0] }])
    assert.equal((await produce('sleepy', 't2', 0, txnBatch(Number(pid), epoch, 0, ['hanging']))).errorCode, 0)
    assert.equal((await fetch('t2', 0, READ_COMMITTED)).lastStableOffset, 0n)
    let state = await describeTxn('sleepy')
    while (state.transactionState !== 'CompleteAbort') {
      assert.ok(['Ongoing', 'PrepareAbort'].includes(state.transactionState), state.transactionState)
      await new Promise((resolve) => setTimeout(resolve, 20))
      state = await describeTxn('sleepy')
    }
    assert.equal(state.producerEpoch, epoch + 1, 'the abort bumped the epoch')
    const f = await fetch('t2', 0, READ_COMMITTED)
    assert.deepEqual(f.aborted, [{ producerId: pid, firstOffset: 0n }])
    assert.deepEqual(f.values, ['hanging'], 'aborted batches are served with the aborted list, as Kafka does')
    assert.deepEqual(f.visible, [])
    assert.equal(f.lastStableOffset, f.highWatermark)
    assert.equal((await endTxn('sleepy', pid, epoch, true, 3)).errorCode, ErrorCode.PRODUCER_FENCED)
    const again = await init('sleepy', 300, 4, pid, epoch)
    assert.equal(again.errorCode, ErrorCode.NONE, 'the timed-out producer may re-initialize with its last epoch')
  })

  test('a broker restart in the middle of a transaction keeps it, with its partitions and offsets', async (t) => {
    if (!broker.local) return t.skip('needs a broker this test can restart')
    const { producerId: pid, producerEpoch: epoch } = await init('survivor')
    await addPartitions('survivor', pid, epoch, [{ name: 't2', partitions: [1] }])
    await wire.call(ApiKeys.AddOffsetsToTxn, 1, {
      transactionalId: 'survivor',
      producerId: pid,
      producerEpoch: epoch,
      groupId: 'g-restart',
    })
    const kept = await produce('survivor', 't2', 1, txnBatch(Number(pid), epoch, 0, ['kept']))
    assert.equal(kept.errorCode, 0)
    await wire.call(ApiKeys.TxnOffsetCommit, 2, {
      transactionalId: 'survivor',
      groupId: 'g-restart',
      producerId: pid,
      producerEpoch: epoch,
      topics: [
        {
          name: 'input',
          partitions: [{ partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }],
        },
      ],
    })
    wire.close()
    await broker.restart()
    wire = await KafkaWireClient.connect(broker.bootstrap)

    const state = await describeTxn('survivor')
    assert.equal(state.transactionState, 'Ongoing')
    assert.deepEqual(state.topics, [{ topic: 't2', partitions: [1] }])
    const held = await fetch('t2', 1, READ_COMMITTED)
    assert.equal(held.lastStableOffset, kept.baseOffset, 'the open transaction still holds the LSO')
    const pending = await wire.call(ApiKeys.OffsetFetch, 7, {
      groupId: 'g-restart',
      topics: [{ name: 'input', partitionIndexes: [1] }],
      requireStable: true,
    })
    assert.equal(pending.topics[0].partitions[0].errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT)

    assert.equal((await endTxn('survivor', pid, epoch, true)).errorCode, ErrorCode.NONE)
    assert.deepEqual((await fetch('t2', 1, READ_COMMITTED)).values, ['kept'])
    const committed = await wire.call(ApiKeys.OffsetFetch, 7, {
      groupId: 'g-restart',
      topics: [{ name: 'input', partitionIndexes: [1] }],
      requireStable: true,
    })
    assert.equal(committed.topics[0].partitions[0].committedOffset, 42n)
    assert.equal(committed.topics[0].partitions[0].metadata, 'm')
  })
})
