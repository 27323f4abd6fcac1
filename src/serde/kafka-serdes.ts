import type {
  BeforeDeserializationHook,
  BeforeSerializationHook,
  Deserializers,
  MessageToConsume,
  MessageToProduce,
  Serializers,
} from '@platformatic/kafka'
import type { SyncSerde } from './serde.ts'

export interface KafkaSerdesOptions<Key, Value> {
  key?: SyncSerde<Key>
  value: SyncSerde<Value>
}

const identity = (data?: Buffer) => data

/**
 * Plugs serdes into @platformatic/kafka producers and consumers. The client's serializers are synchronous, so the
 * async part (registering, fetching schemas by id) runs in its before-(de)serialization hooks and the serializers
 * then work from the serdes' caches.
 *
 *   const serdes = kafkaSerdes({ key: new StringSerde(), value: new AvroSerde({ registry, schema }) })
 *   const producer = createProducer({ ...serdes.producer })
 *   const stream = await consumer.consume({ topics: ['orders'], ...serdes.consumer })
 */
export function kafkaSerdes<Key = Buffer, Value = Buffer>(options: KafkaSerdesOptions<Key, Value>) {
  const { key, value } = options
  const serializers: Partial<Serializers<Key, Value, Buffer, Buffer>> = {
    key: key
      ? (data, _headers, message) =>
          data === undefined || data === null ? undefined : key.serializeSync(message!.topic, data, { isKey: true })
      : (identity as never),
    value: (data, _headers, message) =>
      data === undefined || data === null ? undefined : value.serializeSync(message!.topic, data, { isKey: false }),
  }
  const beforeSerialization: BeforeSerializationHook<Key, Value, Buffer, Buffer> = async (payload, type, message) => {
    if (payload === undefined || payload === null) return
    if (type === 'value') await value.prepareSerialize(message.topic, { isKey: false })
    else if (type === 'key' && key) await key.prepareSerialize(message.topic, { isKey: true })
  }
  const where = (message?: MessageToConsume) => ({ topic: message?.topic, partition: message?.partition })
  const deserializers: Partial<Deserializers<Key, Value, Buffer, Buffer>> = {
    key: key
      ? (data, _headers, message) =>
          data === undefined || data === null
            ? undefined
            : key.deserializeSync(data, { ...where(message), isKey: true })
      : (identity as never),
    value: (data, _headers, message) =>
      data === undefined || data === null
        ? undefined
        : value.deserializeSync(data, { ...where(message), isKey: false }),
  }
  const beforeDeserialization: BeforeDeserializationHook = async (payload, type, message) => {
    if (!payload || payload.length === 0) return
    if (type === 'value') await value.prepareDeserialize(payload, where(message))
    else if (type === 'key' && key) await key.prepareDeserialize(payload, where(message))
  }
  return {
    producer: { serializers, beforeSerialization },
    consumer: { deserializers, beforeDeserialization },
  }
}

export type { MessageToProduce }
