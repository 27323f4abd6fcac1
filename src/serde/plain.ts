import { type RecordLocation, SerdeError, type SyncSerde } from './serde.ts'

/** Serdes without a registry. Everything is synchronous; the async methods only wrap the sync ones. */
export abstract class PlainSerde<T> implements SyncSerde<T> {
  abstract serializeSync(topic: string, value: T, options?: { isKey?: boolean }): Buffer
  abstract deserializeSync(data: Buffer, where?: RecordLocation & { isKey?: boolean }): T
  async serialize(topic: string, value: T, options?: { isKey?: boolean }): Promise<Buffer> {
    return this.serializeSync(topic, value, options)
  }
  async deserialize(data: Buffer, where?: RecordLocation & { isKey?: boolean }): Promise<T> {
    return this.deserializeSync(data, where)
  }
  async prepareSerialize(): Promise<void> {}
  async prepareDeserialize(): Promise<void> {}
}

export class StringSerde extends PlainSerde<string> {
  serializeSync(_topic: string, value: string): Buffer {
    return Buffer.from(value, 'utf8')
  }
  deserializeSync(data: Buffer): string {
    return data.toString('utf8')
  }
}

export class BytesSerde extends PlainSerde<Buffer> {
  serializeSync(_topic: string, value: Buffer): Buffer {
    return value
  }
  deserializeSync(data: Buffer): Buffer {
    return data
  }
}

export class JsonSerde<T = unknown> extends PlainSerde<T> {
  serializeSync(topic: string, value: T): Buffer {
    const text = JSON.stringify(value)
    if (text === undefined) throw new SerdeError('TRB_SERDE_INVALID_VALUE', 'value is not JSON-serializable', { topic })
    return Buffer.from(text, 'utf8')
  }
  deserializeSync(data: Buffer, where?: RecordLocation): T {
    try {
      return JSON.parse(data.toString('utf8')) as T
    } catch (error) {
      throw new SerdeError('TRB_SERDE_UNDECODABLE', `payload is not JSON: ${(error as Error).message}`, where, error)
    }
  }
}

function expectSize(data: Buffer, size: number, what: string, where?: RecordLocation): void {
  if (data.length !== size) {
    throw new SerdeError('TRB_SERDE_UNDECODABLE', `${what} needs exactly ${size} bytes, got ${data.length}`, where)
  }
}

/** 32-bit signed big-endian integer: Kafka's IntegerSerde. */
export class Int32Serde extends PlainSerde<number> {
  serializeSync(topic: string, value: number): Buffer {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new SerdeError('TRB_SERDE_INVALID_VALUE', `${value} is not a 32-bit integer`, { topic })
    }
    const out = Buffer.allocUnsafe(4)
    out.writeInt32BE(value, 0)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): number {
    expectSize(data, 4, 'an int32', where)
    return data.readInt32BE(0)
  }
}

/**
 * 64-bit signed big-endian integer as a JavaScript number: Kafka's LongSerde for the values counts and sums take.
 * Values outside Number's safe range are refused rather than rounded; use BigInt64Serde for those.
 */
export class Int64Serde extends PlainSerde<number> {
  serializeSync(topic: string, value: number): Buffer {
    if (!Number.isSafeInteger(value)) {
      throw new SerdeError('TRB_SERDE_INVALID_VALUE', `${value} is not a safe integer (use BigInt64Serde)`, { topic })
    }
    const out = Buffer.allocUnsafe(8)
    out.writeBigInt64BE(BigInt(value), 0)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): number {
    expectSize(data, 8, 'an int64', where)
    const value = data.readBigInt64BE(0)
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerdeError('TRB_SERDE_UNDECODABLE', `int64 ${value} is outside the safe integer range`, where)
    }
    return Number(value)
  }
}

/** 64-bit signed big-endian integer as a bigint: Kafka's LongSerde over its whole range. */
export class BigInt64Serde extends PlainSerde<bigint> {
  serializeSync(topic: string, value: bigint): Buffer {
    if (value < -(1n << 63n) || value >= 1n << 63n) {
      throw new SerdeError('TRB_SERDE_INVALID_VALUE', `${value} does not fit in 64 bits`, { topic })
    }
    const out = Buffer.allocUnsafe(8)
    out.writeBigInt64BE(value, 0)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): bigint {
    expectSize(data, 8, 'an int64', where)
    return data.readBigInt64BE(0)
  }
}

/** IEEE 754 double, big-endian: Kafka's DoubleSerde. */
export class DoubleSerde extends PlainSerde<number> {
  serializeSync(_topic: string, value: number): Buffer {
    const out = Buffer.allocUnsafe(8)
    out.writeDoubleBE(value, 0)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): number {
    expectSize(data, 8, 'a double', where)
    return data.readDoubleBE(0)
  }
}
