/**
 * `tributary produce` and `tributary consume`: records from and to the shell, as text, JSON or, through the schema
 * registry, Avro / JSON Schema / Protobuf (what kcat and kafka-console-producer/consumer do).
 */
import type { Command } from 'commander'
import { addConnectionOptions } from '../connection.ts'
import type { CliContext } from '../context.ts'
import type * as Consume from './consume-actions.ts'
import type * as Produce from './produce-actions.ts'

const collect = (value: string, previous: string[] = []) => [...previous, value]
const FORMATS = 'text, json, base64, avro, json-schema or protobuf'

export function registerRecordCommands(program: Command, ctx: CliContext): void {
  addConnectionOptions(
    program
      .command('produce <topic>')
      .description(
        'write records: one per line of standard input, or --value; every record is checked before any is sent',
      ),
    { registry: true },
  )
    .option(
      '-v, --value <value>',
      'a record value (repeatable); without it, one record per line of standard input',
      collect,
    )
    .option('-k, --key <key>', 'the key of every record')
    .option('-K, --key-separator <sep>', 'each input line is key<sep>value')
    .option('-H, --header <key=value>', 'a header on every record (repeatable)', collect)
    .option('-p, --partition <n>', 'write to this partition (default: by key, or spread)')
    .option('-f, --format <format>', `value format: ${FORMATS}`, 'text')
    .option('--key-format <format>', `key format: ${FORMATS}`, 'text')
    .option('--subject <subject>', 'schema subject of the values (default: <topic>-value)')
    .option('--key-subject <subject>', 'schema subject of the keys (default: <topic>-key)')
    .option('--schema-file <file>', 'write with this schema (it must be registered, or pass --register)')
    .option('--register', 'register --schema-file under the subject if it is not registered yet')
    .option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--acks <acks>', 'all (-1), leader (1) or none (0)', 'all')
    .action(async (topic: string, flags) =>
      ((await import('./produce-actions.ts')) as typeof Produce).produce(topic, flags, ctx),
    )

  addConnectionOptions(
    program
      .command('consume <topic>')
      .description('read records from a topic, without a consumer group, to its end (or --count, or --follow)'),
    { registry: true, outputHelp: 'text (values, one per line; the default), json (one object per line) or table' },
  )
    .option('-p, --partition <n>', 'only this partition (repeatable)', collect)
    .option(
      '--from <position>',
      'earliest, latest, an offset (42), a time (2026-01-31T12:00:00Z, @epoch-ms) or a duration ago (-15m)',
      'earliest',
    )
    .option('-n, --count <n>', 'stop after n records')
    .option('-F, --follow', 'keep waiting for new records (until Ctrl-C or --count)')
    .option('-f, --format <format>', `value format: ${FORMATS}`, 'text')
    .option('--key-format <format>', `key format: ${FORMATS}`, 'text')
    .option('--print-key', 'text output: print key<TAB>value')
    .option('--read-committed', 'skip records of aborted and open transactions (isolation read_committed)')
    .action(async (topic: string, flags) =>
      ((await import('./consume-actions.ts')) as typeof Consume).consume(topic, flags, ctx),
    )
}
