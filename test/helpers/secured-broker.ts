/**
 * A broker with a SASL_PLAINTEXT listener (SCRAM users admin, a super user, and alice) behind the authorizer,
 * holding one topic with one record, for the authorization denial tests (test/broker/security/denials*.test.ts):
 * alice is refused everything until a test grants her ACLs.
 */
import assert from 'node:assert/strict'
import { AclPermission, AclOperation as Op, PatternType, ResourceType as RT } from '../../src/broker/security/acl.ts'
import { KafkaWireClient } from '../../src/client/wire-client.ts'
import { ApiKeys } from '../../src/protocol/generated/api-table.ts'
import { ErrorCode as E } from '../../src/protocol/generated/error-codes.ts'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { startTestBroker, type TestBroker } from './broker.ts'

export const SASL = 'SASL_PLAINTEXT'
export const ALICE = { mechanism: 'SCRAM-SHA-256' as const, username: 'alice', password: 'alice-pw' }
export const ADMIN = { mechanism: 'SCRAM-SHA-512' as const, username: 'admin', password: 'admin-pw' }
export const TOPIC = 'secret'

export const allow = (resourceType: number, resourceName: string, operation: number) => ({
  resourceType,
  resourceName,
  resourcePatternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation,
  permissionType: AclPermission.ALLOW,
})
export type Grant = ReturnType<typeof allow>

export const batch = () => encodeRecordBatchSync({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }] })

export interface SecuredBroker {
  tb: TestBroker
  /** The super user's raw connection. */
  admin: KafkaWireClient
  /** The SASL listener's address. */
  bootstrap: string
  /** Grants alice these ACLs (through the admin). */
  grant(creations: Grant[]): Promise<void>
  /** Deletes every ACL of alice. */
  revokeAll(): Promise<void>
  close(): Promise<void>
}

export async function startSecuredBroker(): Promise<SecuredBroker> {
  const tb = await startTestBroker({
    listeners: [{ name: SASL, securityProtocol: SASL, host: '127.0.0.1', port: 0 }],
    saslUsers: { admin: 'admin-pw', alice: 'alice-pw' },
    authorizerEnabled: true,
    superUsers: ['User:admin'],
    autoCreateTopics: true,
  })
  const bootstrap = tb.broker!.listeners.find((l) => l.securityProtocol === SASL)!.bootstrap
  const admin = await KafkaWireClient.connect(bootstrap, { sasl: ADMIN })
  await admin.call(ApiKeys.CreateTopics, 5, {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  })
  // Something to read, so an authorized fetch would return records.
  await admin.call(ApiKeys.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch() }] }],
  })
  return {
    tb,
    admin,
    bootstrap,
    async grant(creations) {
      if (creations.length === 0) return
      const r = await admin.call(ApiKeys.CreateAcls, 3, { creations })
      assert.ok(r.results.every((x: { errorCode: number }) => x.errorCode === E.NONE))
    },
    async revokeAll() {
      await admin.call(ApiKeys.DeleteAcls, 3, {
        filters: [
          {
            resourceTypeFilter: RT.ANY,
            resourceNameFilter: null,
            patternTypeFilter: PatternType.ANY,
            principalFilter: 'User:alice',
            hostFilter: null,
            operation: Op.ANY,
            permissionType: AclPermission.ANY,
          },
        ],
      })
    },
    async close() {
      admin.close()
      await tb.close()
    },
  }
}
