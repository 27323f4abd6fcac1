/**
 * Kafka record-batch compression codecs, by the attribute id stored in bits 0-2 of a batch's attributes.
 *
 * Snappy: the Java client writes the xerial "snappy-java" stream framing, librdkafka and others write raw snappy
 * blocks; decompression accepts both and compression writes xerial framing so Java consumers can read it.
 * LZ4: the standard LZ4 frame format (what Kafka has used since magic 1). Zstd: fzstd decodes; the zstd
 * WebAssembly build compresses (level 3, Kafka's default), once `initCompression()` has loaded it — the async
 * `compress` does that itself, `compressSync` fails with TRB_COMPRESSION_UNSUPPORTED before it.
 */
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm'
import { decompress as zstdDecompress } from 'fzstd'
import * as lz4 from 'lz4-napi'
import * as snappy from 'snappy'
import { TributaryError } from '../errors.ts'

export const CompressionCodec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const
export type CompressionCodecId = 0 | 1 | 2 | 3 | 4

const gzipAsync = promisify(zlib.gzip)
const gunzipAsync = promisify(zlib.gunzip)

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_SIZE = 16 // magic(8) + version int32 + min compatible version int32
// snappy-java's default block size: each xerial block is compressed separately.
const XERIAL_BLOCK_SIZE = 32 * 1024

export function codecName(codec: number): string {
  return ['none', 'gzip', 'snappy', 'lz4', 'zstd'][codec] ?? `unknown(${codec})`
}

function failed(op: string, codec: number, cause: unknown): TributaryError {
  if (cause instanceof TributaryError) return cause
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new TributaryError('TRB_COMPRESSION_FAILED', `${op} with ${codecName(codec)} failed: ${reason}`, { cause })
}

function unknownCodec(codec: number): TributaryError {
  return new TributaryError('TRB_COMPRESSION_FAILED', `unknown compression codec id ${codec}`)
}

/** Kafka's default compression.zstd.level. */
const ZSTD_LEVEL = 3
let zstdReady = false
let zstdLoading: Promise<void> | null = null

/** Loads what synchronous compression needs (the zstd WebAssembly module). Idempotent; cheap once done. */
export function initCompression(): Promise<void> {
  if (zstdReady) return Promise.resolve()
  zstdLoading ??= zstdInit().then(() => {
    zstdReady = true
  })
  return zstdLoading
}

function zstdCompressSync(buf: Buffer): Buffer {
  if (!zstdReady) {
    throw new TributaryError(
      'TRB_COMPRESSION_UNSUPPORTED',
      'zstd compression is not loaded yet (await initCompression() before compressing synchronously)',
    )
  }
  return asBuffer(zstdCompress(buf, ZSTD_LEVEL))
}

export function isXerialSnappy(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_SIZE && buf.subarray(0, 8).equals(XERIAL_MAGIC)
}

function xerialBlocks(buf: Buffer): Buffer[] {
  const blocks: Buffer[] = []
  let pos = XERIAL_HEADER_SIZE
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new Error('truncated xerial block length')
    const len = buf.readInt32BE(pos)
    pos += 4
    if (len < 0 || pos + len > buf.length) throw new Error(`xerial block length ${len} exceeds input`)
    blocks.push(buf.subarray(pos, pos + len))
    pos += len
  }
  return blocks
}

function xerialFrame(blocks: Buffer[]): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE)
  XERIAL_MAGIC.copy(header, 0)
  header.writeInt32BE(1, 8)
  header.writeInt32BE(1, 12)
  const parts: Buffer[] = [header]
  for (const b of blocks) {
    const len = Buffer.alloc(4)
    len.writeInt32BE(b.length, 0)
    parts.push(len, b)
  }
  return Buffer.concat(parts)
}

function chunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i += XERIAL_BLOCK_SIZE) out.push(buf.subarray(i, i + XERIAL_BLOCK_SIZE))
  if (out.length === 0) out.push(buf)
  return out
}

const asBuffer = (v: string | Buffer | Uint8Array): Buffer =>
  typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)

export interface CompressOptions {
  /**
   * Snappy framing to write. 'xerial' (default) is what the Java client writes; 'raw' is what librdkafka writes.
   * Java and librdkafka read both; @platformatic/kafka 1.x reads raw only (checked in the tests).
   */
  snappyFraming?: 'xerial' | 'raw'
}

export async function compress(codec: number, buf: Buffer, opts: CompressOptions = {}): Promise<Buffer> {
  try {
    switch (codec) {
      case 0:
        return buf
      case 1:
        return await gzipAsync(buf)
      case 2:
        if (opts.snappyFraming === 'raw') return await snappy.compress(buf)
        return xerialFrame(await Promise.all(chunks(buf).map((c) => snappy.compress(c))))
      case 3:
        return await lz4.compressFrame(buf)
      case 4:
        await initCompression()
        return zstdCompressSync(buf)
      default:
        throw unknownCodec(codec)
    }
  } catch (err) {
    throw failed('compression', codec, err)
  }
}

export function compressSync(codec: number, buf: Buffer, opts: CompressOptions = {}): Buffer {
  try {
    switch (codec) {
      case 0:
        return buf
      case 1:
        return zlib.gzipSync(buf)
      case 2:
        if (opts.snappyFraming === 'raw') return snappy.compressSync(buf)
        return xerialFrame(chunks(buf).map((c) => snappy.compressSync(c)))
      case 3:
        return lz4.compressFrameSync(buf)
      case 4:
        return zstdCompressSync(buf)
      default:
        throw unknownCodec(codec)
    }
  } catch (err) {
    throw failed('compression', codec, err)
  }
}

export async function decompress(codec: number, buf: Buffer): Promise<Buffer> {
  try {
    switch (codec) {
      case 0:
        return buf
      case 1:
        return await gunzipAsync(buf)
      case 2:
        if (isXerialSnappy(buf)) {
          const parts = await Promise.all(xerialBlocks(buf).map((b) => snappy.uncompress(b, { asBuffer: true })))
          return Buffer.concat(parts.map(asBuffer))
        }
        return asBuffer(await snappy.uncompress(buf, { asBuffer: true }))
      case 3:
        return await lz4.decompressFrame(buf)
      case 4:
        return asBuffer(zstdDecompress(buf))
      default:
        throw unknownCodec(codec)
    }
  } catch (err) {
    throw failed('decompression', codec, err)
  }
}

export function decompressSync(codec: number, buf: Buffer): Buffer {
  try {
    switch (codec) {
      case 0:
        return buf
      case 1:
        return zlib.gunzipSync(buf)
      case 2:
        if (isXerialSnappy(buf)) {
          return Buffer.concat(xerialBlocks(buf).map((b) => asBuffer(snappy.uncompressSync(b, { asBuffer: true }))))
        }
        return asBuffer(snappy.uncompressSync(buf, { asBuffer: true }))
      case 3:
        return lz4.decompressFrameSync(buf)
      case 4:
        return asBuffer(zstdDecompress(buf))
      default:
        throw unknownCodec(codec)
    }
  } catch (err) {
    throw failed('decompression', codec, err)
  }
}
