/**
 * examples/inventory: the topology's accounting through the test driver, and the example's scripts as the README
 * runs them, against a real broker.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { inventoryTopology, Topics } from '../../examples/inventory/topology.ts'
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
  run(process.execPath, ['--import', 'tsx', join(root, 'examples', 'inventory', name), ...args], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_BOOTSTRAP: broker.bootstrap },
    timeout: 60000,
  })

describe('examples/inventory', () => {
  it('adds deliveries and returns, subtracts sales, and alerts when a SKU is oversold', async () => {
    const driver = new TopologyTestDriver(inventoryTopology(), { 'application.id': 'inventory-test' })
    const json = Serdes.Json<{ id: string; quantity: number }>()
    const send = (topic: string, sku: string, quantity: number) =>
      driver.createInputTopic(topic, Serdes.String(), json).pipeInput(sku, { id: `${topic}-${quantity}`, quantity })
    send(Topics.deliveries, 'SKU-1', 5)
    send(Topics.sales, 'SKU-1', 2)
    send(Topics.returns, 'SKU-1', 1)
    send(Topics.sales, 'SKU-1', 6)
    const stock = driver.createOutputTopic(Topics.stock, Serdes.String(), Serdes.Long())
    assert.deepEqual(stock.readValuesToList(), [5, 3, 4, -2])
    const alerts = driver.createOutputTopic(Topics.alerts, Serdes.String(), Serdes.Json())
    assert.deepEqual(alerts.readKeyValuesToMap(), new Map([['SKU-1', { sku: 'SKU-1', level: -2 }]]))
    await driver.closeAsync()
  })

  it('runs as the README says: the demo, then send.ts and stock.ts with the state restored', async () => {
    const first = await script('demo.ts')
    assert.equal(first.stdout, 'DEMO-LAMP: 0 -> 6\nDEMO-CHAIR: 0 -> 3\n')
    // A second run starts on a new state directory: the levels are restored from the changelog and go on.
    const second = await script('demo.ts')
    assert.equal(second.stdout, 'DEMO-LAMP: 6 -> 12\nDEMO-CHAIR: 3 -> 6\n')
    assert.equal((await script('send.ts', 'delivery', 'SKU-1', '10')).stdout, 'sent delivery of 10 × SKU-1\n')
    assert.equal((await script('stock.ts')).stdout, 'DEMO-CHAIR: 6\nDEMO-LAMP: 12\n')
  })
})
