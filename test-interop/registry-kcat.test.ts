import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createAdmin, createProducer, ensureTopic } from '../src/client/index.ts'
import {
  AvroSerde,
  kafkaSerdes,
  type RunningSchemaRegistry,
  StringSerde,
  startSchemaRegistry,
} from '../src/registry/index.ts'
import { startTestBroker, type TestBroker } from '../test/helpers/broker.ts'

const run = promisify(execFile)

const payment = {
  type: 'record',
  name: 'Payment',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'cents', type: 'long' },
    { name: 'method', type: { type: 'enum', name: 'Method', symbols: ['CARD', 'CASH'] } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
}

async function kcatHasAvro(): Promise<boolean> {
  try {
    const { stdout } = await run('kcat', ['-V'])
    return /avro/i.test(stdout)
  } catch {
    return false
  }
}

describe('kcat reads records serialized with the Tributary registry', () => {
  let broker: TestBroker
  let registry: RunningSchemaRegistry
  let topic: string
  const records = [
    { id: 'p1', cents: 1250, method: 'CARD', note: null },
    { id: 'p2', cents: 99, method: 'CASH', note: 'tip' },
  ]

  before(async () => {
    broker = await startTestBroker()
    registry = await startSchemaRegistry({ bootstrap: broker.bootstrap, port: 0 })
    topic = `payments-${Date.now().toString(36)}`
    const admin = createAdmin({ bootstrap: broker.bootstrap })
    await ensureTopic(admin, topic, { partitions: 1 })
    await admin.close()
    const serdes = kafkaSerdes({
      key: new StringSerde(),
      value: new AvroSerde({ registry: registry.url, schema: payment }),
    })
    const producer = createProducer<string, Record<string, unknown>>({
      bootstrap: broker.bootstrap,
      ...serdes.producer,
    })
    await producer.send({ messages: records.map((value) => ({ topic, key: value.id as string, value })) })
    await producer.close()
  })
  after(async () => {
    await registry?.close()
    await broker?.close()
  })

  it('kcat -C -s value=avro -r <registry> decodes the records', async (t) => {
    if (!(await kcatHasAvro())) {
      // Debian's kcat is built without libserdes, so `-s avro` is unavailable there; see the next test.
      t.skip('this kcat build lacks Avro/Schema-Registry support (no libserdes)')
      return
    }
    const { stdout } = await run(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-s',
        'value=avro',
        '-r',
        registry.url,
        '-J',
      ],
      { timeout: 30000 },
    )
    const lines = stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { key: string; payload: unknown })
    assert.equal(lines.length, 2, stdout)
    assert.deepEqual(
      lines.map((l) => l.key),
      ['p1', 'p2'],
    )
    // kcat prints Avro JSON encoding: union values are tagged with their branch type.
    assert.deepEqual(lines[0].payload, { id: 'p1', cents: 1250, method: 'CARD', note: null })
    assert.deepEqual(lines[1].payload, { id: 'p2', cents: 99, method: 'CASH', note: { string: 'tip' } })
  })

  it('kcat (librdkafka) fetches the Confluent wire-format bytes unchanged; our deserializer reads them', async () => {
    const { stdout } = (await run(
      'kcat',
      ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%R%s'],
      {
        timeout: 30000,
        encoding: 'buffer',
      },
    )) as unknown as { stdout: Buffer }
    const payloads: Buffer[] = []
    for (let pos = 0; pos + 4 <= stdout.length; ) {
      const len = stdout.readUInt32BE(pos)
      payloads.push(stdout.subarray(pos + 4, pos + 4 + len))
      pos += 4 + len
    }
    assert.equal(payloads.length, 2)
    const latest = (await (await fetch(`${registry.url}/subjects/${topic}-value/versions/latest`)).json()) as {
      id: number
    }
    const reader = new AvroSerde<Record<string, unknown>>({ registry: registry.url })
    for (const [i, p] of payloads.entries()) {
      assert.equal(p[0], 0, 'magic byte')
      assert.equal(p.readUInt32BE(1), latest.id)
      assert.deepEqual({ ...(await reader.deserialize(p, { topic, partition: 0, offset: i })) }, records[i])
    }
  })
})
