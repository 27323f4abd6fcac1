/** What the `tributary topics ...` commands run (loaded only when one of them runs). */
import { type ConnectionFlags, resolveConnection } from '../connection.ts'
import { type CliContext, refusedError, usageError } from '../context.ts'
import { withAdmin } from '../kafka.ts'
import { outputFormat, Progress, plural, printListing, printResult, toJson } from '../output.ts'
import {
  EARLIEST,
  LATEST,
  listOffsets,
  parseKeyValues,
  parseOffset,
  parsePositiveInt,
  requireTopics,
  selectPartitions,
  topicPartitionCounts,
} from './admin-support.ts'

const TOPIC_RESOURCE = 2
const CONFIG_SET = 0
const CONFIG_DELETE = 1
const CONFIG_SOURCES: Record<number, string> = {
  0: 'unknown',
  1: 'topic',
  2: 'dynamic broker',
  3: 'dynamic default broker',
  4: 'static broker',
  5: 'default',
}

export async function listTopics(flags: ConnectionFlags & { internal?: boolean }, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const counts = await withAdmin(conn, (admin) => topicPartitionCounts(admin, flags.internal === true))
  const topics = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, partitions]) => ({ name, partitions }))
  printListing(ctx, format, {
    columns: ['TOPIC', 'PARTITIONS'],
    rows: topics.map((t) => [t.name, t.partitions]),
    json: topics,
    empty: 'no topics',
  })
}

interface CreateFlags extends ConnectionFlags {
  partitions?: string
  replicas?: string
  config?: string[]
  ifNotExists?: boolean
}

export async function createTopics(names: string[], flags: CreateFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const partitions = flags.partitions === undefined ? undefined : parsePositiveInt(flags.partitions, '--partitions')
  const replicas = flags.replicas === undefined ? undefined : parsePositiveInt(flags.replicas, '--replicas')
  const configs = parseKeyValues(flags.config, '--config').map(([name, value]) => ({ name, value }))
  for (const n of names) {
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(n) || n === '.' || n === '..') {
      throw usageError(`'${n}' is not a valid topic name (up to 249 of a-z A-Z 0-9 . _ -)`)
    }
  }
  const created = await withAdmin(conn, async (admin) => {
    const existing = await topicPartitionCounts(admin)
    const already = names.filter((n) => existing.has(n))
    if (already.length > 0 && !flags.ifNotExists) {
      throw refusedError(
        `${already.length === 1 ? `topic '${already[0]}' exists` : `topics exist: ${already.join(', ')}`} (nothing was created; --if-not-exists accepts existing topics)`,
      )
    }
    const toCreate = names.filter((n) => !existing.has(n))
    if (toCreate.length === 0) return []
    return admin.createTopics({ topics: toCreate, partitions, replicas, configs })
  })
  const skipped = names.filter((n) => !created.some((c) => c.name === n))
  printListing(ctx, format, {
    columns: ['TOPIC', 'PARTITIONS', 'REPLICAS', 'STATUS'],
    rows: [
      ...created.map((c) => [c.name, c.partitions, c.replicas, 'created']),
      ...skipped.map((n) => [n, null, null, 'exists']),
    ],
    json: {
      created: created.map((c) => ({ name: c.name, id: c.id, partitions: c.partitions, replicas: c.replicas })),
      existing: skipped,
    },
    empty: 'no topics created',
  })
}

export async function describeTopics(
  names: string[],
  flags: ConnectionFlags & { allConfigs?: boolean },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const described = await withAdmin(conn, async (admin) => {
    await requireTopics(admin, names)
    const md = await admin.metadata({ topics: names, forceUpdate: true })
    const configs = await admin.describeConfigs({
      resources: names.map((resourceName) => ({ resourceType: TOPIC_RESOURCE, resourceName })),
    })
    const out = []
    for (const name of names) {
      const t = md.topics.get(name)!
      const ids = t.partitions.map((_, i) => i)
      const [earliest, latest] = await Promise.all([
        listOffsets(admin, name, ids, EARLIEST),
        listOffsets(admin, name, ids, LATEST),
      ])
      const cfg = configs.find((c) => c.resourceName === name)?.configs ?? []
      out.push({
        name,
        id: t.id,
        partitions: t.partitions.map((p, i) => ({
          partition: i,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          earliestOffset: earliest.get(i) ?? null,
          latestOffset: latest.get(i) ?? null,
          records: (latest.get(i) ?? 0n) - (earliest.get(i) ?? 0n),
        })),
        configs: cfg
          .filter((c) => flags.allConfigs || c.configSource === 1)
          .map((c) => ({
            name: c.name,
            value: c.isSensitive ? null : c.value,
            source: CONFIG_SOURCES[c.configSource] ?? String(c.configSource),
          }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      })
    }
    return out
  })
  if (format === 'json') {
    ctx.out(`${toJson(described)}\n`)
    return
  }
  let first = true
  for (const t of described) {
    if (!first) ctx.out('\n')
    first = false
    ctx.out(`topic ${t.name}  id ${t.id}  ${plural(t.partitions.length, 'partition')}\n`)
    printListing(ctx, 'table', {
      columns: ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'EARLIEST', 'LATEST', 'RECORDS'],
      rows: t.partitions.map((p) => [
        p.partition,
        p.leader,
        p.replicas.join(','),
        p.isr.join(','),
        p.earliestOffset,
        p.latestOffset,
        p.records,
      ]),
      json: null,
      empty: 'no partitions',
    })
    if (t.configs.length === 0) {
      ctx.out('configs: defaults only\n')
    } else {
      printListing(ctx, 'table', {
        columns: ['CONFIG', 'VALUE', 'SOURCE'],
        rows: t.configs.map((c) => [c.name, c.value, c.source]),
        json: null,
        empty: '',
      })
    }
  }
}

export async function alterTopicConfig(
  name: string,
  flags: ConnectionFlags & { set?: string[]; delete?: string[] },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const sets = parseKeyValues(flags.set, '--set')
  const deletes = (flags.delete ?? []).map((k) => k.trim())
  if (sets.length === 0 && deletes.length === 0) throw usageError('give --set key=value and/or --delete key')
  await withAdmin(conn, async (admin) => {
    await requireTopics(admin, [name])
    await admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: TOPIC_RESOURCE,
          resourceName: name,
          configs: [
            ...sets.map(([k, value]) => ({ name: k, configOperation: CONFIG_SET as 0, value })),
            ...deletes.map((k) => ({ name: k, configOperation: CONFIG_DELETE as 1 })),
          ],
        },
      ],
    })
  })
  const parts = [...sets.map(([k, v]) => `${k}=${v}`), ...deletes.map((k) => `${k} removed`)]
  printResult(ctx, format, `topic ${name}: ${parts.join(', ')}`, {
    topic: name,
    set: Object.fromEntries(sets),
    deleted: deletes,
  })
}

