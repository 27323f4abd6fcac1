/**
 * `tributary topics list|create|describe|alter-config|add-partitions|delete|purge` (what kafka-topics.sh and
 * kafka-delete-records.sh do), through the Kafka admin APIs of src/client.
 */
import type { Command } from 'commander'
import { addConnectionOptions } from '../connection.ts'
import type { CliContext } from '../context.ts'
import type * as Actions from './topics-actions.ts'

const collect = (value: string, previous: string[] = []) => [...previous, value]

export function registerTopicCommands(program: Command, ctx: CliContext): void {
  const actions = () => import('./topics-actions.ts') as Promise<typeof Actions>
  const topics = program.command('topics').description('list, create, describe, change and delete topics')

  addConnectionOptions(topics.command('list').description('list topics with their partition counts'))
    .option('--internal', 'include internal topics (__consumer_offsets, ...)')
    .action(async (flags) => (await actions()).listTopics(flags, ctx))

  addConnectionOptions(topics.command('create <topic...>').description('create topics'))
    .option('-p, --partitions <n>', "number of partitions (default: the cluster's num.partitions)")
    .option('-r, --replicas <n>', "replication factor (default: the cluster's default.replication.factor)")
    .option('-c, --config <key=value>', 'topic config, e.g. cleanup.policy=compact (repeatable)', collect)
    .option('--if-not-exists', 'succeed when the topic exists already (it is left unchanged)')
    .action(async (names: string[], flags) => (await actions()).createTopics(names, flags, ctx))

  addConnectionOptions(
    topics.command('describe <topic...>').description('partitions, leaders, offsets and config overrides of topics'),
  )
    .option('--all-configs', 'list every config, defaults included, with where its value comes from')
    .action(async (names: string[], flags) => (await actions()).describeTopics(names, flags, ctx))

  addConnectionOptions(topics.command('alter-config <topic>').description("set or remove a topic's config overrides"))
    .option('-s, --set <key=value>', 'set a config (repeatable)', collect)
    .option('-d, --delete <key>', 'remove an override, back to the default (repeatable)', collect)
    .action(async (name: string, flags) => (await actions()).alterTopicConfig(name, flags, ctx))

  addConnectionOptions(
    topics.command('add-partitions <topic>').description('raise the partition count of a topic (it never shrinks)'),
  )
    .requiredOption('--count <n>', 'the new total number of partitions')
    .action(async (name: string, flags) => (await actions()).addPartitions(name, flags, ctx))

  addConnectionOptions(topics.command('delete <topic...>').description('delete topics and all their records'))
    .option('--if-exists', 'succeed when a topic does not exist')
    .action(async (names: string[], flags) => (await actions()).deleteTopics(names, flags, ctx))

  addConnectionOptions(
    topics
      .command('purge <topic>')
      .description('delete the records of a topic up to its end (or an offset), keeping the topic (DeleteRecords)'),
  )
    .option('--partition <n>', 'only this partition (repeatable)', collect)
    .option('--before <offset>', 'delete only the records before this offset (default: all, up to the end)')
    .action(async (name: string, flags) => (await actions()).purgeTopic(name, flags, ctx))
}
