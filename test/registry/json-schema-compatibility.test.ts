import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCompatibility } from '../../src/registry/compatibility.ts'
import { jsonSchemaFormat } from '../../src/serde/formats/json-schema.ts'

// Each case is a change from `prev` to `next` checked BACKWARD (the new schema must accept what the old one
// accepted), with the answer Confluent's registry gives: the incompatible differences it reports, or [] when the
// change is compatible. Confluent compares schemas as the everit library loads them (see json-schema-model.ts).

const json = (schema: unknown) =>
  jsonSchemaFormat.parse({ schemaType: 'JSON', schema: JSON.stringify(schema), references: [] }, [])
const breaks = (prev: unknown, next: unknown) =>
  jsonSchemaFormat.check(json(next), json(prev)).map((i) => `${i.type} ${i.path}`)

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
})
const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  obj(properties, { additionalProperties: false, ...extra })
const S = { type: 'string' }
const I = { type: 'integer' }
const N = { type: 'number' }

describe('JSON Schema compatibility: not, allOf, anyOf, oneOf', () => {
  it('not: excluding less is compatible, excluding more is not', () => {
    assert.deepEqual(breaks({ not: { type: ['string', 'number'] } }, { not: S }), [])
    assert.deepEqual(breaks({ not: S }, { not: { type: ['string', 'number'] } }), ['NOT_TYPE_EXTENDED #/not'])
    // A `not` added beside a type makes an allOf of both, which a plain type never matches.
    assert.deepEqual(breaks(S, { type: 'string', not: { const: 'x' } }), ['TYPE_CHANGED #/'])
  })

  it('allOf: fewer subschemas is compatible, more is not', () => {
    assert.deepEqual(breaks({ allOf: [S, { maxLength: 5 }] }, { allOf: [S] }), [])
    assert.deepEqual(breaks({ allOf: [S] }, { allOf: [S, { maxLength: 5 }] }), ['PRODUCT_TYPE_EXTENDED #/'])
    // Dropping allOf for one of its parts narrows the product: compatible.
    assert.deepEqual(breaks({ allOf: [S, { maxLength: 5 }] }, S), [])
  })

  it('anyOf/oneOf: more branches is compatible, fewer is not, a changed branch is not', () => {
    assert.deepEqual(breaks({ oneOf: [S, I] }, { oneOf: [S, I, { type: 'boolean' }] }), [])
    assert.deepEqual(breaks({ anyOf: [S, I] }, { anyOf: [S] }), ['SUM_TYPE_NARROWED #/'])
    assert.deepEqual(breaks({ oneOf: [S, I] }, { oneOf: [S, { type: 'boolean' }] }), [
      'COMBINED_TYPE_SUBSCHEMAS_CHANGED #/',
    ])
    // A branch may widen in place (integer → number).
    assert.deepEqual(breaks({ oneOf: [S, I] }, { oneOf: [N, S] }), [])
    // Equal branches count once.
    assert.deepEqual(breaks({ anyOf: [S, S, I] }, { anyOf: [S, I] }), [])
  })

  it('changing the keyword: toward anyOf is compatible; anyOf → oneOf or anyOf → allOf is not', () => {
    assert.deepEqual(breaks({ oneOf: [S, I] }, { anyOf: [S, I] }), [])
    assert.deepEqual(breaks({ allOf: [S, { maxLength: 3 }] }, { anyOf: [S, { maxLength: 3 }] }), [])
    assert.deepEqual(breaks({ anyOf: [S, I] }, { oneOf: [S, I] }), ['COMBINED_TYPE_CHANGED #/'])
    assert.deepEqual(breaks({ anyOf: [S, I] }, { allOf: [S, I] }), ['COMBINED_TYPE_CHANGED #/'])
    // With one subschema the keywords mean the same.
    assert.deepEqual(breaks({ anyOf: [S] }, { allOf: [S] }), [])
  })

  it('a plain schema may become a union that contains it, and not the other way round', () => {
    assert.deepEqual(breaks(S, { oneOf: [I, S] }), [])
    assert.deepEqual(breaks(S, { type: ['string', 'null'] }), [])
    assert.deepEqual(breaks(S, { oneOf: [I, { type: 'boolean' }] }), ['TYPE_CHANGED #/'])
    assert.deepEqual(breaks({ type: ['string', 'null'] }, S), ['TYPE_CHANGED #/'])
    assert.deepEqual(breaks({ anyOf: [S, I] }, S), ['TYPE_CHANGED #/'])
  })
})

