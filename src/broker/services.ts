/**
 * What request handlers can reach inside a running broker. Everything here is single-node: node id 0 leads every
 * partition and coordinates every group and transaction.
 */

import type { Logger, LogRateLimiter } from '../common/logger.ts'
import type { Metrics } from '../common/metrics.ts'
import type { LogManager } from '../log/index.ts'
import type { AppendWaiters } from './append-waiters.ts'
import type { BrokerConfig } from './config.ts'
import type { GroupCoordinator } from './group/group-coordinator.ts'
import type { Authorizer } from './security/acl.ts'
import type { ClientQuotaManager } from './security/quotas.ts'
import type { TopicRegistry } from './topic-registry.ts'
import type { TransactionCoordinator } from './txn/transaction-coordinator.ts'

export interface BrokerServices {
  config: BrokerConfig
  clusterId: string
  logs: LogManager
  topics: TopicRegistry
  groups: GroupCoordinator
  logger: Logger
  /** For log lines clients can cause at will (failed logins, denials, refused connections). */
  logLimiter: LogRateLimiter
  metrics: Metrics
  appendWaiters: AppendWaiters
  /** The transaction coordinator, when this broker runs one (without it transactional producers are refused). */
  transactions?: TransactionCoordinator
  /** ACL enforcement, when `authorizer.enabled=true`; without it every request is allowed. */
  authorizer?: Authorizer
  /** Client quotas (byte and request rates per user / client-id). */
  quotas?: ClientQuotaManager
  /** API version ranges this broker serves (what ApiVersions advertises). */
  supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[]
  now(): number
}
