import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createConsumer } from '../../src/client/index.ts'
import { type RunningSchemaRegistry, startSchemaRegistry } from '../../src/registry/index.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'
import { userV1, userV2 } from './helpers.ts'

async function call(registry: RunningSchemaRegistry, method: string, path: string, body?: unknown) {
  const res = await fetch(`${registry.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] }
}

// Unique topic names keep runs against an external cluster (TRIBUTARY_BOOTSTRAP) independent.
const suffix = Date.now().toString(36)
const topic = `_schemas_test_${suffix}`
const changesTopic = `_schemas_changes_test_${suffix}`

describe('registry storage on the broker (_schemas topic)', () => {
  let broker: TestBroker
  const open: RunningSchemaRegistry[] = []
  const start = async () => {
    const r = await startSchemaRegistry({ bootstrap: broker.bootstrap, port: 0, topic, changesTopic, timeoutMs: 15000 })
    open.push(r)
    return r
  }
  const stop = async (r: RunningSchemaRegistry) => {
    open.splice(open.indexOf(r), 1)
    await r.close()
  }

  before(async () => {
    broker = await startTestBroker()
  })
  after(async () => {
    for (const r of open) await r.close()
    await broker.close()
  })

  it('two registry instances on one broker agree on ids and versions', async () => {
    const a = await start()
    const b = await start()
    await call(a, 'PUT', '/config/two-value', { compatibility: 'NONE' })
    const schemas = ['"string"', '"int"', '"long"', '"double"'].map((s) => ({ schema: s }))
    const results = await Promise.all(
      schemas.map((s, i) => call(i % 2 === 0 ? a : b, 'POST', '/subjects/two-value/versions', s)),
    )
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body))
    const ids = results.map((r) => r.body.id as number)
    assert.equal(new Set(ids).size, 4)
    const fromA = await call(a, 'GET', '/subjects/two-value/versions')
    const fromB = await call(b, 'GET', '/subjects/two-value/versions')
    assert.deepEqual(fromA.body, [1, 2, 3, 4])
    assert.deepEqual(fromB.body, fromA.body)
    for (const v of [1, 2, 3, 4]) {
      const va = await call(a, 'GET', `/subjects/two-value/versions/${v}`)
      const vb = await call(b, 'GET', `/subjects/two-value/versions/${v}`)
      assert.deepEqual(va.body, vb.body)
    }
    // A write on one instance is visible on the other at once (reads sync to the log end first).
    const reg = await call(a, 'POST', '/subjects/seen-value/versions', { schema: JSON.stringify(userV1) })
    assert.equal((await call(b, 'GET', `/schemas/ids/${reg.body.id}`)).status, 200)
    await stop(a)
    await stop(b)
  })

  it('restart: broker and registry restart, everything is still there with the same ids', async () => {
    const a = await start()
    const v1 = await call(a, 'POST', '/subjects/restart-value/versions', { schema: JSON.stringify(userV1) })
    const v2 = await call(a, 'POST', '/subjects/restart-value/versions', { schema: JSON.stringify(userV2) })
    await call(a, 'PUT', '/config/restart-value', { compatibility: 'FULL_TRANSITIVE' })
    await call(a, 'DELETE', '/subjects/restart-value/versions/1')
    const before = await call(a, 'GET', '/subjects/restart-value/versions?deleted=true')
    await stop(a)
    if (broker.local) await broker.restart()

    const b = await start()
    assert.deepEqual((await call(b, 'GET', '/subjects/restart-value/versions?deleted=true')).body, before.body)
    assert.deepEqual((await call(b, 'GET', '/subjects/restart-value/versions')).body, [2])
    assert.equal((await call(b, 'GET', '/subjects/restart-value/versions/2')).body.id, v2.body.id)
    assert.equal((await call(b, 'GET', '/subjects/restart-value/versions/1?deleted=true')).body.id, v1.body.id)
    assert.deepEqual((await call(b, 'GET', '/config/restart-value')).body, { compatibilityLevel: 'FULL_TRANSITIVE' })
    const next = await call(b, 'POST', '/subjects/after-restart/versions', { schema: '"boolean"' })
    assert.ok((next.body.id as number) > (v2.body.id as number), 'ids are never reused after a restart')
    await stop(b)
  })

  it('a running registry keeps working across a broker restart', async (t) => {
    if (!broker.local) return t.skip('cannot restart an external cluster')
    const a = await start()
    const before = await call(a, 'POST', '/subjects/survive-value/versions', { schema: '"string"' })
    await broker.restart()
    await call(a, 'PUT', '/config/survive-value', { compatibility: 'NONE' })
    const after = await call(a, 'POST', '/subjects/survive-value/versions', { schema: '"int"' })
    assert.equal(after.status, 200, JSON.stringify(after.body))
    assert.ok((after.body.id as number) > (before.body.id as number))
    assert.deepEqual((await call(a, 'GET', '/subjects/survive-value/versions')).body, [1, 2])
    await stop(a)
  })

  it('publishes change events to the change-notification topic', async () => {
    const a = await start()
    await call(a, 'POST', '/subjects/notify-value/versions', { schema: '"bytes"' })
    await call(a, 'PUT', '/config/notify-value', { compatibility: 'NONE' })
    const consumer = createConsumer({ bootstrap: broker.bootstrap, groupId: `notify-${suffix}`, maxWaitTime: 200 })
    const stream = await consumer.consume({ topics: [changesTopic], mode: 'earliest', autocommit: false })
    const events: { type: string; subject: string }[] = []
    for await (const message of stream) {
      events.push(JSON.parse(message.value.toString()))
      if (events.some((e) => e.type === 'config' && e.subject === 'notify-value')) break
    }
    await stream.close()
    await consumer.close(true)
    assert.ok(events.some((e) => e.type === 'register' && e.subject === 'notify-value'))
    await stop(a)
  })
})
