import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCompatibility } from '../../src/registry/compatibility.ts'
import { jsonSchemaFormat } from '../../src/registry/formats/json-schema.ts'
import { protobufFormat } from '../../src/registry/formats/protobuf.ts'

const json = (schema: unknown) =>
  jsonSchemaFormat.parse({ schemaType: 'JSON', schema: JSON.stringify(schema), references: [] }, [])
/** Incompatibility types for BACKWARD: `next` (reader) must accept everything `prev` (writer) accepted. */
const jsonBackward = (next: unknown, prev: unknown) => jsonSchemaFormat.check(json(next), json(prev)).map((i) => i.type)

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
})

describe('JSON Schema compatibility (Confluent rules)', () => {
  it('parses drafts 7, 2019-09 and 2020-12 and rejects invalid schemas', () => {
    for (const uri of [
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2019-09/schema',
      'https://json-schema.org/draft/2020-12/schema',
    ]) {
      assert.ok(json({ $schema: uri, type: 'object', properties: { a: { type: 'string' } } }))
    }
    assert.throws(() => json({ type: 'object', properties: { a: { type: 42 } } }), { errorCode: 42201 })
    const draft4 = json({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      properties: { a: { type: 'string' } },
    })
    assert.ok(draft4, 'older drafts that clients still emit are accepted')
  })

  it('open content model: adding a typed property is incompatible, removing one is fine', () => {
    assert.deepEqual(
      jsonBackward(obj({ a: { type: 'string' }, b: { type: 'string' } }), obj({ a: { type: 'string' } })),
      ['PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL'],
    )
    assert.deepEqual(jsonBackward(obj({ a: { type: 'string' }, b: {} }), obj({ a: { type: 'string' } })), [])
    assert.deepEqual(jsonBackward(obj({}), obj({ a: { type: 'string' } })), [])
  })

  it('closed content model: adding optional properties is fine, removing is not', () => {
    const closed = (p: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      obj(p, { additionalProperties: false, ...extra })
    assert.deepEqual(
      jsonBackward(closed({ a: { type: 'string' }, b: { type: 'string' } }), closed({ a: { type: 'string' } })),
      [],
    )
    assert.deepEqual(
      jsonBackward(
        closed({ a: { type: 'string' }, b: { type: 'string' } }, { required: ['b'] }),
        closed({ a: { type: 'string' } }),
      ),
      ['REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', 'REQUIRED_ATTRIBUTE_ADDED'],
    )
    assert.deepEqual(jsonBackward(closed({}), closed({ a: { type: 'string' } })), [
      'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
    ])
    assert.deepEqual(jsonBackward(closed({ a: { type: 'string' } }), obj({ a: { type: 'string' } })), [
      'ADDITIONAL_PROPERTIES_REMOVED',
    ])
  })

  it('partially open content model: added property must be covered by additionalProperties', () => {
    const partial = (p: Record<string, unknown>) => obj(p, { additionalProperties: { type: 'string' } })
    assert.deepEqual(
      jsonBackward(partial({ a: { type: 'string' }, b: { type: 'string' } }), partial({ a: { type: 'string' } })),
      [],
    )
    assert.deepEqual(
      jsonBackward(partial({ a: { type: 'string' }, b: { type: 'integer' } }), partial({ a: { type: 'string' } })),
      ['PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'],
    )
  })

  it('types may widen (integer → number, adding a type) but not narrow or change', () => {
    assert.deepEqual(jsonBackward({ type: 'number' }, { type: 'integer' }), [])
    assert.deepEqual(jsonBackward({ type: ['string', 'null'] }, { type: 'string' }), [])
    assert.deepEqual(jsonBackward({ type: 'integer' }, { type: 'number' }), ['TYPE_CHANGED'])
    assert.deepEqual(jsonBackward({ type: 'string' }, { type: ['string', 'null'] }), ['TYPE_NARROWED'])
    assert.deepEqual(jsonBackward({ type: 'string' }, { type: 'integer' }), ['TYPE_CHANGED'])
  })

  it('required, enum and bounds may relax but not tighten', () => {
    const base = obj({ a: { type: 'string' } }, { required: ['a'] })
    assert.deepEqual(jsonBackward(obj({ a: { type: 'string' } }), base), [])
    assert.deepEqual(jsonBackward(base, obj({ a: { type: 'string' } })), ['REQUIRED_ATTRIBUTE_ADDED'])
    assert.deepEqual(jsonBackward({ enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] }), [])
    assert.deepEqual(jsonBackward({ enum: ['a'] }, { enum: ['a', 'b'] }), ['ENUM_ARRAY_NARROWED'])
    assert.deepEqual(jsonBackward({ type: 'string', maxLength: 20 }, { type: 'string', maxLength: 10 }), [])
    assert.deepEqual(jsonBackward({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 }), [
      'MAX_LENGTH_DECREASED',
    ])
    assert.deepEqual(jsonBackward({ type: 'integer', minimum: 5 }, { type: 'integer' }), ['MINIMUM_ADDED'])
    assert.deepEqual(jsonBackward({ type: 'integer' }, { type: 'integer', minimum: 5 }), [])
    assert.deepEqual(jsonBackward({ type: 'string', pattern: '^a' }, { type: 'string' }), ['PATTERN_ADDED'])
    assert.deepEqual(
      jsonBackward({ type: 'array', items: { type: 'number' } }, { type: 'array', items: { type: 'integer' } }),
      [],
    )
    assert.deepEqual(
      jsonBackward({ type: 'array', items: { type: 'integer' } }, { type: 'array', items: { type: 'number' } }),
      ['TYPE_CHANGED'],
    )
  })

  it('sum types: widening oneOf is fine, narrowing is not; $ref is followed', () => {
    assert.deepEqual(jsonBackward({ oneOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'string' }), [])
    assert.deepEqual(
      jsonBackward({ oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { type: 'integer' }] }),
      ['SUM_TYPE_NARROWED'],
    )
    const withRef = (t: string) => ({
      definitions: { V: { type: t } },
      type: 'object',
      properties: { v: { $ref: '#/definitions/V' } },
    })
    assert.deepEqual(jsonBackward(withRef('number'), withRef('integer')), [])
    assert.deepEqual(jsonBackward(withRef('string'), withRef('integer')), ['TYPE_CHANGED'])
  })

  it('transitive levels compare with every earlier version', () => {
    const closed = (p: Record<string, unknown>) => obj(p, { additionalProperties: false })
    const v1 = json(closed({ a: { type: 'integer' } }))
    const v2 = json(closed({}))
    const v3 = json(closed({ a: { type: 'string' } }))
    const history = [
      { version: 1, parsed: v1 },
      { version: 2, parsed: v2 },
    ]
    // v3 re-adds `a` as a string: fine against v2 (optional property added to a closed model), not against v1.
    assert.equal(checkCompatibility(jsonSchemaFormat, 'BACKWARD', v3, history).compatible, true)
    const t = checkCompatibility(jsonSchemaFormat, 'BACKWARD_TRANSITIVE', v3, history)
    assert.deepEqual(
      t.incompatibilities.map((i) => [i.version, i.type]),
      [[1, 'TYPE_CHANGED']],
    )
  })

  it('applies levels the same way as Avro (FORWARD swaps reader and writer)', () => {
    const prev = [{ version: 1, parsed: json(obj({ a: { type: 'string' } }, { additionalProperties: false })) }]
    const added = json(obj({ a: { type: 'string' }, b: { type: 'string' } }, { additionalProperties: false }))
    assert.equal(checkCompatibility(jsonSchemaFormat, 'BACKWARD', added, prev).compatible, true)
    assert.equal(checkCompatibility(jsonSchemaFormat, 'FORWARD', added, prev).compatible, false)
    assert.equal(checkCompatibility(jsonSchemaFormat, 'FULL', added, prev).compatible, false)
  })
})

