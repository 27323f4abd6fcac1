import { describeKafkaError, hasKafkaError, type KafkaCluster } from '../../client/index.ts'
import type { Logger } from '../../common/logger.ts'
import { streamsError } from '../errors.ts'
import type { InternalTopicSpec } from './task-plan.ts'

/**
 * Creates the repartition and changelog topics that do not exist yet (Kafka Streams' InternalTopicManager) and
 * checks that existing ones have the partition count the tasks need: a changelog with other partitions than its
 * tasks would restore the wrong state, so that stops the application with a clear error instead.
 */
export async function ensureInternalTopics(
  cluster: KafkaCluster,
  specs: readonly InternalTopicSpec[],
  replicationFactor: number,
  log?: Logger,
): Promise<void> {
  if (specs.length === 0) return
  const counts = await cluster.partitionCounts(specs.map((s) => s.name))
  const missing = specs.filter((s) => counts.get(s.name) === undefined && s.partitions > 0)
  for (const s of specs) {
    const n = counts.get(s.name)
    if (n !== undefined && n !== s.partitions) {
      throw streamsError(
        'TRB_STREAMS_INTERNAL_TOPIC_MISMATCH',
        `internal topic ${s.name} has ${n} partitions but the topology needs ${s.partitions}: reset the application ` +
          '(tributary streams reset) so that it is recreated',
      )
    }
  }
  for (const s of missing) {
    try {
      await cluster.admin.createTopics({
        topics: [s.name],
        partitions: s.partitions,
        replicas: replicationFactor,
        configs: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
      })
      log?.info('created internal topic', { topic: s.name, partitions: s.partitions, kind: s.kind })
    } catch (error) {
      // Another instance (a previous leader) may have created it meanwhile.
      if (hasKafkaError(error, 'TOPIC_ALREADY_EXISTS')) continue
      throw streamsError(
        'TRB_STREAMS_ILLEGAL_STATE',
        `cannot create internal topic ${s.name}: ${describeKafkaError(error)}`,
        error,
      )
    }
  }
  if (missing.length > 0) {
    // Wait until the new topics are visible in metadata (leaders elected) before tasks use them.
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = await cluster.partitionCounts(missing.map((s) => s.name))
      if ([...now.values()].every((n) => n !== undefined)) {
        const md = await cluster.metadata(
          missing.map((s) => s.name),
          true,
        )
        const ready = missing.every((s) => md.topics.get(s.name)?.partitions.every((p) => p.leader >= 0))
        if (ready) return
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
