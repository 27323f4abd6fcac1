import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCompatibility } from '../../src/registry/compatibility.ts'
import { protobufFormat } from '../../src/serde/formats/protobuf.ts'

// Each case is a change from `prev` to `next` checked BACKWARD, with the answer Confluent's registry gives: the
// incompatible differences it reports (type and path), or [] when the change is compatible.

interface Ref {
  name: string
  subject: string
  version: number
  schema: string
}
const proto = (text: string, refs: Ref[] = []) =>
  protobufFormat.parse(
    { schemaType: 'PROTOBUF', schema: text, references: refs.map(({ schema: _, ...r }) => r) },
    refs.map((r) => ({ ...r, schemaType: 'PROTOBUF' as const })),
  )
const breaks = (prev: string, next: string, prevRefs: Ref[] = [], nextRefs: Ref[] = []) =>
  protobufFormat.check(proto(next, nextRefs), proto(prev, prevRefs)).map((i) => `${i.type} ${i.path}`)
const p3 = (body: string, pkg = 'acme') => `syntax = "proto3";\npackage ${pkg};\n${body}`
const p2 = (body: string) => `syntax = "proto2";\npackage acme;\n${body}`

describe('Protobuf compatibility: fields moved into, out of and between oneofs', () => {
  it('one field moved into a new oneof is compatible; two are not', () => {
    const two = p3('message M { string a = 1; string b = 2; }')
    assert.deepEqual(breaks(two, p3('message M { oneof choice { string a = 1; } string b = 2; }')), [])
    assert.deepEqual(breaks(two, p3('message M { oneof choice { string a = 1; string b = 2; } }')), [
      'MULTIPLE_FIELDS_MOVED_TO_ONEOF #/M/choice',
    ])
    // A field added to the oneof alongside one moved in: new fields were never set in old data.
    assert.deepEqual(breaks(two, p3('message M { oneof choice { string a = 1; string c = 3; } string b = 2; }')), [])
  })

  it('a field moved into an existing oneof is not compatible', () => {
    assert.deepEqual(
      breaks(
        p3('message M { string a = 1; oneof choice { string b = 2; string c = 3; } }'),
        p3('message M { oneof choice { string a = 1; string b = 2; string c = 3; } }'),
      ),
      ['FIELD_MOVED_TO_EXISTING_ONEOF #/M/choice'],
    )
  })

  it('a field moved out of a oneof to the top level is compatible, unless its type changes', () => {
    const before = p3('message M { oneof choice { string a = 1; int32 b = 2; } }')
    assert.deepEqual(breaks(before, p3('message M { oneof choice { string a = 1; } int32 b = 2; }')), [])
    assert.deepEqual(breaks(before, p3('message M { oneof choice { string a = 1; } string b = 2; }')), [
      'FIELD_SCALAR_KIND_CHANGED #/M/2',
    ])
    // Every member leaving a oneof that disappears.
    assert.deepEqual(breaks(before, p3('message M { string a = 1; int32 b = 2; }')), [])
  })

  it('fields moved between oneofs: into another existing oneof or merging oneofs is not compatible', () => {
    const ab = p3('message M { oneof a { string x = 1; string y = 2; } oneof b { string z = 3; } }')
    assert.deepEqual(
      breaks(ab, p3('message M { oneof a { string x = 1; } oneof b { string y = 2; string z = 3; } }')),
      ['FIELD_MOVED_TO_EXISTING_ONEOF #/M/b'],
    )
    assert.deepEqual(breaks(ab, p3('message M { oneof ab { string x = 1; string y = 2; string z = 3; } }')), [
      'FIELD_MOVED_TO_EXISTING_ONEOF #/M/ab',
    ])
    // Into a new oneof of its own: it was already exclusive with the others, now with nothing.
    assert.deepEqual(
      breaks(ab, p3('message M { oneof a { string x = 1; } oneof c { string y = 2; } oneof b { string z = 3; } }')),
      [],
    )
  })

  it('a renamed oneof with the same members is compatible; a member type change inside it is not', () => {
    const before = p3('message M { oneof old_name { string a = 1; int64 b = 2; } }')
    assert.deepEqual(breaks(before, p3('message M { oneof new_name { string a = 1; int64 b = 2; } }')), [])
    assert.deepEqual(breaks(before, p3('message M { oneof new_name { string a = 1; double b = 2; } }')), [
      'FIELD_SCALAR_KIND_CHANGED #/M/new_name/2',
    ])
  })

  it('removing a member of a oneof that stays is not compatible; adding one is', () => {
    const before = p3('message M { oneof c { string a = 1; string b = 2; } }')
    assert.deepEqual(breaks(before, p3('message M { oneof c { string a = 1; } }')), ['ONEOF_FIELD_REMOVED #/M/c/2'])
    assert.deepEqual(breaks(before, p3('message M { oneof c { string a = 1; string b = 2; string d = 4; } }')), [])
    // Renamed while losing a member: still a removal, reported under the old oneof.
    assert.deepEqual(breaks(before, p3('message M { oneof d { string a = 1; } }')), ['ONEOF_FIELD_REMOVED #/M/c/2'])
  })

  it('proto3 optional fields are plain fields, not oneofs', () => {
    const optional = p3('message M { optional string a = 1; optional string b = 2; }')
    assert.deepEqual(breaks(optional, p3('message M { string a = 1; string b = 2; }')), [])
    assert.deepEqual(breaks(optional, p3('message M { oneof c { string a = 1; string b = 2; } }')), [
      'MULTIPLE_FIELDS_MOVED_TO_ONEOF #/M/c',
    ])
  })
})

