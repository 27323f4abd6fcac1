/**
 * What ListGroups, DescribeGroups and the console see of the classic groups.
 */
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import { type ClassicGroup, EMPTY_BYTES, type GroupState } from './classic-group.ts'
import type { DescribedGroupInfo, GroupDetails, ListedGroupInfo } from './group-api.ts'

/** ListGroups; filters compare case-insensitively as Kafka does (empty filter = all). */
export function listGroups(
  groups: Map<string, ClassicGroup>,
  filter: { states?: string[]; types?: string[] } = {},
): ListedGroupInfo[] {
  const states = new Set((filter.states ?? []).map((s) => s.toLowerCase()))
  const types = new Set((filter.types ?? []).map((s) => s.toLowerCase()))
  const out: ListedGroupInfo[] = []
  for (const group of groups.values()) {
    if (states.size > 0 && !states.has(group.state.toLowerCase())) continue
    if (types.size > 0 && !types.has('classic')) continue
    out.push({
      groupId: group.groupId,
      protocolType: group.protocolType ?? '',
      state: group.state,
      groupType: 'classic',
    })
  }
  return out.sort((a, b) => a.groupId.localeCompare(b.groupId))
}

/**
 * DescribeGroups semantics: member metadata and assignments only while Stable; an unknown group is described as
 * Dead with no members (not an error).
 */
export function describeGroups(
  groups: Map<string, ClassicGroup>,
  groupIds: string[],
  unavailable: number,
): DescribedGroupInfo[] {
  return groupIds.map((groupId) => {
    const base = { groupId, state: 'Dead' as GroupState, protocolType: '', protocol: '', members: [] }
    if (unavailable) return { ...base, errorCode: unavailable }
    const group = groups.get(groupId)
    if (!group) return { ...base, errorCode: ErrorCode.NONE }
    const stable = group.is('Stable')
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocol: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataFor(group.protocolName) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    }
  })
}

/** For the console and CLI: everything known about one group, or undefined. */
export function describeGroup(groups: Map<string, ClassicGroup>, groupId: string): GroupDetails | undefined {
  const group = groups.get(groupId)
  if (!group) return undefined
  return {
    groupId,
    state: group.state,
    protocolType: group.protocolType,
    protocol: group.protocolName,
    generationId: group.generationId,
    leader: group.leaderId,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      memberMetadata: m.metadataFor(group.protocolName ?? m.protocols[0]?.name ?? null),
      memberAssignment: m.assignment,
    })),
  }
}
