import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { BOOTSTRAP_ENV, createAdmin, ensureTopic, resolveBootstrap } from '../../src/client/index.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

describe('client factories (src/client)', () => {
  const saved = process.env[BOOTSTRAP_ENV]
  afterEach(() => {
    if (saved === undefined) delete process.env[BOOTSTRAP_ENV]
    else process.env[BOOTSTRAP_ENV] = saved
  })

  it('takes the bootstrap from options, else from TRIBUTARY_BOOTSTRAP, and validates host:port', () => {
    assert.deepEqual(resolveBootstrap('a:1, b:2'), ['a:1', 'b:2'])
    assert.deepEqual(resolveBootstrap(['[::1]:9092']), ['[::1]:9092'])
    process.env[BOOTSTRAP_ENV] = 'env-host:9093'
    assert.deepEqual(resolveBootstrap(), ['env-host:9093'])
    delete process.env[BOOTSTRAP_ENV]
    assert.throws(() => resolveBootstrap(), { code: 'TRB_CLIENT_NO_BOOTSTRAP' })
    assert.throws(() => resolveBootstrap('no-port'), { code: 'TRB_CLIENT_BAD_BOOTSTRAP' })
  })

  describe('against a broker', () => {
    let broker: TestBroker
    before(async () => {
      broker = await startTestBroker()
    })
    after(async () => {
      await broker.close()
    })

    it('ensureTopic creates a compacted topic once and leaves an existing one alone', async () => {
      const admin = createAdmin({ bootstrap: broker.bootstrap })
      try {
        const topic = `ensure-${Date.now().toString(36)}`
        await ensureTopic(admin, topic, { partitions: 1, configs: { 'cleanup.policy': 'compact' } })
        await ensureTopic(admin, topic, { partitions: 3 })
        const topics = await admin.listTopics({ includeInternals: true })
        assert.ok(topics.includes(topic))
        const [described] = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic }] })
        const policy = described?.configs.find((c) => c.name === 'cleanup.policy')
        assert.equal(policy?.value, 'compact')
      } finally {
        await admin.close()
      }
    })
  })
})
