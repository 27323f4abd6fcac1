/**
 * Transactional produce (one transaction per 100 batches) against idempotent produce, both through
 * @platformatic/kafka against one Tributary broker process, in alternating rounds. The ratio is the cost of
 * exactly-once writes: AddPartitionsToTxn per new partition, EndTxn, and a durable COMMIT marker per transaction.
 *
 *   node --import tsx bench/transactions.ts [--quick]
 *
 * Sizes: BENCH_TXN_BATCHES (total batches per run, a multiple of 100), BENCH_TXN_BATCH_RECORDS, BENCH_RECORD_BYTES,
 * BENCH_ROUNDS.
 */
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { createKafkaTopic } from './lib/drivers.ts'
import { benchOptions } from './lib/options.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, makeTempDir, startTributary } from './lib/servers.ts'
import { ratio, spread } from './lib/stats.ts'

const BATCHES_PER_TRANSACTION = 100

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  const n = raw ? Number(raw) : fallback
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`)
  return n
}

const opts = benchOptions()
const totalBatches = envInt('BENCH_TXN_BATCHES', opts.quick ? 300 : 2000)
const batchRecords = envInt('BENCH_TXN_BATCH_RECORDS', 100)
const recordBytes = opts.recordBytes
/**
 * One send in flight for both producers: @platformatic/kafka reorders concurrent sends inside a transaction (each
 * waits for its AddPartitionsToTxn), which any broker rejects with OUT_OF_ORDER_SEQUENCE_NUMBER.
 */
const inflight = 1
const rounds = opts.rounds
if (totalBatches % BATCHES_PER_TRANSACTION !== 0) throw new Error('BENCH_TXN_BATCHES must be a multiple of 100')

interface Run {
  seconds: number
  recordsPerSec: number
  mibPerSec: number
}

function run(seconds: number): Run {
  const records = totalBatches * batchRecords
  return { seconds, recordsPerSec: records / seconds, mibPerSec: (records * recordBytes) / 2 ** 20 / seconds }
}

async function pool(calls: number, width: number, step: () => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next++ < calls) await step()
  }
  await Promise.all(Array.from({ length: Math.min(width, calls) }, worker))
}

function messagesFor(topic: string) {
  const value = Buffer.alloc(recordBytes, 0x74)
  return Array.from({ length: batchRecords }, () => ({ topic, partition: 0, value }))
}

async function idempotent(bootstrap: string, topic: string): Promise<Run> {
  const producer = new Producer({
    clientId: 'bench-idem',
    bootstrapBrokers: [bootstrap],
    idempotent: true,
    acks: ProduceAcks.ALL,
  })
  try {
    const messages = messagesFor(topic)
    await producer.send({ messages: messages.slice(0, 1) }) // InitProducerId and metadata outside the timing
    const start = process.hrtime.bigint()
    await pool(totalBatches, inflight, () => producer.send({ messages }))
    return run(Number(process.hrtime.bigint() - start) / 1e9)
  } finally {
    await producer.close(true)
  }
}

async function transactional(bootstrap: string, topic: string, round: number): Promise<Run> {
  const producer = new Producer({
    clientId: 'bench-txn',
    bootstrapBrokers: [bootstrap],
    idempotent: true,
    acks: ProduceAcks.ALL,
    transactionalId: `bench-txn-${round}`,
    producerId: -1n,
    producerEpoch: -1,
  })
  try {
    const messages = messagesFor(topic)
    const warm = await producer.beginTransaction()
    await warm.send({ messages: messages.slice(0, 1) })
    await warm.commit()
    const start = process.hrtime.bigint()
    for (let t = 0; t < totalBatches / BATCHES_PER_TRANSACTION; t++) {
      const txn = await producer.beginTransaction()
      await pool(BATCHES_PER_TRANSACTION, inflight, () => txn.send({ messages }))
      await txn.commit()
    }
    return run(Number(process.hrtime.bigint() - start) / 1e9)
  } finally {
    await producer.close(true)
  }
}

const dataDir = makeTempDir(opts.baseDir, 'txn')
const server = await startTributary({ dataDir })
const bootstrap = `${HOST}:${server.port}`
const idem: Run[] = []
const txn: Run[] = []
try {
  for (let round = 0; round < rounds; round++) {
    const idemTopic = `bench-idem-${round}`
    const txnTopic = `bench-txn-${round}`
    await createKafkaTopic(server.port, idemTopic)
    await createKafkaTopic(server.port, txnTopic)
    // Alternate which goes first so neither always meets a warmer page cache.
    const order = round % 2 === 0 ? ['idem', 'txn'] : ['txn', 'idem']
    for (const which of order) {
      if (which === 'idem') idem.push(await idempotent(bootstrap, idemTopic))
      else txn.push(await transactional(bootstrap, txnTopic, round))
      log(`round ${round + 1}/${rounds} ${which}: ${fmt((which === 'idem' ? idem : txn).at(-1)!.mibPerSec)} MiB/s`)
    }
  }
} finally {
  await server.close()
}

const idemRate = spread(idem.map((r) => r.recordsPerSec))
const txnRate = spread(txn.map((r) => r.recordsPerSec))
const idemMib = spread(idem.map((r) => r.mibPerSec))
const txnMib = spread(txn.map((r) => r.mibPerSec))
const txnToIdem = ratio(txnRate.median, idemRate.median)
printTable(
  `Transactional vs idempotent produce (@platformatic/kafka, ${totalBatches} batches × ${batchRecords} records × ${recordBytes} B, ${inflight} in flight, commit every ${BATCHES_PER_TRANSACTION} batches, median of ${rounds})`,
  ['producer', 'records/s', 'MiB/s', 'ratio to idempotent'],
  [
    ['idempotent', fmt(idemRate.median, 0), fmt(idemMib.median), '1.00'],
    ['transactional', fmt(txnRate.median, 0), fmt(txnMib.median), fmt(txnToIdem, 2)],
  ],
)
writeResult('transactions', {
  command: `node --import tsx bench/transactions.ts${opts.quick ? ' --quick' : ''}`,
  workload: {
    totalBatches,
    batchRecords,
    recordBytes,
    inflight,
    rounds,
    batchesPerTransaction: BATCHES_PER_TRANSACTION,
  },
  idempotent: { recordsPerSec: idemRate, mibPerSec: idemMib, runs: idem },
  transactional: { recordsPerSec: txnRate, mibPerSec: txnMib, runs: txn },
  transactionalToIdempotent: txnToIdem,
})
