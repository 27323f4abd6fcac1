/**
 * Kafka wire primitives: a bounds-checked Reader and a chunked Writer.
 *
 * The Writer keeps large byte payloads (record batches) as references instead of copying them, so a Fetch response
 * is written to the socket as a list of buffers that point straight at segment data.
 */
import { TributaryError } from '../errors.ts'

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const LARGE_CHUNK = 4096

export class ProtocolError extends TributaryError {
  constructor(message: string) {
    super('TRB_PROTOCOL_MALFORMED', message)
  }
}

export class Reader {
  buf: Buffer
  pos: number
  end: number

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  get remaining(): number {
    return this.end - this.pos
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new ProtocolError(`truncated input: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`)
    }
  }

  int8(): number {
    this.need(1)
    return this.buf.readInt8(this.pos++)
  }

  bool(): boolean {
    return this.int8() !== 0
  }

  int16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }

  uint16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  int32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  uint32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  int64(): bigint {
    this.need(8)
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  float64(): number {
    this.need(8)
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  uvarint(): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      this.need(1)
      const b = this.buf[this.pos++]!
      result |= (b & 0x7f) << shift
      if ((b & 0x80) === 0) return result >>> 0
      shift += 7
    }
    throw new ProtocolError('unsigned varint is longer than 5 bytes')
  }

  varint(): number {
    const u = this.uvarint()
    return (u >>> 1) ^ -(u & 1)
  }

  uvarlong(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      this.need(1)
      const b = this.buf[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
    throw new ProtocolError('unsigned varlong is longer than 10 bytes')
  }

  varlong(): bigint {
    const u = this.uvarlong()
    return (u >> 1n) ^ -(u & 1n)
  }

  uuid(): string {
    this.need(16)
    const hex = this.buf.toString('hex', this.pos, this.pos + 16)
    this.pos += 16
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }

  private utf8(len: number): string {
    this.need(len)
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return s
  }

  private slice(len: number): Buffer {
    this.need(len)
    const b = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return b
  }

  string(): string {
    const len = this.int16()
    if (len < 0) throw new ProtocolError('null string where a string is required')
    return this.utf8(len)
  }

  nullableString(): string | null {
    const len = this.int16()
    if (len < 0) return null
    return this.utf8(len)
  }

  compactString(): string {
    const len = this.uvarint() - 1
    if (len < 0) throw new ProtocolError('null compact string where a string is required')
    return this.utf8(len)
  }

  compactNullableString(): string | null {
    const len = this.uvarint() - 1
    if (len < 0) return null
    return this.utf8(len)
  }

  bytes(): Buffer {
    const len = this.int32()
    if (len < 0) throw new ProtocolError('null bytes where bytes are required')
    return this.slice(len)
  }

  nullableBytes(): Buffer | null {
    const len = this.int32()
    if (len < 0) return null
    return this.slice(len)
  }

  compactBytes(): Buffer {
    const len = this.uvarint() - 1
    if (len < 0) throw new ProtocolError('null compact bytes where bytes are required')
    return this.slice(len)
  }

  compactNullableBytes(): Buffer | null {
    const len = this.uvarint() - 1
    if (len < 0) return null
    return this.slice(len)
  }

  /** Array length (int32); -1 means null. Rejects lengths that cannot fit in the remaining input. */
  arrayLength(): number {
    const len = this.int32()
    if (len < -1) throw new ProtocolError(`invalid array length ${len}`)
    if (len > this.end - this.pos) throw new ProtocolError(`array length ${len} exceeds remaining input`)
    return len
  }

  /** Compact array length (unsigned varint N+1); -1 means null. */
  compactArrayLength(): number {
    const len = this.uvarint() - 1
    if (len > this.end - this.pos) throw new ProtocolError(`array length ${len} exceeds remaining input`)
    return len
  }

  /**
   * Reads a tagged-fields section. `onTag` reads a known tag from the reader (bounded to the field) and returns true;
   * unknown tags are skipped, as the protocol requires.
   */
  taggedFields(onTag?: (tag: number, r: Reader) => boolean): void {
    const count = this.uvarint()
    let lastTag = -1
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint()
      if (tag <= lastTag) throw new ProtocolError(`tagged fields out of order: ${tag} after ${lastTag}`)
      lastTag = tag
      const size = this.uvarint()
      this.need(size)
      const fieldEnd = this.pos + size
      if (onTag) {
        const savedEnd = this.end
        this.end = fieldEnd
        try {
          onTag(tag, this)
        } finally {
          this.end = savedEnd
        }
      }
      this.pos = fieldEnd
    }
  }
}

