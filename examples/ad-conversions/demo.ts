/**
 * The whole example in one run: sends campaigns, starts the service, sends clicks, waits until the clicks are counted
 * (so the service has them), sends purchases, waits for the conversions, prints them, and stops.
 *   node --import tsx examples/ad-conversions/demo.ts
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { KafkaStreams } from '../../src/streams/index.ts'
import { bootstrap, campaignClicks, createTopics, send } from './io.ts'
import { conversions, formatConversion } from './report.ts'
import { adConversionsConfig, adConversionsTopology, Topics } from './topology.ts'

const stateDir = mkdtempSync(join(tmpdir(), 'ad-conversions-demo-'))
await createTopics(bootstrap)

// A run of its own: fresh ad, user and order ids, so the demo can run again on the same broker.
const run = randomUUID().slice(0, 8)
const ad = (n: number) => `ad-${n}-${run}`
const user = (n: number) => `user-${n}-${run}`
const before = await campaignClicks(bootstrap)
// The campaigns first: the service loads the whole global table before it processes anything.
await send(bootstrap, Topics.campaigns, [
  { key: ad(1), value: { campaign: 'spring-sale', advertiser: 'Acme' } },
  { key: ad(2), value: { campaign: 'new-bikes', advertiser: 'Velo' } },
])
const streams = new KafkaStreams(adConversionsTopology(), adConversionsConfig(bootstrap, stateDir))
await streams.start()
await send(bootstrap, Topics.clicks, [
  { key: user(1), value: { adId: ad(1) } },
  { key: user(2), value: { adId: ad(1) } },
  { key: user(2), value: { adId: ad(2) } },
])
// The clicks are counted once the service has them: spring-sale +2, new-bikes +1.
const grew = (now: Map<string, number>) =>
  (now.get('spring-sale') ?? 0) >= (before.get('spring-sale') ?? 0) + 2 &&
  (now.get('new-bikes') ?? 0) >= (before.get('new-bikes') ?? 0) + 1
while (!grew(await campaignClicks(bootstrap))) await delay(100)

// user-1 converts on ad 1; user-2's last click was ad 2; user-3 never clicked an ad: not a conversion.
await send(bootstrap, Topics.purchases, [
  { key: user(1), value: { orderId: `order-1-${run}`, amount: 30 } },
  { key: user(2), value: { orderId: `order-2-${run}`, amount: 450 } },
  { key: `user-3-${run}`, value: { orderId: `order-3-${run}`, amount: 12 } },
])
const mine = async () => [...(await conversions(bootstrap)).values()].filter((c) => c.orderId.endsWith(run))
let found = await mine()
while (found.length < 2) {
  await delay(100)
  found = await mine()
}
for (const c of found) console.log(formatConversion(c).replaceAll(`-${run}`, ''))
await streams.close()
rmSync(stateDir, { recursive: true, force: true })
