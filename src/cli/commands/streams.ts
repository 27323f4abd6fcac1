/**
 * `tributary streams reset`: Kafka's kafka-streams-application-reset for Tributary Streams applications (book
 * ch. 14): input offsets back to the earliest, intermediate topics skipped to their end, internal topics deleted;
 * refused while the application has active members. `--dry-run` shows what it would do.
 */
import type { Command } from 'commander'

/** Where the command prints (tests may swap it). */
export const streamsOutput = { write: (text: string): void => void process.stdout.write(text) }

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

export function registerStreamsCommands(program: Command): void {
  const streams = program.command('streams').description('stream processing applications (Tributary Streams)')
  streams
    .command('reset')
    .description(
      "reset an application so it reprocesses its input: the group's input offsets to the earliest, internal topics deleted",
    )
    .requiredOption('--application-id <id>', 'the application.id (the consumer group) to reset')
    .option(
      '--input-topics <topics>',
      'comma-separated input topics (default: every topic the group has offsets on)',
      list,
    )
    .option(
      '--intermediate-topics <topics>',
      'comma-separated topics written and read back: skipped to their end',
      list,
    )
    .option('--bootstrap <host:port>', 'broker address (default: $TRIBUTARY_BOOTSTRAP or 127.0.0.1:9092)')
    .option('--dry-run', 'show what would be reset and deleted, change nothing')
    .action(
      async (flags: {
        applicationId: string
        inputTopics?: string[]
        intermediateTopics?: string[]
        bootstrap?: string
        dryRun?: boolean
      }) => {
        const { resetApplication } = await import('../../streams/runtime/application-reset.ts')
        const plan = await resetApplication({
          bootstrap: flags.bootstrap ?? process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092',
          applicationId: flags.applicationId,
          inputTopics: flags.inputTopics,
          intermediateTopics: flags.intermediateTopics,
          dryRun: flags.dryRun,
        })
        const out: string[] = []
        out.push(`${plan.dryRun ? 'Dry run: would reset' : 'Reset'} application ${plan.applicationId}`)
        const inputs = plan.offsets.filter((o) => o.kind === 'input')
        const intermediate = plan.offsets.filter((o) => o.kind === 'intermediate')
        const offset = (n: number) => (n < 0 ? 'none' : String(n))
        out.push(inputs.length ? 'Input topic offsets (to the earliest):' : 'Input topic offsets: none')
        for (const o of inputs) out.push(`  ${o.topic}-${o.partition}: ${offset(o.from)} -> ${o.to}`)
        if (intermediate.length) {
          out.push('Intermediate topic offsets (to the end):')
          for (const o of intermediate) out.push(`  ${o.topic}-${o.partition}: ${offset(o.from)} -> ${o.to}`)
        }
        out.push(
          plan.deletedTopics.length
            ? `Internal topics ${plan.dryRun ? 'to delete' : 'deleted'}:`
            : 'Internal topics: none',
        )
        for (const t of plan.deletedTopics) out.push(`  ${t}`)
        out.push(
          "Delete each instance's local state too: KafkaStreams.cleanUp() before start(), or remove its state.dir.",
        )
        streamsOutput.write(`${out.join('\n')}\n`)
      },
    )
}
