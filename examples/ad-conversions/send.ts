/**
 * Sends one event:
 *   node --import tsx examples/ad-conversions/send.ts campaign <ad-id> <campaign> <advertiser>
 *   node --import tsx examples/ad-conversions/send.ts click <user-id> <ad-id>
 *   node --import tsx examples/ad-conversions/send.ts purchase <user-id> <order-id> <amount>
 */
import { bootstrap, createTopics, send } from './io.ts'
import type { Campaign, Click, Purchase } from './topology.ts'
import { Topics } from './topology.ts'

const [kind, key, a, b] = process.argv.slice(2)
await createTopics(bootstrap)
if (kind === 'campaign' && key && a && b) {
  await send(bootstrap, Topics.campaigns, [{ key, value: { campaign: a, advertiser: b } satisfies Campaign }])
} else if (kind === 'click' && key && a) {
  await send(bootstrap, Topics.clicks, [{ key, value: { adId: a } satisfies Click }])
} else if (kind === 'purchase' && key && a && Number(b) > 0) {
  await send(bootstrap, Topics.purchases, [{ key, value: { orderId: a, amount: Number(b) } satisfies Purchase }])
} else {
  console.error(
    'usage: send.ts campaign <ad-id> <campaign> <advertiser> | click <user-id> <ad-id> | ' +
      'purchase <user-id> <order-id> <amount>',
  )
  process.exit(2)
}
console.log(`sent ${kind} ${key}`)
