/** What the `tributary groups ...` commands run (loaded only when one of them runs). */
import type { Admin } from '@platformatic/kafka'
import { type ConnectionFlags, resolveConnection } from '../connection.ts'
import { type CliContext, notFoundError, refusedError, usageError } from '../context.ts'
import { withAdmin } from '../kafka.ts'
import { outputFormat, Progress, plural, printListing, printResult, toJson } from '../output.ts'
import {
  EARLIEST,
  LATEST,
  listOffsets,
  requireTopics,
  selectPartitions,
  topicPartitionCounts,
} from './admin-support.ts'
import {
  type PartitionState,
  type PlannedReset,
  parseTopicPartitions,
  planReset,
  type ResetFlags,
  resetSpecFromFlags,
} from './offset-specs.ts'

/** Kafka's names for the states (`Stable`, `PreparingRebalance`), as kafka-consumer-groups.sh prints them. */
const STATE_NAMES: Record<string, string> = {
  PREPARINGREBALANCE: 'PreparingRebalance',
  COMPLETINGREBALANCE: 'CompletingRebalance',
  STABLE: 'Stable',
  DEAD: 'Dead',
  EMPTY: 'Empty',
}

function stateName(state: string): string {
  return STATE_NAMES[state.replace(/[_-]/g, '').toUpperCase()] ?? state
}

function isState(state: string, name: 'EMPTY' | 'DEAD'): boolean {
  return state.replace(/[_-]/g, '').toUpperCase() === name
}

interface GroupInfo {
  id: string
  state: string
  protocol: string
  protocolType: string
  members: {
    memberId: string
    clientId: string
    host: string
    assignments: { topic: string; partitions: number[] }[]
  }[]
}

async function describe(admin: Admin, group: string): Promise<GroupInfo> {
  const g = (await admin.describeGroups({ groups: [group] })).get(group)
  if (!g) return { id: group, state: 'DEAD', protocol: '', protocolType: '', members: [] }
  return {
    id: group,
    state: g.state,
    protocol: g.protocol,
    protocolType: g.protocolType,
    members: [...g.members.values()].map((m) => ({
      memberId: m.id,
      clientId: m.clientId,
      host: m.clientHost,
      assignments: [...(m.assignments?.values() ?? [])].map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
    })),
  }
}

/** topic → partition → committed offset (only partitions with one). */
async function committedOffsets(admin: Admin, group: string): Promise<Map<string, Map<number, bigint>>> {
  const r = await admin.listConsumerGroupOffsets({ groups: [group] })
  const out = new Map<string, Map<number, bigint>>()
  for (const g of r) {
    for (const t of g.topics) {
      for (const p of t.partitions) {
        if (p.committedOffset < 0n) continue
        if (!out.has(t.name)) out.set(t.name, new Map())
        out.get(t.name)!.set(p.partitionIndex, p.committedOffset)
      }
    }
  }
  return out
}

function isActive(info: GroupInfo): boolean {
  return info.members.length > 0 || !(isState(info.state, 'EMPTY') || isState(info.state, 'DEAD'))
}

export async function listGroups(flags: ConnectionFlags & { state?: string[] }, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  // Filtered here rather than by the broker: brokers differ in how they spell states in the ListGroups filter.
  const states = (flags.state ?? []).map((s) => {
    const name = stateName(s)
    if (!Object.values(STATE_NAMES).includes(name)) {
      throw usageError(`unknown group state '${s}': use ${Object.values(STATE_NAMES).join(', ')}`)
    }
    return name
  })
  const groups = await withAdmin(conn, (admin) => admin.listGroups())
  const list = [...groups.values()]
    .map((g) => ({ group: g.id, state: stateName(g.state), protocolType: g.protocolType }))
    .filter((g) => states.length === 0 || states.includes(g.state))
    .sort((a, b) => a.group.localeCompare(b.group))
  printListing(ctx, format, {
    columns: ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
    rows: list.map((g) => [g.group, g.state, g.protocolType || null]),
    json: list,
    empty: states.length ? 'no consumer groups in that state' : 'no consumer groups',
  })
}

