export { type RunningBroker, type StartBrokerOptions, startBroker } from './broker.ts'
export {
  type BrokerConfig,
  DEFAULT_BROKER_CONFIG,
  parseFlushPolicy,
  readConfigFile,
  resolveBrokerConfig,
} from './config.ts'
export type { HandlerSpec, RequestContext } from './handler.ts'
export { createLogger, type Logger, type LogLevel } from './logger.ts'
export type { BrokerServices } from './services.ts'
export { TopicError, type TopicInfo, topicNameProblem } from './topic-registry.ts'
