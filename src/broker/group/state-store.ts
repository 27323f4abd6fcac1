/**
 * Durable group state: committed offsets and group metadata, written as key/value records to a KeyedLog (the
 * broker's compacted internal topic `__consumer_offsets`; tests use an InMemoryKeyedLog).
 *
 * Record format (Tributary's own, not Kafka's `__consumer_offsets` schema):
 *
 * Key — binary, big-endian, starts with an int16 key kind that doubles as the key's format version:
 *   kind 0, offset commit:  int16 0 | string group | string topic | int32 partition
 *   kind 1, group metadata: int16 1 | string group
 *   (string = int16 byte length + UTF-8, as in the Kafka protocol). Equal logical keys always encode to equal bytes,
 *   which is what compaction relies on.
 *
 * Value — UTF-8 JSON object with a numeric format version `v` (currently 1); null value = tombstone (deleted).
 *   offset commit v1:  { v, offset: "<int64 decimal>", leaderEpoch, metadata: string|null, commitTimestamp,
 *                        expireTimestamp: number|null }
 *   group metadata v1: { v, protocolType: string|null, generation, protocol: string|null, leader: string|null,
 *                        stateTimestamp, members: [{ memberId, groupInstanceId, clientId, clientHost,
 *                        rebalanceTimeoutMs, sessionTimeoutMs, metadata: base64, assignment: base64 }] }
 *   `metadata` is the member's subscription bytes for the selected protocol only. Readers ignore unknown JSON
 *   fields, so adding a field does not need a new version; changing a field's meaning does.
 */
import { TributaryError } from '../../errors.ts'
import { Reader, Writer } from '../../protocol/primitives.ts'

export const OFFSET_KEY_KIND = 0
export const GROUP_KEY_KIND = 1
const VALUE_VERSION = 1

export type GroupStateKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }

export interface StoredOffset {
  offset: bigint
  leaderEpoch: number
  metadata: string | null
  commitTimestamp: number
  expireTimestamp: number | null
}

export interface StoredMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  sessionTimeoutMs: number
  metadata: Buffer
  assignment: Buffer
}

export interface StoredGroup {
  protocolType: string | null
  generation: number
  protocol: string | null
  leader: string | null
  stateTimestamp: number
  members: StoredMember[]
}

export function encodeOffsetKey(group: string, topic: string, partition: number): Buffer {
  return new Writer(64).int16(OFFSET_KEY_KIND).string(group).string(topic).int32(partition).toBuffer()
}

export function encodeGroupKey(group: string): Buffer {
  return new Writer(32).int16(GROUP_KEY_KIND).string(group).toBuffer()
}

export function decodeKey(key: Buffer): GroupStateKey {
  const r = new Reader(key)
  const kind = r.int16()
  if (kind === OFFSET_KEY_KIND) return { kind: 'offset', group: r.string(), topic: r.string(), partition: r.int32() }
  if (kind === GROUP_KEY_KIND) return { kind: 'group', group: r.string() }
  throw new TributaryError('TRB_GROUP_STATE_UNKNOWN_KEY', `unknown group state key kind ${kind}`)
}

export function encodeOffsetValue(o: StoredOffset): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      offset: o.offset.toString(),
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      commitTimestamp: o.commitTimestamp,
      expireTimestamp: o.expireTimestamp,
    }),
  )
}

export function decodeOffsetValue(value: Buffer): StoredOffset {
  const j = parseValue(value)
  return {
    offset: BigInt(j.offset as string),
    leaderEpoch: (j.leaderEpoch as number) ?? -1,
    metadata: (j.metadata as string | null) ?? null,
    commitTimestamp: (j.commitTimestamp as number) ?? 0,
    expireTimestamp: (j.expireTimestamp as number | null) ?? null,
  }
}

export function encodeGroupValue(g: StoredGroup): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      protocolType: g.protocolType,
      generation: g.generation,
      protocol: g.protocol,
      leader: g.leader,
      stateTimestamp: g.stateTimestamp,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        metadata: m.metadata.toString('base64'),
        assignment: m.assignment.toString('base64'),
      })),
    }),
  )
}

export function decodeGroupValue(value: Buffer): StoredGroup {
  const j = parseValue(value)
  const members = (j.members as Record<string, unknown>[] | undefined) ?? []
  return {
    protocolType: (j.protocolType as string | null) ?? null,
    generation: (j.generation as number) ?? 0,
    protocol: (j.protocol as string | null) ?? null,
    leader: (j.leader as string | null) ?? null,
    stateTimestamp: (j.stateTimestamp as number) ?? 0,
    members: members.map((m) => ({
      memberId: m.memberId as string,
      groupInstanceId: (m.groupInstanceId as string | null) ?? null,
      clientId: (m.clientId as string) ?? '',
      clientHost: (m.clientHost as string) ?? '',
      rebalanceTimeoutMs: (m.rebalanceTimeoutMs as number) ?? 0,
      sessionTimeoutMs: (m.sessionTimeoutMs as number) ?? 0,
      metadata: Buffer.from((m.metadata as string) ?? '', 'base64'),
      assignment: Buffer.from((m.assignment as string) ?? '', 'base64'),
    })),
  }
}

function parseValue(value: Buffer): Record<string, unknown> {
  const j = JSON.parse(value.toString('utf8')) as Record<string, unknown>
  if (j.v !== VALUE_VERSION) {
    throw new TributaryError('TRB_GROUP_STATE_UNKNOWN_VERSION', `unsupported group state value version ${j.v}`)
  }
  return j
}
