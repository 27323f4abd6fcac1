/**
 * The same workload driven against each system by its usual Node client: records of `recordBytes`, sent
 * `batchRecords` per call (~1 MiB) with `inflight` calls outstanding, each acknowledged only once the server
 * has it under its durability setting; then read back from the start in ~`fetchBytes` reads.
 */
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { Redis } from 'ioredis'
import { Kafka, logLevel } from 'kafkajs'
import { type NatsConnection, connect as natsConnect, StorageType } from 'nats'
import { makeBatch, RawKafkaConnection, waitForTopics } from './raw-kafka.ts'
import { HOST } from './servers.ts'

export interface Workload {
  recordBytes: number
  batchRecords: number
  inflight: number
  /** Records to produce, a multiple of batchRecords. */
  records: number
  fetchBytes: number
}

export interface Measured {
  seconds: number
  records: number
  /** Payload MiB/s (records × recordBytes), the same accounting for every system. */
  mibPerSec: number
  /** Consumers that join a group: time from subscribing to the first record. */
  firstRecordSeconds?: number
}

export function measured(records: number, recordBytes: number, seconds: number): Measured {
  return { seconds, records, mibPerSec: (records * recordBytes) / 2 ** 20 / seconds }
}

/** Runs `inflight` workers that together call `step(i)` for i = 0..calls-1. */
async function concurrently(calls: number, inflight: number, step: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < calls) await step(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inflight, calls) }, worker))
}

function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

// ---------------------------------------------------------------------------------------------------------------
// Tributary through a raw connection: no client library cost, so the broker is what is measured.

export async function createKafkaTopic(port: number, topic: string): Promise<void> {
  const conn = await RawKafkaConnection.open(HOST, port)
  try {
    await waitForTopics(conn, [topic], 1, true)
  } finally {
    conn.close()
  }
}

export async function rawKafkaProduce(port: number, topic: string, w: Workload): Promise<Measured> {
  await createKafkaTopic(port, topic)
  const conn = await RawKafkaConnection.open(HOST, port)
  try {
    const batch = makeBatch(w.batchRecords, w.recordBytes)
    const calls = w.records / w.batchRecords
    const start = process.hrtime.bigint()
    await concurrently(calls, w.inflight, () => conn.produce(topic, new Map([[0, batch]])))
    return measured(w.records, w.recordBytes, since(start))
  } finally {
    conn.close()
  }
}

export async function rawKafkaConsume(port: number, topic: string, w: Workload): Promise<Measured> {
  const conn = await RawKafkaConnection.open(HOST, port)
  try {
    let offset = 0
    const start = process.hrtime.bigint()
    while (offset < w.records) {
      const r = await conn.fetch(topic, 0, offset, w.fetchBytes)
      if (r.nextOffset === offset) {
        if (r.highWatermark <= offset) throw new Error(`topic ${topic} ended at offset ${offset} of ${w.records}`)
        throw new Error(`fetch at ${offset} returned no complete batch within ${w.fetchBytes} bytes`)
      }
      offset = r.nextOffset
    }
    return measured(offset, w.recordBytes, since(start))
  } finally {
    conn.close()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tributary through @platformatic/kafka, the project's runtime client.

export async function clientKafkaProduce(port: number, topic: string, w: Workload): Promise<Measured> {
  await createKafkaTopic(port, topic)
  const producer = new Producer({
    clientId: 'bench-producer',
    bootstrapBrokers: [`${HOST}:${port}`],
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
  })
  try {
    const value = Buffer.alloc(w.recordBytes, 0x62)
    const messages = Array.from({ length: w.batchRecords }, () => ({ topic, partition: 0, value }))
    const calls = w.records / w.batchRecords
    const start = process.hrtime.bigint()
    await concurrently(calls, w.inflight, async () => {
      await producer.send({ messages })
    })
    return measured(w.records, w.recordBytes, since(start))
  } finally {
    await producer.close(true)
  }
}

export async function clientKafkaConsume(port: number, topic: string, w: Workload): Promise<Measured> {
  const consumer = new Consumer({
    clientId: 'bench-consumer',
    groupId: `bench-${topic}-${process.pid}-${Date.now()}`,
    bootstrapBrokers: [`${HOST}:${port}`],
    maxBytes: w.fetchBytes,
    maxWaitTime: 500,
  })
  try {
    const joinStart = process.hrtime.bigint()
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    // The clock starts at the first record: joining the group (and the broker's initial rebalance delay) is
    // start-up cost, not consume throughput; it is reported separately.
    let start = 0n
    let n = 0
    await new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        if (n++ === 0) start = process.hrtime.bigint()
        if (n === w.records) resolve()
      })
      stream.once('error', reject)
    })
    const m: Measured = {
      ...measured(n - 1, w.recordBytes, since(start)),
      firstRecordSeconds: Number(start - joinStart) / 1e9,
    }
    await stream.close()
    return m
  } finally {
    await consumer.close(true)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Redis Streams: XADD pipelined per batch, XREAD COUNT per read.

export function redisClient(port: number): Redis {
  return new Redis({ host: HOST, port, protocol: 2, maxRetriesPerRequest: 1, enableOfflineQueue: true })
}

export async function redisProduce(port: number, key: string, w: Workload): Promise<Measured> {
  const redis = redisClient(port)
  try {
    const value = Buffer.alloc(w.recordBytes, 0x63)
    const calls = w.records / w.batchRecords
    const start = process.hrtime.bigint()
    await concurrently(calls, w.inflight, async () => {
      const p = redis.pipeline()
      for (let i = 0; i < w.batchRecords; i++) p.xadd(key, '*', 'v', value)
      const results = await p.exec()
      const failed = results?.find(([err]) => err)
      if (failed) throw failed[0]
    })
    return measured(w.records, w.recordBytes, since(start))
  } finally {
    redis.disconnect()
  }
}

type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null

export async function redisConsume(port: number, key: string, w: Workload): Promise<Measured> {
  const redis = redisClient(port)
  try {
    const count = Math.max(1, Math.floor(w.fetchBytes / w.recordBytes))
    let lastId = '0-0'
    let n = 0
    const start = process.hrtime.bigint()
    while (n < w.records) {
      const reply = (await redis.xreadBuffer('COUNT', count, 'STREAMS', key, lastId)) as unknown as XReadReply
      const entries = reply?.[0]?.[1] ?? []
      if (entries.length === 0) throw new Error(`redis stream ${key} ended at ${n} of ${w.records} entries`)
      n += entries.length
      lastId = entries[entries.length - 1]![0].toString()
    }
    return measured(n, w.recordBytes, since(start))
  } finally {
    redis.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// NATS JetStream: file-storage stream, publish with PubAck per message (no batch publish in the 2.x client),
// read back by an ordered consumer.

export async function natsConnection(port: number): Promise<NatsConnection> {
  return natsConnect({ servers: `${HOST}:${port}`, maxReconnectAttempts: 0 })
}

export async function natsCreateStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File })
}