describe('JSON Schema compatibility: enum and const', () => {
  it('values may be added, not removed or replaced', () => {
    assert.deepEqual(breaks({ enum: ['a', 'b'] }, { enum: ['a', 'b', 'c'] }), [])
    assert.deepEqual(breaks({ enum: ['a', 'b'] }, { enum: ['a'] }), ['ENUM_ARRAY_NARROWED #/enum'])
    assert.deepEqual(breaks({ enum: ['a', 'b'] }, { enum: ['a', 'c'] }), ['ENUM_ARRAY_CHANGED #/enum'])
    assert.deepEqual(breaks({ const: 'a' }, { const: 'b' }), ['ENUM_ARRAY_CHANGED #/const'])
  })

  it('an enum beside a type is an allOf of both: narrowing it breaks the match of subschemas', () => {
    const e = (values: string[]) => ({ type: 'string', enum: values })
    assert.deepEqual(breaks(e(['a']), e(['a', 'b'])), [])
    assert.deepEqual(breaks(e(['a', 'b']), e(['a'])), ['COMBINED_TYPE_SUBSCHEMAS_CHANGED #/'])
    // Dropping the enum is compatible; adding one to a plain string is not.
    assert.deepEqual(breaks(e(['a']), S), [])
    assert.deepEqual(breaks(S, e(['a'])), ['TYPE_CHANGED #/'])
  })
})

describe('JSON Schema compatibility: open, closed and partially open content models', () => {
  it('open model (no additionalProperties): adding a constrained property is incompatible, removing is fine', () => {
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: S, b: S })), [
      'OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b',
    ])
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: S, b: S }, { required: ['b'] })), [
      'REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b',
    ])
    // Even with a default: the old schema let `b` hold anything.
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: S, b: { ...S, default: '' } }, { required: ['b'] })), [
      'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b',
    ])
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: S, b: {} })), [])
    assert.deepEqual(breaks(obj({ a: S, b: S }), obj({ a: S })), [])
  })

  it('closed model (additionalProperties: false): adding optional properties is fine, removing is not', () => {
    assert.deepEqual(breaks(closed({ a: S }), closed({ a: S, b: S })), [])
    assert.deepEqual(breaks(closed({ a: S }), closed({ a: S, b: S }, { required: ['b'] })), [
      'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/b',
    ])
    assert.deepEqual(breaks(closed({ a: S }), closed({ a: S, b: { ...S, default: 'x' } }, { required: ['b'] })), [])
    assert.deepEqual(breaks(closed({ a: S, b: S }), closed({ a: S })), [
      'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/b',
    ])
    // A property that could never be present may go.
    assert.deepEqual(breaks(closed({ a: S, b: false }), closed({ a: S })), [])
  })

  it('opening a closed model is compatible, closing an open one is not', () => {
    assert.deepEqual(breaks(closed({ a: S }), obj({ a: S })), [])
    assert.deepEqual(breaks(obj({ a: S }), closed({ a: S })), ['ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties'])
    assert.deepEqual(breaks(obj({ a: S }, { additionalProperties: true }), closed({ a: S })), [
      'ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties',
    ])
  })

  it('additionalProperties as a schema: adding it narrows, removing it extends, changing it is compared', () => {
    assert.deepEqual(breaks(obj({}), obj({}, { additionalProperties: S })), [
      'ADDITIONAL_PROPERTIES_NARROWED #/additionalProperties',
    ])
    assert.deepEqual(breaks(obj({}, { additionalProperties: S }), obj({})), [])
    assert.deepEqual(breaks(obj({}, { additionalProperties: I }), obj({}, { additionalProperties: N })), [])
    assert.deepEqual(breaks(obj({}, { additionalProperties: S }), obj({}, { additionalProperties: I })), [
      'TYPE_CHANGED #/additionalProperties',
    ])
  })

  it('partially open model: a property added or removed must be covered by additionalProperties', () => {
    const partial = (p: Record<string, unknown>) => obj(p, { additionalProperties: S })
    assert.deepEqual(breaks(partial({ a: S }), partial({ a: S, b: S })), [])
    assert.deepEqual(breaks(partial({ a: S }), partial({ a: S, b: I })), [
      'TYPE_CHANGED #/properties/b',
      'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b',
    ])
    assert.deepEqual(breaks(partial({ a: S, b: { type: 'string', maxLength: 3 } }), partial({ a: S })), [])
    assert.deepEqual(breaks(partial({ a: S, b: I }), partial({ a: S })), [
      'TYPE_CHANGED #/properties/b',
      'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b',
    ])
    // `additionalProperties: {}` is a schema too: the model is partially open, and `{}` does not cover a string.
    assert.deepEqual(breaks(obj({}, { additionalProperties: {} }), obj({ b: S }, { additionalProperties: {} })), [
      'TYPE_CHANGED #/properties/b',
      'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/b',
    ])
  })

  it('partially open model through patternProperties: the first matching pattern covers a property', () => {
    const pp = (p: Record<string, unknown>) => closed(p, { patternProperties: { '^n_': I, '^s_': S } })
    assert.deepEqual(breaks(pp({}), pp({ n_count: N })), [])
    assert.deepEqual(breaks(pp({}), pp({ n_count: { ...I, maximum: 9 } })), [
      'MAXIMUM_ADDED #/properties/n_count/maximum',
      'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/n_count',
    ])
    assert.deepEqual(breaks(pp({}), pp({ s_name: I })), [
      'TYPE_CHANGED #/properties/s_name',
      'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/s_name',
    ])
    // Not matched by a pattern, with additionalProperties false: a closed model for that name.
    assert.deepEqual(breaks(pp({ other: S }), pp({})), [
      'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/other',
    ])
  })

  it('required: a property may stop being required; becoming required needs a default', () => {
    assert.deepEqual(breaks(obj({ a: S }, { required: ['a'] }), obj({ a: S })), [])
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: S }, { required: ['a'] })), [
      'REQUIRED_ATTRIBUTE_ADDED #/required/a',
    ])
    assert.deepEqual(breaks(obj({ a: S }), obj({ a: { ...S, default: '' } }, { required: ['a'] })), [])
  })

  it('draft 2020-12: unevaluatedProperties closes or partially opens a model like additionalProperties', () => {
    const d = (extra: Record<string, unknown>) => ({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { a: S },
      ...extra,
    })
    assert.deepEqual(breaks(d({}), d({ unevaluatedProperties: false })), [
      'UNEVALUATED_PROPERTIES_REMOVED #/unevaluatedProperties',
    ])
    assert.deepEqual(breaks(d({ unevaluatedProperties: false }), d({})), [])
    assert.deepEqual(
      breaks(d({ unevaluatedProperties: S }), d({ unevaluatedProperties: S, properties: { a: S, b: S } })),
      [],
    )
  })
})

