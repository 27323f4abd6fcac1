/**
 * The application reset tool (Kafka's kafka-streams-application-reset, book ch. 14): so that an application
 * reprocesses its input from the start, its group's committed offsets on the input topics go back to the
 * earliest offsets, intermediate topics (written by it and read back, given explicitly) are skipped to their end,
 * and its internal topics (`<application.id>-…-changelog` and `-repartition`) are deleted, to be recreated at the
 * next start. It refuses while the group has active members. Local state is not touched here: run
 * `KafkaStreams.cleanUp()` (or delete the state directory) on every instance as well.
 */
import { describeKafkaError, KafkaCluster, listOffsets } from '../../client/index.ts'
import { streamsError } from '../errors.ts'

export interface ResetOptions {
  readonly bootstrap?: string | string[]
  readonly applicationId: string
  /** Input topics to reprocess from the start; default: every non-internal topic the group has offsets on. */
  readonly inputTopics?: readonly string[]
  /** Topics the application writes and reads back (e.g. `through`): skipped to their end. */
  readonly intermediateTopics?: readonly string[]
  readonly dryRun?: boolean
  readonly connection?: Record<string, unknown>
}

export interface ResetPlan {
  readonly applicationId: string
  /** topic → partition → the offset committed now (-1: none) and the one it is set to. */
  readonly offsets: ReadonlyArray<{
    topic: string
    partition: number
    from: number
    to: number
    kind: 'input' | 'intermediate'
  }>
  readonly deletedTopics: readonly string[]
  readonly dryRun: boolean
}

export function isInternalTopicOf(applicationId: string, topic: string): boolean {
  return topic.startsWith(`${applicationId}-`) && (topic.endsWith('-changelog') || topic.endsWith('-repartition'))
}

export async function resetApplication(options: ResetOptions): Promise<ResetPlan> {
  const appId = options.applicationId
  if (!appId || !/^[a-zA-Z0-9._-]+$/.test(appId)) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `invalid application id ${JSON.stringify(appId)}`)
  }
  const cluster = new KafkaCluster({
    bootstrap: options.bootstrap,
    clientId: 'tributary-streams-reset',
    connection: options.connection,
  })
  try {
    const admin = cluster.admin
    const groups = await admin.describeGroups({ groups: [appId] })
    const group = groups.get(appId)
    if (group && group.members.size > 0) {
      throw streamsError(
        'TRB_STREAMS_RESET_FAILED',
        `application ${appId} still has ${group.members.size} active member(s) (group state ${group.state}): stop every ` +
          'instance (or wait for their session timeout) before resetting',
      )
    }
    const topics = new Set(await admin.listTopics({ includeInternals: false }))
    const committed = new Map<string, number>()
    const [offsets] = await admin.listConsumerGroupOffsets({ groups: [appId] })
    for (const t of offsets?.topics ?? []) {
      for (const p of t.partitions) committed.set(`${t.name}:${p.partitionIndex}`, Number(p.committedOffset))
    }
    const given = options.inputTopics ?? []
    const missing = [...given, ...(options.intermediateTopics ?? [])].filter((t) => !topics.has(t))
    if (missing.length > 0) {
      throw streamsError('TRB_STREAMS_RESET_FAILED', `topic(s) ${missing.join(', ')} do not exist`)
    }
    const intermediate = new Set(options.intermediateTopics ?? [])
    const inputs = new Set(
      options.inputTopics ??
        [...new Set([...committed.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))].filter(
          (t) => !isInternalTopicOf(appId, t) && !intermediate.has(t) && topics.has(t),
        ),
    )
    const counts = await cluster.partitionCounts([...inputs, ...intermediate])
    const partitionsOf = (t: string) =>
      Array.from({ length: counts.get(t) ?? 0 }, (_, partition) => ({ topic: t, partition }))
    const earliest = await listOffsets(cluster, [...inputs].flatMap(partitionsOf), 'earliest')
    const latest = await listOffsets(cluster, [...intermediate].flatMap(partitionsOf), 'latest')
    const plan: ResetPlan['offsets'][number][] = []
    for (const [key, to] of earliest) {
      const at = key.lastIndexOf(':')
      plan.push({
        topic: key.slice(0, at),
        partition: Number(key.slice(at + 1)),
        from: committed.get(key) ?? -1,
        to,
        kind: 'input',
      })
    }
    for (const [key, to] of latest) {
      const at = key.lastIndexOf(':')
      plan.push({
        topic: key.slice(0, at),
        partition: Number(key.slice(at + 1)),
        from: committed.get(key) ?? -1,
        to,
        kind: 'intermediate',
      })
    }
    plan.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    const deleted = [...(await admin.listTopics({ includeInternals: true }))]
      .filter((t) => isInternalTopicOf(appId, t))
      .sort()
    if (!options.dryRun) {
      const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>()
      for (const p of plan)
        byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: BigInt(p.to) }])
      if (byTopic.size > 0) {
        await admin.alterConsumerGroupOffsets({
          groupId: appId,
          topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
        })
      }
      if (deleted.length > 0) await admin.deleteTopics({ topics: deleted })
    }
    return { applicationId: appId, offsets: plan, deletedTopics: deleted, dryRun: options.dryRun ?? false }
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('TRB_')) throw error
    throw streamsError('TRB_STREAMS_RESET_FAILED', `resetting ${appId} failed: ${describeKafkaError(error)}`, error)
  } finally {
    await cluster.close()
  }
}
