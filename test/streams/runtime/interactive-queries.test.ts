/**
 * Interactive queries across instances of one application on a real broker: two in-process KafkaStreams, each
 * serving queries over HTTP (interactive.queries.port 0). A key the other instance owns is answered through
 * routing; range scans and counts are gathered from both; a position token makes the answer wait for the write;
 * queries during a rebalance (held open by the test's own group leader) and during a restoration get Kafka
 * Streams' clear errors.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { stringSerializers } from '@platformatic/kafka'
import {
  createProducer,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  ensureTopic,
  GroupMember,
  type GroupMemberMetadata,
  KafkaCluster,
} from '../../../src/client/index.ts'
import {
  type InvalidStateStoreError,
  KafkaStreams,
  Materialized,
  Position,
  PositionBound,
  QueryableStoreTypes,
  Serdes,
  StoreQueryParameters,
  StreamsBuilder,
  Topology,
  type WindowedKey,
} from '../../../src/streams/index.ts'
import type { ProcessorContext } from '../../../src/streams/processor/api.ts'
import { KeyValue, type Record as StreamsRecord } from '../../../src/streams/processor/record.ts'
import {
  decodeSubscriptionInfo,
  encodeAssignmentInfo,
  encodeSubscriptionInfo,
} from '../../../src/streams/runtime/assignor.ts'
import { makeIterator } from '../../../src/streams/state/key-value-store.ts'
import type { StateStore, StateStoreContext } from '../../../src/streams/state/state-store.ts'
import type { StoreBuilder } from '../../../src/streams/state/stores.ts'
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.ts'
import { stateRecorder } from './helpers.ts'

const PARTITIONS = 4
let broker: TestBroker
let admin: KafkaCluster
const dirs: Array<{ remove(): void }> = []
const open: KafkaStreams[] = []

before(async () => {
  broker = await startTestBroker({ groupMinSessionTimeoutMs: 1000 })
  admin = new KafkaCluster({ bootstrap: broker.bootstrap })
})

after(async () => {
  for (const s of open) await s.close()
  await admin.close()
  await broker.close()
  for (const d of dirs) d.remove()
})

function clicksTopology(input: string, logging = true) {
  const builder = new StreamsBuilder()
  const store = Materialized.as<string, number>('clicks-per-user')
  builder
    .stream<string, string>(input)
    .groupByKey()
    .count(logging ? store : store.withLoggingDisabled())
  return builder.build()
}

function instance(applicationId: string, input: string, extra: Record<string, unknown> = {}, logging = true) {
  const d = tempDir('trb-streams-iq-')
  dirs.push(d)
  const streams = new KafkaStreams(clicksTopology(input, logging), {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'default.key.serde': Serdes.String(),
    'default.value.serde': Serdes.String(),
    'state.dir': d.path,
    'commit.interval.ms': 100,
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 200,
    'interactive.queries.port': 0,
    'log.level': 'silent',
    ...extra,
  })
  open.push(streams)
  return { streams, states: stateRecorder(streams) }
}

/** Waits for a condition that depends on other processes (the group, the broker), checking every 20 ms. */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = check()
    if (result) return result
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: Record<string, any>; retryAfter: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return {
    status: response.status,
    body: (await response.json()) as Record<string, any>,
    retryAfter: response.headers.get('retry-after'),
  }
}

/** Sends one click per call (so each send's offset is that click's), returning the clicks' offsets. */
async function click(topic: string, users: string[]) {
  const producer = createProducer({ bootstrap: broker.bootstrap, serializers: stringSerializers })
  const offsets: Array<{ topic: string; partition: number; offset: bigint }> = []
  try {
    for (const user of users) {
      const result = await producer.send({ messages: [{ topic, key: user, value: 'click' }], acks: -1 })
      offsets.push(...(result.offsets ?? []))
    }
  } finally {
    await producer.close()
  }
  return Position.fromOffsets(offsets)
}

/**
 * A minimal in-memory window store (one per task) with Kafka Streams' read methods, built by a StoreBuilder without
 * changelog: what the window and session query types need from a store, independently of the DSL's window stores.
 */