describe('JSON Schema compatibility: array items and additionalItems', () => {
  const arr = (extra: Record<string, unknown>) => ({ type: 'array', ...extra })

  it('items as one schema: adding it is incompatible, removing it is fine, changing it is compared', () => {
    assert.deepEqual(breaks(arr({}), arr({ items: S })), ['SCHEMA_ADDED #/items'])
    assert.deepEqual(breaks(arr({ items: S }), arr({})), [])
    assert.deepEqual(breaks(arr({ items: I }), arr({ items: N })), [])
    assert.deepEqual(breaks(arr({ items: N }), arr({ items: I })), ['TYPE_NARROWED #/items'])
  })

  it('tuples without additionalItems are open: items may be removed, typed items not added', () => {
    assert.deepEqual(breaks(arr({ items: [S, I] }), arr({ items: [S] })), [])
    assert.deepEqual(breaks(arr({ items: [S] }), arr({ items: [S, I] })), [
      'ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1',
    ])
    assert.deepEqual(breaks(arr({ items: [S] }), arr({ items: [S, {}] })), [])
    assert.deepEqual(breaks(arr({ items: [S, I] }), arr({ items: [S, S] })), ['TYPE_CHANGED #/items/1'])
  })

  it('closed tuples (additionalItems: false): items may be added, not removed', () => {
    const c = (items: unknown[]) => arr({ items, additionalItems: false })
    assert.deepEqual(breaks(c([S]), c([S, I])), [])
    assert.deepEqual(breaks(c([S, I]), c([S])), ['ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1'])
    assert.deepEqual(breaks(c([S, false]), c([S])), [])
  })

  it('partially open tuples: additionalItems must cover an item added or removed', () => {
    const p = (items: unknown[]) => arr({ items, additionalItems: I })
    assert.deepEqual(breaks(p([S]), p([S, N])), [])
    assert.deepEqual(breaks(p([S]), p([S, S])), [
      'TYPE_CHANGED #/items/1',
      'ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1',
    ])
    assert.deepEqual(breaks(p([S, I]), p([S])), [])
    assert.deepEqual(breaks(p([S, S]), p([S])), [
      'TYPE_CHANGED #/items/1',
      'ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1',
    ])
  })

  it('additionalItems: closing is incompatible, opening is fine, a schema narrows', () => {
    assert.deepEqual(breaks(arr({ items: [S] }), arr({ items: [S], additionalItems: false })), [
      'ADDITIONAL_ITEMS_REMOVED #/additionalItems',
    ])
    assert.deepEqual(breaks(arr({ items: [S], additionalItems: false }), arr({ items: [S] })), [])
    assert.deepEqual(breaks(arr({ items: [S] }), arr({ items: [S], additionalItems: S })), [
      'ADDITIONAL_ITEMS_NARROWED #/additionalItems',
    ])
    assert.deepEqual(breaks(arr({ items: [S], additionalItems: S }), arr({ items: [S], additionalItems: I })), [
      'TYPE_CHANGED #/additionalItems',
    ])
  })

  it('draft 2020-12: prefixItems and items follow the same rules as items and additionalItems', () => {
    const d = (extra: Record<string, unknown>) => ({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      ...extra,
    })
    assert.deepEqual(breaks(d({ prefixItems: [S] }), d({ prefixItems: [S, I] })), [
      'ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1',
    ])
    assert.deepEqual(breaks(d({ prefixItems: [S], items: false }), d({ prefixItems: [S, I], items: false })), [])
    assert.deepEqual(breaks(d({ prefixItems: [S] }), d({ prefixItems: [S], items: false })), [
      'ADDITIONAL_ITEMS_REMOVED #/additionalItems',
    ])
  })

  it('array limits may relax but not tighten', () => {
    assert.deepEqual(breaks(arr({ maxItems: 5 }), arr({ maxItems: 3 })), ['MAX_ITEMS_DECREASED #/maxItems'])
    assert.deepEqual(breaks(arr({ minItems: 1 }), arr({})), [])
    assert.deepEqual(breaks(arr({}), arr({ uniqueItems: true })), ['UNIQUE_ITEMS_ADDED #/uniqueItems'])
  })
})

