import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCompatibility } from '../../src/registry/compatibility.ts'
import type { CompatibilityLevel } from '../../src/registry/types.ts'
import { avroFormat } from '../../src/serde/formats/avro.ts'

const parse = (schema: unknown) =>
  avroFormat.parse({ schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }, [])

/** Incompatibility types when `reader` reads data written with `writer`. */
const problems = (reader: unknown, writer: unknown) => avroFormat.check(parse(reader), parse(writer)).map((i) => i.type)
const canRead = (reader: unknown, writer: unknown) => problems(reader, writer).length === 0

const rec = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'R',
  fields,
  ...extra,
})

describe('Avro schema resolution (Avro specification)', () => {
  it('promotes int → long → float → double and string ↔ bytes, and nothing else', () => {
    const promotions: [string, string[]][] = [
      ['int', ['long', 'float', 'double']],
      ['long', ['float', 'double']],
      ['float', ['double']],
      ['string', ['bytes']],
      ['bytes', ['string']],
    ]
    for (const [writer, readers] of promotions) {
      for (const reader of readers) assert.ok(canRead(reader, writer), `${writer} → ${reader}`)
    }
    for (const [writer, reader] of [
      ['long', 'int'],
      ['double', 'float'],
      ['float', 'long'],
      ['string', 'int'],
      ['boolean', 'int'],
      ['null', 'string'],
    ]) {
      assert.deepEqual(problems(reader, writer), ['TYPE_MISMATCH'], `${writer} ↛ ${reader}`)
    }
  })

  it('needs a default for a reader field the writer lacks; ignores writer-only fields', () => {
    const writer = rec([{ name: 'a', type: 'int' }])
    assert.deepEqual(
      problems(
        rec([
          { name: 'a', type: 'int' },
          { name: 'b', type: 'string' },
        ]),
        writer,
      ),
      ['READER_FIELD_MISSING_DEFAULT_VALUE'],
    )
    assert.ok(
      canRead(
        rec([
          { name: 'a', type: 'int' },
          { name: 'b', type: 'string', default: 'x' },
        ]),
        writer,
      ),
    )
    assert.ok(canRead(rec([]), writer), 'a field removed by the reader is skipped')
    const detail = avroFormat.check(
      parse(
        rec([
          { name: 'a', type: 'int' },
          { name: 'b', type: 'int' },
        ]),
      ),
      parse(writer),
    )
    assert.equal(detail[0].path, '/fields/1')
  })

  it('matches record, enum and fixed names, honouring reader aliases', () => {
    const writer = { type: 'record', name: 'Old', namespace: 'ns', fields: [] }
    assert.deepEqual(problems({ type: 'record', name: 'New', namespace: 'ns', fields: [] }, writer), ['NAME_MISMATCH'])
    assert.ok(canRead({ type: 'record', name: 'New', namespace: 'ns', aliases: ['Old'], fields: [] }, writer))
    assert.ok(
      canRead({ type: 'record', name: 'Old', namespace: 'other', fields: [] }, writer),
      'unqualified names match',
    )
  })

  it('matches fields by name or reader field alias', () => {
    const writer = rec([{ name: 'old_name', type: 'string' }])
    assert.deepEqual(problems(rec([{ name: 'new_name', type: 'string' }]), writer), [
      'READER_FIELD_MISSING_DEFAULT_VALUE',
    ])
    assert.ok(canRead(rec([{ name: 'new_name', aliases: ['old_name'], type: 'string' }]), writer))
  })

  it('requires every writer enum symbol in the reader unless the reader enum has a default', () => {
    const writer = { type: 'enum', name: 'E', symbols: ['A', 'B', 'C'] }
    assert.deepEqual(problems({ type: 'enum', name: 'E', symbols: ['A', 'B'] }, writer), ['MISSING_ENUM_SYMBOLS'])
    assert.ok(canRead({ type: 'enum', name: 'E', symbols: ['A', 'B'], default: 'A' }, writer))
    assert.ok(canRead({ type: 'enum', name: 'E', symbols: ['A', 'B', 'C', 'D'] }, writer))
  })

  it('requires equal fixed sizes', () => {
    assert.deepEqual(problems({ type: 'fixed', name: 'F', size: 8 }, { type: 'fixed', name: 'F', size: 16 }), [
      'FIXED_SIZE_MISMATCH',
    ])
    assert.ok(canRead({ type: 'fixed', name: 'F', size: 16 }, { type: 'fixed', name: 'F', size: 16 }))
  })

  it('resolves unions: each writer branch must be readable; a reader union needs a matching branch', () => {
    assert.ok(canRead(['null', 'string'], 'string'), 'non-union writer into a union reader')
    assert.ok(canRead(['null', 'long'], 'int'), 'promotion inside a union')
    assert.deepEqual(problems(['null', 'string'], 'int'), ['MISSING_UNION_BRANCH'])
    assert.ok(canRead(['null', 'string', 'int'], ['null', 'string']))
    assert.deepEqual(problems(['null', 'string'], ['null', 'string', 'int']), ['MISSING_UNION_BRANCH'])
    assert.ok(canRead('long', ['int', 'long']), 'union writer into a non-union reader if every branch fits')
    assert.deepEqual(problems('long', ['int', 'string']), ['TYPE_MISMATCH'])
  })

  it('recurses into arrays, maps and nested records, and terminates on recursive types', () => {
    assert.ok(canRead({ type: 'array', items: 'long' }, { type: 'array', items: 'int' }))
    assert.deepEqual(problems({ type: 'map', values: 'int' }, { type: 'map', values: 'long' }), ['TYPE_MISMATCH'])
    const list = (extra: unknown[]) => ({
      type: 'record',
      name: 'Node',
      fields: [{ name: 'value', type: 'int' }, { name: 'next', type: ['null', 'Node'] }, ...extra],
    })
    assert.ok(canRead(list([]), list([])))
    assert.deepEqual(problems(list([{ name: 'x', type: 'int' }]), list([])), ['READER_FIELD_MISSING_DEFAULT_VALUE'])
  })

  it('rejects invalid schemas and, for new schemas, invalid defaults', () => {
    const bad = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 'x' }] }
    assert.throws(
      () =>
        avroFormat.parse({ schemaType: 'AVRO', schema: JSON.stringify(bad), references: [] }, [], {
          validateAsNew: true,
        }),
      { code: 'TRB_SERDE_INVALID_SCHEMA' },
    )
    assert.throws(() => parse({ type: 'nonsense' }), { code: 'TRB_SERDE_INVALID_SCHEMA' })
  })
})

