/**
 * examples/ad-conversions: the stream-table-table enrichment through the test driver, and the example's scripts as
 * the README runs them, against a real broker.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { adConversionsTopology, type Conversion, Topics } from '../../examples/ad-conversions/topology.ts'
import { Serdes } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'
import { startTestBroker, type TestBroker } from '../helpers/broker.ts'

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
let broker: TestBroker

before(async () => {
  broker = await startTestBroker()
})
after(() => broker.close())

const script = (name: string, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'examples', 'ad-conversions', name), ...args], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_BOOTSTRAP: broker.bootstrap },
    timeout: 90000,
  })

describe('examples/ad-conversions', () => {
  it('attributes each purchase to the last ad its user clicked, with the campaign; counts clicks per campaign', async () => {
    const driver = new TopologyTestDriver(adConversionsTopology(), { 'application.id': 'ad-conversions-test' })
    const S = Serdes.String()
    const campaigns = driver.createInputTopic(Topics.campaigns, S, Serdes.Json())
    const clicks = driver.createInputTopic(Topics.clicks, S, Serdes.Json())
    const purchases = driver.createInputTopic(Topics.purchases, S, Serdes.Json())
    campaigns.pipeInput('ad-1', { campaign: 'spring-sale', advertiser: 'Acme' }, 1)
    clicks.pipeInput('u1', { adId: 'ad-1' }, 2)
    clicks.pipeInput('u2', { adId: 'ad-2' }, 3) // an ad without a campaign yet
    purchases.pipeInput('u1', { orderId: 'o1', amount: 30 }, 4)
    purchases.pipeInput('u2', { orderId: 'o2', amount: 5 }, 5) // no campaign: not attributed
    purchases.pipeInput('u3', { orderId: 'o3', amount: 7 }, 6) // no click: not a conversion
    campaigns.pipeInput('ad-2', { campaign: 'new-bikes', advertiser: 'Velo' }, 7)
    purchases.pipeInput('u2', { orderId: 'o4', amount: 450 }, 8)
    campaigns.pipeInput('ad-1', { campaign: 'summer-sale', advertiser: 'Acme' }, 9) // later purchases see it
    purchases.pipeInput('u1', { orderId: 'o5', amount: 20 }, 10)
    const out = driver.createOutputTopic(Topics.conversions, S, Serdes.Json<Conversion>()).readRecordsToList()
    assert.deepEqual(
      out.map((r) => [r.key, r.value, r.timestamp]),
      [
        [
          'ad-1',
          { orderId: 'o1', amount: 30, userId: 'u1', adId: 'ad-1', campaign: 'spring-sale', advertiser: 'Acme' },
          4,
        ],
        [
          'ad-2',
          { orderId: 'o4', amount: 450, userId: 'u2', adId: 'ad-2', campaign: 'new-bikes', advertiser: 'Velo' },
          8,
        ],
        [
          'ad-1',
          { orderId: 'o5', amount: 20, userId: 'u1', adId: 'ad-1', campaign: 'summer-sale', advertiser: 'Acme' },
          10,
        ],
      ],
    )
    const counts = driver.createOutputTopic(Topics.campaignClicks, S, Serdes.Long()).readKeyValuesToMap()
    // The click on ad-2 came before its campaign: a stream-table join drops it (the table is only looked up).
    assert.deepEqual(
      [...counts].map(([k, v]) => [k, Number(v)]),
      [['spring-sale', 1]],
    )
    await driver.closeAsync()
  })

  it('runs as the README says: the demo, then send.ts and report.ts', async () => {
    const expected =
      'order-1: user-1 paid 30 after ad ad-1 (spring-sale, Acme)\n' +
      'order-2: user-2 paid 450 after ad ad-2 (new-bikes, Velo)\n'
    assert.equal((await script('demo.ts')).stdout, expected)
    // A second run on the same broker: its own ids, the same story.
    assert.equal((await script('demo.ts')).stdout, expected)
    assert.equal((await script('send.ts', 'click', 'user-9', 'ad-9')).stdout, 'sent click user-9\n')
    const report = (await script('report.ts')).stdout
    assert.match(report, /: user-1-[0-9a-f]{8} paid 30 after ad ad-1-[0-9a-f]{8} \(spring-sale, Acme\)\n/)
    assert.match(report, /^spring-sale: 4 clicks$/m)
    assert.match(report, /^new-bikes: 2 clicks$/m)
  })
})