describe('JSON Schema compatibility: types, limits and references', () => {
  it('integer may widen to number, not the reverse; other type changes are incompatible', () => {
    assert.deepEqual(breaks(I, N), [])
    assert.deepEqual(breaks(N, I), ['TYPE_NARROWED #/'])
    assert.deepEqual(breaks(S, I), ['TYPE_CHANGED #/'])
    assert.deepEqual(breaks(S, {}), [])
    assert.deepEqual(breaks(false, S), [])
  })

  it('string and number limits may relax but not tighten', () => {
    assert.deepEqual(breaks({ ...S, maxLength: 5 }, { ...S, maxLength: 3 }), ['MAX_LENGTH_DECREASED #/maxLength'])
    assert.deepEqual(breaks({ ...S, minLength: 1 }, S), [])
    assert.deepEqual(breaks(S, { ...S, pattern: '^a' }), ['PATTERN_ADDED #/pattern'])
    assert.deepEqual(breaks({ ...S, pattern: '^a' }, { ...S, pattern: '^b' }), ['PATTERN_CHANGED #/pattern'])
    assert.deepEqual(breaks({ ...N, minimum: 0 }, { ...N, minimum: 1 }), ['MINIMUM_INCREASED #/minimum'])
    assert.deepEqual(breaks({ ...N, multipleOf: 4 }, { ...N, multipleOf: 2 }), [])
    assert.deepEqual(breaks({ ...N, multipleOf: 2 }, { ...N, multipleOf: 4 }), ['MULTIPLE_OF_EXPANDED #/multipleOf'])
    assert.deepEqual(breaks({ ...N, multipleOf: 0.5 }, { ...N, multipleOf: 0.3 }), ['MULTIPLE_OF_CHANGED #/multipleOf'])
  })

  it('draft 7 loads a lone `format` as a string schema: adding one to an integer is a type change', () => {
    assert.deepEqual(breaks(I, { ...I, format: 'int64' }), ['TYPE_CHANGED #/'])
    assert.deepEqual(breaks({ ...I, format: 'int64' }, I), [])
  })

  it('follows $ref into definitions, including recursive ones', () => {
    const withDef = (t: unknown) => ({ definitions: { V: t }, ...obj({ v: { $ref: '#/definitions/V' } }) })
    assert.deepEqual(breaks(withDef(I), withDef(N)), [])
    assert.deepEqual(breaks(withDef(I), withDef(S)), ['TYPE_CHANGED #/properties/v'])
    const tree = (leaf: unknown) => ({
      $ref: '#/definitions/node',
      definitions: { node: obj({ value: leaf, children: { type: 'array', items: { $ref: '#/definitions/node' } } }) },
    })
    assert.deepEqual(breaks(tree(I), tree(N)), [])
    // The change shows where the definition is used and again where it recurses.
    assert.deepEqual(breaks(tree(N), tree(I)), [
      'TYPE_NARROWED #/properties/value',
      'TYPE_NARROWED #/properties/children/items/properties/value',
    ])
  })
})

