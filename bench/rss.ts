/**
 * Broker memory against retained data: RSS (VmRSS of the broker process) after retaining a small and a large
 * amount of data, and again after a consumer reads old data from the start. The log lives on disk and is
 * served from segment files, so RSS must not grow with what is retained (target: < 50 MiB difference).
 *
 * Apache Kafka 4.x gets the same topic, fill and reads (target: Tributary ≤ 1/4 of Kafka's RSS).
 *
 *   node --import tsx bench/rss.ts [--quick]
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createKafkaTopic } from './lib/drivers.ts'
import { benchOptions, MiB } from './lib/options.ts'
import { makeBatch, RawKafkaConnection } from './lib/raw-kafka.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'
import { HOST, kafkaVersion, makeTempDir, type ServerProcess, startKafkaBroker, startTributary } from './lib/servers.ts'

const opts = benchOptions()
const TOPIC = 'retained'
const SETTLE_MS = 2000

interface Sample {
  stage: string
  retainedMiB: number
  rssMiB: number
}

/** RSS after the broker has been idle for a moment (so in-flight buffers are released), max of 3 reads. */
async function settledRss(server: ServerProcess): Promise<number> {
  await sleep(SETTLE_MS)
  let rss = 0
  for (let i = 0; i < 3; i++) {
    rss = Math.max(rss, server.rssBytes())
    await sleep(100)
  }
  return rss / MiB
}

async function fill(conn: RawKafkaConnection, batch: Buffer, fromMiB: number, toMiB: number): Promise<number> {
  const batchMiB = batch.length / MiB
  let filled = fromMiB
  const workers = Array.from({ length: opts.inflight }, async () => {
    while (filled + batchMiB <= toMiB + 1e-9) {
      filled += batchMiB
      await conn.produce(TOPIC, new Map([[0, batch]]))
    }
  })
  await Promise.all(workers)
  return filled
}

async function readFromStart(conn: RawKafkaConnection, mib: number): Promise<number> {
  let offset = 0
  let bytes = 0
  while (bytes < mib * MiB) {
    const r = await conn.fetch(TOPIC, 0, offset, opts.fetchBytes)
    if (r.nextOffset === offset) break
    offset = r.nextOffset
    bytes += r.bytes
  }
  return bytes / MiB
}

async function measure(
  system: string,
  start: () => Promise<ServerProcess>,
): Promise<{ samples: Sample[]; error?: string }> {
  const samples: Sample[] = []
  let error: string | undefined
  let server: ServerProcess
  try {
    server = await start()
  } catch (err) {
    return { samples, error: (err as Error).message.split('\n')[0]! }
  }
  try {
    await createKafkaTopic(server.port, TOPIC)
    const conn = await RawKafkaConnection.open(HOST, server.port)
    try {
      const batch = makeBatch(opts.batchRecords, opts.recordBytes)
      samples.push({ stage: 'started, topic created', retainedMiB: 0, rssMiB: await settledRss(server) })
      log(`rss ${system}: filling ${opts.rssSmallMiB} MiB`)
      let retained = await fill(conn, batch, 0, opts.rssSmallMiB)
      samples.push({ stage: `after ${opts.rssSmallMiB} MiB`, retainedMiB: retained, rssMiB: await settledRss(server) })
      log(`rss ${system}: filling to ${opts.rssLargeMiB} MiB`)
      retained = await fill(conn, batch, retained, opts.rssLargeMiB)
      samples.push({ stage: `after ${opts.rssLargeMiB} MiB`, retainedMiB: retained, rssMiB: await settledRss(server) })
      log(`rss ${system}: reading ${opts.rssReadMiB} MiB from the start`)
      const read = await readFromStart(conn, opts.rssReadMiB)
      samples.push({
        stage: `after reading ${fmt(read, 0)} MiB of the oldest data`,
        retainedMiB: retained,
        rssMiB: await settledRss(server),
      })
    } finally {
      conn.close()
    }
  } catch (err) {
    error = (err as Error).message
    log(`rss ${system}: FAILED ${error}`)
  } finally {
    await server.close()
  }
  return { samples, ...(error ? { error } : {}) }
}

const results: Record<string, { samples: Sample[]; error?: string }> = {}
results.tributary = await measure('tributary', () => startTributary({ dataDir: makeTempDir(opts.baseDir, 'rss') }))
if (opts.systems.includes('kafka')) {
  // Kafka as it runs by default here: one KRaft node, heap -Xms/-Xmx 512m; the same topic, fill and reads.
  results.kafka = await measure('kafka', () => startKafkaBroker(opts.baseDir))
}
const { samples, error } = results.tributary!

const small = samples[1]?.rssMiB ?? Number.NaN
const large = Math.max(samples[2]?.rssMiB ?? Number.NaN, samples[3]?.rssMiB ?? Number.NaN)
const difference = large - small
printTable(
  'Broker RSS vs retained data (target: difference < 50 MiB)',
  ['stage', 'retained MiB', 'RSS MiB'],
  samples.map((s) => [s.stage, fmt(s.retainedMiB, 0), fmt(s.rssMiB)]),
)
process.stdout.write(
  `\nRSS difference (large − small): ${fmt(difference)} MiB → ${difference < 50 ? 'target met' : 'target NOT met'}\n`,
)
if (error) process.stdout.write(`error: ${error}\n`)
const kafka = results.kafka
if (kafka) {
  printTable(
    `Apache Kafka RSS vs retained data (${kafkaVersion()}); Tributary's RSS at rest and with ${opts.rssLargeMiB} MiB over Kafka's`,
    ['stage', 'retained MiB', 'Kafka RSS MiB', 'Tributary RSS MiB', 'Tributary / Kafka'],
    kafka.samples.map((k, i) => [
      k.stage,
      fmt(k.retainedMiB, 0),
      fmt(k.rssMiB),
      fmt(samples[i]?.rssMiB),
      fmt((samples[i]?.rssMiB ?? Number.NaN) / k.rssMiB, 2),
    ]),
  )
  if (kafka.error) process.stdout.write(`kafka error: ${kafka.error}\n`)
}
const atRest = (samples[0]?.rssMiB ?? Number.NaN) / (kafka?.samples[0]?.rssMiB ?? Number.NaN)
const retainedRatio = (samples[2]?.rssMiB ?? Number.NaN) / (kafka?.samples[2]?.rssMiB ?? Number.NaN)
writeResult('rss', {
  options: opts,
  samples,
  kafka: kafka ? { version: kafkaVersion(), ...kafka } : undefined,
  kafkaRatios: {
    atRest,
    retained: retainedRatio,
    target: { name: 'Tributary RSS ≤ 1/4 of Kafka', met: atRest <= 0.25 && retainedRatio <= 0.25 },
  },
  differenceMiB: difference,
  target: { name: 'RSS difference < 50 MiB', met: Number.isFinite(difference) && difference < 50 },
  ...(error ? { error } : {}),
})
