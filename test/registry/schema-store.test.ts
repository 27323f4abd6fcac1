import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InMemoryChangeSink } from '../../src/registry/change-events.ts'
import { RegistryService } from '../../src/registry/registry-service.ts'
import { InMemorySchemaLog } from '../../src/registry/schema-log.ts'
import { SchemaStore } from '../../src/registry/schema-store.ts'

/** Writes one record as another registry instance would: key and value are UTF-8 JSON. */
function appendJson(log: InMemorySchemaLog, key: string, value: string) {
  return log.append([{ key: Buffer.from(key), value: Buffer.from(value) }])
}

async function instance(log: InMemorySchemaLog) {
  const store = new SchemaStore(log, { timeoutMs: 2000 })
  await store.start()
  const changes = new InMemoryChangeSink()
  return { store, changes, service: new RegistryService({ store, changes }) }
}

const avro = (name: string, fields: unknown[] = []) => ({
  schema: JSON.stringify({ type: 'record', name, fields }),
})

describe('log-backed schema store', () => {
  it('rebuilds identical state from the log (restart loses nothing, ids stay)', async () => {
    const log = new InMemorySchemaLog()
    const a = await instance(log)
    const r1 = await a.service.register('s1', avro('A'))
    const r2 = await a.service.register('s2', avro('B'))
    await a.service.setConfig('s1', 'FULL')
    await a.service.setMode('s2', 'READONLY')
    await a.service.register('s3', avro('C'))
    await a.service.deleteSubject('s3')
    await a.store.close()

    const b = await instance(log)
    assert.deepEqual(await b.service.subjects(), ['s1', 's2'])
    assert.deepEqual(await b.service.subjects({ deleted: true }), ['s1', 's2', 's3'])
    assert.equal((await b.service.version('s1', 'latest')).id, r1.id)
    assert.equal((await b.service.version('s2', 1)).id, r2.id)
    assert.equal(await b.service.getConfig('s1'), 'FULL')
    assert.equal(await b.service.getMode('s2'), 'READONLY')
    assert.equal((await b.service.register('s4', avro('D'))).id, 4, 'ids continue after the highest seen')
    await b.store.close()
  })

  it('two instances on one log agree on ids and versions under concurrent registration', async () => {
    const log = new InMemorySchemaLog()
    const a = await instance(log)
    const b = await instance(log)
    await a.service.setConfig(null, 'NONE')
    const results = await Promise.all([
      a.service.register('shared', avro('X1')),
      b.service.register('shared', avro('X2')),
      a.service.register('other', avro('Y1')),
      b.service.register('other2', avro('Z1')),
    ])
    const ids = results.map((r) => r.id)
    assert.equal(new Set(ids).size, 4, `four different schemas get four ids: ${ids}`)
    const versions = [results[0].version, results[1].version].sort()
    assert.deepEqual(versions, [1, 2], 'one instance won version 1, the other retried into version 2')
    await a.store.sync()
    await b.store.sync()
    assert.deepEqual(a.store.allVersions(), b.store.allVersions())
    for (const r of results) {
      assert.deepEqual(a.store.schemaById(r.id), b.store.schemaById(r.id))
    }
    const rejected = log.records.filter((rec) => rec.value === null)
    assert.ok(rejected.length >= 1, 'losing claims were tombstoned')
    await a.store.close()
    await b.store.close()
  })

  it('keeps the winner after compaction even when the winner was later soft-deleted', async () => {
    const log = new InMemorySchemaLog()
    const a = await instance(log)
    const b = await instance(log)
    await a.service.setConfig(null, 'NONE')
    const [ra, rb] = await Promise.all([a.service.register('race', avro('W1')), b.service.register('race', avro('W2'))])
    const winner = ra.version === 1 ? ra : rb
    await a.service.deleteVersion('race', 1)
    const before = JSON.stringify(a.store.allVersions())
    log.compact()
    const c = await instance(log)
    assert.equal(JSON.stringify(c.store.allVersions()), before)
    assert.equal((await c.service.version('race', 1, { deleted: true })).id, winner.id)
    for (const s of [a, b, c]) await s.store.close()
  })

  it('derives the same state from a log whose records arrive after compaction in any claim order', async () => {
    // A losing claim whose writer crashed before tombstoning it survives compaction next to the winner's update;
    // ordering by claim offset (not arrival order) still picks the original winner.
    const log = new InMemorySchemaLog()
    const winner = {
      subject: 's',
      version: 1,
      id: 1,
      schemaType: 'AVRO',
      schema: '"string"',
      references: [],
      deleted: false,
    }
    await appendJson(
      log,
      JSON.stringify({ keytype: 'SCHEMA', subject: 's', version: 1, claim: 'w' }),
      JSON.stringify(winner),
    )
    await appendJson(
      log,
      JSON.stringify({ keytype: 'SCHEMA', subject: 's', version: 1, claim: 'l' }),
      JSON.stringify({ ...winner, id: 2, schema: '"int"' }),
    )
    await appendJson(
      log,
      JSON.stringify({ keytype: 'SCHEMA', subject: 's', version: 1, claim: 'w' }),
      JSON.stringify({ ...winner, deleted: true, claimOffset: 0 }),
    )
    log.compact()
    const r = await instance(log)
    const versions = r.store.allVersions()
    assert.equal(versions.length, 1)
    assert.equal(versions[0].id, 1)
    assert.equal(versions[0].deleted, true)
    await r.store.close()
  })

  it('tombstones a losing claim whose writer crashed, so a later permanent delete cannot resurrect it', async () => {
    const log = new InMemorySchemaLog()
    const a = await instance(log)
    await a.service.setConfig(null, 'NONE')
    const winner = await a.service.register('crash', avro('Won'))
    // A second instance's claim for the same version that lost and was never cleaned up (its writer died).
    const loserKey = JSON.stringify({ keytype: 'SCHEMA', subject: 'crash', version: 1, claim: 'dead-writer' })
    const loser = {
      subject: 'crash',
      version: 1,
      id: 99,
      schemaType: 'AVRO',
      schema: '"int"',
      references: [],
      deleted: false,
    }
    await appendJson(log, loserKey, JSON.stringify(loser))
    await a.store.sync()
    await a.service.register('other-subject', avro('Next'))
    assert.ok(
      log.records.some((r) => r.key.toString() === loserKey && r.value === null),
      'the next write swept the rejected claim',
    )
    await a.service.deleteSubject('crash')
    await a.service.deleteSubject('crash', true)
    log.compact()
    const b = await instance(log)
    assert.deepEqual(await b.service.subjects({ deleted: true }), ['other-subject'])
    assert.equal(b.store.schemaById(99), undefined)
    assert.equal(b.store.schemaById(winner.id), undefined)
    for (const s of [a, b]) await s.store.close()
  })

  it('publishes change events for registrations, deletes, config and mode', async () => {
    const log = new InMemorySchemaLog()
    const a = await instance(log)
    await a.service.register('ev', avro('E'))
    await a.service.register('ev', avro('E'))
    await a.service.setConfig('ev', 'FORWARD')
    await a.service.setMode('ev', 'READONLY')
    await a.service.deleteMode('ev')
    await a.service.deleteVersion('ev', 1)
    assert.deepEqual(
      a.changes.events.map((e) => e.type),
      ['register', 'config', 'mode', 'mode', 'delete'],
    )
    const reg = a.changes.events[0]
    assert.equal(reg.type === 'register' && reg.subject === 'ev' && reg.version === 1 && reg.id === 1, true)
    await a.store.close()
  })
})