export async function natsProduce(port: number, stream: string, w: Workload): Promise<Measured> {
  const nc = await natsConnection(port)
  try {
    await natsCreateStream(nc, stream)
    const js = nc.jetstream()
    const subject = `${stream}.data`
    const value = Buffer.alloc(w.recordBytes, 0x64)
    const calls = w.records / w.batchRecords
    const start = process.hrtime.bigint()
    await concurrently(calls, w.inflight, async () => {
      const acks: Promise<unknown>[] = []
      for (let i = 0; i < w.batchRecords; i++) acks.push(js.publish(subject, value))
      await Promise.all(acks)
    })
    return measured(w.records, w.recordBytes, since(start))
  } finally {
    await nc.close()
  }
}

export async function natsConsume(port: number, stream: string, w: Workload): Promise<Measured> {
  const nc = await natsConnection(port)
  try {
    const js = nc.jetstream()
    const start = process.hrtime.bigint()
    const consumer = await js.consumers.get(stream)
    const messages = await consumer.consume({
      max_messages: Math.max(1, Math.floor(w.fetchBytes / w.recordBytes)),
    })
    let n = 0
    for await (const _m of messages) {
      if (++n === w.records) break
    }
    return measured(n, w.recordBytes, since(start))
  } finally {
    await nc.close()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tributary through KafkaJS 2.2 (non-flexible request versions), the second Kafka client.

function kafkajsClient(port: number): Kafka {
  return new Kafka({ clientId: 'bench-kafkajs', brokers: [`${HOST}:${port}`], logLevel: logLevel.NOTHING })
}

export async function kafkajsProduce(port: number, topic: string, w: Workload): Promise<Measured> {
  await createKafkaTopic(port, topic)
  const producer = kafkajsClient(port).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const value = Buffer.alloc(w.recordBytes, 0x65)
    const messages = Array.from({ length: w.batchRecords }, () => ({ value, partition: 0 }))
    const calls = w.records / w.batchRecords
    const start = process.hrtime.bigint()
    await concurrently(calls, w.inflight, async () => {
      await producer.send({ topic, acks: -1, messages })
    })
    return measured(w.records, w.recordBytes, since(start))
  } finally {
    await producer.disconnect()
  }
}

export async function kafkajsConsume(port: number, topic: string, w: Workload): Promise<Measured> {
  const consumer = kafkajsClient(port).consumer({
    groupId: `bench-kafkajs-${topic}-${process.pid}-${Date.now()}`,
    maxBytes: w.fetchBytes,
    maxBytesPerPartition: w.fetchBytes,
    maxWaitTimeInMs: 500,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const joinStart = process.hrtime.bigint()
    let start = 0n
    let n = 0
    let first = 0
    let done!: () => void
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (n === 0) {
          start = process.hrtime.bigint()
          first = batch.messages.length
        }
        n += batch.messages.length
        if (n >= w.records) done()
      },
    })
    await finished
    return {
      ...measured(n - first, w.recordBytes, since(start)),
      firstRecordSeconds: Number(start - joinStart) / 1e9,
    }
  } finally {
    await consumer.disconnect()
  }
}
