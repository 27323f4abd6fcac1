/**
 * Sends one page view or ad click of a user, now (or `minutes-ago` minutes ago):
 *   node --import tsx examples/clickstream/send.ts view <user-id> <page> [minutes-ago]
 *   node --import tsx examples/clickstream/send.ts click <user-id> <page> [minutes-ago]
 */
import { bootstrap, createTopics, sendEvents } from './io.ts'

const [kind, user, page, ago] = process.argv.slice(2)
const minutesAgo = ago === undefined ? 0 : Number(ago)
if ((kind !== 'view' && kind !== 'click') || !user || !page || !Number.isFinite(minutesAgo) || minutesAgo < 0) {
  console.error('usage: send.ts view|click <user-id> <page> [minutes-ago]')
  process.exit(2)
}
await createTopics(bootstrap)
await sendEvents(bootstrap, [{ kind, user, page, timestamp: Date.now() - minutesAgo * 60_000 }])
console.log(`sent ${kind} ${user}`)