describe('Protobuf compatibility: type names, maps and references', () => {
  const item = 'message Item { string sku = 1; }'

  it('qualified and unqualified names of the same type are the same type', () => {
    const before = p3(`message Order { Item item = 1; Order.Line line = 2; message Line { int32 n = 1; } }\n${item}`)
    const after = p3(`message Order { .acme.Item item = 1; Line line = 2; message Line { int32 n = 1; } }\n${item}`)
    assert.deepEqual(breaks(before, after), [])
    assert.deepEqual(breaks(after, before), [])
  })

  it('qualified and unqualified names in maps are the same type; a changed key or value type is not', () => {
    const m = (t: string) =>
      p3(`message Order { map<string, ${t}> items = 1; }\n${item}\nmessage Other { string sku = 1; }`)
    assert.deepEqual(breaks(m('Item'), m('acme.Item')), [])
    assert.deepEqual(breaks(m('.acme.Item'), m('Item')), [])
    assert.deepEqual(breaks(m('Item'), m('Other')), ['FIELD_NAMED_TYPE_CHANGED #/Order/1'])
    assert.deepEqual(breaks(m('int32'), m('int64')), [])
    assert.deepEqual(breaks(m('int32'), m('string')), ['FIELD_SCALAR_KIND_CHANGED #/Order/1'])
    assert.deepEqual(
      breaks(p3('message M { map<int32, string> m = 1; }'), p3('message M { map<string, string> m = 1; }')),
      ['FIELD_SCALAR_KIND_CHANGED #/M/1'],
    )
    assert.deepEqual(
      breaks(m('Item'), p3(`message Order { Item items = 1; }\n${item}\nmessage Other { string sku = 1; }`)),
      ['FIELD_KIND_CHANGED #/Order/1'],
    )
  })

  it('a referenced message is compared when it comes from another reference or version', () => {
    const money = (cents: string, version: number): Ref => ({
      name: 'money.proto',
      subject: 'money',
      version,
      schema: `syntax = "proto3";\npackage fin;\nmessage Money { ${cents} cents = 1; }`,
    })
    const order = p3('import "money.proto";\nmessage Order { fin.Money total = 1; }')
    assert.deepEqual(breaks(order, order, [money('int64', 1)], [money('int64', 1)]), [])
    assert.deepEqual(breaks(order, order, [money('int64', 1)], [money('uint64', 2)]), [])
    assert.deepEqual(breaks(order, order, [money('int64', 1)], [money('string', 2)]), [
      'FIELD_SCALAR_KIND_CHANGED #/Money/1',
      'FIELD_NAMED_TYPE_CHANGED #/Order/1',
    ])
  })

  it('a message type replaced by another one, or by a scalar, is not compatible', () => {
    const base = p3(`message Order { Item item = 1; }\n${item}\nmessage Other { string sku = 1; }`)
    assert.deepEqual(
      breaks(base, p3(`message Order { Other item = 1; }\n${item}\nmessage Other { string sku = 1; }`)),
      ['FIELD_NAMED_TYPE_CHANGED #/Order/1'],
    )
    assert.deepEqual(
      breaks(base, p3(`message Order { string item = 1; }\n${item}\nmessage Other { string sku = 1; }`)),
      ['FIELD_KIND_CHANGED #/Order/1'],
    )
  })
})