const proto = (text: string) => protobufFormat.parse({ schemaType: 'PROTOBUF', schema: text, references: [] }, [])
const protoBackward = (next: string, prev: string) => protobufFormat.check(proto(next), proto(prev)).map((i) => i.type)
const file = (body: string, pkg = 'acme') => `syntax = "proto3";\npackage ${pkg};\n${body}`

describe('Protobuf compatibility (Confluent rules)', () => {
  const base = file('message Order { string id = 1; int32 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }')

  it('adding and removing fields, renaming fields and adding messages are compatible', () => {
    assert.deepEqual(
      protoBackward(
        file(
          'message Order { string id = 1; int32 qty = 2; Item item = 3; string note = 4; }\nmessage Item { string sku = 1; }',
        ),
        base,
      ),
      [],
    )
    assert.deepEqual(
      protoBackward(file('message Order { string id = 1; Item item = 3; }\nmessage Item { string sku = 1; }'), base),
      [],
    )
    assert.deepEqual(
      protoBackward(
        file('message Order { string ident = 1; int32 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      [],
    )
    assert.deepEqual(protoBackward(`${base}\nmessage Extra { bool flag = 1; }`, base), [])
  })

  it('wire-compatible scalar changes pass; others fail', () => {
    assert.deepEqual(
      protoBackward(
        file('message Order { string id = 1; int64 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      [],
    )
    assert.deepEqual(
      protoBackward(
        file('message Order { bytes id = 1; int32 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      [],
    )
    assert.deepEqual(
      protoBackward(
        file('message Order { string id = 1; string qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      ['FIELD_SCALAR_KIND_CHANGED'],
    )
    assert.deepEqual(
      protoBackward(
        file('message Order { string id = 1; sint32 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      ['FIELD_SCALAR_KIND_CHANGED'],
    )
  })

  it('kind changes, message type changes, removed messages and package changes fail', () => {
    assert.deepEqual(
      protoBackward(
        file('message Order { Item id = 1; int32 qty = 2; Item item = 3; }\nmessage Item { string sku = 1; }'),
        base,
      ),
      ['FIELD_KIND_CHANGED'],
    )
    assert.deepEqual(
      protoBackward(
        file(
          'message Order { string id = 1; int32 qty = 2; Other item = 3; }\nmessage Item { string sku = 1; }\nmessage Other { string sku = 1; }',
        ),
        base,
      ),
      ['FIELD_NAMED_TYPE_CHANGED'],
    )
    assert.deepEqual(protoBackward(file('message Order { string id = 1; int32 qty = 2; }'), base), ['MESSAGE_REMOVED'])
    assert.deepEqual(protoBackward(base.replace('package acme', 'package other'), base), ['PACKAGE_CHANGED'])
  })

  it('oneof restructuring and proto2 required fields fail', () => {
    const two = file('message M { string a = 1; string b = 2; }')
    assert.deepEqual(protoBackward(file('message M { oneof choice { string a = 1; string b = 2; } }'), two), [
      'MULTIPLE_FIELDS_MOVED_TO_ONEOF',
    ])
    assert.deepEqual(protoBackward(file('message M { oneof choice { string a = 1; } string b = 2; }'), two), [])
    assert.deepEqual(
      protoBackward(
        file('message M { oneof c { string a = 1; } }'),
        file('message M { oneof c { string a = 1; string b = 2; } }'),
      ),
      ['ONEOF_FIELD_REMOVED'],
    )
    const p2 = (body: string) => `syntax = "proto2";\npackage acme;\n${body}`
    assert.deepEqual(
      protoBackward(
        p2('message M { optional string a = 1; required string b = 2; }'),
        p2('message M { optional string a = 1; }'),
      ),
      ['REQUIRED_FIELD_ADDED'],
    )
    assert.deepEqual(
      protoBackward(
        p2('message M { optional string a = 1; }'),
        p2('message M { optional string a = 1; required string b = 2; }'),
      ),
      ['REQUIRED_FIELD_REMOVED'],
    )
  })

  it('transitive levels compare with every earlier version', () => {
    const v1 = proto(file('message M { int32 a = 1; }'))
    const v2 = proto(file('message M { }'))
    const v3 = proto(file('message M { string a = 1; }'))
    const history = [
      { version: 1, parsed: v1 },
      { version: 2, parsed: v2 },
    ]
    assert.equal(checkCompatibility(protobufFormat, 'BACKWARD', v3, history).compatible, true)
    const t = checkCompatibility(protobufFormat, 'BACKWARD_TRANSITIVE', v3, history)
    assert.deepEqual(
      t.incompatibilities.map((i) => [i.version, i.type]),
      [[1, 'FIELD_SCALAR_KIND_CHANGED']],
    )
    assert.equal(checkCompatibility(protobufFormat, 'FULL_TRANSITIVE', v3, history).compatible, false)
  })

  it('rejects invalid .proto text', () => {
    assert.throws(() => proto('syntax = "proto3"; message { }'), { errorCode: 42201 })
    assert.throws(() => proto(file('message M { Missing m = 1; }')), { errorCode: 42201 })
  })
})
