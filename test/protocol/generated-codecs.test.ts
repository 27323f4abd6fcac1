/**
 * Property-based round trips for every generated message at every version: random values shaped by the message
 * spec are encoded, decoded and re-encoded; the decoded values must equal the inputs for every field present in
 * that version, and both encodings must be byte-identical.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import * as generated from '../../src/protocol/generated/index.ts'
import { Reader, Writer } from '../../src/protocol/primitives.ts'

const here = dirname(fileURLToPath(import.meta.url))
const specDir = join(here, '..', '..', 'scripts', 'kafka-protocol', 'messages')

interface Field {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  flexibleVersions?: string
  fields?: Field[]
}
interface Spec {
  name: string
  type: string
  validVersions: string
  flexibleVersions: string
  fields: Field[]
  commonStructs?: { name: string; fields: Field[] }[]
}

function inRange(range: string | undefined, v: number): boolean {
  if (!range || range === 'none') return false
  if (range.endsWith('+')) return v >= Number(range.slice(0, -1))
  const [a, b] = range.split('-')
  return b === undefined ? v === Number(a) : v >= Number(a) && v <= Number(b)
}

function versionsOf(range: string): number[] {
  const [a, b] = range.split('-')
  const out: number[] = []
  for (let v = Number(a); v <= Number(b ?? a); v++) out.push(v)
  return out
}

function camel(n: string): string {
  return n[0]!.toLowerCase() + n.slice(1)
}

function stripComments(text: string): string {
  return text.replace(/^\s*\/\/.*$/gm, '')
}

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
})
const bytesArb = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b))

function structArb(
  spec: Spec,
  fields: Field[],
  version: number,
  structs: Map<string, Field[]>,
  depth: number,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue
    shape[camel(f.name)] = fieldArb(spec, f, version, structs, depth)
  }
  return fc.record(shape)
}

function elemArb(
  spec: Spec,
  type: string,
  version: number,
  structs: Map<string, Field[]>,
  depth: number,
  f: Field,
): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 })
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 })
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 })
    case 'int32':
      return fc.integer()
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    case 'float64':
      return fc.double({ noNaN: true })
    case 'bool':
      return fc.boolean()
    case 'uuid':
      return uuidArb
    case 'string':
      return fc.string({ maxLength: 12, unit: 'grapheme' })
    case 'bytes':
    case 'records':
      return bytesArb
    default: {
      const sub = f.fields ?? structs.get(type)
      if (!sub) throw new Error(`${spec.name}: unknown struct ${type}`)
      return structArb(spec, sub, version, structs, depth + 1)
    }
  }
}

function fieldArb(
  spec: Spec,
  f: Field,
  version: number,
  structs: Map<string, Field[]>,
  depth: number,
): fc.Arbitrary<unknown> {
  const nullable = inRange(f.nullableVersions, version) || f.type === 'records'
  let arb: fc.Arbitrary<unknown>
  if (f.type.startsWith('[]')) {
    const elem = elemArb(spec, f.type.slice(2), version, structs, depth, f)
    arb = fc.array(elem, { maxLength: depth > 2 ? 1 : 3 })
  } else {
    arb = elemArb(spec, f.type, version, structs, depth, f)
  }
  return nullable ? fc.option(arb, { nil: null }) : arb
}

/** Compares only the fields the input had (those present in this version). */
function assertSubset(actual: unknown, expected: unknown, path: string): void {
  if (expected === null || typeof expected !== 'object' || Buffer.isBuffer(expected)) {
    if (Buffer.isBuffer(expected)) {
      assert.ok(Buffer.isBuffer(actual), `${path}: expected bytes`)
      assert.ok(expected.equals(actual as Buffer), `${path}: bytes differ`)
    } else if (typeof expected === 'number' && Number.isNaN(expected)) {
      assert.ok(Number.isNaN(actual), path)
    } else {
      assert.deepEqual(actual, expected, path)
    }
    return
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected array`)
    assert.equal((actual as unknown[]).length, expected.length, `${path}: length`)
    for (let i = 0; i < expected.length; i++) assertSubset((actual as unknown[])[i], expected[i], `${path}[${i}]`)
    return
  }
  for (const [k, v] of Object.entries(expected)) assertSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`)
}

const specs: Spec[] = existsSync(specDir)
  ? readdirSync(specDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(stripComments(readFileSync(join(specDir, f), 'utf8'))) as Spec)
      .filter((s) => ['request', 'response', 'header', 'data'].includes(s.type))
  : []

describe('generated codecs round-trip at every version', () => {
  it('finds the Kafka message specs in the repository', () => {
    assert.ok(specs.length > 150, `expected the message specs in ${specDir}`)
  })
  for (const spec of specs) {
    const mod = (generated as unknown as Record<string, Record<string, unknown>>)[spec.name]
    const decode = mod?.[`decode${spec.name}`] as (r: Reader, v: number) => unknown
    const encode = mod?.[`encode${spec.name}`] as (w: Writer, v: number, x: unknown) => void
    it(`${spec.name} ${spec.validVersions}`, () => {
      assert.equal(typeof decode, 'function', `decode${spec.name} is generated`)
      const structs = new Map<string, Field[]>()
      for (const cs of spec.commonStructs ?? []) structs.set(cs.name, cs.fields)
      for (const version of versionsOf(spec.validVersions)) {
        fc.assert(
          fc.property(structArb(spec, spec.fields, version, structs, 0), (value) => {
            const w1 = new Writer(64)
            encode(w1, version, value)
            const bytes = w1.toBuffer()
            const r = new Reader(bytes)
            const decoded = decode(r, version)
            assert.equal(r.remaining, 0, `v${version}: decoder consumed every byte`)
            assertSubset(decoded, value, `${spec.name} v${version}`)
            const w2 = new Writer(64)
            encode(w2, version, decoded)
            assert.ok(w2.toBuffer().equals(bytes), `v${version}: re-encoding is byte-identical`)
          }),
          { numRuns: 12 },
        )
      }
    })
  }
})

describe('decoding hostile input', () => {
  it('rejects truncated and random frames with a protocol error, never another exception', () => {
    const produce = generated.ProduceRequest
    const w = new Writer()
    produce.encodeProduceRequest(w, 9, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: Buffer.alloc(100, 1) }] }],
    })
    const good = w.toBuffer()
    for (let cut = 0; cut < good.length; cut++) {
      assert.throws(
        () => produce.decodeProduceRequest(new Reader(good.subarray(0, cut)), 9),
        (err: Error & { code?: string }) => err.code === 'TRB_PROTOCOL_MALFORMED',
      )
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 11 }), (bytes, version) => {
        try {
          produce.decodeProduceRequest(new Reader(Buffer.from(bytes)), version)
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'TRB_PROTOCOL_MALFORMED', String(err))
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses array lengths larger than the remaining input instead of allocating them', () => {
    const w = new Writer()
    w.int16(-1).int16(1).int32(1000).int32(0x7ffffff0)
    assert.throws(() => generated.ProduceRequest.decodeProduceRequest(new Reader(w.toBuffer()), 3), /exceeds remaining/)
  })
})
