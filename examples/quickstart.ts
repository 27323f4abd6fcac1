/**
 * The README's example: produce an event and read it back with a consumer group.
 *   npm start                       (in another terminal)
 *   node --import tsx examples/quickstart.ts
 */
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'

const bootstrap = process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092'

const producer = new Producer({
  clientId: 'shop',
  bootstrapBrokers: [bootstrap],
  serializers: stringSerializers,
  autocreateTopics: true,
})
await producer.send({ messages: [{ topic: 'orders', key: 'order-1', value: 'created' }] })
await producer.close()

const consumer = new Consumer({
  groupId: 'billing',
  clientId: 'billing',
  bootstrapBrokers: [bootstrap],
  deserializers: stringDeserializers,
})
const stream = await consumer.consume({ topics: ['orders'], mode: 'earliest' })
for await (const message of stream) {
  console.log(message.key, message.value)
  break
}
await stream.close()
await consumer.close()
