/**
 * Tributary's REST proxy (`tributary/rest-proxy`): Confluent REST Proxy API v2 and v3 over any Kafka cluster,
 * with server-sent events for live topic tails and consumer lag.
 */
export { ConsumerInstance, ConsumerInstances } from './consumer-instances.ts'
export { fromKafkaError, RestProxyError } from './errors.ts'
export { SchemaCodecs } from './formats.ts'
export { readJsonObjects } from './json-stream.ts'
export { ClientPool, type Credentials, PrincipalClients, type SaslMechanism } from './kafka-clients.ts'
export {
  basicCredentials,
  createRestProxy,
  type RestProxy,
  type RestProxyOptions,
  type RunningRestProxy,
  startRestProxy,
} from './server.ts'
export { TopicTail } from './topic-tail.ts'