describe('Protobuf compatibility: scalars, labels, messages and enums', () => {
  const f = (t: string) => p3(`message M { ${t} v = 1; }\nenum E { A = 0; B = 1; }\nenum F { X = 0; }`)

  it('scalars with the same wire encoding may replace each other; enums count as int32', () => {
    for (const [a, b] of [
      ['int32', 'uint64'],
      ['int64', 'bool'],
      ['sint32', 'sint64'],
      ['fixed32', 'sfixed32'],
      ['fixed64', 'sfixed64'],
      ['string', 'bytes'],
      ['int32', 'E'],
      ['E', 'F'],
    ]) {
      assert.deepEqual(breaks(f(a), f(b)), [], `${a} → ${b}`)
    }
    for (const [a, b] of [
      ['int32', 'sint32'],
      ['int32', 'fixed32'],
      ['float', 'double'],
      ['E', 'string'],
      ['fixed32', 'fixed64'],
    ]) {
      assert.deepEqual(breaks(f(a), f(b)), ['FIELD_SCALAR_KIND_CHANGED #/M/1'], `${a} → ${b}`)
    }
  })

  it('labels: an explicit numeric label change is not compatible; strings, bytes and messages may change', () => {
    assert.deepEqual(breaks(p2('message M { optional int32 a = 1; }'), p2('message M { repeated int32 a = 1; }')), [
      'FIELD_NUMERIC_LABEL_CHANGED #/M/1',
    ])
    assert.deepEqual(breaks(p2('message M { optional string a = 1; }'), p2('message M { repeated string a = 1; }')), [])
    assert.deepEqual(breaks(p3('message M { optional int32 a = 1; }'), p3('message M { repeated int32 a = 1; }')), [
      'FIELD_NUMERIC_LABEL_CHANGED #/M/1',
    ])
    // A proto3 field written without a label has none to compare.
    assert.deepEqual(breaks(p3('message M { int32 a = 1; }'), p3('message M { repeated int32 a = 1; }')), [])
    assert.deepEqual(
      breaks(p3('message M { N a = 1; } message N {}'), p3('message M { repeated N a = 1; } message N {}')),
      [],
    )
  })

  it('fields may be added, removed and renamed; proto2 required fields may be neither added nor removed', () => {
    const base = p3('message M { string a = 1; int32 b = 2; }')
    assert.deepEqual(breaks(base, p3('message M { string a = 1; int32 b = 2; string c = 3; }')), [])
    assert.deepEqual(breaks(base, p3('message M { string a = 1; }')), [])
    assert.deepEqual(breaks(base, p3('message M { string renamed = 1; int32 b = 2; }')), [])
    assert.deepEqual(
      breaks(
        p2('message M { optional string a = 1; }'),
        p2('message M { optional string a = 1; required string b = 2; }'),
      ),
      ['REQUIRED_FIELD_ADDED #/M/2'],
    )
    assert.deepEqual(
      breaks(
        p2('message M { optional string a = 1; required string b = 2; }'),
        p2('message M { optional string a = 1; }'),
      ),
      ['REQUIRED_FIELD_REMOVED #/M/2'],
    )
  })

  it('messages may be added and reordered, not removed; enums may change freely; the package may not', () => {
    const base = p3('message A { int32 x = 1; }\nmessage B { message Inner { int32 y = 1; } }\nenum E { Z = 0; }')
    assert.deepEqual(
      breaks(
        base,
        p3('message B { message Inner { int32 y = 1; } }\nmessage A { int32 x = 1; }\nmessage C {}\nenum E { Z = 0; }'),
      ),
      [],
    )
    assert.deepEqual(breaks(base, p3('message B { message Inner { int32 y = 1; } }\nenum E { Z = 0; }')), [
      'MESSAGE_REMOVED #/A',
    ])
    assert.deepEqual(breaks(base, p3('message A { int32 x = 1; }\nmessage B {}\nenum E { Z = 0; }')), [
      'MESSAGE_REMOVED #/B/Inner',
    ])
    assert.deepEqual(
      breaks(
        base,
        p3('message A { int32 x = 1; }\nmessage B { message Inner { int32 y = 1; } }\nenum E { W = 0; V = 1; }'),
      ),
      [],
    )
    assert.deepEqual(breaks(base, p3('message A { int32 x = 1; }\nmessage B { message Inner { int32 y = 1; } }')), [])
    assert.deepEqual(
      breaks(
        base,
        p3('message A { int32 x = 1; }\nmessage B { message Inner { int32 y = 1; } }\nenum E { Z = 0; }', 'other'),
      ),
      ['PACKAGE_CHANGED #/'],
    )
  })
})

describe('Protobuf parsing and compatibility levels', () => {
  it('transitive levels compare with every earlier version', () => {
    const v1 = proto(p3('message M { int32 a = 1; }'))
    const v2 = proto(p3('message M { }'))
    const v3 = proto(p3('message M { string a = 1; }'))
    const history = [
      { version: 1, parsed: v1 },
      { version: 2, parsed: v2 },
    ]
    assert.equal(checkCompatibility(protobufFormat, 'BACKWARD', v3, history).compatible, true)
    const t = checkCompatibility(protobufFormat, 'BACKWARD_TRANSITIVE', v3, history)
    assert.deepEqual(
      t.incompatibilities.map((i) => [i.version, i.type, i.path]),
      [[1, 'FIELD_SCALAR_KIND_CHANGED', '#/M/1']],
    )
    assert.equal(checkCompatibility(protobufFormat, 'FULL_TRANSITIVE', v3, history).compatible, false)
  })

  it('rejects invalid .proto text', () => {
    assert.throws(() => proto('syntax = "proto3"; message { }'), { code: 'TRB_SERDE_INVALID_SCHEMA' })
    assert.throws(() => proto(p3('message M { Missing m = 1; }')), { code: 'TRB_SERDE_INVALID_SCHEMA' })
  })
})
