/** The authorizer's matching rules on their own: patterns, wildcards, DENY winning, implied operations, hosts. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type AclBinding,
  AclPermission,
  Authorizer,
  filterMatches,
  AclOperation as Op,
  PatternType,
  ResourceType as RT,
} from '../../../src/broker/security/acl.ts'

function authorizer(bindings: AclBinding[], opts: { superUsers?: string[]; allowEveryone?: boolean } = {}) {
  let version = 0
  const list = [...bindings]
  const a = new Authorizer({
    superUsers: opts.superUsers ?? [],
    allowEveryoneIfNoAclFound: opts.allowEveryone ?? false,
    acls: () => ({ version, bindings: list }),
  })
  return {
    a,
    add(b: AclBinding) {
      list.push(b)
      version++
    },
  }
}

const acl = (over: Partial<AclBinding>): AclBinding => ({
  resourceType: RT.TOPIC,
  resourceName: 'orders',
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: Op.READ,
  permissionType: AclPermission.ALLOW,
  ...over,
})

test('literal, wildcard and prefixed patterns', () => {
  const { a } = authorizer([
    acl({ resourceName: 'orders' }),
    acl({ resourceName: '*', operation: Op.DESCRIBE, principal: 'User:bob' }),
    acl({ resourceName: 'inv-', patternType: PatternType.PREFIXED, operation: Op.WRITE }),
  ])
  assert.equal(a.authorize('User:alice', '1.2.3.4', Op.READ, RT.TOPIC, 'orders'), true)
  assert.equal(a.authorize('User:alice', '1.2.3.4', Op.READ, RT.TOPIC, 'orders2'), false)
  assert.equal(a.authorize('User:bob', '1.2.3.4', Op.DESCRIBE, RT.TOPIC, 'anything'), true)
  assert.equal(a.authorize('User:bob', '1.2.3.4', Op.READ, RT.TOPIC, 'anything'), false)
  assert.equal(a.authorize('User:alice', '1.2.3.4', Op.WRITE, RT.TOPIC, 'inv-stock'), true)
  assert.equal(a.authorize('User:alice', '1.2.3.4', Op.WRITE, RT.TOPIC, 'inventory'), false)
  // A topic ACL says nothing about a group of the same name.
  assert.equal(a.authorize('User:alice', '1.2.3.4', Op.READ, RT.GROUP, 'orders'), false)
})

test('DENY wins over ALLOW, also from a wildcard principal', () => {
  const { a, add } = authorizer([acl({ operation: Op.ALL })])
  assert.equal(a.authorize('User:alice', 'h', Op.WRITE, RT.TOPIC, 'orders'), true)
  add(acl({ principal: 'User:*', operation: Op.WRITE, permissionType: AclPermission.DENY }))
  assert.equal(a.authorize('User:alice', 'h', Op.WRITE, RT.TOPIC, 'orders'), false)
  assert.equal(a.authorize('User:alice', 'h', Op.READ, RT.TOPIC, 'orders'), true)
})

test('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; nothing else is implied', () => {
  for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
    const { a } = authorizer([acl({ operation: op })])
    assert.equal(a.authorize('User:alice', 'h', Op.DESCRIBE, RT.TOPIC, 'orders'), true)
  }
  const { a } = authorizer([acl({ operation: Op.ALTER_CONFIGS })])
  assert.equal(a.authorize('User:alice', 'h', Op.DESCRIBE_CONFIGS, RT.TOPIC, 'orders'), true)
  assert.equal(a.authorize('User:alice', 'h', Op.DESCRIBE, RT.TOPIC, 'orders'), false)
  const { a: d } = authorizer([acl({ operation: Op.DESCRIBE })])
  assert.equal(d.authorize('User:alice', 'h', Op.READ, RT.TOPIC, 'orders'), false)
  // A DENY of DESCRIBE does not deny READ (Kafka denies only the named operation or ALL).
  const { a: e } = authorizer([
    acl({ operation: Op.READ }),
    acl({ operation: Op.DESCRIBE, permissionType: AclPermission.DENY }),
  ])
  assert.equal(e.authorize('User:alice', 'h', Op.READ, RT.TOPIC, 'orders'), true)
})

test('host, super users and allow.everyone.if.no.acl.found', () => {
  const { a } = authorizer([acl({ host: '10.0.0.1' })], { superUsers: ['User:root'], allowEveryone: true })
  assert.equal(a.authorize('User:alice', '10.0.0.1', Op.READ, RT.TOPIC, 'orders'), true)
  assert.equal(a.authorize('User:alice', '10.0.0.2', Op.READ, RT.TOPIC, 'orders'), false)
  assert.equal(a.authorize('User:root', '10.0.0.2', Op.DELETE, RT.TOPIC, 'orders'), true)
  // No ACL names this topic at all: allowed, because allow.everyone.if.no.acl.found is on.
  assert.equal(a.authorize('User:alice', '10.0.0.2', Op.DELETE, RT.TOPIC, 'payments'), true)
  const { a: strict } = authorizer([], { allowEveryone: false })
  assert.equal(strict.authorize('User:alice', 'h', Op.READ, RT.TOPIC, 'payments'), false)
})

test('authorizeAny: WRITE on some topic (KIP-679) unless denied on every name', () => {
  const { a, add } = authorizer([acl({ resourceName: 'inv-', patternType: PatternType.PREFIXED, operation: Op.WRITE })])
  assert.equal(a.authorizeAny('User:alice', 'h', Op.WRITE, RT.TOPIC), true)
  assert.equal(a.authorizeAny('User:bob', 'h', Op.WRITE, RT.TOPIC), false)
  add(acl({ resourceName: '*', operation: Op.WRITE, permissionType: AclPermission.DENY }))
  assert.equal(a.authorizeAny('User:alice', 'h', Op.WRITE, RT.TOPIC), false)
})

test('filters: ANY, MATCH and exact pattern types', () => {
  const prefixed = acl({ resourceName: 'inv-', patternType: PatternType.PREFIXED })
  const wildcard = acl({ resourceName: '*' })
  const base = {
    resourceType: RT.TOPIC,
    principal: null,
    host: null,
    operation: Op.ANY,
    permissionType: AclPermission.ANY,
  }
  const match = { ...base, resourceName: 'inv-stock', patternType: PatternType.MATCH }
  assert.equal(filterMatches(match, prefixed), true)
  assert.equal(filterMatches(match, wildcard), true)
  assert.equal(filterMatches({ ...base, resourceName: 'inv-stock', patternType: PatternType.LITERAL }, prefixed), false)
  assert.equal(filterMatches({ ...base, resourceName: null, patternType: PatternType.ANY }, prefixed), true)
})

test('every API the broker serves has an authorization rule or authorizes inside its handler', async () => {
  const { allHandlers } = await import('../../../src/broker/handlers/index.ts')
  const { ApiKeys } = await import('../../../src/protocol/generated/api-table.ts')
  const missing = allHandlers.filter((h) => typeof h.authorize !== 'function' && h.authorize !== 'in-handler')
  assert.deepEqual(
    missing.map((h) => h.apiKey),
    [],
  )
  // Only these check inside their handler (the ACL, SCRAM and quota admin APIs) or need no check (ApiVersions, SASL).
  const inHandler = allHandlers.filter((h) => h.authorize === 'in-handler').map((h) => h.apiKey)
  assert.deepEqual(
    inHandler.sort((a, b) => a - b),
    [
      ApiKeys.SaslHandshake,
      ApiKeys.ApiVersions,
      ApiKeys.DescribeAcls,
      ApiKeys.CreateAcls,
      ApiKeys.DeleteAcls,
      ApiKeys.SaslAuthenticate,
      ApiKeys.DescribeClientQuotas,
      ApiKeys.AlterClientQuotas,
      ApiKeys.DescribeUserScramCredentials,
      ApiKeys.AlterUserScramCredentials,
    ],
  )
})
