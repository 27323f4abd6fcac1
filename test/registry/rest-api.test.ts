import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type MemoryRegistry, startMemoryRegistry, userV1, userV2 } from './helpers.ts'

describe('registry REST API (Confluent-compatible)', () => {
  let r: MemoryRegistry
  before(async () => {
    r = await startMemoryRegistry()
  })
  after(async () => {
    await r.close()
  })

  it('answers /schemas/types and an empty subject list', async () => {
    const types = await r.call('GET', '/schemas/types')
    assert.equal(types.status, 200)
    assert.deepEqual([...types.body].sort(), ['AVRO', 'JSON', 'PROTOBUF'])
    assert.match(types.contentType ?? '', /application\/vnd\.schemaregistry\.v1\+json/)
    assert.deepEqual((await r.call('GET', '/subjects')).body, [])
  })

  it('registers, shares ids for identical schemas, and looks up', async () => {
    const first = await r.call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(userV1) })
    assert.equal(first.status, 200)
    assert.equal(typeof first.body.id, 'number')
    const again = await r.call('POST', '/subjects/users-value/versions', {
      schema: JSON.stringify(userV1, null, 2),
    })
    assert.equal(again.body.id, first.body.id, 're-registering the same schema returns the same id')
    const other = await r.call('POST', '/subjects/other-value/versions', { schema: JSON.stringify(userV1) })
    assert.equal(other.body.id, first.body.id, 'identical schemas share one id across subjects')
    assert.deepEqual((await r.call('GET', '/subjects/users-value/versions')).body, [1])

    const byId = await r.call('GET', `/schemas/ids/${first.body.id}`)
    assert.equal(byId.status, 200)
    assert.deepEqual(JSON.parse(byId.body.schema), userV1)
    assert.equal(byId.body.schemaType, undefined, 'AVRO is the default and omitted like Confluent')
    assert.deepEqual((await r.call('GET', `/schemas/ids/${first.body.id}/schema`)).body, userV1)
    assert.deepEqual((await r.call('GET', `/schemas/ids/${first.body.id}/subjects`)).body, [
      'other-value',
      'users-value',
    ])
    assert.deepEqual((await r.call('GET', `/schemas/ids/${first.body.id}/versions`)).body, [
      { subject: 'other-value', version: 1 },
      { subject: 'users-value', version: 1 },
    ])

    const lookup = await r.call('POST', '/subjects/users-value', { schema: JSON.stringify(userV1) })
    assert.equal(lookup.status, 200)
    assert.equal(lookup.body.subject, 'users-value')
    assert.equal(lookup.body.version, 1)
    assert.equal(lookup.body.id, first.body.id)

    const v2 = await r.call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(userV2) })
    assert.equal(v2.status, 200)
    assert.notEqual(v2.body.id, first.body.id)
    const latest = await r.call('GET', '/subjects/users-value/versions/latest')
    assert.equal(latest.body.version, 2)
    assert.equal(latest.body.id, v2.body.id)
    assert.deepEqual((await r.call('GET', '/subjects/users-value/versions/2/schema')).body, userV2)
    assert.deepEqual((await r.call('GET', '/subjects/users-value/versions/-1')).body.version, 2)
  })

  it('rejects incompatible schemas with 409 and the reason per path', async () => {
    const bad = {
      ...userV1,
      fields: [...userV1.fields, { name: 'age', type: 'int' }],
    }
    const res = await r.call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(bad) })
    assert.equal(res.status, 409)
    assert.equal(res.body.error_code, 409)
    assert.match(res.body.message, /READER_FIELD_MISSING_DEFAULT_VALUE/)
    assert.match(res.body.message, /\/fields\/2/)

    const verbose = await r.call('POST', '/compatibility/subjects/users-value/versions/latest?verbose=true', {
      schema: JSON.stringify(bad),
    })
    assert.equal(verbose.status, 200)
    assert.equal(verbose.body.is_compatible, false)
    assert.ok(verbose.body.messages.some((m: string) => m.includes("errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")))
    const ok = await r.call('POST', '/compatibility/subjects/users-value/versions/1', {
      schema: JSON.stringify(userV2),
    })
    assert.deepEqual(ok.body, { is_compatible: true })
  })

  it('uses Confluent error codes', async () => {
    const cases: [string, string, unknown, number, number][] = [
      ['GET', '/subjects/nope/versions', undefined, 404, 40401],
      ['GET', '/subjects/users-value/versions/99', undefined, 404, 40402],
      ['GET', '/schemas/ids/9999', undefined, 404, 40403],
      ['POST', '/subjects/users-value', { schema: '{"type":"string"}' }, 404, 40403],
      ['POST', '/subjects/x/versions', { schema: '{"type":"record"}' }, 422, 42201],
      ['POST', '/subjects/x/versions', { schema: '{not json' }, 422, 42201],
      ['GET', '/subjects/users-value/versions/abc', undefined, 422, 42202],
      ['GET', '/subjects/users-value/versions/0', undefined, 422, 42202],
      ['PUT', '/config', { compatibility: 'SIDEWAYS' }, 422, 42203],
      ['GET', '/config/users-value', undefined, 404, 40408],
    ]
    for (const [method, path, body, status, code] of cases) {
      const res = await r.call(method, path, body)
      assert.equal(res.status, status, `${method} ${path}`)
      assert.equal(res.body.error_code, code, `${method} ${path}: ${JSON.stringify(res.body)}`)
      assert.equal(typeof res.body.message, 'string')
    }
  })

  it('manages global and per-subject compatibility', async () => {
    assert.deepEqual((await r.call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' })
    assert.deepEqual((await r.call('PUT', '/config/users-value', { compatibility: 'none' })).body, {
      compatibility: 'NONE',
    })
    assert.deepEqual((await r.call('GET', '/config/users-value')).body, { compatibilityLevel: 'NONE' })
    assert.deepEqual((await r.call('GET', '/config/other-value?defaultToGlobal=true')).body, {
      compatibilityLevel: 'BACKWARD',
    })
    const incompatible = {
      type: 'record',
      name: 'User',
      namespace: 'com.example',
      fields: [{ name: 'x', type: 'int' }],
    }
    const res = await r.call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(incompatible) })
    assert.equal(res.status, 200, 'NONE accepts anything')
    assert.deepEqual((await r.call('DELETE', '/config/users-value')).body, { compatibilityLevel: 'NONE' })
    assert.equal((await r.call('GET', '/config/users-value')).body.error_code, 40408)
    assert.deepEqual(
      r.changes.events
        .filter((e) => e.type === 'config')
        .map((e) => (e as { compatibilityLevel: unknown }).compatibilityLevel),
      ['NONE', null],
    )
  })

  it('soft and permanent deletes with deleted=true views', async () => {
    await r.call('POST', '/subjects/del-value/versions', { schema: '"string"' })
    await r.call('PUT', '/config/del-value', { compatibility: 'NONE' })
    await r.call('POST', '/subjects/del-value/versions', { schema: '"int"' })
    assert.equal((await r.call('DELETE', '/subjects/del-value/versions/2?permanent=true')).body.error_code, 40407)
    assert.equal((await r.call('DELETE', '/subjects/del-value/versions/2')).body, 2)
    assert.equal((await r.call('DELETE', '/subjects/del-value/versions/2')).body.error_code, 40406)
    assert.deepEqual((await r.call('GET', '/subjects/del-value/versions')).body, [1])
    assert.deepEqual((await r.call('GET', '/subjects/del-value/versions?deleted=true')).body, [1, 2])
    assert.equal((await r.call('GET', '/subjects/del-value/versions/2')).body.error_code, 40402)
    assert.equal((await r.call('GET', '/subjects/del-value/versions/2?deleted=true')).body.version, 2)
    assert.equal((await r.call('DELETE', '/subjects/del-value?permanent=true')).body.error_code, 40405)
    assert.deepEqual((await r.call('DELETE', '/subjects/del-value')).body, [1])
    assert.equal((await r.call('DELETE', '/subjects/del-value')).body.error_code, 40404)
    assert.ok(!(await r.call('GET', '/subjects')).body.includes('del-value'))
    assert.ok((await r.call('GET', '/subjects?deleted=true')).body.includes('del-value'))
    assert.deepEqual((await r.call('DELETE', '/subjects/del-value?permanent=true')).body, [1, 2])
    assert.ok(!(await r.call('GET', '/subjects?deleted=true')).body.includes('del-value'))
    assert.equal((await r.call('GET', '/subjects/del-value/versions')).body.error_code, 40401)
    const deletes = r.changes.events.filter((e) => e.type === 'delete' && e.subject === 'del-value')
    assert.equal(deletes.length, 4)
  })

  it('supports references and referencedby', async () => {
    const address = {
      type: 'record',
      name: 'Address',
      namespace: 'com.example',
      fields: [{ name: 'city', type: 'string' }],
    }
    const a = await r.call('POST', '/subjects/address/versions', { schema: JSON.stringify(address) })
    assert.equal(a.status, 200)
    const person = {
      type: 'record',
      name: 'Person',
      namespace: 'com.example',
      fields: [{ name: 'home', type: 'com.example.Address' }],
    }
    const refs = [{ name: 'com.example.Address', subject: 'address', version: 1 }]
    const p = await r.call('POST', '/subjects/person-value/versions', {
      schema: JSON.stringify(person),
      references: refs,
    })
    assert.equal(p.status, 200, JSON.stringify(p.body))
    assert.deepEqual((await r.call('GET', `/schemas/ids/${p.body.id}`)).body.references, refs)
    assert.deepEqual((await r.call('GET', '/subjects/address/versions/1/referencedby')).body, [p.body.id])
    const del = await r.call('DELETE', '/subjects/address/versions/1')
    assert.equal(del.status, 422)
    assert.equal(del.body.error_code, 42206)
    const missing = await r.call('POST', '/subjects/person2/versions', { schema: JSON.stringify(person) })
    assert.equal(missing.body.error_code, 42201, 'an unresolved named type is an invalid schema')
  })

  it('handles modes', async () => {
    assert.deepEqual((await r.call('GET', '/mode')).body, { mode: 'READWRITE' })
    assert.deepEqual((await r.call('PUT', '/mode/ro-value', { mode: 'READONLY' })).body, { mode: 'READONLY' })
    const res = await r.call('POST', '/subjects/ro-value/versions', { schema: '"string"' })
    assert.equal(res.status, 422)
    assert.equal(res.body.error_code, 42205)
    assert.deepEqual((await r.call('DELETE', '/mode/ro-value')).body, { mode: 'READONLY' })
    assert.equal((await r.call('POST', '/subjects/ro-value/versions', { schema: '"string"' })).status, 200)
    assert.equal((await r.call('PUT', '/mode', { mode: 'BOGUS' })).body.error_code, 42204)
  })

  it('IMPORT mode keeps the ids and versions of copied schemas', async () => {
    const refused = await r.call('PUT', '/mode', { mode: 'IMPORT' })
    assert.equal(refused.body.error_code, 42205, 'a non-empty registry needs force=true')
    assert.deepEqual((await r.call('PUT', '/mode/imported?force=true', { mode: 'IMPORT' })).body, { mode: 'IMPORT' })
    const res = await r.call('POST', '/subjects/imported/versions', { schema: '"float"', id: 500, version: 7 })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.id, 500)
    assert.deepEqual((await r.call('GET', '/subjects/imported/versions')).body, [7])
    const clash = await r.call('POST', '/subjects/imported/versions', { schema: '"double"', id: 500, version: 8 })
    assert.equal(clash.body.error_code, 42205, 'an id already holding another schema cannot be overwritten')
    await r.call('DELETE', '/mode/imported')
    const next = await r.call('POST', '/subjects/fresh-after-import/versions', { schema: '"null"' })
    assert.ok(next.body.id > 500, 'new ids continue after imported ones')
  })

  it('normalizes on request so equivalent schemas match', async () => {
    const a = { type: 'record', name: 'N', namespace: 'ns', fields: [{ name: 'f', type: { type: 'int' } }] }
    const b = { namespace: 'ns', name: 'N', type: 'record', fields: [{ type: 'int', name: 'f' }] }
    const first = await r.call('POST', '/subjects/norm/versions?normalize=true', { schema: JSON.stringify(a) })
    const second = await r.call('POST', '/subjects/norm/versions?normalize=true', { schema: JSON.stringify(b) })
    assert.equal(second.body.id, first.body.id)
    assert.deepEqual((await r.call('GET', '/subjects/norm/versions')).body, [1])
    const lookup = await r.call('POST', '/subjects/norm?normalize=true', { schema: JSON.stringify(b) })
    assert.equal(lookup.body.version, 1)
  })

  it('exposes Prometheus metrics', async () => {
    const res = await fetch(`${r.url}/metrics`)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    const text = await res.text()
    assert.match(
      text,
      /tributary_registry_requests_total\{method="POST",route="\/subjects\/:subject\/versions",status="200"\} \d+/,
    )
    assert.match(
      text,
      /tributary_registry_requests_total\{method="POST",route="\/subjects\/:subject\/versions",status="409"\} \d+/,
    )
    assert.match(text, /tributary_registry_subjects [1-9]\d*/)
    assert.match(text, /tributary_registry_log_offset \d+/)
  })

  it('answers unknown routes and malformed bodies with an error body', async () => {
    const res = await r.call('GET', '/nope')
    assert.equal(res.status, 404)
    assert.equal(res.body.error_code, 404)
    const bad = await r.call('POST', '/subjects/x/versions', '{oops')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error_code, 400)
  })
})
