/**
 * `tributary produce` and `tributary consume` against a real broker and a schema registry: records checked with
 * KafkaJS; bad input (not JSON, schema mismatch, unknown topic or subject) writes nothing.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Admin, CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.ts'
import { cli } from '../helpers/cli.ts'
import { registerKafkaJsCodecs } from '../helpers/kafkajs-codecs.ts'
import { type MemoryRegistry, startMemoryRegistry } from '../registry/helpers.ts'

describe('tributary produce and consume', () => {
  let tb: TestBroker
  let registry: MemoryRegistry
  let kafka: Kafka
  let admin: Admin
  let on: string[]
  const dir = tempDir('tributary-records-')

  before(async () => {
    registerKafkaJsCodecs()
    tb = await startTestBroker()
    registry = await startMemoryRegistry()
    on = ['--bootstrap', tb.bootstrap, '--registry', registry.url]
    kafka = new Kafka({ clientId: 'check', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING })
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: ['events', 'payments', 'shipments', 'invoices', 'txns']
        .map((topic) => ({ topic }))
        .concat([{ topic: 'orders', numPartitions: 3 } as { topic: string }]),
    })
  })
  after(async () => {
    await admin.disconnect()
    await registry.close()
    await tb.close()
    dir.remove()
  })

  async function run(args: string[], stdin?: string) {
    return cli([...args, ...on], { stdin })
  }
  async function ok(args: string[], stdin?: string) {
    const r = await run(args, stdin)
    assert.equal(r.code, 0, `tributary ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  async function ends(topic: string) {
    return (await admin.fetchTopicOffsets(topic)).map((o) => `${o.partition}:${o.high}`).sort()
  }
  async function readAll(topic: string, count: number) {
    const consumer = kafka.consumer({ groupId: `read-${topic}-${Math.random()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got: { partition: number; key: string | null; value: string | null; headers: Record<string, string> }[] = []
    await new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
          got.push({
            partition,
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            headers,
          })
          if (got.length === count) resolve()
        },
      })
    })
    await consumer.disconnect()
    return got
  }

  it('produces lines with keys and headers, and --value records to a partition', async () => {
    const out = await ok(
      ['produce', 'orders', '-K', ':', '-H', 'source=cli', '-H', 'v=1'],
      'o1:created\no2:paid\n\no1:shipped\n',
    )
    assert.match(out, /^produced 3 records to orders \(partitions? [\d, ]+\)\n$/)
    const got = await readAll('orders', 3)
    assert.deepEqual(got.map((r) => `${r.key}=${r.value}`).sort(), ['o1=created', 'o1=shipped', 'o2=paid'])
    assert.deepEqual(got[0]!.headers, { source: 'cli', v: '1' })
    // Same key, same partition.
    const o1 = got.filter((r) => r.key === 'o1').map((r) => r.partition)
    assert.equal(o1[0], o1[1])

    const json = JSON.parse(
      await ok(['produce', 'events', '--value', 'a', '--value', 'b', '--key', 'k', '-p', '0', '-o', 'json']),
    )
    assert.deepEqual(json, {
      topic: 'events',
      records: 2,
      batches: [{ partition: 0, baseOffset: 0 }],
    })
  })

  it('consumes to the end, from offsets, times and the end, by partition and count', async () => {
    assert.equal(await ok(['consume', 'events']), 'a\nb\n')
    assert.equal(await ok(['consume', 'events', '--print-key']), 'k\ta\nk\tb\n')
    assert.equal(await ok(['consume', 'events', '--from', '1']), 'b\n')
    assert.equal(await ok(['consume', 'events', '--from', 'latest']), '')
    assert.equal(await ok(['consume', 'events', '-n', '1']), 'a\n')
    const lines = (await ok(['consume', 'orders', '-o', 'json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(lines.length, 3)
    const first = lines[0]
    assert.deepEqual(Object.keys(first), ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers'])
    assert.deepEqual(first.headers, { source: 'cli', v: '1' })
    const partition = first.partition as number
    const only = await ok(['consume', 'orders', '-p', String(partition), '-o', 'json'])
    assert.ok(
      only
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).partition === partition),
    )
    const table = await ok(['consume', 'events', '-o', 'table'])
    assert.match(table, /^PARTITION\tOFFSET\tTIMESTAMP\tKEY\tVALUE\n0\t0\t\d{4}-\d\d-\d\dT[\d:.]+Z\tk\ta\n0\t1\t/)

    const p = kafka.producer()
    await p.connect()
    const now = Date.now()
    await p.send({
      topic: 'shipments',
      messages: [
        { value: 'old', timestamp: String(now - 3_600_000) },
        { value: 'new', timestamp: String(now - 60_000) },
      ],
    })
    await p.disconnect()
    assert.equal(await ok(['consume', 'shipments', '--from', '-30m']), 'new\n')
    assert.equal(await ok(['consume', 'shipments', '--from', `@${now - 7_200_000}`]), 'old\nnew\n')
    assert.equal(await ok(['consume', 'shipments', '--from', new Date(now).toISOString()]), '')

    const short = await run(['consume', 'events', '-n', '5'])
    assert.equal(short.stdout, 'a\nb\n')
    assert.match(short.stderr, /reached the end of events after 2 of 5 records/)
  })

  it('follows a topic until told to stop, or for a count', async () => {
    const from = (await ends('events'))[0]!.split(':')[1]!
    const stop = new AbortController()
    let seen!: () => void
    const printed = new Promise<void>((resolve) => {
      seen = resolve
    })
    const following = cli(['consume', 'events', '--from', from, '--follow', ...on], {
      signal: stop.signal,
      onOut: (text) => {
        if (text.includes('live')) seen()
      },
    })
    const counted = cli(['consume', 'events', '--from', from, '--follow', '-n', '1', ...on])
    const p = kafka.producer()
    await p.connect()
    await p.send({ topic: 'events', messages: [{ value: 'live' }] })
    await p.disconnect()
    const c = await counted
    assert.equal(c.code, 0, c.stderr)
    assert.equal(c.stdout, 'live\n')
    await printed
    stop.abort()
    const f = await following
    assert.equal(f.code, 0, f.stderr)
    assert.equal(f.stdout, 'live\n')
  })

  it('refuses bad input and unknown topics, writing nothing', async () => {
    const before = await ends('events')
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['produce', 'events', '-f', 'json'], '{"ok":1}\nnot json\n', 2, /line 2: value: not JSON.*\(nothing was sent\)/],
      [
        ['produce', 'events', '-K', '|'],
        'k|v\nno separator\n',
        2,
        /line 2: no key separator '\|' \(nothing was sent\)/,
      ],
      [['produce', 'events'], '', 2, /no records/],
      [['produce', 'events', '-f', 'xml', '--value', 'x'], undefined, 2, /unknown --format 'xml'/],
      [['produce', 'events', '-p', '3', '--value', 'x'], undefined, 3, /topic 'events' has no partition 3/],
      [['produce', 'nope', '--value', 'x'], undefined, 3, /topic 'nope' does not exist/],
      [['produce', 'events', '--value', 'x', '--compression', 'brotli'], undefined, 2, /unknown compression 'brotli'/],
      [['consume', 'nope'], undefined, 3, /topic 'nope' does not exist/],
      [['consume', 'events', '--from', 'soon'], undefined, 2, /'soon' is not a start position/],
      [['consume', 'events', '-n', '0'], undefined, 2, /--count must be at least 1/],
      [['consume', 'events', '-f', 'json'], undefined, 2, /events:0 offset 0 is not JSON/],
    ]
    for (const [args, stdin, code, message] of cases) {
      const r = await run(args, stdin)
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
    }
    assert.deepEqual(await ends('events'), before)
  })

  it('writes and reads Avro, JSON Schema and Protobuf through the registry, checked against the schema', async () => {
    const avro = {
      type: 'record',
      name: 'Payment',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'amount', type: 'double' },
      ],
    }
    assert.equal(
      (await registry.call('POST', '/subjects/payments-value/versions', { schema: JSON.stringify(avro) })).status,
      200,
    )
    await ok(['produce', 'payments', '-f', 'avro'], '{"id":"p1","amount":12.5}\n{"id":"p2","amount":3}\n')
    assert.equal(await ok(['consume', 'payments', '-f', 'avro']), '{"id":"p1","amount":12.5}\n{"id":"p2","amount":3}\n')
    const raw = await readAll('payments', 2)
    assert.equal(raw.length, 2)

    const mismatch = await run(
      ['produce', 'payments', '-f', 'avro'],
      '{"id":"p3","amount":1}\n{"id":"p4","amount":"lots"}\n',
    )
    assert.equal(mismatch.code, 2)
    assert.match(
      mismatch.stderr,
      /line 2: value: does not match the avro schema of subject payments-value.*amount.*\(nothing was sent\)/,
    )
    const wrongType = await run(['produce', 'payments', '-f', 'protobuf', '--value', '{}'])
    assert.equal(wrongType.code, 2)
    assert.match(
      wrongType.stderr,
      /subject payments-value holds a schema of type AVRO, not PROTOBUF: use --format avro/,
    )
    const noSubject = await run(['produce', 'events', '-f', 'avro', '--value', '{}'])
    assert.equal(noSubject.code, 3)
    assert.match(noSubject.stderr, /no schema is registered under subject events-value/)
    assert.deepEqual(await ends('payments'), ['0:2'])

    // JSON Schema from a file, registered on the way.
    const schemaFile = join(dir.path, 'invoice.json')
    writeFileSync(
      schemaFile,
      JSON.stringify({
        type: 'object',
        properties: { id: { type: 'string' } },
        required: ['id'],
        additionalProperties: false,
      }),
    )
    const unregistered = await run([
      'produce',
      'invoices',
      '-f',
      'json-schema',
      '--schema-file',
      schemaFile,
      '--value',
      '{"id":"i1"}',
    ])
    assert.equal(unregistered.code, 3)
    assert.match(unregistered.stderr, /is not registered under subject invoices-value \(pass --register/)
    await ok([
      'produce',
      'invoices',
      '-f',
      'json-schema',
      '--schema-file',
      schemaFile,
      '--register',
      '--value',
      '{"id":"i1"}',
    ])
    const badInvoice = await run(['produce', 'invoices', '-f', 'json-schema', '--value', '{"id":"i2","extra":true}'])
    assert.equal(badInvoice.code, 2)
    assert.match(badInvoice.stderr, /does not match the json-schema schema of subject invoices-value/)
    assert.equal(await ok(['consume', 'invoices', '-f', 'json-schema']), '{"id":"i1"}\n')

    // Protobuf, keyed by an Avro string key; consume decodes each by the schema id it carries.
    const proto = 'syntax = "proto3";\npackage shop;\nmessage Shipment { string id = 1; int32 items = 2; }\n'
    await registry.call('POST', '/subjects/shipments-value/versions', { schema: proto, schemaType: 'PROTOBUF' })
    await registry.call('POST', '/subjects/shipments-key/versions', { schema: '"string"' })
    // Registry formats read JSON, keys too: the Avro string key is "s1".
    await ok(
      ['produce', 'shipments', '-f', 'protobuf', '--key-format', 'avro', '-K', '='],
      '"s1"={"id":"s1","items":2}\n',
    )
    const shipments = (
      await ok(['consume', 'shipments', '--from', '2', '-f', 'protobuf', '--key-format', 'avro', '-o', 'json'])
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      shipments.map((s) => [s.key, s.value]),
      [['s1', { id: 's1', items: 2 }]],
    )
    const badShipment = await run(['produce', 'shipments', '-f', 'protobuf', '--value', '{"id":"s2","items":"two"}'])
    assert.equal(badShipment.code, 2)
    assert.match(badShipment.stderr, /does not match the protobuf schema of subject shipments-value/)
    assert.deepEqual(await ends('shipments'), ['0:3'])
  })

  it('skips aborted transactions with --read-committed', async () => {
    const p = kafka.producer({ transactionalId: 'cli-txn', idempotent: true, maxInFlightRequests: 1 })
    await p.connect()
    const aborted = await p.transaction()
    await aborted.send({ topic: 'txns', messages: [{ value: 'aborted' }], compression: CompressionTypes.None })
    await aborted.abort()
    const committed = await p.transaction()
    await committed.send({ topic: 'txns', messages: [{ value: 'committed' }] })
    await committed.commit()
    await p.disconnect()
    assert.equal(await ok(['consume', 'txns']), 'aborted\ncommitted\n')
    assert.equal(await ok(['consume', 'txns', '--read-committed']), 'committed\n')
  })
})
