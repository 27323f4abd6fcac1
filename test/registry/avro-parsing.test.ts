import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { checkCompatibility } from '../../src/registry/compatibility.ts'
import { AvroSerde } from '../../src/serde/avro-serde.ts'
import { type AvroModel, avroFormat } from '../../src/serde/formats/avro.ts'
import { type MemoryRegistry, startMemoryRegistry } from './helpers.ts'

// Each case states what Avro's Java parser (1.12, as Confluent's registry runs it) does with the schema.
// "new" is how a schema being registered is read (strict names, defaults validated); "stored" is how schemas
// already in the registry are re-read (no default validation, Unicode names, namespaces unchecked).

const text = (schema: unknown) => (typeof schema === 'string' ? schema : JSON.stringify(schema))
const parseNew = (schema: unknown, refs: string[] = []) =>
  avroFormat.parse(
    { schemaType: 'AVRO', schema: text(schema), references: [] },
    refs.map((r, i) => ({ name: `r${i}`, subject: `r${i}`, version: 1, schemaType: 'AVRO' as const, schema: r })),
    { validateAsNew: true },
  )
const parseStored = (schema: unknown) =>
  avroFormat.parse({ schemaType: 'AVRO', schema: text(schema), references: [] }, [], { validateAsNew: false })

const accepts = (schema: unknown) => assert.doesNotThrow(() => parseNew(schema), `should accept ${text(schema)}`)
const refuses = (schema: unknown, message: RegExp) =>
  assert.throws(() => parseNew(schema), { code: 'TRB_SERDE_INVALID_SCHEMA', message }, `should refuse ${text(schema)}`)

const rec = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'R',
  fields,
  ...extra,
})
const withDefault = (type: unknown, value: unknown) => rec([{ name: 'f', type, default: value }])
const root = (schema: unknown) => (parseNew(schema).model as AvroModel).root

describe('Avro parsing: what Avro Java accepts (unions)', () => {
  it('accepts an empty union, at the top and inside a record, array or map', () => {
    accepts([])
    accepts(rec([{ name: 'never', type: [] }]))
    accepts({ type: 'array', items: [] })
    accepts({ type: 'map', values: [] })
  })

  it('refuses a union directly inside a union', () => {
    refuses([['null', 'int']], /nested union/)
    refuses(['null', ['int', 'string']], /nested union/)
    refuses(rec([{ name: 'f', type: ['null', []] }]), /nested union/)
  })

  it('refuses two branches of the same type; the same name counts for named types', () => {
    refuses(['int', 'int'], /duplicate in union: int/)
    refuses(['int', { type: 'int', logicalType: 'date' }], /duplicate in union: int/)
    refuses(
      [
        { type: 'array', items: 'int' },
        { type: 'array', items: 'string' },
      ],
      /duplicate in union: array/,
    )
    refuses(
      [
        { type: 'map', values: 'int' },
        { type: 'map', values: 'long' },
      ],
      /duplicate in union: map/,
    )
    const fixed = { type: 'fixed', name: 'F', size: 4 }
    refuses([fixed, 'F'], /duplicate in union: F/)
    // Different names are different types, even with the same shape.
    accepts([fixed, { type: 'fixed', name: 'G', size: 4 }, 'int', 'long', { type: 'array', items: 'int' }])
  })
})

