import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import avsc from 'avsc'
import fc from 'fast-check'
import { avroFormat } from '../../src/serde/formats/avro.ts'

/**
 * Cross-check against an independent implementation of Avro schema resolution: avsc's resolver. Whenever our
 * checker says a reader can read a writer, avsc must build a resolver and decode the writer's random values with
 * it; whenever we say it cannot, avsc must refuse to resolve.
 */
const primitive = fc.constantFrom('null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string')
const fieldType: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  type: fc.oneof(
    { weight: 5, arbitrary: primitive },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('array'), items: tie('type') }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('map'), values: tie('type') }) },
    {
      weight: 1,
      arbitrary: fc.uniqueArray(primitive, { minLength: 2, maxLength: 3 }).map((branches) => branches),
    },
  ),
})).type

const defaultFor = (type: unknown): unknown => {
  if (Array.isArray(type)) return defaultFor(type[0])
  if (typeof type === 'object' && type !== null) return (type as { type: string }).type === 'array' ? [] : {}
  switch (type) {
    case 'null':
      return null
    case 'boolean':
      return false
    case 'bytes':
    case 'string':
      return ''
    default:
      return 0
  }
}

const field = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  type: fieldType,
  withDefault: fc.boolean(),
})

const recordSchema = fc.uniqueArray(field, { selector: (f) => f.name, maxLength: 4 }).map((fields) => ({
  type: 'record',
  name: 'R',
  fields: fields.map((f) => ({
    name: f.name,
    type: f.type,
    ...(f.withDefault ? { default: defaultFor(f.type) } : {}),
  })),
}))

const parse = (schema: unknown) =>
  avroFormat.parse({ schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }, [])

describe('Avro compatibility agrees with avsc schema resolution (property)', () => {
  it('compatible ⇔ avsc can resolve and decode', () => {
    const outcomes = [0, 0]
    fc.assert(
      fc.property(recordSchema, recordSchema, (reader, writer) => {
        const ours = avroFormat.check(parse(reader), parse(writer)).length === 0
        const readerType = avsc.Type.forSchema(reader as avsc.Schema)
        const writerType = avsc.Type.forSchema(writer as avsc.Schema)
        let resolver: avsc.Resolver | undefined
        try {
          resolver = readerType.createResolver(writerType)
        } catch {
          resolver = undefined
        }
        outcomes[ours ? 1 : 0]++
        assert.equal(ours, resolver !== undefined, `reader ${JSON.stringify(reader)}\nwriter ${JSON.stringify(writer)}`)
        if (resolver) {
          const value = writerType.random()
          const decoded = readerType.fromBuffer(writerType.toBuffer(value), resolver)
          assert.ok(readerType.isValid(decoded))
        }
      }),
      { numRuns: 400, seed: 20261123 },
    )
    assert.ok(outcomes[0] > 50 && outcomes[1] > 50, `both outcomes are exercised: ${outcomes}`)
  })
})