export async function addPartitions(
  name: string,
  flags: ConnectionFlags & { count: string },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const count = parsePositiveInt(flags.count, '--count')
  const before = await withAdmin(conn, async (admin) => {
    const current = (await requireTopics(admin, [name])).get(name)!
    if (count <= current) {
      throw refusedError(
        `topic '${name}' has ${plural(current, 'partition')}; --count must be larger (partitions are never removed)`,
      )
    }
    await admin.createPartitions({ topics: [{ name, count, assignments: null }] })
    return current
  })
  printResult(ctx, format, `topic ${name}: ${before} → ${count} partitions`, { topic: name, from: before, to: count })
}

export async function deleteTopics(
  names: string[],
  flags: ConnectionFlags & { ifExists?: boolean },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const deleted = await withAdmin(conn, async (admin) => {
    const existing = await topicPartitionCounts(admin)
    const present = names.filter((n) => existing.has(n))
    if (!flags.ifExists) await requireTopics(admin, names)
    if (present.length > 0) await admin.deleteTopics({ topics: present })
    return present
  })
  printResult(
    ctx,
    format,
    deleted.length === 0
      ? 'no topics deleted'
      : `deleted ${deleted.length === 1 ? 'topic' : 'topics'} ${deleted.join(', ')}`,
    { deleted, missing: names.filter((n) => !deleted.includes(n)) },
  )
}

export async function purgeTopic(
  name: string,
  flags: ConnectionFlags & { partition?: string[]; before?: string },
  ctx: CliContext,
): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const before = flags.before === undefined ? undefined : parseOffset(flags.before, '--before')
  const results = await withAdmin(conn, async (admin) => {
    const count = (await requireTopics(admin, [name])).get(name)!
    const partitions = selectPartitions(name, count, flags.partition)
    const [earliest, latest] = await Promise.all([
      listOffsets(admin, name, partitions, EARLIEST),
      listOffsets(admin, name, partitions, LATEST),
    ])
    const progress = new Progress(ctx, `purging ${name}`, partitions.length)
    const targets = partitions.map((p) => {
      const end = latest.get(p) ?? 0n
      return { partition: p, offset: before === undefined || before > end ? end : before }
    })
    const out: { partition: number; before: bigint; after: bigint; deleted: bigint }[] = []
    // In slices, so a topic with many partitions shows progress.
    for (let i = 0; i < targets.length; i += 100) {
      const slice = targets.slice(i, i + 100)
      const r = await admin.deleteRecords({ topics: [{ name, partitions: slice }] })
      for (const t of r) {
        for (const p of t.partitions) {
          const was = earliest.get(p.partition) ?? 0n
          out.push({
            partition: p.partition,
            before: was,
            after: p.lowWatermark,
            deleted: p.lowWatermark > was ? p.lowWatermark - was : 0n,
          })
        }
      }
      progress.update(Math.min(i + 100, targets.length))
    }
    progress.done()
    return out.sort((a, b) => a.partition - b.partition)
  })
  const total = results.reduce((s, r) => s + r.deleted, 0n)
  if (format === 'json') {
    ctx.out(`${toJson({ topic: name, deleted: total, partitions: results })}\n`)
    return
  }
  printListing(ctx, format, {
    columns: ['PARTITION', 'LOG-START-BEFORE', 'LOG-START-NOW', 'DELETED'],
    rows: results.map((r) => [r.partition, r.before, r.after, r.deleted]),
    json: null,
    empty: 'no partitions',
  })
  ctx.out(`purged ${plural(total, 'record')} from ${name}\n`)
}