interface LagRow {
  topic: string
  partition: number
  currentOffset: bigint | null
  logEndOffset: bigint
  lag: bigint | null
  memberId: string | null
  host: string | null
  clientId: string | null
}

async function lagRows(
  admin: Admin,
  info: GroupInfo,
  committed: Map<string, Map<number, bigint>>,
  onlyTopics?: string[],
): Promise<LagRow[]> {
  const owner = new Map<string, GroupInfo['members'][number]>()
  const partitionsByTopic = new Map<string, Set<number>>()
  for (const [t, ps] of committed) partitionsByTopic.set(t, new Set(ps.keys()))
  for (const m of info.members) {
    for (const a of m.assignments) {
      if (!partitionsByTopic.has(a.topic)) partitionsByTopic.set(a.topic, new Set())
      for (const p of a.partitions) {
        partitionsByTopic.get(a.topic)!.add(p)
        owner.set(`${a.topic}:${p}`, m)
      }
    }
  }
  const existing = await topicPartitionCounts(admin)
  const rows: LagRow[] = []
  for (const [topic, set] of [...partitionsByTopic].sort(([a], [b]) => a.localeCompare(b))) {
    if (onlyTopics && !onlyTopics.includes(topic)) continue
    if (!existing.has(topic)) continue
    const partitions = [...set].sort((a, b) => a - b)
    const ends = await listOffsets(admin, topic, partitions, LATEST)
    for (const p of partitions) {
      const current = committed.get(topic)?.get(p) ?? null
      const end = ends.get(p) ?? 0n
      const m = owner.get(`${topic}:${p}`)
      rows.push({
        topic,
        partition: p,
        currentOffset: current,
        logEndOffset: end,
        lag: current === null ? null : end > current ? end - current : 0n,
        memberId: m?.memberId ?? null,
        host: m?.host ?? null,
        clientId: m?.clientId ?? null,
      })
    }
  }
  return rows
}

function requireGroup(info: GroupInfo, committed: Map<string, Map<number, bigint>>): void {
  if (isState(info.state, 'DEAD') && committed.size === 0)
    throw notFoundError(`consumer group '${info.id}' does not exist`)
}

export async function describeGroup(group: string, flags: ConnectionFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const { info, rows } = await withAdmin(conn, async (admin) => {
    const info = await describe(admin, group)
    const committed = await committedOffsets(admin, group)
    requireGroup(info, committed)
    return { info, rows: await lagRows(admin, info, committed) }
  })
  if (format === 'json') {
    ctx.out(`${toJson({ ...info, state: stateName(info.state), offsets: rows })}\n`)
    return
  }
  ctx.out(
    `group ${info.id}  state ${stateName(info.state)}${info.protocol ? `  protocol ${info.protocol}` : ''}  ${plural(info.members.length, 'member')}\n`,
  )
  printListing(ctx, 'table', {
    columns: ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
    rows: rows.map((r) => [
      r.topic,
      r.partition,
      r.currentOffset,
      r.logEndOffset,
      r.lag,
      r.memberId,
      r.host,
      r.clientId,
    ]),
    json: null,
    empty: 'no committed offsets and no assigned partitions',
  })
}

export async function groupLag(
  group: string,
  flags: ConnectionFlags & { topic?: string[] },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const rows = await withAdmin(conn, async (admin) => {
    const info = await describe(admin, group)
    const committed = await committedOffsets(admin, group)
    requireGroup(info, committed)
    if (flags.topic) await requireTopics(admin, flags.topic)
    return lagRows(admin, info, committed, flags.topic)
  })
  const total = rows.reduce((s, r) => s + (r.lag ?? 0n), 0n)
  if (format === 'json') {
    ctx.out(
      `${toJson({ group, totalLag: total, partitions: rows.map(({ topic, partition, currentOffset, logEndOffset, lag }) => ({ topic, partition, currentOffset, logEndOffset, lag })) })}\n`,
    )
    return
  }
  printListing(ctx, 'table', {
    columns: ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG'],
    rows: rows.map((r) => [r.topic, r.partition, r.currentOffset, r.logEndOffset, r.lag]),
    json: null,
    empty: 'no committed offsets',
  })
  if (rows.length > 0) ctx.out(`total lag ${total}\n`)
}

