/**
 * `tributary groups list|describe|lag|reset-offsets|delete-offsets|delete` (what kafka-consumer-groups.sh does),
 * through the Kafka admin APIs of src/client.
 */
import type { Command } from 'commander'
import { addConnectionOptions } from '../connection.ts'
import type { CliContext } from '../context.ts'
import type * as Actions from './groups-actions.ts'

const collect = (value: string, previous: string[] = []) => [...previous, value]

export function registerGroupCommands(program: Command, ctx: CliContext): void {
  const actions = () => import('./groups-actions.ts') as Promise<typeof Actions>
  const groups = program.command('groups').description('consumer groups: members, offsets, lag, offset resets')

  addConnectionOptions(groups.command('list').description('list consumer groups and their states'))
    .option(
      '--state <state>',
      'only groups in this state: stable, empty, preparing-rebalance, ... (repeatable)',
      collect,
    )
    .action(async (flags) => (await actions()).listGroups(flags, ctx))

  addConnectionOptions(
    groups.command('describe <group>').description('state, members and assignments, and per-partition offsets and lag'),
  ).action(async (group: string, flags) => (await actions()).describeGroup(group, flags, ctx))

  addConnectionOptions(
    groups.command('lag <group>').description("the group's committed offsets against the log ends, per partition"),
  )
    .option('--topic <topic>', 'only this topic (repeatable)', collect)
    .action(async (group: string, flags) => (await actions()).groupLag(group, flags, ctx))

  addConnectionOptions(
    groups
      .command('reset-offsets <group>')
      .description("move a group's committed offsets (the group must have no active members)"),
  )
    .option('--topic <topic[:p,...]>', 'topic, or some of its partitions (repeatable)', collect)
    .option('--all-topics', 'every topic the group has committed offsets for')
    .option('--to-earliest', 'to the log start')
    .option('--to-latest', 'to the log end (skip everything not yet read)')
    .option('--to-current', 'keep the committed offsets (creates none)')
    .option('--to-offset <n>', 'to this offset')
    .option('--to-datetime <time>', 'to the first record at or after a time: ISO-8601 or epoch ms')
    .option('--by-duration <d>', 'to the first record at or after this long ago: 15m, 2h, PT1H, P1D')
    .option('--shift-by <n>', 'move by n records, forwards (n > 0) or back (n < 0)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--force', 'remove the active members from the group first, then reset (their consumers rejoin)')
    .action(async (group: string, flags) => (await actions()).resetOffsets(group, flags, ctx))

  addConnectionOptions(
    groups
      .command('delete-offsets <group>')
      .description("delete a group's committed offsets for topics it no longer consumes"),
  )
    .requiredOption('--topic <topic[:p,...]>', 'topic, or some of its partitions (repeatable)', collect)
    .action(async (group: string, flags) => (await actions()).deleteOffsets(group, flags, ctx))

  addConnectionOptions(
    groups.command('delete <group...>').description('delete consumer groups and their offsets (groups must be empty)'),
  ).action(async (names: string[], flags) => (await actions()).deleteGroups(names, flags, ctx))
}