describe('Avro parsing: names and namespaces', () => {
  it('inherits the enclosing namespace, resets it with "", and takes a dotted name as the full name', () => {
    const schema = {
      type: 'record',
      name: 'Order',
      namespace: 'shop',
      fields: [
        { name: 'a', type: { type: 'enum', name: 'Status', symbols: ['NEW'] } },
        { name: 'b', type: { type: 'fixed', name: 'Hash', namespace: '', size: 4 } },
        { name: 'c', type: { type: 'record', name: 'other.Line', namespace: 'ignored', fields: [] } },
        { name: 'd', type: 'Status' },
        { name: 'e', type: 'shop.Status' },
        { name: 'f', type: 'Hash' },
        { name: 'g', type: 'other.Line' },
      ],
    }
    const r = root(schema)
    assert.equal(r.kind, 'record')
    if (r.kind !== 'record') return
    const names = r.fields.map((f) => ('fullName' in f.type ? f.type.fullName : f.type.kind))
    assert.deepEqual(names, ['shop.Status', 'Hash', 'other.Line', 'shop.Status', 'shop.Status', 'Hash', 'other.Line'])
  })

  it('resolves a name used before its definition (Avro 1.12), and refuses names never defined', () => {
    accepts(
      rec([
        { name: 'first', type: 'Later' },
        { name: 'second', type: { type: 'record', name: 'Later', fields: [{ name: 'x', type: 'int' }] } },
      ]),
    )
    accepts({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'], default: null }] })
    refuses(rec([{ name: 'f', type: 'Missing' }]), /undefined name: Missing/)
    // A name qualified by the enclosing namespace at its use must be defined under that full name.
    refuses(
      {
        type: 'record',
        name: 'A',
        namespace: 'x',
        fields: [
          { name: 'f', type: 'B' },
          { name: 'g', type: { type: 'fixed', name: 'B', namespace: '', size: 1 } },
        ],
      },
      /undefined name: x\.B/,
    )
  })

  it('finds names defined by references, under their own namespace or the null namespace', () => {
    const ref = JSON.stringify({
      type: 'record',
      name: 'Money',
      namespace: 'fin',
      fields: [{ name: 'cents', type: 'long' }],
    })
    assert.doesNotThrow(() => parseNew(rec([{ name: 'price', type: 'fin.Money' }]), [ref]))
    assert.throws(() => parseNew(rec([{ name: 'price', type: 'Money' }]), [ref]), /undefined name: Money/)
  })

  it('refuses invalid names, namespaces, field names, symbols and aliases of new schemas', () => {
    refuses({ type: 'record', name: 'my-record', fields: [] }, /name "my-record" is invalid/)
    refuses({ type: 'record', name: '1st', fields: [] }, /illegal initial character/)
    refuses({ type: 'record', name: 'Ré', fields: [] }, /name "Ré" is invalid/)
    refuses({ type: 'record', name: 'R', namespace: 'com.1acme', fields: [] }, /namespace part "1acme"/)
    refuses({ type: 'record', name: 'R', namespace: 'a..b', fields: [] }, /namespace part: empty name/)
    refuses(rec([{ name: 'a-b', type: 'int' }]), /field name "a-b" is invalid/)
    refuses({ type: 'enum', name: 'E', symbols: ['OK', 'NOT-OK'] }, /enum symbol "NOT-OK" is invalid/)
    refuses({ type: 'record', name: 'R', aliases: ['bad-alias'], fields: [] }, /alias "bad-alias" is invalid/)
    refuses({ type: 'record', name: 'R', fields: [], aliases: 'R2' }, /aliases not an array/)
  })

  it('refuses a type named after a primitive, but not one inside a namespace', () => {
    refuses({ type: 'record', name: 'int', fields: [] }, /may not be named after primitives: int/)
    accepts({
      type: 'record',
      name: 'int',
      namespace: 'x',
      fields: [{ name: 'next', type: ['null', 'x.int'], default: null }],
    })
    accepts({ type: 'record', name: 'record', fields: [] })
  })

  it('accepts the same definition twice, refuses two different definitions of one name', () => {
    const f = { type: 'fixed', name: 'F', size: 4 }
    accepts(
      rec([
        { name: 'a', type: f },
        { name: 'b', type: { ...f, doc: 'docs do not count' } },
      ]),
    )
    refuses(
      rec([
        { name: 'a', type: f },
        { name: 'b', type: { ...f, size: 8 } },
      ]),
      /can't redefine: F/,
    )
  })

  it('accepts aliases: qualified by the namespace for types, any strings for fields', () => {
    const r = root({
      type: 'record',
      name: 'R',
      namespace: 'ns',
      aliases: ['Old', 'other.Older'],
      fields: [{ name: 'f', type: 'int', aliases: ['not-a-name', 'x'] }],
    })
    assert.ok(r.kind === 'record')
    if (r.kind !== 'record') return
    assert.deepEqual(r.aliases, ['ns.Old', 'other.Older'])
    assert.deepEqual(r.fields[0].aliases, ['not-a-name', 'x'])
  })

  it('re-reads stored schemas leniently: Unicode names, unchecked namespaces, unvalidated defaults', () => {
    assert.doesNotThrow(() =>
      parseStored({ type: 'record', name: 'Ré', namespace: 'a-b', fields: [{ name: 'ç', type: 'int', default: 'x' }] }),
    )
    assert.throws(() => parseStored({ type: 'record', name: 'a-b', fields: [] }), /name "a-b" is invalid/)
    assert.throws(() => parseStored([['int']]), /nested union/)
  })
})

describe('Avro parsing: defaults of every type', () => {
  it('int and long: integral literals in range only', () => {
    accepts(withDefault('int', 2147483647))
    accepts(withDefault('int', -2147483648))
    refuses(withDefault('int', 2147483648), /invalid default for field f/)
    refuses(withDefault('int', '1'), /invalid default/)
    refuses('{"type":"record","name":"R","fields":[{"name":"f","type":"int","default":1.0}]}', /invalid default/)
    accepts('{"type":"record","name":"R","fields":[{"name":"f","type":"long","default":9223372036854775807}]}')
    refuses(
      '{"type":"record","name":"R","fields":[{"name":"f","type":"long","default":9223372036854775808}]}',
      /invalid default/,
    )
    refuses('{"type":"record","name":"R","fields":[{"name":"f","type":"long","default":1e2}]}', /invalid default/)
  })

  it('float and double: any number, or text that Java reads as a double (NaN, Infinity, 1e3)', () => {
    for (const v of [1, 1.5, -0.25, 'NaN', 'Infinity', '-Infinity', '1e3', '2.5f']) {
      accepts(withDefault('double', v))
      accepts(withDefault('float', v))
    }
    accepts('{"type":"record","name":"R","fields":[{"name":"f","type":"double","default":1e400}]}')
    refuses(withDefault('double', 'abc'), /not a number/)
    refuses(withDefault('double', true), /invalid default/)
    // Only a float/double field's own default is read from text; nested values must be numbers.
    refuses(withDefault({ type: 'array', items: 'double' }, ['NaN']), /invalid default/)
  })

  it('strings, bytes, fixed and enums: any text (Java checks neither fixed length nor enum symbols)', () => {
    accepts(withDefault('string', ''))
    accepts(withDefault('bytes', '\u00ff\u0000'))
    accepts(withDefault({ type: 'fixed', name: 'F', size: 4 }, 'ab'))
    accepts(withDefault({ type: 'enum', name: 'E', symbols: ['A'] }, 'Z'))
    refuses(withDefault('string', null), /invalid default/)
    refuses(withDefault('bytes', [1, 2]), /invalid default/)
    refuses(withDefault({ type: 'enum', name: 'E', symbols: ['A'] }, 0), /invalid default/)
  })

  it('null and boolean', () => {
    accepts(withDefault('null', null))
    refuses(withDefault('null', 0), /invalid default/)
    accepts(withDefault('boolean', false))
    refuses(withDefault('boolean', 'true'), /invalid default/)
  })

  it('unions: a default matching any branch (Avro 1.12), not only the first', () => {
    accepts(withDefault(['null', 'string'], null))
    accepts(withDefault(['null', 'string'], 'x'))
    accepts(withDefault(['string', 'null'], null))
    refuses(withDefault(['null', 'string'], 1), /invalid default/)
    refuses(withDefault([], null), /invalid default/)
  })

  it('arrays, maps and records: every element valid; record fields missing from it need their own default', () => {
    accepts(withDefault({ type: 'array', items: 'int' }, [1, 2]))
    refuses(withDefault({ type: 'array', items: 'int' }, [1, 'x']), /invalid default/)
    accepts(withDefault({ type: 'map', values: 'int' }, { a: 1 }))
    refuses(withDefault({ type: 'map', values: 'int' }, [1]), /invalid default/)
    const inner = {
      type: 'record',
      name: 'In',
      fields: [
        { name: 'x', type: 'int', default: 1 },
        { name: 'y', type: 'string' },
      ],
    }
    accepts(withDefault(inner, { y: 'a' }))
    refuses(withDefault(inner, { x: 2 }), /invalid default/)
  })
})

describe('Avro parsing: logical types, records, enums, fixed and JSON', () => {
  it('accepts invalid or unknown logical types as their underlying type', () => {
    accepts({ type: 'string', logicalType: 'date' })
    accepts({ type: 'bytes', logicalType: 'decimal' })
    accepts({ type: 'bytes', logicalType: 'decimal', precision: 4, scale: 9 })
    accepts({ type: 'fixed', name: 'D', size: 2, logicalType: 'decimal', precision: 20 })
    accepts({ type: 'int', logicalType: 'no-such-type' })
    const r = root(rec([{ name: 'day', type: { type: 'string', logicalType: 'date' } }]))
    assert.ok(r.kind === 'record' && r.fields[0].type.kind === 'primitive' && r.fields[0].type.type === 'string')
  })

  it('checks record, enum and fixed structure', () => {
    accepts(rec([]))
    accepts({ type: 'error', name: 'Failure', fields: [{ name: 'message', type: 'string' }] })
    refuses({ type: 'record', name: 'R' }, /record has no fields/)
    refuses(
      rec([
        { name: 'a', type: 'int' },
        { name: 'a', type: 'long' },
      ]),
      /duplicate field a/,
    )
    refuses(rec([{ name: 'a' }]), /no field type/)
    accepts(rec([{ name: 'a', type: 'int', order: 'DESCENDING' }]))
    refuses(rec([{ name: 'a', type: 'int', order: 'sideways' }]), /invalid order/)
    refuses({ type: 'enum', name: 'E', symbols: ['A', 'A'] }, /duplicate enum symbol: A/)
    refuses({ type: 'enum', name: 'E', symbols: ['A'], default: 'B' }, /enum default: B is not in/)
    accepts({ type: 'fixed', name: 'Empty', size: 0 })
    refuses({ type: 'fixed', name: 'F', size: -1 }, /invalid fixed size/)
    refuses('{"type":"fixed","name":"F","size":16.0}', /invalid or no size/)
    refuses({ type: 'fixed', name: 'F', size: '16' }, /invalid or no size/)
  })

  it('reads JSON as Jackson does in Avro: comments allowed, nothing else relaxed', () => {
    accepts('{"type": /* the kind */ "record", "name": "R", // trailing comment\n "fields": []}')
    refuses('{"type": "record", "name": "R", "fields": [],}', /not valid JSON/)
    refuses("{'type': 'int'}", /not valid JSON/)
    refuses('"int" "long"', /not valid JSON/)
    refuses('string', /not valid JSON/)
    refuses({ type: { type: 'int' } }, /no type/)
    refuses(42, /schema not yet supported/)
  })
})

describe('Avro schemas Java accepts but avsc does not, through the registry and the serdes', () => {
  let r: MemoryRegistry
  before(async () => {
    r = await startMemoryRegistry()
  })
  after(() => r.close())

  it('registers an empty union (42201 before) and compares it like Avro Java', async () => {
    const res = await r.call('POST', '/subjects/never-value/versions', { schema: '[]' })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal((await r.call('GET', '/subjects/never-value/versions/1')).body.schema, '[]')
    const empty = parseNew([])
    const nullable = parseNew(['null', 'int'])
    const history = (p: ReturnType<typeof parseNew>) => [{ version: 1, parsed: p }]
    // A union of nothing was never written: anything reads it. Nothing can be read with it.
    assert.equal(checkCompatibility(avroFormat, 'BACKWARD', nullable, history(empty)).compatible, true)
    assert.equal(checkCompatibility(avroFormat, 'BACKWARD', empty, history(nullable)).compatible, false)
  })

  it('serializes with forward references, NaN defaults and second-branch union defaults; refuses values of []', async () => {
    const schema = {
      type: 'record',
      name: 'Reading',
      namespace: 'iot',
      fields: [
        { name: 'sensor', type: 'Sensor' },
        { name: 'other', type: { type: 'record', name: 'Sensor', fields: [{ name: 'id', type: 'string' }] } },
        { name: 'value', type: 'double', default: 'NaN' },
        { name: 'unit', type: ['null', 'string'], default: 'celsius' },
        { name: 'never', type: { type: 'array', items: [] }, default: [] },
      ],
    }
    const reg = await r.call('POST', '/subjects/readings-value/versions', { schema: JSON.stringify(schema) })
    assert.equal(reg.status, 200, JSON.stringify(reg.body))
    const serde = new AvroSerde({ registry: r.url, schema, autoRegister: false })
    const value = { sensor: { id: 'a' }, other: { id: 'b' }, value: 21.5, unit: null, never: [] }
    const bytes = await serde.serialize('readings', value)
    assert.deepEqual(JSON.parse(JSON.stringify(await serde.deserialize(bytes))), value)
    await assert.rejects(serde.serialize('readings', { ...value, never: [null] }), /does not match Avro schema/)
  })
})