interface ResetCommandFlags extends ConnectionFlags, ResetFlags {
  topic?: string[]
  allTopics?: boolean
  dryRun?: boolean
  force?: boolean
}

export async function resetOffsets(group: string, flags: ResetCommandFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const spec = resetSpecFromFlags(flags)
  if (!!flags.topic?.length === !!flags.allTopics) throw usageError('give --topic (repeatable) or --all-topics')
  const scopes = (flags.topic ?? []).map(parseTopicPartitions)

  const outcome = await withAdmin(conn, async (admin) => {
    const info = await describe(admin, group)
    const active = isActive(info)
    if (active && !flags.force && !flags.dryRun) {
      throw refusedError(
        `group '${group}' has ${plural(info.members.length, 'active member')} (state ${stateName(info.state)}): stop its consumers first, or pass --force to remove them from the group; nothing was changed`,
      )
    }
    const committed = await committedOffsets(admin, group)
    let targets: { topic: string; partitions: number[] }[]
    if (flags.allTopics) {
      if (committed.size === 0) {
        throw usageError(`group '${group}' has no committed offsets: name the topics with --topic`)
      }
      const existing = await topicPartitionCounts(admin)
      targets = [...committed]
        .filter(([t]) => existing.has(t))
        .map(([topic, ps]) => ({ topic, partitions: [...ps.keys()].sort((a, b) => a - b) }))
        .sort((a, b) => a.topic.localeCompare(b.topic))
    } else {
      const counts = await requireTopics(admin, [...new Set(scopes.map((s) => s.topic))])
      const merged = new Map<string, Set<number>>()
      for (const s of scopes) {
        const ps = selectPartitions(s.topic, counts.get(s.topic)!, s.partitions)
        merged.set(s.topic, new Set([...(merged.get(s.topic) ?? []), ...ps]))
      }
      targets = [...merged].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) }))
    }

    const progress = new Progress(
      ctx,
      'looking up offsets',
      targets.reduce((n, t) => n + t.partitions.length, 0),
    )
    const states: PartitionState[] = []
    for (const { topic, partitions } of targets) {
      const [earliest, latest, atTime] = await Promise.all([
        listOffsets(admin, topic, partitions, EARLIEST),
        listOffsets(admin, topic, partitions, LATEST),
        spec.kind === 'timestamp' ? listOffsets(admin, topic, partitions, BigInt(spec.timestamp)) : undefined,
      ])
      for (const p of partitions) {
        states.push({
          topic,
          partition: p,
          current: committed.get(topic)?.get(p) ?? null,
          earliest: earliest.get(p) ?? 0n,
          latest: latest.get(p) ?? 0n,
          atTimestamp: atTime?.get(p),
        })
      }
      progress.update(states.length)
    }
    progress.done()
    const plan = planReset(spec, states)
    if (flags.dryRun) return { plan, applied: false, active, removed: 0 }

    let removed = 0
    if (active) {
      const latestInfo = await describe(admin, group)
      if (latestInfo.members.length > 0) {
        await admin.removeMembersFromConsumerGroup({
          groupId: group,
          members: latestInfo.members.map((m) => ({
            memberId: m.memberId,
            reason: 'tributary groups reset-offsets --force',
          })),
        })
        removed = latestInfo.members.length
      }
    }
    // One OffsetCommit for every partition: the coordinator writes them together, so it is all or nothing.
    const byTopic = new Map<string, { partition: number; offset: bigint }[]>()
    for (const p of plan) {
      if (!byTopic.has(p.topic)) byTopic.set(p.topic, [])
      byTopic.get(p.topic)!.push({ partition: p.partition, offset: p.target })
    }
    if (plan.length > 0) {
      try {
        await admin.alterConsumerGroupOffsets({
          groupId: group,
          topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
        })
      } catch (err) {
        const text = JSON.stringify(err, Object.getOwnPropertyNames(err))
        if (/UNKNOWN_MEMBER_ID|REBALANCE_IN_PROGRESS|ILLEGAL_GENERATION/.test(text)) {
          throw refusedError(
            `group '${group}' has active members again (its consumers rejoined before the reset): stop them and retry; no offsets were changed`,
          )
        }
        throw err
      }
    }
    return { plan, applied: true, active, removed }
  })

  const rows = outcome.plan
  if (format === 'json') {
    ctx.out(
      `${toJson({
        group,
        dryRun: !outcome.applied,
        removedMembers: outcome.removed,
        partitions: rows.map((r: PlannedReset) => ({
          topic: r.topic,
          partition: r.partition,
          currentOffset: r.current,
          newOffset: r.target,
          logStartOffset: r.earliest,
          logEndOffset: r.latest,
          note: r.note ?? null,
        })),
      })}\n`,
    )
    return
  }
  printListing(ctx, 'table', {
    columns: ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET', 'LOG-START', 'LOG-END', 'NOTE'],
    rows: rows.map((r) => [r.topic, r.partition, r.current, r.target, r.earliest, r.latest, r.note ?? '']),
    json: null,
    empty: 'no partitions to reset',
  })
  if (!outcome.applied) {
    ctx.out(
      `dry run: nothing was changed${outcome.active ? ` (the group is active: without --force the reset would be refused)` : ''}\n`,
    )
  } else {
    const kicked = outcome.removed ? ` after removing ${plural(outcome.removed, 'member')}` : ''
    ctx.out(`reset ${plural(rows.length, 'partition')} of group ${group}${kicked}\n`)
  }
}

