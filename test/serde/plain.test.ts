import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BigInt64Serde,
  BytesSerde,
  DoubleSerde,
  Int32Serde,
  Int64Serde,
  JsonSerde,
  SerdeError,
  StringSerde,
} from '../../src/serde/index.ts'

describe('plain serdes', () => {
  it('encode numbers as Kafka does (big-endian, fixed width)', () => {
    assert.deepEqual(new Int32Serde().serializeSync('t', -2), Buffer.from([0xff, 0xff, 0xff, 0xfe]))
    assert.deepEqual(new Int64Serde().serializeSync('t', 258), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]))
    assert.deepEqual(new BigInt64Serde().serializeSync('t', -1n), Buffer.alloc(8, 0xff))
    assert.deepEqual(new DoubleSerde().serializeSync('t', 1), Buffer.from([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]))
  })

  it('round-trip every value kind', () => {
    const cases: [{ serializeSync(t: string, v: never): Buffer; deserializeSync(b: Buffer): unknown }, unknown][] = [
      [new StringSerde(), 'héllo'],
      [new BytesSerde(), Buffer.from([1, 2, 3])],
      [new JsonSerde(), { a: [1, 'x', null] }],
      [new Int32Serde(), 2147483647],
      [new Int64Serde(), Number.MIN_SAFE_INTEGER],
      [new BigInt64Serde(), (1n << 63n) - 1n],
      [new DoubleSerde(), -0.125],
    ]
    for (const [serde, value] of cases) {
      assert.deepEqual(serde.deserializeSync(serde.serializeSync('t', value as never)), value)
    }
  })

  it('refuse values that do not fit, and bytes of the wrong width, with coded errors', () => {
    assert.throws(() => new Int32Serde().serializeSync('t', 2 ** 31), { code: 'TRB_SERDE_INVALID_VALUE' })
    assert.throws(() => new Int32Serde().serializeSync('t', 1.5), { code: 'TRB_SERDE_INVALID_VALUE' })
    assert.throws(() => new Int64Serde().serializeSync('t', 2 ** 53), { code: 'TRB_SERDE_INVALID_VALUE' })
    assert.throws(() => new BigInt64Serde().serializeSync('t', 1n << 63n), { code: 'TRB_SERDE_INVALID_VALUE' })
    const big = new BigInt64Serde().serializeSync('t', 1n << 60n)
    assert.throws(() => new Int64Serde().deserializeSync(big), { code: 'TRB_SERDE_UNDECODABLE' })
    assert.throws(
      () => new Int32Serde().deserializeSync(Buffer.from([1, 2]), { topic: 'orders', partition: 0, offset: 7 }),
      (error: unknown) =>
        error instanceof SerdeError &&
        error.code === 'TRB_SERDE_UNDECODABLE' &&
        error.message.includes('topic orders, partition 0, offset 7'),
    )
    assert.throws(() => new JsonSerde().deserializeSync(Buffer.from('{')), { code: 'TRB_SERDE_UNDECODABLE' })
    assert.throws(() => new JsonSerde().serializeSync('t', undefined), { code: 'TRB_SERDE_INVALID_VALUE' })
  })
})
