/**
 * A classic group's metadata record in the group state store: the group restored from it at load, and the record
 * value written after each rebalance.
 */
import { ClassicGroup, EMPTY_BYTES, GroupMember } from './classic-group.ts'
import { encodeGroupValue, type StoredGroup } from './state-store.ts'

/** The group as its last metadata record left it (members Stable, or Empty without members). */
export function groupFromRecord(groupId: string, stored: StoredGroup): ClassicGroup {
  const group = new ClassicGroup(groupId, stored.stateTimestamp)
  group.protocolType = stored.protocolType
  group.protocolName = stored.protocol
  group.generationId = stored.generation
  for (const m of stored.members) {
    const member = new GroupMember({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      protocolType: stored.protocolType ?? '',
      protocols: [{ name: stored.protocol ?? '', metadata: m.metadata }],
    })
    member.assignment = m.assignment
    member.isNew = false
    group.add(member)
  }
  group.protocolType = stored.protocolType
  if (stored.leader !== null && group.members.has(stored.leader)) group.leaderId = stored.leader
  group.state = group.members.size > 0 ? 'Stable' : 'Empty'
  return group
}

/** The group's metadata record value, with `assignment` replacing the members' current assignments when given. */
export function groupRecordValue(group: ClassicGroup, assignment?: Map<string, Buffer>): Buffer {
  return encodeGroupValue({
    protocolType: group.protocolType,
    generation: group.generationId,
    protocol: group.protocolName,
    leader: group.leaderId,
    stateTimestamp: group.stateTimestamp,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      metadata: m.metadataFor(group.protocolName),
      assignment: assignment ? (assignment.get(m.memberId) ?? EMPTY_BYTES) : m.assignment,
    })),
  })
}
