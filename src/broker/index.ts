export { createLogger, type Logger, type LogLevel } from '../common/logger.ts'
export { type RunningBroker, type StartBrokerOptions, startBroker } from './broker.ts'
export {
  type BrokerConfig,
  DEFAULT_BROKER_CONFIG,
  type ListenerConfig,
  parseFlushPolicy,
  readConfigFile,
  resolveBrokerConfig,
} from './config.ts'
export type { Authorization, AuthorizeRequest, HandlerSpec, RequestContext } from './handler.ts'
export {
  type AclBinding,
  AclOperation,
  AclPermission,
  PatternType,
  ResourceType,
} from './security/acl.ts'
export type { SecurityProtocol } from './security/session.ts'
export type { BrokerServices } from './services.ts'
export { TopicError, type TopicInfo, topicNameProblem } from './topic-registry.ts'
