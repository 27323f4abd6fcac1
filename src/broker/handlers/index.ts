import type { HandlerSpec } from '../handler.ts'
import { addOffsetsToTxnHandler } from './add-offsets-to-txn.ts'
import { addPartitionsToTxnHandler } from './add-partitions-to-txn.ts'
import { alterConfigsHandler } from './alter-configs.ts'
import { alterUserScramCredentialsHandler } from './alter-user-scram-credentials.ts'
import { apiVersionsHandler } from './api-versions.ts'
import { alterClientQuotasHandler, describeClientQuotasHandler } from './client-quotas.ts'
import { createAclsHandler } from './create-acls.ts'
import { createPartitionsHandler } from './create-partitions.ts'
import { createTopicsHandler } from './create-topics.ts'
import { deleteAclsHandler } from './delete-acls.ts'
import { deleteGroupsHandler } from './delete-groups.ts'
import { deleteRecordsHandler } from './delete-records.ts'
import { deleteTopicsHandler } from './delete-topics.ts'
import { describeAclsHandler } from './describe-acls.ts'
import { describeClusterHandler } from './describe-cluster.ts'
import { describeConfigsHandler } from './describe-configs.ts'
import { describeGroupsHandler } from './describe-groups.ts'
import { describeTransactionsHandler } from './describe-transactions.ts'
import { describeUserScramCredentialsHandler } from './describe-user-scram-credentials.ts'
import { endTxnHandler } from './end-txn.ts'
import { fetchHandler } from './fetch.ts'
import { findCoordinatorHandler } from './find-coordinator.ts'
import { heartbeatHandler } from './heartbeat.ts'
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.ts'
import { initProducerIdHandler } from './init-producer-id.ts'
import { joinGroupHandler } from './join-group.ts'
import { leaveGroupHandler } from './leave-group.ts'
import { listGroupsHandler } from './list-groups.ts'
import { listOffsetsHandler } from './list-offsets.ts'
import { listTransactionsHandler } from './list-transactions.ts'
import { metadataHandler } from './metadata.ts'
import { offsetCommitHandler } from './offset-commit.ts'
import { offsetDeleteHandler } from './offset-delete.ts'
import { offsetFetchHandler } from './offset-fetch.ts'
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.ts'
import { produceHandler } from './produce.ts'
import { saslAuthenticateHandler } from './sasl-authenticate.ts'
import { saslHandshakeHandler } from './sasl-handshake.ts'
import { syncGroupHandler } from './sync-group.ts'
import { txnOffsetCommitHandler } from './txn-offset-commit.ts'

/** Every API this broker serves; ApiVersions advertises exactly these ranges. */
export const allHandlers: readonly HandlerSpec[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  initProducerIdHandler,
  offsetForLeaderEpochHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  createPartitionsHandler,
  deleteGroupsHandler,
  incrementalAlterConfigsHandler,
  offsetDeleteHandler,
  describeClusterHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  saslHandshakeHandler,
  saslAuthenticateHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  describeUserScramCredentialsHandler,
  alterUserScramCredentialsHandler,
]
