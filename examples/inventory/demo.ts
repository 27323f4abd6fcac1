/**
 * The whole example in one run: starts the inventory service, sends deliveries, sales and returns, waits until
 * the stock levels are published, prints them, and stops.
 *   node --import tsx examples/inventory/demo.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { KafkaStreams } from '../../src/streams/index.ts'
import { sendEvents } from './send.ts'
import { createTopics } from './service.ts'
import { readStock } from './stock.ts'
import { inventoryConfig, inventoryTopology } from './topology.ts'

const bootstrap = process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092'
const stateDir = mkdtempSync(join(tmpdir(), 'inventory-demo-'))
await createTopics(bootstrap)
const streams = new KafkaStreams(inventoryTopology(), inventoryConfig(bootstrap, stateDir))
await streams.start()

const before = await readStock(bootstrap)
const events = [
  { kind: 'delivery', sku: 'DEMO-LAMP', quantity: 10 },
  { kind: 'delivery', sku: 'DEMO-CHAIR', quantity: 4 },
  { kind: 'sale', sku: 'DEMO-LAMP', quantity: 3 },
  { kind: 'sale', sku: 'DEMO-CHAIR', quantity: 1 },
  { kind: 'return', sku: 'DEMO-LAMP', quantity: 1 },
  { kind: 'sale', sku: 'DEMO-LAMP', quantity: 2 },
] as const
await sendEvents(bootstrap, [...events])
const expected = new Map<string, number>()
for (const e of events) {
  const change = e.kind === 'sale' ? -e.quantity : e.quantity
  expected.set(e.sku, (expected.get(e.sku) ?? before.get(e.sku) ?? 0) + change)
}
// The service commits every 100 ms (exactly_once_v2): wait until its transaction with these events is visible.
let stock = await readStock(bootstrap)
while (![...expected].every(([sku, level]) => stock.get(sku) === level)) {
  await delay(100)
  stock = await readStock(bootstrap)
}
for (const [sku] of expected) console.log(`${sku}: ${before.get(sku) ?? 0} -> ${stock.get(sku)}`)
await streams.close()
rmSync(stateDir, { recursive: true, force: true })
