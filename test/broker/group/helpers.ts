import {
  GroupCoordinator,
  type GroupCoordinatorOptions,
  type JoinGroupParams,
} from '../../../src/broker/group/group-coordinator.ts'
import { InMemoryKeyedLog } from '../../../src/common/keyed-log.ts'
import { ManualTime } from '../../../src/common/time.ts'
import { encodeConsumerProtocolSubscription } from '../../../src/protocol/generated/consumer-protocol-subscription.ts'
import { Writer } from '../../../src/protocol/primitives.ts'

export interface Harness {
  coordinator: GroupCoordinator
  time: ManualTime
  store: InMemoryKeyedLog
}

export async function startCoordinator(
  options: Partial<GroupCoordinatorOptions> & { time?: ManualTime; store?: InMemoryKeyedLog } = {},
): Promise<Harness> {
  const time = options.time ?? new ManualTime()
  const store = options.store ?? new InMemoryKeyedLog()
  const coordinator = new GroupCoordinator({
    initialRebalanceDelayMs: 0,
    ...options,
    store,
    clock: time,
    timers: time,
  })
  await coordinator.load()
  return { coordinator, time, store }
}

/** `consumer` protocol Subscription bytes (int16 version + body). */
export function subscription(topics: string[], userData: Buffer | null = null, version = 1): Buffer {
  const w = new Writer()
  w.int16(version)
  encodeConsumerProtocolSubscription(w, version, { topics, userData, ownedPartitions: [] })
  return w.toBuffer()
}

export function joinParams(overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId: 'g1',
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    ...overrides,
  }
}

/** The value of a promise if it has settled by the time pending callbacks ran, else 'pending'. */
export async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  let value: T | 'pending' = 'pending'
  void p.then((v) => {
    value = v
  })
  await new Promise((resolve) => setImmediate(resolve))
  return value
}

/** Joins one member and completes the rebalance alone (group must have no other members waiting). */
export async function joinAndSync(h: Harness, groupId: string, assignment = Buffer.from('a')) {
  const join = await h.coordinator.joinGroup(joinParams({ groupId }))
  const sync = await h.coordinator.syncGroup({
    groupId,
    generationId: join.generationId,
    memberId: join.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: join.memberId, assignment }],
  })
  return { join, sync }
}
