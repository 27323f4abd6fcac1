/**
 * KafkaJS ships only gzip; snappy, LZ4 and zstd are plugins. These are registered from the packages the project
 * already has: snappy as raw blocks (as librdkafka writes it; KafkaJS reads xerial too), LZ4 in the frame format
 * Kafka uses, zstd read-only (fzstd only decompresses, so KafkaJS cannot produce zstd here).
 */
import { decompress as zstdDecompress } from 'fzstd'
import kafkajs from 'kafkajs'
import * as lz4 from 'lz4-napi'
import * as snappy from 'snappy'

export function registerKafkaJsCodecs(): void {
  const { CompressionTypes, CompressionCodecs } = kafkajs
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: { buffer: Buffer }) => snappy.compressSync(encoder.buffer),
    decompress: async (buf: Buffer) => snappy.uncompressSync(buf) as Buffer,
  })
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => lz4.compressFrameSync(encoder.buffer),
    decompress: async (buf: Buffer) => lz4.decompressFrameSync(buf),
  })
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async () => {
      throw new Error('no zstd compressor installed')
    },
    decompress: async (buf: Buffer) => Buffer.from(zstdDecompress(buf)),
  })
}
