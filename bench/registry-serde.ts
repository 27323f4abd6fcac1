/**
 * Avro encode + decode through Tributary's serde vs @kafkajs/confluent-schema-registry's, same schema, same
 * records, same registry (Tributary's, in-process over an in-memory log), one run. Rounds alternate between the
 * two so drift on a shared machine hits both; the ratio is median(ours) / median(theirs), ≥ 1.0 means faster.
 *
 *   node --import tsx bench/registry-serde.ts [--records 50000] [--rounds 5] [--quick]
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { AvroSerde, InMemorySchemaLog, startSchemaRegistry } from '../src/registry/index.ts'
import { fmt, log, printTable, writeResult } from './lib/report.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const quick = process.argv.includes('--quick')
const RECORDS = arg('records', quick ? 5_000 : 50_000)
const ROUNDS = arg('rounds', quick ? 3 : 7)

const schema = {
  type: 'record',
  name: 'OrderPlaced',
  namespace: 'bench.shop',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'customerId', type: 'long' },
    { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
    { name: 'total', type: 'double' },
    { name: 'currency', type: 'string' },
    { name: 'coupon', type: ['null', 'string'], default: null },
    {
      name: 'lines',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Line',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'quantity', type: 'int' },
            { name: 'price', type: 'double' },
          ],
        },
      },
    },
  ],
}

const records = Array.from({ length: 1000 }, (_, i) => ({
  orderId: `order-${i}`,
  customerId: 1_000_000 + i,
  placedAt: 1_700_000_000_000 + i * 1000,
  status: ['NEW', 'PAID', 'SHIPPED'][i % 3],
  total: 19.99 + i,
  currency: 'EUR',
  coupon: i % 4 === 0 ? 'WELCOME' : null,
  lines: Array.from({ length: 1 + (i % 3) }, (_, j) => ({ sku: `sku-${j}`, quantity: j + 1, price: 9.5 + j })),
}))

async function time(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint()
  await run()
  return Number(process.hrtime.bigint() - start) / 1e9
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const registry = await startSchemaRegistry({ log: new InMemorySchemaLog(), changes: null, port: 0 })
try {
  const topic = 'orders'
  const theirs = new SchemaRegistry({ host: registry.url })
  const { id } = await theirs.register({ type: 'AVRO' as never, schema: JSON.stringify(schema) } as never, {
    subject: `${topic}-value`,
  })
  const ours = new AvroSerde<Record<string, unknown>>({ registry: registry.url, schema })
  const ourReader = new AvroSerde<Record<string, unknown>>({ registry: registry.url })

  // Both sides must agree on bytes before their speed means anything.
  const a = await ours.serialize(topic, records[1])
  const b = await theirs.encode(id, records[1])
  if (!a.equals(b)) throw new Error('the two serdes disagree on the encoding')

  const runOurs = async () => {
    for (let i = 0; i < RECORDS; i++)
      await ourReader.deserialize(await ours.serialize(topic, records[i % records.length]))
  }
  const runOursSync = async () => {
    for (let i = 0; i < RECORDS; i++) ourReader.deserializeSync(ours.serializeSync(topic, records[i % records.length]))
  }
  const runTheirs = async () => {
    for (let i = 0; i < RECORDS; i++) await theirs.decode(await theirs.encode(id, records[i % records.length]))
  }
  log('warming up')
  await time(runTheirs)
  await time(runOurs)
  await time(runOursSync)

  const samples = { ours: [] as number[], oursSync: [] as number[], theirs: [] as number[] }
  for (let round = 1; round <= ROUNDS; round++) {
    samples.theirs.push(RECORDS / (await time(runTheirs)))
    samples.ours.push(RECORDS / (await time(runOurs)))
    samples.oursSync.push(RECORDS / (await time(runOursSync)))
    log(`round ${round}/${ROUNDS}`)
  }
  const med = { ours: median(samples.ours), oursSync: median(samples.oursSync), theirs: median(samples.theirs) }
  const ratio = med.ours / med.theirs
  printTable(
    `Avro encode+decode, ${RECORDS} records per round, ${ROUNDS} rounds (median records/s)`,
    ['serde', 'records/s (median)', 'min', 'max', 'ratio vs @kafkajs/confluent-schema-registry'],
    [
      [
        '@kafkajs/confluent-schema-registry encode/decode',
        fmt(med.theirs, 0),
        fmt(Math.min(...samples.theirs), 0),
        fmt(Math.max(...samples.theirs), 0),
        '1.00',
      ],
      [
        'tributary AvroSerde serialize/deserialize (async)',
        fmt(med.ours, 0),
        fmt(Math.min(...samples.ours), 0),
        fmt(Math.max(...samples.ours), 0),
        fmt(ratio, 2),
      ],
      [
        'tributary AvroSerde serializeSync/deserializeSync',
        fmt(med.oursSync, 0),
        fmt(Math.min(...samples.oursSync), 0),
        fmt(Math.max(...samples.oursSync), 0),
        fmt(med.oursSync / med.theirs, 2),
      ],
    ],
  )
  writeResult('registry-serde', {
    command: `node --import tsx bench/registry-serde.ts --records ${RECORDS} --rounds ${ROUNDS}`,
    recordsPerRound: RECORDS,
    rounds: ROUNDS,
    recordsPerSecond: { ...med },
    samples,
    ratio,
    ratioSync: med.oursSync / med.theirs,
  })
} finally {
  await registry.close()
}
