import type { Serde, SyncSerde } from './schema-serde.ts'
import { type RecordLocation, SerdeError } from './wire-format.ts'

/** Serdes without a registry, for keys and simple payloads. Sync variants make them usable as client serializers. */
abstract class PlainSerde<T> implements SyncSerde<T> {
  abstract serializeSync(topic: string, value: T): Buffer
  abstract deserializeSync(data: Buffer, where?: RecordLocation): T
  async serialize(topic: string, value: T): Promise<Buffer> {
    return this.serializeSync(topic, value)
  }
  async deserialize(data: Buffer, where?: RecordLocation): Promise<T> {
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

export type { Serde }