class TestWindowStore implements StateStore {
  readonly name: string
  readonly windowSize = 10
  #open = false
  readonly #windows = new Map<string, number>()
  constructor(name: string) {
    this.name = name
  }
  init(context: StateStoreContext, root: StateStore) {
    // No changelog: nothing to restore.
    context.register(root, () => {})
    this.#open = true
  }
  flush() {}
  close() {
    this.#open = false
  }
  persistent() {
    return false
  }
  isOpen() {
    return this.#open
  }
  put(key: string, value: number, start: number) {
    this.#windows.set(JSON.stringify([key, start]), value)
  }
  #rows(from: string | null, to: string | null, t0: number, t1: number) {
    return [...this.#windows]
      .map(([k, v]) => [...(JSON.parse(k) as [string, number]), v] as [string, number, number])
      .filter(([k, s]) => (from === null || k >= from) && (to === null || k <= to) && s >= t0 && s <= t1)
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x - y))
  }
  #windowed(rows: Array<[string, number, number]>) {
    return makeIterator(
      rows
        .map(
          ([key, start, v]) =>
            new KeyValue<WindowedKey<string>, number>({ key, window: { startMs: start, endMs: start + 10 } }, v),
        )
        [Symbol.iterator](),
    )
  }
  fetch(...args: unknown[]): unknown {
    if (args.length === 2) return this.#windows.get(JSON.stringify(args))
    if (args.length === 3) {
      const [key, t0, t1] = args as [string, number, number]
      return makeIterator(
        this.#rows(key, key, t0, t1)
          .map(([, s, v]) => new KeyValue(s, v))
          [Symbol.iterator](),
      )
    }
    const [from, to, t0, t1] = args as [string | null, string | null, number, number]
    return this.#windowed(this.#rows(from, to, t0, t1))
  }
  backwardFetch(...args: unknown[]): unknown {
    const it = this.fetch(...args) as Iterable<KeyValue<unknown, number>>
    return makeIterator([...it].reverse()[Symbol.iterator]())
  }
  all() {
    return this.#windowed(this.#rows(null, null, 0, Number.MAX_SAFE_INTEGER))
  }
  backwardAll() {
    return this.#windowed(this.#rows(null, null, 0, Number.MAX_SAFE_INTEGER).reverse())
  }
  fetchAll(t0: number, t1: number) {
    return this.#windowed(this.#rows(null, null, t0, t1))
  }
  backwardFetchAll(t0: number, t1: number) {
    return this.#windowed(this.#rows(null, null, t0, t1).reverse())
  }
}

function testWindowStoreBuilder(name: string): StoreBuilder<TestWindowStore> {
  const builder: StoreBuilder<TestWindowStore> = {
    name,
    loggingEnabled: false,
    cachingEnabled: false,
    logConfig: {},
    persistent: false,
    withCachingEnabled: () => builder,
    withCachingDisabled: () => builder,
    withLoggingEnabled: () => builder,
    withLoggingDisabled: () => builder,
    build: () => new TestWindowStore(name),
  }
  return builder
}

