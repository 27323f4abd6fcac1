/**
 * The one place Tributary creates Kafka clients (`tributary/client`). Everything else (registry storage, streams,
 * connectors) asks here, so the bootstrap address, client ids and defaults are decided once and every component
 * runs unchanged against Tributary's broker or any Kafka-compatible cluster.
 */

export * from './batch-producer.ts'
export {
  Admin,
  BOOTSTRAP_ENV,
  type ClientCommonOptions,
  Consumer,
  createAdmin,
  createConsumer,
  createProducer,
  type EnsureTopicOptions,
  ensureTopic,
  Producer,
  resolveBootstrap,
} from './clients.ts'
export * from './consumer-protocol.ts'
export * from './fetcher.ts'
export * from './group-member.ts'
export * from './kafka-cluster.ts'
export { KafkaKeyedLog, type KafkaKeyedLogOptions } from './kafka-keyed-log.ts'
export * from './partitioner.ts'
export * from './transactional-commit.ts'
export { kafkaUnreachable } from './unreachable.ts'
