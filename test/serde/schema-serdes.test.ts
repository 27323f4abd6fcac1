import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  AvroSerde,
  BytesSerde,
  decodeMessageIndexes,
  encodeMessageIndexes,
  encodeWire,
  JsonSchemaSerde,
  JsonSerde,
  kafkaSerdes,
  ProtobufSerde,
  recordNameStrategy,
  SchemaRegistryClient,
  StringSerde,
  topicNameStrategy,
  topicRecordNameStrategy,
} from '../../src/serde/index.ts'
import { type MemoryRegistry, startMemoryRegistry, userV1, userV2 } from '../registry/helpers.ts'

describe('serdes in the Confluent wire format', () => {
  let r: MemoryRegistry
  before(async () => {
    r = await startMemoryRegistry()
  })
  after(async () => {
    await r.close()
  })

  it('writes magic byte 0 and the 4-byte id, auto-registers under the TopicName subject', async () => {
    const serde = new AvroSerde<Record<string, unknown>>({ registry: r.url, schema: userV1 })
    const bytes = await serde.serialize('accounts', { id: 1, name: 'a' })
    assert.equal(bytes[0], 0)
    const latest = await r.call('GET', '/subjects/accounts-value/versions/latest')
    assert.equal(bytes.readUInt32BE(1), latest.body.id)
    assert.deepEqual({ ...(await serde.deserialize(bytes)) }, { id: 1, name: 'a' })
    const keyBytes = await serde.serialize('accounts', { id: 2, name: 'b' }, { isKey: true })
    assert.equal(keyBytes.readUInt32BE(1), latest.body.id)
    assert.equal((await r.call('GET', '/subjects/accounts-key/versions')).status, 200)
  })

  it('supports RecordName and TopicRecordName strategies', async () => {
    assert.equal(topicNameStrategy('t', false, 'x.Y'), 't-value')
    assert.equal(recordNameStrategy('t', false, 'x.Y'), 'x.Y')
    assert.equal(topicRecordNameStrategy('t', true, 'x.Y'), 't-x.Y')
    const serde = new AvroSerde({ registry: r.url, schema: userV1, subjectNameStrategy: topicRecordNameStrategy })
    await serde.serialize('events', { id: 1, name: 'x' })
    assert.equal((await r.call('GET', '/subjects/events-com.example.User/versions')).status, 200)
  })

  it('without auto-registration it needs the schema registered; useLatestVersion writes with the latest', async () => {
    const strict = new AvroSerde({ registry: r.url, schema: userV1, autoRegister: false })
    await assert.rejects(strict.serialize('unregistered', { id: 1, name: 'x' }), /40401|40403/)
    await r.call('POST', '/subjects/latest-value/versions', { schema: JSON.stringify(userV1) })
    const v2 = await r.call('POST', '/subjects/latest-value/versions', { schema: JSON.stringify(userV2) })
    const latest = new AvroSerde({ registry: r.url, useLatestVersion: true })
    const bytes = await latest.serialize('latest', { id: 1, name: 'x', email: null })
    assert.equal(bytes.readUInt32BE(1), v2.body.id)
  })

  it('reads old records into a newer reader schema (Avro resolution)', async () => {
    const writer = new AvroSerde({ registry: r.url, schema: userV1 })
    const bytes = await writer.serialize('evolve', { id: 5, name: 'n' })
    const reader = new AvroSerde<Record<string, unknown>>({ registry: r.url, readerSchema: userV2 })
    assert.deepEqual({ ...(await reader.deserialize(bytes)) }, { id: 5, name: 'n', email: null })
  })

  it('rejects values that do not match the schema with a coded error', async () => {
    const serde = new AvroSerde({ registry: r.url, schema: userV1 })
    await assert.rejects(serde.serialize('bad', { id: 'nope', name: 1 }), { code: 'TRB_SERDE_INVALID_VALUE' })
    const json = new JsonSchemaSerde({
      registry: r.url,
      schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    })
    await assert.rejects(json.serialize('badjson', { n: 'x' }), { code: 'TRB_SERDE_INVALID_VALUE' })
  })

  it('names topic, partition and offset when a record cannot be read', async () => {
    const serde = new AvroSerde({ registry: r.url, schema: userV1 })
    const where = { topic: 'orders', partition: 3, offset: 42n }
    await assert.rejects(serde.deserialize(Buffer.from([1, 0, 0, 0, 1, 2]), where), (e: Error & { code: string }) => {
      assert.equal(e.code, 'TRB_SERDE_UNKNOWN_MAGIC_BYTE')
      assert.match(e.message, /topic orders, partition 3, offset 42/)
      return true
    })
    await assert.rejects(
      serde.deserialize(encodeWire(99999, Buffer.from([2])), where),
      (e: Error & { code: string }) => {
        assert.equal(e.code, 'TRB_SERDE_UNKNOWN_SCHEMA_ID')
        assert.match(e.message, /schema id 99999.*topic orders, partition 3, offset 42/)
        return true
      },
    )
    const good = await serde.serialize('orders', { id: 1, name: 'x' })
    const truncated = good.subarray(0, good.length - 1)
    await assert.rejects(serde.deserialize(truncated, where), (e: Error & { code: string }) => {
      assert.equal(e.code, 'TRB_SERDE_UNDECODABLE')
      assert.match(e.message, /offset 42/)
      return true
    })
    await assert.rejects(serde.deserialize(Buffer.alloc(0), where), { code: 'TRB_SERDE_EMPTY' })
  })

  it('caches: one registry request per schema id and per subject', async () => {
    let requests = 0
    const client = new SchemaRegistryClient(r.url)
    const original = client.request.bind(client)
    client.request = (async (...args: Parameters<typeof original>) => {
      requests++
      return original(...args)
    }) as typeof client.request
    const writer = new AvroSerde({ registry: client, schema: userV1 })
    const reader = new AvroSerde({ registry: client })
    for (let i = 0; i < 20; i++) {
      const bytes = await writer.serialize('cached', { id: i, name: 'x' })
      await reader.deserialize(bytes)
    }
    assert.equal(requests, 2, 'one register + one schema fetch')
  })

  it('encodes Protobuf message indexes like Confluent', () => {
    assert.deepEqual([...encodeMessageIndexes([0])], [0])
    assert.deepEqual([...encodeMessageIndexes([1])], [2, 2])
    assert.deepEqual([...encodeMessageIndexes([0, 2])], [4, 0, 4])
    assert.deepEqual(decodeMessageIndexes(Buffer.from([4, 0, 4, 9])).indexes, [0, 2])
    assert.deepEqual([...decodeMessageIndexes(Buffer.from([0, 9])).payload], [9])
  })

  it('Protobuf: writes 64-bit integers given as strings and enums given by name, as it reads them', async () => {
    const schema =
      'syntax = "proto3";\nmessage Payment { int64 cents = 1; Method method = 2; repeated uint64 ids = 3; }\nenum Method { CARD = 0; CASH = 1; }\n'
    const serde = new ProtobufSerde<Record<string, unknown>>({ registry: r.url, schema })
    const value = { cents: '9007199254740993', method: 'CASH', ids: ['1', '18446744073709551615'] }
    assert.deepEqual(await serde.deserialize(await serde.serialize('payments', value)), value)
    await assert.rejects(serde.serialize('payments', { cents: 'many' }), { code: 'TRB_SERDE_INVALID_VALUE' })
    await assert.rejects(serde.serialize('payments', { method: 'CHEQUE' }), { code: 'TRB_SERDE_INVALID_VALUE' })
  })

  it('plain serdes: JSON, string, bytes', async () => {
    assert.deepEqual(await new JsonSerde().deserialize(await new JsonSerde().serialize('t', { a: [1] })), { a: [1] })
    assert.equal(await new StringSerde().deserialize(await new StringSerde().serialize('t', 'héllo')), 'héllo')
    const b = Buffer.from([1, 2, 3])
    assert.equal(await new BytesSerde().serialize('t', b), b)
    await assert.rejects(new JsonSerde().deserialize(Buffer.from('{'), { topic: 't', offset: 1 }), {
      code: 'TRB_SERDE_UNDECODABLE',
    })
  })

  it('adapts to @platformatic/kafka serializer hooks (prepare async, then serialize sync)', async () => {
    const value = new AvroSerde<Record<string, unknown>>({ registry: r.url, schema: userV1 })
    const serdes = kafkaSerdes({ key: new StringSerde(), value })
    const message = { topic: 'hooked', key: 'k1', value: { id: 3, name: 'h' } }
    const cb = () => {}
    await serdes.producer.beforeSerialization(message.value, 'value', message, cb)
    await serdes.producer.beforeSerialization(message.key, 'key', message, cb)
    const valueBytes = serdes.producer.serializers.value!(message.value, undefined, message)!
    const keyBytes = serdes.producer.serializers.key!(message.key, undefined, message)!
    assert.equal(keyBytes.toString(), 'k1')
    const consumed = { topic: 'hooked', partition: 0 } as never
    const fresh = kafkaSerdes({
      key: new StringSerde(),
      value: new AvroSerde<Record<string, unknown>>({ registry: r.url }),
    })
    await fresh.consumer.beforeDeserialization(valueBytes, 'value', consumed, cb)
    assert.deepEqual({ ...fresh.consumer.deserializers.value!(valueBytes, undefined, consumed) }, { id: 3, name: 'h' })
    assert.equal(fresh.consumer.deserializers.key!(keyBytes, undefined, consumed), 'k1')
  })
})

describe('tributary/registry', () => {
  it('re-exports the serde module’s serdes, so imports from the registry keep working', async () => {
    const registry: Record<string, unknown> = await import('../../src/registry/index.ts')
    const serde: Record<string, unknown> = await import('../../src/serde/index.ts')
    for (const name of ['AvroSerde', 'JsonSchemaSerde', 'ProtobufSerde', 'SchemaRegistryClient', 'SerdeError']) {
      assert.equal(registry[name], serde[name], name)
    }
  })
})
