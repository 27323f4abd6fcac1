import { type RecordLocation, SerdeError } from './serde.ts'

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the encoded payload. */
export const MAGIC_BYTE = 0

export function encodeWire(schemaId: number, payload: Uint8Array, messageIndexes?: number[]): Buffer {
  const indexes = messageIndexes === undefined ? Buffer.alloc(0) : encodeMessageIndexes(messageIndexes)
  const out = Buffer.allocUnsafe(5 + indexes.length + payload.length)
  out[0] = MAGIC_BYTE
  out.writeUInt32BE(schemaId, 1)
  indexes.copy(out, 5)
  out.set(payload, 5 + indexes.length)
  return out
}

export interface WireRecord {
  schemaId: number
  /** Bytes after the 5-byte header (for Protobuf still including the message indexes). */
  body: Buffer
}

export function decodeWire(data: Buffer | Uint8Array | null | undefined, where: RecordLocation = {}): WireRecord {
  if (!data || data.length === 0) throw new SerdeError('TRB_SERDE_EMPTY', 'empty payload: nothing to decode', where)
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (buf[0] !== MAGIC_BYTE) {
    throw new SerdeError(
      'TRB_SERDE_UNKNOWN_MAGIC_BYTE',
      `unknown magic byte ${buf[0]}: not in the schema registry wire format (expected ${MAGIC_BYTE})`,
      where,
    )
  }
  if (buf.length < 5)
    throw new SerdeError(
      'TRB_SERDE_TRUNCATED',
      `payload of ${buf.length} bytes is shorter than the 5-byte header`,
      where,
    )
  return { schemaId: buf.readUInt32BE(1), body: buf.subarray(5) }
}

function writeZigZagVarint(value: number, out: number[]) {
  let v = ((value << 1) ^ (value >> 31)) >>> 0
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
}

function readZigZagVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0
  let shift = 0
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint')
    const b = buf[pos++]
    result |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) break
    shift += 7
    if (shift > 28) throw new Error('varint too long')
  }
  return [(result >>> 1) ^ -(result & 1), pos]
}

/** Protobuf message indexes: the path to the message type in its file; [0] is written as a single 0 byte. */
export function encodeMessageIndexes(indexes: number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0])
  const out: number[] = []
  writeZigZagVarint(indexes.length, out)
  for (const i of indexes) writeZigZagVarint(i, out)
  return Buffer.from(out)
}

export function decodeMessageIndexes(body: Buffer): { indexes: number[]; payload: Buffer } {
  let [count, pos] = readZigZagVarint(body, 0)
  if (count === 0) return { indexes: [0], payload: body.subarray(pos) }
  if (count < 0 || count > 64) throw new Error(`invalid message index count ${count}`)
  const indexes: number[] = []
  for (let i = 0; i < count; i++) {
    let v: number
    ;[v, pos] = readZigZagVarint(body, pos)
    indexes.push(v)
  }
  return { indexes, payload: body.subarray(pos) }
}
