/**
 * What request handlers can reach inside a running broker. Everything here is single-node: node id 0 leads every
 * partition and coordinates every group and transaction.
 */

import type { Logger, LogRateLimiter } from '../common/logger.ts'
import type { Metrics } from '../common/metrics.ts'
import type { LogManager } from '../log/index.ts'
import type { BrokerConfig } from './config.ts'
import type { GroupCoordinator } from './group/group-coordinator.ts'
import type { ProducerIdManager } from './producer-id-manager.ts'
import type { ReplicaManager } from './replica-manager.ts'
import type { Authorizer } from './security/acl.ts'
import type { AclStore } from './security/acl-store.ts'
import type { ClientQuotaStore } from './security/quota-store.ts'
import type { ClientQuotaManager } from './security/quotas.ts'
import type { ScramCredentialStore } from './security/scram-store.ts'
import type { TopicRegistry } from './topic-registry.ts'
import type { TransactionCoordinator } from './txn/transaction-coordinator.ts'

export interface BrokerServices {
  config: BrokerConfig
  clusterId: string
  logs: LogManager
  /** The topic metadata cache. */
  topics: TopicRegistry
  /** ACL bindings (the metadata log's `acl:` records). */
  acls: AclStore
  /** SCRAM credentials per user and mechanism. */
  scram: ScramCredentialStore
  /** Client quota values per entity (enforced by `quotas`). */
  quotaStore: ClientQuotaStore
  /** Producer-id blocks. */
  producerIds: ProducerIdManager
  groups: GroupCoordinator
  logger: Logger
  /** For log lines clients can cause at will (failed logins, denials, refused connections). */
  logLimiter: LogRateLimiter
  metrics: Metrics
  /** Every partition append and read goes through it (and fetches wait there for data). */
  replicas: ReplicaManager
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