describe('compatibility levels (Avro)', () => {
  const v1 = rec([{ name: 'a', type: 'int' }])
  const v2 = rec([
    { name: 'a', type: 'int' },
    { name: 'b', type: 'string', default: '' },
  ])
  const v3 = rec([{ name: 'b', type: 'string', default: '' }])
  const addedNoDefault = rec([
    { name: 'a', type: 'int' },
    { name: 'c', type: 'int' },
  ])
  const removedNoDefault = rec([])
  const history = (...schemas: unknown[]) => schemas.map((s, i) => ({ version: i + 1, parsed: parse(s) }))
  const ok = (level: CompatibilityLevel, candidate: unknown, previous: unknown[]) =>
    checkCompatibility(avroFormat, level, parse(candidate), history(...previous)).compatible

  it('BACKWARD: new reads old (adding a field needs a default, removing is fine)', () => {
    assert.equal(ok('BACKWARD', v2, [v1]), true)
    assert.equal(ok('BACKWARD', addedNoDefault, [v1]), false)
    assert.equal(ok('BACKWARD', removedNoDefault, [v1]), true)
  })

  it('FORWARD: old reads new (adding is fine, removing a field without default is not)', () => {
    assert.equal(ok('FORWARD', addedNoDefault, [v1]), true)
    assert.equal(ok('FORWARD', removedNoDefault, [v1]), false)
  })

  it('FULL: both directions', () => {
    assert.equal(ok('FULL', v2, [v1]), true)
    assert.equal(ok('FULL', addedNoDefault, [v1]), false)
    assert.equal(ok('FULL', removedNoDefault, [v1]), false)
  })

  it('transitive levels check every earlier version, plain ones only the latest', () => {
    // v3 drops `a` (no default in v1) — fine against v2 for BACKWARD, but v1 → v3 under FORWARD fails.
    const forwardChain = [v1, v2]
    assert.equal(ok('FORWARD', v3, forwardChain), false, 'v2 has no default for a, so old v2 cannot read v3')
    const withDefault = rec([{ name: 'a', type: 'int', default: 0 }])
    const v2d = rec([
      { name: 'a', type: 'int', default: 0 },
      { name: 'b', type: 'string', default: '' },
    ])
    assert.equal(ok('FORWARD', v3, [v1, v2d]), true, 'non-transitive: only the latest (v2d) matters')
    assert.equal(ok('FORWARD_TRANSITIVE', v3, [v1, v2d]), false, 'transitive: v1 cannot read v3')
    assert.equal(ok('FORWARD_TRANSITIVE', v3, [withDefault, v2d]), true)

    const x1 = rec([{ name: 'a', type: 'int' }])
    const x2 = rec([{ name: 'a', type: 'long' }])
    const x3 = rec([{ name: 'a', type: 'long' }])
    assert.equal(ok('BACKWARD_TRANSITIVE', x3, [x1, x2]), true)
    const y2 = rec([{ name: 'a', type: 'string' }])
    assert.equal(ok('BACKWARD', rec([{ name: 'a', type: 'string' }]), [x1, y2]), true)
    assert.equal(ok('BACKWARD_TRANSITIVE', rec([{ name: 'a', type: 'string' }]), [x1, y2]), false)
    assert.equal(ok('FULL_TRANSITIVE', v2, [v1, v2]), true)
    assert.equal(ok('FULL_TRANSITIVE', addedNoDefault, [v1, v2]), false)
  })

  it('NONE accepts anything and every failure names version, path and level', () => {
    assert.equal(ok('NONE', 'string', [v1]), true)
    const result = checkCompatibility(avroFormat, 'BACKWARD', parse(addedNoDefault), history(v1))
    assert.equal(result.incompatibilities[0].version, 1)
    assert.ok(result.messages.some((m) => m.includes("path:'/fields/1'")))
    assert.ok(result.messages.includes("{compatibility: 'BACKWARD'}"))
  })
})
