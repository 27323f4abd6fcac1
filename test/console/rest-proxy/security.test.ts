/**
 * The REST proxy with security on: HTTP basic auth is the caller's SASL identity, so each call runs with that
 * principal's ACLs — a user without rights is refused, nothing is written, and granting an ACL (through the proxy's
 * own v3 ACL API, as the super user) lets the same call through.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type RunningRestProxy, startRestProxy } from '../../../src/console/rest-proxy/index.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'
import { call, reports } from './helpers.ts'

const SASL = 'SASL_PLAINTEXT'
const auth = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
})

describe('REST proxy with basic auth over SASL', () => {
  let tb: TestBroker
  let proxy: RunningRestProxy
  let clusterId: string
  const admin = auth('admin', 'admin-pw')
  const alice = auth('alice', 'alice-pw')
  const written = async () =>
    (await call(proxy, 'GET', `/v3/clusters/${clusterId}/topics/payments/partitions/0/offset`, undefined, admin)).body
      .latest_offset

  before(async () => {
    tb = await startTestBroker({
      listeners: [
        { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
        { name: SASL, securityProtocol: SASL, host: '127.0.0.1', port: 0 },
      ],
      saslUsers: { admin: 'admin-pw', alice: 'alice-pw' },
      authorizerEnabled: true,
      superUsers: ['User:admin'],
    })
    const bootstrap = tb.broker!.listeners.find((l) => l.securityProtocol === SASL)!.bootstrap
    proxy = await startRestProxy({
      bootstrap,
      port: 0,
      authentication: 'basic',
      saslMechanism: 'SCRAM-SHA-512',
      maxPrincipals: 2,
    })
    clusterId = (await call(proxy, 'GET', '/v3/clusters', undefined, admin)).body.data[0].cluster_id
  })
  after(async () => {
    await proxy.close()
    await tb.close()
  })

  test('no credentials and wrong credentials are 401', async () => {
    const none = await call(proxy, 'GET', '/v3/clusters')
    assert.equal(none.status, 401)
    assert.equal(none.body.error_code, 401)
    const wrong = await call(proxy, 'GET', '/v3/clusters', undefined, auth('alice', 'nope'))
    assert.deepEqual([wrong.status, wrong.body], [401, { error_code: 40101, message: 'Authentication failed' }])
    const unknown = await call(proxy, 'GET', '/topics', undefined, auth('mallory', 'x'))
    assert.equal(unknown.status, 401)
  })

  test('a principal without rights is refused and nothing is written; an ACL granted through the proxy lets it in', async () => {
    const created = await call(
      proxy,
      'POST',
      `/v3/clusters/${clusterId}/topics`,
      { topic_name: 'payments', partitions_count: 1 },
      admin,
    )
    assert.equal(created.status, 201, created.text)

    const denied = await call(proxy, 'POST', `/v3/clusters/${clusterId}/topics`, { topic_name: 'alice-topic' }, alice)
    assert.equal(denied.status, 403)
    assert.equal(denied.body.error_code, 40301)

    const produce = reports(
      (
        await call(
          proxy,
          'POST',
          `/v3/clusters/${clusterId}/topics/payments/records`,
          { value: { type: 'STRING', data: 'x' } },
          alice,
        )
      ).text,
    )
    assert.equal(produce.length, 1)
    assert.ok([40301, 40403].includes(produce[0].error_code), JSON.stringify(produce))
    const v2 = await call(
      proxy,
      'POST',
      '/topics/payments',
      { records: [{ value: 'eA==' }] },
      { ...alice, 'content-type': 'application/vnd.kafka.binary.v2+json' },
    )
    assert.ok([403, 404].includes(v2.status), v2.text)
    assert.equal(await written(), 0)

    // alice cannot grant herself rights; admin can, through the v3 ACL API.
    const acl = {
      resource_type: 'TOPIC',
      resource_name: 'payments',
      pattern_type: 'LITERAL',
      principal: 'User:alice',
      host: '*',
      operation: 'WRITE',
      permission: 'ALLOW',
    }
    const selfGrant = await call(proxy, 'POST', `/v3/clusters/${clusterId}/acls`, acl, alice)
    assert.equal(selfGrant.status, 403)
    const describe = { ...acl, operation: 'DESCRIBE' }
    const granted = await call(proxy, 'POST', `/v3/clusters/${clusterId}/acls:batch`, { data: [acl, describe] }, admin)
    assert.equal(granted.status, 201, granted.text)
    const listed = await call(proxy, 'GET', `/v3/clusters/${clusterId}/acls?principal=User%3Aalice`, undefined, admin)
    assert.equal(listed.body.kind, 'KafkaAclList')
    assert.deepEqual(listed.body.data.map((a: { operation: string }) => a.operation).sort(), ['DESCRIBE', 'WRITE'])

    const allowed = reports(
      (
        await call(
          proxy,
          'POST',
          `/v3/clusters/${clusterId}/topics/payments/records`,
          { value: { type: 'STRING', data: 'paid' } },
          alice,
        )
      ).text,
    )
    assert.equal(allowed[0].error_code, 200, JSON.stringify(allowed))
    assert.equal(await written(), 1)

    const removed = await call(
      proxy,
      'DELETE',
      `/v3/clusters/${clusterId}/acls?resource_type=TOPIC&resource_name=payments&pattern_type=LITERAL&principal=User%3Aalice&host=*&operation=ANY&permission=ALLOW`,
      undefined,
      admin,
    )
    assert.equal(removed.status, 200, removed.text)
    assert.equal(removed.body.data.length, 2)
    const unspecified = await call(proxy, 'DELETE', `/v3/clusters/${clusterId}/acls`, undefined, admin)
    assert.deepEqual(unspecified.body, { error_code: 400, message: 'resource_type cannot be unspecified or UNKNOWN' })
  })

  test('connections are cached per principal with a limit; a principal held by a live stream is not evicted', async () => {
    const carol = auth('carol', 'carol-pw')
    const created = await call(
      proxy,
      'POST',
      '/v3/clusters/' + clusterId + '/acls',
      {
        resource_type: 'CLUSTER',
        resource_name: 'kafka-cluster',
        pattern_type: 'LITERAL',
        principal: 'User:alice',
        host: '*',
        operation: 'DESCRIBE',
        permission: 'ALLOW',
      },
      admin,
    )
    assert.equal(created.status, 201, created.text)
    // admin and alice fill the two places; admin holds its place with a live tail.
    const controller = new AbortController()
    const tail = await fetch(`${proxy.url}/v3/clusters/${clusterId}/topics/payments/records:tail`, {
      headers: admin,
      signal: controller.signal,
    })
    assert.equal(tail.status, 200)
    const reader = tail.body!.getReader()
    let text = ''
    while (!text.includes('event: ready')) text += Buffer.from((await reader.read()).value!).toString()
    assert.equal((await call(proxy, 'GET', '/v3/clusters', undefined, alice)).status, 200)
    // A third principal (unknown to the broker here, so its own check fails) needs a place: alice's is idle and goes.
    const third = await call(proxy, 'GET', '/v3/clusters', undefined, carol)
    assert.equal(third.status, 401)
    assert.equal((await call(proxy, 'GET', '/v3/clusters', undefined, alice)).status, 200)
    assert.equal(proxy.context.pool.size, 2)
    // Both places taken, admin's leased by the stream: another principal is turned away with 429 until one frees.
    await call(
      proxy,
      'POST',
      '/consumers/held',
      { name: 'h', format: 'binary' },
      {
        ...alice,
        'content-type': 'application/vnd.kafka.v2+json',
      },
    )
    const busy = await call(proxy, 'GET', '/v3/clusters', undefined, carol)
    assert.deepEqual([busy.status, busy.body.error_code], [429, 429])
    controller.abort()
    await reader.cancel().catch(() => {})
    await call(proxy, 'DELETE', '/consumers/held/instances/h', undefined, alice)
  })
})