export class Writer {
  private chunks: Buffer[] = []
  private buf: Buffer
  private pos = 0
  private doneLength = 0

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize)
  }

  get length(): number {
    return this.doneLength + this.pos
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    this.seal()
    this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2, 1024))
  }

  private seal(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos))
      this.doneLength += this.pos
      this.buf = this.buf.subarray(this.pos)
      this.pos = 0
    }
  }

  int8(v: number): this {
    this.ensure(1)
    this.buf.writeInt8(v, this.pos)
    this.pos += 1
    return this
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0)
  }

  int16(v: number): this {
    this.ensure(2)
    this.buf.writeInt16BE(v, this.pos)
    this.pos += 2
    return this
  }

  uint16(v: number): this {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
    return this
  }

  int32(v: number): this {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  uint32(v: number): this {
    this.ensure(4)
    this.buf.writeUInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  int64(v: bigint): this {
    this.ensure(8)
    this.buf.writeBigInt64BE(v, this.pos)
    this.pos += 8
    return this
  }

  float64(v: number): this {
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
    return this
  }

  uvarint(v: number): this {
    this.ensure(5)
    v >>>= 0
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[this.pos++] = v
    return this
  }

  varint(v: number): this {
    return this.uvarint((v << 1) ^ (v >> 31))
  }

  uvarlong(v: bigint): this {
    this.ensure(10)
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.pos++] = Number(v)
    return this
  }

  varlong(v: bigint): this {
    return this.uvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)))
  }

  uuid(v: string): this {
    const hex = v.replace(/-/g, '')
    if (hex.length !== 32) throw new ProtocolError(`invalid uuid ${v}`)
    this.ensure(16)
    this.buf.write(hex, this.pos, 16, 'hex')
    this.pos += 16
    return this
  }

  /** Appends bytes; large payloads are kept by reference rather than copied. */
  raw(b: Buffer): this {
    if (b.length >= LARGE_CHUNK) {
      this.seal()
      this.chunks.push(b)
      this.doneLength += b.length
      return this
    }
    this.ensure(b.length)
    b.copy(this.buf, this.pos)
    this.pos += b.length
    return this
  }

  private utf8(s: string, lengthPrefix: (n: number) => void): this {
    const n = Buffer.byteLength(s)
    lengthPrefix(n)
    this.ensure(n)
    this.buf.write(s, this.pos, n, 'utf8')
    this.pos += n
    return this
  }

  string(s: string | null | undefined): this {
    if (s == null) throw new ProtocolError('null where a non-nullable string is required')
    return this.utf8(s, (n) => {
      if (n > 0x7fff) throw new ProtocolError('string longer than 32767 bytes')
      this.int16(n)
    })
  }

  nullableString(s: string | null | undefined): this {
    if (s == null) return this.int16(-1)
    return this.string(s)
  }

  compactString(s: string | null | undefined): this {
    if (s == null) throw new ProtocolError('null where a non-nullable string is required')
    return this.utf8(s, (n) => this.uvarint(n + 1))
  }

  compactNullableString(s: string | null | undefined): this {
    if (s == null) return this.uvarint(0)
    return this.compactString(s)
  }

  bytes(b: Buffer | null | undefined): this {
    if (b == null) throw new ProtocolError('null where non-nullable bytes are required')
    this.int32(b.length)
    return this.raw(b)
  }

  nullableBytes(b: Buffer | null | undefined): this {
    if (b == null) return this.int32(-1)
    return this.bytes(b)
  }

  compactBytes(b: Buffer | null | undefined): this {
    if (b == null) throw new ProtocolError('null where non-nullable bytes are required')
    this.uvarint(b.length + 1)
    return this.raw(b)
  }

  compactNullableBytes(b: Buffer | null | undefined): this {
    if (b == null) return this.uvarint(0)
    return this.compactBytes(b)
  }

  /** Returns the written bytes as a list of buffers (no copy of large payloads). */
  chunksView(): Buffer[] {
    this.seal()
    return this.chunks
  }

  toBuffer(): Buffer {
    const chunks = this.chunksView()
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.doneLength)
  }
}

export { ZERO_UUID }
