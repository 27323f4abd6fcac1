import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { JsonSchemaSerde, ProtobufSerde } from '../../src/registry/index.ts'
import { type MemoryRegistry, startMemoryRegistry } from './helpers.ts'

describe('schema references for JSON Schema and Protobuf', () => {
  let r: MemoryRegistry
  before(async () => {
    r = await startMemoryRegistry()
  })
  after(async () => {
    await r.close()
  })

  it('resolves a Protobuf import through a reference and serdes follow it', async () => {
    const money = 'syntax = "proto3";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n'
    const m = await r.call('POST', '/subjects/money.proto/versions', { schemaType: 'PROTOBUF', schema: money })
    assert.equal(m.status, 200)
    const invoice =
      'syntax = "proto3";\npackage billing;\nimport "money.proto";\nmessage Invoice { string id = 1; common.Money total = 2; }\n'
    const references = [{ name: 'money.proto', subject: 'money.proto', version: 1 }]
    const missing = await r.call('POST', '/subjects/invoices-value/versions', {
      schemaType: 'PROTOBUF',
      schema: invoice,
    })
    assert.equal(missing.body.error_code, 42201, 'an unresolved import is an invalid schema')
    const inv = await r.call('POST', '/subjects/invoices-value/versions', {
      schemaType: 'PROTOBUF',
      schema: invoice,
      references,
    })
    assert.equal(inv.status, 200, JSON.stringify(inv.body))
    const serde = new ProtobufSerde({ registry: r.url, schema: invoice, references })
    const bytes = await serde.serialize('invoices', { id: 'i1', total: { currency: 'EUR', units: 12 } })
    assert.equal(bytes.readUInt32BE(1), inv.body.id)
    assert.deepEqual(await new ProtobufSerde({ registry: r.url }).deserialize(bytes), {
      id: 'i1',
      total: { currency: 'EUR', units: '12' },
    })
  })

  it('resolves a JSON Schema $ref to a referenced schema', async () => {
    const address = {
      $id: 'address.json',
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    }
    await r.call('POST', '/subjects/address-json/versions', { schemaType: 'JSON', schema: JSON.stringify(address) })
    const person = { type: 'object', properties: { home: { $ref: 'address.json' } }, required: ['home'] }
    const references = [{ name: 'address.json', subject: 'address-json', version: 1 }]
    const p = await r.call('POST', '/subjects/person-json/versions', {
      schemaType: 'JSON',
      schema: JSON.stringify(person),
      references,
    })
    assert.equal(p.status, 200, JSON.stringify(p.body))
    const serde = new JsonSchemaSerde({ registry: r.url, schema: person, references })
    await assert.rejects(serde.serialize('people', { home: {} }), { code: 'TRB_SERDE_INVALID_VALUE' })
    const bytes = await serde.serialize('people', { home: { city: 'Oslo' } })
    assert.deepEqual(await new JsonSchemaSerde({ registry: r.url }).deserialize(bytes), { home: { city: 'Oslo' } })
  })
})