const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`)

describe('interactive queries on two instances', () => {
  it('routes a key to the instance owning it, gathers scans and counts, and honours position tokens', async () => {
    const input = 'iq-clicks'
    await ensureTopic(admin.admin, input, { partitions: PARTITIONS })
    // No record cache: the approximate count reads the stores themselves (as Kafka Streams' approximateNumEntries,
    // it does not see cached writes not yet flushed), so once positions are reached it is exact.
    const noCache = { 'num.standby.replicas': 1, 'statestore.cache.max.bytes': 0 }
    const a = instance('iq-app', input, noCache)
    const b = instance('iq-app', input, noCache)
    await a.streams.start()
    await b.streams.start()
    const hostA = `127.0.0.1:${a.streams.queriesPort}`
    const hostB = `127.0.0.1:${b.streams.queriesPort}`
    assert.deepEqual(a.streams.applicationServer, { host: '127.0.0.1', port: a.streams.queriesPort })
    // Settled: both running, each with two active partitions (and a standby of the other's).
    await until('both instances running with two partitions each', () => {
      if (a.streams.state !== 'RUNNING' || b.streams.state !== 'RUNNING') return false
      const all = a.streams.metadataForAllStreamsClients()
      return (
        all.length === 2 &&
        all.every((m) => m.topicPartitions.length === 2 && m.standbyTopicPartitions.length === 2) &&
        b.streams.metadataForAllStreamsClients().length === 2
      )
    })
    const all = a.streams.allMetadata()
    assert.deepEqual(
      all.map((m) => `${m.host}:${m.port}`),
      [hostA, hostB].sort((x, y) => Number(x.split(':')[1]) - Number(y.split(':')[1])),
    )
    assert.deepEqual(all[0]!.stateStoreNames, ['clicks-per-user'])
    assert.deepEqual(all[0]!.standbyStateStoreNames, ['clicks-per-user'])
    assert.equal(a.streams.streamsMetadataForStore('clicks-per-user').length, 2)

    // Each user clicks (index + 1) times.
    const clicks = USERS.flatMap((u, i) => Array.from({ length: i + 1 }, () => u))
    const written = await click(input, clicks)
    const token = written.toString()

    // Which instance holds which user, as both instances see it.
    const owner = new Map<string, string>()
    for (const user of USERS) {
      const meta = a.streams.queryMetadataForKey('clicks-per-user', user)
      assert.deepEqual(b.streams.queryMetadataForKey('clicks-per-user', user), meta)
      assert.equal(meta.standbyHosts.length, 1)
      assert.notEqual(
        `${meta.standbyHosts[0]!.host}:${meta.standbyHosts[0]!.port}`,
        `${meta.activeHost.host}:${meta.activeHost.port}`,
      )
      owner.set(user, `${meta.activeHost.host}:${meta.activeHost.port}`)
    }
    const onB = USERS.filter((u) => owner.get(u) === hostB)
    const onA = USERS.filter((u) => owner.get(u) === hostA)
    assert.ok(onA.length > 0 && onB.length > 0, `users spread over both instances: ${[...owner]}`)

    // Asking A for every user: A's own are answered by A, B's are routed to B; each waits for the clicks.
    for (const [i, user] of USERS.entries()) {
      const { status, body } = await get(
        a.streams.queriesPort!,
        `/stores/clicks-per-user/keys/${user}?position=${encodeURIComponent(token)}`,
      )
      assert.equal(status, 200, JSON.stringify(body))
      assert.equal(body.value, i + 1, user)
      assert.equal(body.found, true)
      assert.equal(body.host, owner.get(user))
      assert.equal(typeof body.timestamp, 'number')
      const meta = a.streams.queryMetadataForKey('clicks-per-user', user)
      assert.equal(body.partition, meta.partition)
      // The answer's position covers the clicks of its partition (and only of its partition).
      assert.ok(Position.parse(body.positionToken).dominates(written, meta.partition), body.positionToken)
      assert.deepEqual(Object.keys(body.position), [input])
    }
    const missing = await get(b.streams.queriesPort!, `/stores/clicks-per-user/keys/nobody`)
    assert.equal(missing.status, 200)
    assert.equal(missing.body.found, false)
    assert.equal(missing.body.value, null)

    // Scans and counts gathered from both instances, in key order, whichever instance is asked.
    for (const port of [a.streams.queriesPort!, b.streams.queriesPort!]) {
      const entries = await get(port, `/stores/clicks-per-user/entries?position=${encodeURIComponent(token)}`)
      assert.equal(entries.status, 200, JSON.stringify(entries.body))
      assert.deepEqual(
        entries.body.entries.map((e: { key: string; value: number }) => [e.key, e.value]),
        USERS.map((u, i) => [u, i + 1]).sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1)),
      )
      assert.deepEqual(entries.body.partitions, [0, 1, 2, 3])
      assert.equal(entries.body.truncated, false)
      assert.ok(Position.parse(entries.body.positionToken).dominates(written))
      const range = await get(port, `/stores/clicks-per-user/entries?from=user-1&to=user-2&reverse=true`)
      assert.deepEqual(
        range.body.entries.map((e: { key: string }) => e.key),
        ['user-2', 'user-11', 'user-10', 'user-1'],
      )
      const limited = await get(port, `/stores/clicks-per-user/entries?prefix=user-1&limit=2`)
      assert.deepEqual(
        limited.body.entries.map((e: { key: string }) => e.key),
        ['user-1', 'user-10'],
      )
      assert.equal(limited.body.truncated, true)
      const count = await get(port, `/stores/clicks-per-user/count`)
      assert.equal(count.body.count, USERS.length)
      const metadata = await get(port, `/stores/clicks-per-user/metadata?key=${onB[0]}`)
      assert.equal(metadata.body.partitions, PARTITIONS)
      assert.equal(`${metadata.body.key.activeHost.host}:${metadata.body.key.activeHost.port}`, hostB)
      assert.equal(metadata.body.instances.length, 2)
    }

    // Read-your-writes: one more click for a user of B, then asking A with that click's position answers with
    // it applied — A waits for nothing itself, B waits until its task has processed the click.
    const target = onB[0]!
    const before = USERS.indexOf(target) + 1
    const next = await click(input, [target])
    const answered = await get(
      a.streams.queriesPort!,
      `/stores/clicks-per-user/keys/${target}?position=${encodeURIComponent(next.toString())}&timeout=30000`,
    )
    assert.equal(answered.status, 200)
    assert.equal(answered.body.value, before + 1)

    // The programmatic API: the composite view reads this instance's partitions only.
    const params = StoreQueryParameters.fromNameAndType(
      'clicks-per-user',
      QueryableStoreTypes.keyValueStore<string, number>(),
    )
    await a.streams.waitForPosition(params, PositionBound.at(written))
    const storeA = a.streams.store(params)
    assert.equal(storeA.get(onA[0]!), USERS.indexOf(onA[0]!) + 1)
    assert.equal(storeA.get(onB[0]!), undefined)
    assert.deepEqual(
      [...storeA.all()].map((e) => e.key),
      [...onA].sort(),
    )
    const timestamped = a.streams.store(
      StoreQueryParameters.fromNameAndType(
        'clicks-per-user',
        QueryableStoreTypes.timestampedKeyValueStore<string, number>(),
      ),
    )
    assert.equal(timestamped.get(onA[0]!)?.value, USERS.indexOf(onA[0]!) + 1)
    const partitionOfB = a.streams.queryMetadataForKey('clicks-per-user', onB[0]!).partition
    assert.throws(
      () => a.streams.store(params.withPartition(partitionOfB)).get(onB[0]!),
      (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_STORE_MIGRATED' && e.retriable,
    )
    assert.throws(
      () => a.streams.store(params.withPartition(PARTITIONS)),
      (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_INVALID_STORE_PARTITION',
    )
    assert.throws(
      () => a.streams.store(StoreQueryParameters.fromNameAndType('nope', QueryableStoreTypes.keyValueStore())),
      (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_UNKNOWN_STORE' && /clicks-per-user/.test(e.message),
    )

    // A standby answers with stale stores (its copy may be behind, so it has no position to wait on).
    const stale = await get(b.streams.queriesPort!, `/stores/clicks-per-user/keys/${onA[0]}?stale=true&local=true`)
    assert.equal(stale.status, 200, JSON.stringify(stale.body))
    assert.equal(stale.body.standby, true)
    assert.ok(stale.body.value === null || stale.body.value <= USERS.indexOf(onA[0]!) + 1)
    // Without stale stores, B does not hold A's partition: migrated (the caller looks the host up again).
    const notHere = await get(b.streams.queriesPort!, `/stores/clicks-per-user/keys/${onA[0]}?local=true`)
    assert.equal(notHere.status, 503)
    assert.equal(notHere.body.code, 'TRB_STREAMS_STORE_MIGRATED')
    assert.equal(notHere.body.retriable, true)

    // A position that will not be reached in time, one the store cannot ever reach, bad input.
    const far = Position.empty().withComponent(input, partitionOfB, 1_000_000).toString()
    const late = await get(a.streams.queriesPort!, `/stores/clicks-per-user/keys/${onB[0]}?position=${far}&timeout=300`)
    assert.equal(late.status, 504)
    assert.equal(late.body.code, 'TRB_STREAMS_POSITION_NOT_REACHED')
    assert.match(late.body.message, /did not reach position/)
    const foreign = await get(a.streams.queriesPort!, `/stores/clicks-per-user/keys/${onA[0]}?position=other-topic:0:1`)
    assert.equal(foreign.status, 400)
    assert.equal(foreign.body.code, 'TRB_STREAMS_INVALID_ARGUMENT')
    assert.match(foreign.body.message, /does not read/)
    const badToken = await get(a.streams.queriesPort!, `/stores/clicks-per-user/keys/x?position=nonsense`)
    assert.equal(badToken.status, 400)
    assert.equal(badToken.body.code, 'TRB_STREAMS_INVALID_QUERY')
    const unknown = await get(a.streams.queriesPort!, `/stores/nope/keys/x`)
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.code, 'TRB_STREAMS_UNKNOWN_STORE')
    const noRoute = await get(a.streams.queriesPort!, `/nowhere`)
    assert.equal(noRoute.status, 400)

    // When B is gone, A takes its partitions over (from its standbys) and answers everything itself.
    await b.streams.close()
    await until('A running alone with every partition', () => {
      const m = a.streams.state === 'RUNNING' && a.streams.allMetadata()
      return m && m.length === 1 && m[0]!.topicPartitions.length === PARTITIONS
    })
    const alone = await get(
      a.streams.queriesPort!,
      `/stores/clicks-per-user/keys/${target}?position=${encodeURIComponent(next.toString())}`,
    )
    assert.equal(alone.status, 200, JSON.stringify(alone.body))
    assert.equal(alone.body.value, before + 1)
    assert.equal(alone.body.host, hostA)
    await a.streams.close()
  })

  it('answers "not yet available" while a rebalance is in progress, and a position wait outlasts it', async () => {
    const input = 'iq-rebalance-clicks'
    const appId = 'iq-rebalance'
    await ensureTopic(admin.admin, input, { partitions: 2 })
    // The test's own member leads the group, so it decides when the rebalance ends: its assignment waits for
    // `gate`, then gives every task to the streams instance.
    let openGate: () => void = () => {}
    let gate = Promise.resolve()
    const assign = async (members: GroupMemberMetadata[]) => {
      await gate
      const out = new Map<string, Buffer>()
      const endpoints = new Map<string, string | null>()
      for (const m of members)
        endpoints.set(m.memberId, decodeSubscriptionInfo(decodeSubscription(m.metadata).userData).endpoint)
      const worker = members.find((m) => endpoints.get(m.memberId) !== null)
      const partitionsByHost: Record<string, string[]> = {}
      if (worker) partitionsByHost[endpoints.get(worker.memberId)!] = [`${input}:0`, `${input}:1`]
      for (const m of members) {
        const mine = m === worker
        out.set(
          m.memberId,
          encodeAssignment({
            partitions: mine ? [{ topic: input, partitions: [0, 1] }] : [],
            userData: encodeAssignmentInfo({
              errorCode: 0,
              active: mine ? ['0_0', '0_1'] : [],
              standby: [],
              partitionsByHost,
              standbyPartitionsByHost: {},
            }),
          }),
        )
      }
      return out
    }
    const cluster = new KafkaCluster({ bootstrap: broker.bootstrap })
    const protocols = [
      {
        name: 'stream',
        metadata: encodeSubscription({
          topics: [input],
          userData: encodeSubscriptionInfo({
            processId: 'test-leader',
            endpoint: null,
            prevActive: [],
            prevStandby: [],
            stateTasks: {},
          }),
          ownedPartitions: [],
        }),
      },
    ]
    let rejoining: Promise<unknown> = Promise.resolve()
    let joining = false
    const rejoin = () => {
      if (joining) return
      joining = true
      rejoining = leader.join(protocols, assign).finally(() => {
        joining = false
      })
    }
    const leader: GroupMember = new GroupMember({
      cluster,
      groupId: appId,
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      heartbeatIntervalMs: 200,
      onRebalanceNeeded: rejoin,
    })
    await leader.join(protocols, assign)
    // The instance's store keeps no changelog: the test's leader does not create internal topics.
    const c = instance(appId, input, { 'session.timeout.ms': 30000 }, false)
    try {
      await c.streams.start()
      await c.states.reach('RUNNING')
      const port = c.streams.queriesPort!
      const written = await click(input, ['ann', 'ann', 'bo'])
      const first = await get(port, `/stores/clicks-per-user/keys/ann?position=${written}`)
      assert.equal(first.status, 200, JSON.stringify(first.body))
      assert.equal(first.body.value, 2)

      // The leader rejoins: a rebalance starts, and cannot end until the gate opens.
      gate = new Promise<void>((resolve) => {
        openGate = resolve
      })
      const rebalancing = c.states.reach('REBALANCING')
      rejoin()
      await rebalancing
      const during = await get(port, `/stores/clicks-per-user/keys/ann`)
      assert.equal(during.status, 503)
      assert.equal(during.body.code, 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE')
      assert.equal(during.body.retriable, true)
      assert.equal(during.retryAfter, '1')
      assert.match(during.body.message, /rebalancing/)
      const params = StoreQueryParameters.fromNameAndType(
        'clicks-per-user',
        QueryableStoreTypes.keyValueStore<string, number>(),
      )
      assert.throws(
        () => c.streams.store(params).get('ann'),
        (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
      )
      // Stale stores read what this instance still holds meanwhile.
      assert.equal(c.streams.store(params.enableStaleStores()).get('ann'), 2)
      const staleAnswer = await get(port, `/stores/clicks-per-user/keys/ann?stale=true&local=true`)
      assert.equal(staleAnswer.status, 200)
      assert.equal(staleAnswer.body.value, 2)
      // A query waiting for a click made now cannot be answered before the rebalance ends: with a short timeout it
      // reports why; with a long one it is answered once the rebalance is over and the click processed.
      const more = await click(input, ['ann'])
      const short = await get(port, `/stores/clicks-per-user/keys/ann?position=${more}&timeout=200`)
      assert.equal(short.status, 503)
      assert.equal(short.body.code, 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE')
      assert.match(short.body.message, /waited 200 ms for position/)
      const waiting = get(port, `/stores/clicks-per-user/keys/ann?position=${more}&timeout=30000`)
      assert.equal(c.streams.state, 'REBALANCING')
      openGate()
      const after = await waiting
      assert.equal(after.status, 200, JSON.stringify(after.body))
      assert.equal(after.body.value, 3)
      await rejoining
    } finally {
      openGate()
      await c.streams.close()
      await leader.leave().catch(() => {})
      leader.close()
      await cluster.close()
    }
  })

  it('answers "not yet available" while a store restores (stale stores read the partial state)', async () => {
    const input = 'iq-restore-clicks'
    const appId = 'iq-restore'
    await ensureTopic(admin.admin, input, { partitions: 1 })
    const config = { 'default.dsl.store': 'in_memory', 'statestore.cache.max.bytes': 0 }
    const first = instance(appId, input, config)
    await first.streams.start()
    const written = await click(input, ['ann', 'bo', 'ann', 'cy'])
    const params = StoreQueryParameters.fromNameAndType(
      'clicks-per-user',
      QueryableStoreTypes.keyValueStore<string, number>(),
    )
    await first.streams.waitForPosition(params, PositionBound.at(written), { timeout: 30000 })
    await first.streams.close()

    // An in-memory store restores in full from its changelog on every start.
    const second = instance(appId, input, config)
    const seen: Array<{ code?: string; stale?: number | undefined; position: string }> = []
    second.streams.setGlobalStateRestoreListener({
      onBatchRestored: () => {
        const entry: { code?: string; stale?: number | undefined; position: string } = { position: '' }
        try {
          second.streams.store(params).get('ann')
        } catch (error) {
          entry.code = (error as InvalidStateStoreError).code
        }
        entry.stale = second.streams.store(params.enableStaleStores()).get('ann')
        entry.position = second.streams.position(params.enableStaleStores()).toString()
        seen.push(entry)
      },
    })
    await second.streams.start()
    await second.states.reach('RUNNING')
    assert.ok(seen.length > 0, 'restoration reported at least one batch')
    for (const s of seen) {
      assert.equal(s.code, 'TRB_STREAMS_STORE_NOT_YET_AVAILABLE')
      assert.ok(s.stale === undefined || s.stale <= 2)
      // A restoring store has no position to offer: answers from it cannot claim any offset.
      assert.equal(s.position, '')
    }
    // Restored and running: the position starts at the committed offsets.
    const position = await second.streams.waitForPosition(params, PositionBound.at(written), { timeout: 30000 })
    assert.ok(position.dominates(written))
    assert.equal(second.streams.store(params).get('ann'), 2)
    await second.streams.close()
    // After close: not available.
    assert.throws(
      () => second.streams.store(params),
      (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_STORE_NOT_AVAILABLE' && !e.retriable,
    )
  })
  it('queries a window store of the Processor API through QueryableStoreTypes.windowStore()', async () => {
    const input = 'iq-window-clicks'
    await ensureTopic(admin.admin, input, { partitions: 2 })
    const topology = new Topology()
      .addSource('clicks', input)
      .addProcessor(
        'count-per-10ms',
        () => {
          let store: TestWindowStore
          return {
            init(c: ProcessorContext<never, never>) {
              store = c.getStateStore('clicks-per-10ms')
            },
            process(r: StreamsRecord<string, string>) {
              const start = r.timestamp - (r.timestamp % 10)
              store.put(r.key, ((store.fetch(r.key, start) as number | undefined) ?? 0) + 1, start)
            },
          }
        },
        'clicks',
      )
      .addStateStore(testWindowStoreBuilder('clicks-per-10ms'), 'count-per-10ms')
    const d = tempDir('trb-streams-iq-')
    dirs.push(d)
    const streams = new KafkaStreams(topology, {
      'application.id': 'iq-windows',
      'bootstrap.servers': broker.bootstrap,
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.String(),
      'state.dir': d.path,
      'commit.interval.ms': 100,
      'log.level': 'silent',
    })
    open.push(streams)
    const states = stateRecorder(streams)
    await streams.start()
    await states.reach('RUNNING')
    const producer = createProducer({ bootstrap: broker.bootstrap, serializers: stringSerializers })
    const offsets: Array<{ topic: string; partition: number; offset: bigint }> = []
    try {
      for (const [key, ts] of [
        ['ann', 1000],
        ['ann', 1004],
        ['ann', 1012],
        ['bo', 1001],
        ['cy', 1030],
      ] as const) {
        const sent = await producer.send({
          messages: [{ topic: input, key, value: 'click', timestamp: BigInt(ts) }],
          acks: -1,
        })
        offsets.push(...(sent.offsets ?? []))
      }
    } finally {
      await producer.close()
    }
    const params = StoreQueryParameters.fromNameAndType(
      'clicks-per-10ms',
      QueryableStoreTypes.windowStore<string, number>(),
    )
    await streams.waitForPosition(params, PositionBound.at(Position.fromOffsets(offsets)), { timeout: 30000 })
    const windows = streams.store(params)
    assert.equal(windows.fetch('ann', 1000), 2)
    assert.deepEqual(
      [...windows.fetch('ann', 0, 2000)].map((e) => [e.key, e.value]),
      [
        [1000, 2],
        [1010, 1],
      ],
    )
    assert.deepEqual(
      [...windows.fetchAll(1000, 1000)].map((e) => `${e.key.key}@${e.key.window.startMs}=${e.value}`).sort(),
      ['ann@1000=2', 'bo@1000=1'],
    )
    assert.equal([...windows.all()].length, 4)
    // The store is no key-value store, nor a session store.
    const mismatch = (e: InvalidStateStoreError) => e.code === 'TRB_STREAMS_STORE_TYPE_MISMATCH'
    assert.throws(
      () => streams.store(StoreQueryParameters.fromNameAndType('clicks-per-10ms', QueryableStoreTypes.keyValueStore())),
      mismatch,
    )
    assert.throws(
      () => streams.store(StoreQueryParameters.fromNameAndType('clicks-per-10ms', QueryableStoreTypes.sessionStore())),
      mismatch,
    )
    await streams.close()
  })
})
