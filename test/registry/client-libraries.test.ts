import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  AvroDeserializer,
  AvroSerializer,
  SchemaRegistryClient as ConfluentClient,
  JsonDeserializer,
  JsonSerializer,
  SerdeType,
} from '@confluentinc/schemaregistry'
import { SchemaRegistry as KafkaJsRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { AvroSerde, JsonSchemaSerde, ProtobufSerde } from '../../src/registry/index.ts'
import { type MemoryRegistry, startMemoryRegistry, userV1, userV2 } from './helpers.ts'

const personJsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Person',
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name'],
}

const orderProto = `syntax = "proto3";
package shop;

message Order {
  string id = 1;
  int32 quantity = 2;
  Line line = 3;
  message Line { string sku = 1; }
}

message Refund {
  string order_id = 1;
  int64 cents = 2;
}
`

describe('Confluent client libraries against the Tributary registry', () => {
  let r: MemoryRegistry
  before(async () => {
    r = await startMemoryRegistry()
  })
  after(async () => {
    await r.close()
  })

  describe('@kafkajs/confluent-schema-registry', () => {
    it('registers and evolves Avro, encodes and decodes both ways with our serde', async () => {
      const registry = new KafkaJsRegistry({ host: r.url })
      const { id } = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
        { subject: 'kjs-users-value' },
      )
      assert.equal(await registry.getLatestSchemaId('kjs-users-value'), id)
      assert.equal(await registry.getRegistryId('kjs-users-value', 1), id)
      assert.equal(
        await registry.getRegistryIdBySchema('kjs-users-value', {
          type: SchemaType.AVRO,
          schema: JSON.stringify(userV1),
        }),
        id,
      )

      const theirs = await registry.encode(id, { id: 7, name: 'Ada' })
      const ours = new AvroSerde<object>({ registry: r.url, schema: userV1 })
      assert.deepEqual({ ...(await ours.deserialize(theirs, { topic: 'kjs-users' })) }, { id: 7, name: 'Ada' })
      const encodedByUs = await ours.serialize('kjs-users', { id: 8, name: 'Grace' })
      assert.equal(encodedByUs.readUInt32BE(1), id, 'our serializer found the id they registered')
      assert.deepEqual({ ...(await registry.decode(encodedByUs)) }, { id: 8, name: 'Grace' })

      const v2 = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(userV2) },
        { subject: 'kjs-users-value' },
      )
      assert.notEqual(v2.id, id)
      const bad = { ...userV1, fields: [...userV1.fields, { name: 'age', type: 'int' }] }
      await assert.rejects(
        registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(bad) }, { subject: 'kjs-users-value' }),
        (err: Error & { status?: number }) => err.status === 409 || /409|incompatible/i.test(err.message),
      )
    })

    it('handles JSON Schema and Protobuf including message indexes', async () => {
      const registry = new KafkaJsRegistry({ host: r.url })
      const { id: jsonId } = await registry.register(
        { type: SchemaType.JSON, schema: JSON.stringify(personJsonSchema) },
        { subject: 'kjs-person-value' },
      )
      const person = { name: 'Linus', age: 54 }
      const encoded = await registry.encode(jsonId, person)
      assert.deepEqual(await new JsonSchemaSerde({ registry: r.url }).deserialize(encoded), person)

      const { id: protoId } = await registry.register(
        { type: SchemaType.PROTOBUF, schema: orderProto },
        { subject: 'kjs-order-value' },
      )
      // This library writes Protobuf payloads without Confluent's message indexes, so only its own decoder reads
      // them; our serde writes the indexes like Confluent's serializers do.
      const order = { id: 'o-1', quantity: 3, line: { sku: 'abc' } }
      const protoBytes = await registry.encode(protoId, order)
      assert.deepEqual({ ...(await registry.decode(protoBytes)) }.id, 'o-1')
      const serde = new ProtobufSerde({ registry: r.url })
      const ourOrder = await new ProtobufSerde({ registry: r.url, schema: orderProto }).serialize('kjs-order', order)
      assert.equal(ourOrder[5], 0, 'first message: index path [0] is the single byte 0')
      assert.deepEqual(await serde.deserialize(ourOrder), order)
      const ourRefund = new ProtobufSerde({ registry: r.url, schema: orderProto, messageType: 'shop.Refund' })
      const refundBytes = await ourRefund.serialize('kjs-order', { order_id: 'o-1', cents: 250 })
      assert.equal(refundBytes.readUInt32BE(1), protoId, 'same schema text shares the id')
      assert.deepEqual([...refundBytes.subarray(5, 7)], [2, 2], 'message index path [1] as zigzag varints')
      assert.deepEqual(await serde.deserialize(refundBytes), { order_id: 'o-1', cents: '250' })
    })
  })

  describe('@confluentinc/schemaregistry', () => {
    it('registers, looks up, and serializes Avro with Confluent serdes interoperating with ours', async () => {
      const client = new ConfluentClient({ baseURLs: [r.url] })
      const id = await client.register('cf-users-value', { schemaType: 'AVRO', schema: JSON.stringify(userV1) })
      assert.equal(typeof id, 'number')
      assert.equal(await client.getId('cf-users-value', { schemaType: 'AVRO', schema: JSON.stringify(userV1) }), id)
      const latest = await client.getLatestSchemaMetadata('cf-users-value')
      assert.equal(latest.id, id)
      assert.equal(latest.version, 1)
      assert.deepEqual(await client.getAllVersions('cf-users-value'), [1])
      assert.ok((await client.getAllSubjects()).includes('cf-users-value'))
      assert.equal(
        await client.testSubjectCompatibility('cf-users-value', { schemaType: 'AVRO', schema: JSON.stringify(userV2) }),
        true,
      )
      assert.equal(
        await client.testCompatibility('cf-users-value', 1, { schemaType: 'AVRO', schema: JSON.stringify(userV2) }),
        true,
      )
      await client.updateCompatibility('cf-users-value', 'FULL' as never)
      assert.equal(await client.getCompatibility('cf-users-value'), 'FULL')

      const serializer = new AvroSerializer(client, SerdeType.VALUE, {
        useLatestVersion: true,
        autoRegisterSchemas: false,
      })
      const bytes = await serializer.serialize('cf-users', { id: 1, name: 'Barbara' })
      assert.equal(bytes.readUInt32BE(1), id)
      const ours = new AvroSerde<object>({ registry: r.url })
      assert.deepEqual({ ...(await ours.deserialize(bytes)) }, { id: 1, name: 'Barbara' })

      const mine = await new AvroSerde({ registry: r.url, schema: userV1 }).serialize('cf-users', {
        id: 2,
        name: 'Edsger',
      })
      const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {})
      assert.deepEqual({ ...(await deserializer.deserialize('cf-users', mine)) }, { id: 2, name: 'Edsger' })
    })

    it('round-trips JSON Schema through Confluent serdes', async () => {
      const client = new ConfluentClient({ baseURLs: [r.url] })
      const id = await client.register('cf-person-value', {
        schemaType: 'JSON',
        schema: JSON.stringify(personJsonSchema),
      })
      const serializer = new JsonSerializer(client, SerdeType.VALUE, {
        useLatestVersion: true,
        autoRegisterSchemas: false,
      })
      const bytes = await serializer.serialize('cf-person', { name: 'Alan', age: 41 })
      assert.equal(bytes.readUInt32BE(1), id)
      assert.deepEqual(await new JsonSchemaSerde({ registry: r.url }).deserialize(bytes), { name: 'Alan', age: 41 })
      const deserializer = new JsonDeserializer(client, SerdeType.VALUE, {})
      const mine = await new JsonSchemaSerde({ registry: r.url, schema: personJsonSchema }).serialize('cf-person', {
        name: 'Kay',
      })
      assert.deepEqual(await deserializer.deserialize('cf-person', mine), { name: 'Kay' })
    })

    it('deletes subjects and versions through the client', async () => {
      const client = new ConfluentClient({ baseURLs: [r.url] })
      await client.register('cf-temp', { schemaType: 'AVRO', schema: '"string"' })
      assert.deepEqual(await client.deleteSubject('cf-temp'), [1])
      assert.deepEqual(await client.deleteSubject('cf-temp', true), [1])
      await assert.rejects(client.getLatestSchemaMetadata('cf-temp'), /40401|not found/i)
    })
  })
})
