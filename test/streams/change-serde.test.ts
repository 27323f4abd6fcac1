/**
 * The wire formats a KTable change and a timestamped value take, byte for byte: Kafka Streams' ChangedSerializer
 * flags 0–2 (written and read), flags 3–5 with the isLatest byte (read, as Kafka Streams 3.5+ writes them for
 * versioned tables), and the 8-byte timestamp prefix of timestamped stores.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SerdeError } from '../../src/serde/serde.ts'
import { ChangeSerde } from '../../src/streams/processor/change-serde.ts'
import { change } from '../../src/streams/processor/record.ts'
import { Serdes } from '../../src/streams/serdes.ts'
import { encodeTimestamped, rawValueOf, timestampOf } from '../../src/streams/state/bytes.ts'

const serde = new ChangeSerde(Serdes.String())
const b = (s: string) => Buffer.from(s)

describe('ChangeSerde', () => {
  it('writes and reads flags 0, 1 and 2 as Kafka Streams', () => {
    assert.deepEqual(serde.serializeSync('t', change(null, 'old')), Buffer.concat([b('old'), Buffer.from([0])]))
    assert.deepEqual(serde.serializeSync('t', change('new', null)), Buffer.concat([b('new'), Buffer.from([1])]))
    // {varint zigzag(3) = 6}{new}{old}{2}
    const both = serde.serializeSync('t', change('new', 'old'))
    assert.deepEqual(both, Buffer.concat([Buffer.from([6]), b('new'), b('old'), Buffer.from([2])]))
    assert.deepEqual(serde.deserializeSync(both), change('new', 'old', true))
  })

  it('reads flags 3, 4 and 5: the same with an isLatest byte before the flag', () => {
    const withFlag = (body: Buffer, latest: number, flag: number) => Buffer.concat([body, Buffer.from([latest, flag])])
    assert.deepEqual(serde.deserializeSync(withFlag(b('old'), 0, 3)), change(null, 'old', false))
    assert.deepEqual(serde.deserializeSync(withFlag(b('new'), 1, 4)), change('new', null, true))
    assert.deepEqual(serde.deserializeSync(withFlag(b('new'), 0, 4)), change('new', null, false))
    const both = Buffer.concat([Buffer.from([6]), b('new'), b('old')])
    assert.deepEqual(serde.deserializeSync(withFlag(both, 0, 5)), change('new', 'old', false))
  })

  it('refuses an isLatest byte other than 0 or 1, and an unknown flag, with a coded error', () => {
    assert.throws(
      () => serde.deserializeSync(Buffer.concat([b('x'), Buffer.from([7, 4])])),
      (e: unknown) =>
        e instanceof SerdeError && e.code === 'TRB_SERDE_UNDECODABLE' && /isLatest byte 7/.test(e.message),
    )
    assert.throws(
      () => serde.deserializeSync(Buffer.concat([b('x'), Buffer.from([9])])),
      (e: unknown) => e instanceof SerdeError && e.code === 'TRB_SERDE_UNDECODABLE',
    )
  })
})

describe('encodeTimestamped', () => {
  it('writes the 8-byte big-endian timestamp exactly as a 64-bit integer would, across the whole range', () => {
    const value = b('v')
    const cases = [0, 1, -1, 1_700_000_000_000, -1_700_000_000_000, 2 ** 47 - 1, -(2 ** 47), 2 ** 47, -(2 ** 47) - 1]
    cases.push(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0xffff_ffff, -0x1_0000_0000)
    for (const ts of cases) {
      const expected = Buffer.alloc(9)
      expected.writeBigInt64BE(BigInt(ts), 0)
      expected[8] = value[0]!
      const encoded = encodeTimestamped(ts, value)
      assert.deepEqual(encoded, expected, `timestamp ${ts}`)
      assert.equal(timestampOf(encoded), ts)
      assert.deepEqual(rawValueOf(encoded), value)
    }
  })
})