export async function deleteOffsets(
  group: string,
  flags: ConnectionFlags & { topic: string[] },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const scopes = flags.topic.map(parseTopicPartitions)
  const deleted = await withAdmin(conn, async (admin) => {
    const info = await describe(admin, group)
    const committed = await committedOffsets(admin, group)
    requireGroup(info, committed)
    const topics = scopes.map((s) => {
      const have = committed.get(s.topic)
      if (!have) throw notFoundError(`group '${group}' has no committed offsets for topic '${s.topic}'`)
      const partitions = s.partitions ?? [...have.keys()]
      const missing = partitions.filter((p) => !have.has(p))
      if (missing.length > 0) {
        throw notFoundError(`group '${group}' has no committed offset for ${s.topic} partition ${missing.join(', ')}`)
      }
      return { name: s.topic, partitionIndexes: partitions.sort((a, b) => a - b) }
    })
    await admin.deleteConsumerGroupOffsets({ groupId: group, topics })
    return topics
  })
  const n = deleted.reduce((s, t) => s + t.partitionIndexes.length, 0)
  printResult(ctx, format, `deleted the committed offsets of ${plural(n, 'partition')} from group ${group}`, {
    group,
    deleted: deleted.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
  })
}

export async function deleteGroups(names: string[], flags: ConnectionFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  await withAdmin(conn, async (admin) => {
    const infos = await Promise.all(names.map((n) => describe(admin, n)))
    for (const info of infos) {
      if (isActive(info)) {
        throw refusedError(
          `group '${info.id}' has ${plural(info.members.length, 'active member')} (state ${stateName(info.state)}): stop its consumers first; nothing was deleted`,
        )
      }
      requireGroup(info, await committedOffsets(admin, info.id))
    }
    await admin.deleteGroups({ groups: names })
  })
  printResult(ctx, format, `deleted ${names.length === 1 ? 'group' : 'groups'} ${names.join(', ')}`, { deleted: names })
}
