/**
 * The whole example in one run: starts the service, sends two users' views and clicks (with event times spread
 * over forty minutes, one of them out of order), waits until their sessions are published, prints them, and stops.
 *   node --import tsx examples/clickstream/demo.ts
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { KafkaStreams } from '../../src/streams/index.ts'
import { bootstrap, createTopics, formatSession, sendEvents, sessions } from './io.ts'
import { clickstreamConfig, clickstreamTopology } from './topology.ts'

const stateDir = mkdtempSync(join(tmpdir(), 'clickstream-demo-'))
await createTopics(bootstrap)
const streams = new KafkaStreams(clickstreamTopology(), clickstreamConfig(bootstrap, stateDir))
await streams.start()

// A run of its own: fresh user ids, so the demo can run again on the same broker.
const run = randomUUID().slice(0, 8)
const ann = `ann-${run}`
const bob = `bob-${run}`
const min = 60_000
const t0 = Date.now() - 10 * min
await sendEvents(bootstrap, [
  // ann: one view, then 32 minutes without events (a session ends after 30), then three events in two minutes.
  { kind: 'view', user: ann, page: '/home', timestamp: t0 - 32 * min },
  { kind: 'view', user: ann, page: '/home', timestamp: t0 },
  { kind: 'view', user: ann, page: '/bikes', timestamp: t0 + 1 * min },
  { kind: 'click', user: ann, page: '/ads/velo', timestamp: t0 + 2 * min },
  // bob: his click arrives before the view it followed (out of order, same session).
  { kind: 'click', user: bob, page: '/ads/acme', timestamp: t0 + 6 * min },
  { kind: 'view', user: bob, page: '/deals', timestamp: t0 + 5 * min },
])
const mine = async () => (await sessions(bootstrap)).filter((s) => s.user.endsWith(run))
const complete = (found: Awaited<ReturnType<typeof mine>>) =>
  found.reduce((n, s) => n + s.views + s.clicks, 0) === 6 && found.length === 3
let found = await mine()
while (!complete(found)) {
  await delay(100)
  found = await mine()
}
for (const s of found) console.log(formatSession(s).replaceAll(`-${run}`, ''))
await streams.close()
rmSync(stateDir, { recursive: true, force: true })