describe('JSON Schema compatibility across references', () => {
  it('compares what a $ref to another subject resolves to', () => {
    const withRef = (money: unknown, version: number) =>
      jsonSchemaFormat.parse(
        {
          schemaType: 'JSON',
          schema: JSON.stringify(obj({ total: { $ref: 'money.json' } })),
          references: [{ name: 'money.json', subject: 'money', version }],
        },
        [{ name: 'money.json', subject: 'money', version, schemaType: 'JSON', schema: JSON.stringify(money) }],
      )
    const cents = (t: unknown) => obj({ cents: t })
    const check = (prev: ReturnType<typeof withRef>, next: ReturnType<typeof withRef>) =>
      jsonSchemaFormat.check(next, prev).map((i) => `${i.type} ${i.path}`)
    assert.deepEqual(check(withRef(cents(I), 1), withRef(cents(N), 2)), [])
    assert.deepEqual(check(withRef(cents(I), 1), withRef(cents(S), 2)), [
      'TYPE_CHANGED #/properties/total/properties/cents',
    ])
  })
})

describe('JSON Schema parsing and compatibility levels', () => {
  it('parses drafts 4, 6, 7, 2019-09 and 2020-12 and rejects invalid schemas', () => {
    for (const uri of [
      'http://json-schema.org/draft-04/schema#',
      'http://json-schema.org/draft-06/schema#',
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2019-09/schema',
      'https://json-schema.org/draft/2020-12/schema',
    ]) {
      assert.ok(json({ $schema: uri, type: 'object', properties: { a: { type: 'string' } } }))
    }
    assert.throws(() => json({ type: 'object', properties: { a: { type: 42 } } }), { code: 'TRB_SERDE_INVALID_SCHEMA' })
  })

  it('transitive levels compare with every earlier version', () => {
    const v1 = json(closed({ a: I }))
    const v2 = json(closed({}))
    const v3 = json(closed({ a: S }))
    const history = [
      { version: 1, parsed: v1 },
      { version: 2, parsed: v2 },
    ]
    // v3 re-adds `a` as a string: fine against v2 (optional property added to a closed model), not against v1.
    assert.equal(checkCompatibility(jsonSchemaFormat, 'BACKWARD', v3, history).compatible, true)
    const t = checkCompatibility(jsonSchemaFormat, 'BACKWARD_TRANSITIVE', v3, history)
    assert.deepEqual(
      t.incompatibilities.map((i) => [i.version, i.type, i.path]),
      [[1, 'TYPE_CHANGED', '#/properties/a']],
    )
  })

  it('applies levels the same way as Avro (FORWARD swaps old and new)', () => {
    const prev = [{ version: 1, parsed: json(closed({ a: S })) }]
    const added = json(closed({ a: S, b: S }))
    assert.equal(checkCompatibility(jsonSchemaFormat, 'BACKWARD', added, prev).compatible, true)
    const forward = checkCompatibility(jsonSchemaFormat, 'FORWARD', added, prev)
    assert.deepEqual(
      forward.incompatibilities.map((i) => i.type),
      ['PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL'],
    )
    assert.equal(checkCompatibility(jsonSchemaFormat, 'FULL', added, prev).compatible, false)
  })
})
