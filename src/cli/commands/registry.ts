import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import { fetchCodegenInputs, generateTypeScript } from '../../registry/codegen.ts'
import { startSchemaRegistry } from '../../registry/registry-server.ts'
import { COMPATIBILITY_LEVELS, type CompatibilityLevel } from '../../registry/types.ts'
import { SchemaRegistryClient } from '../../serde/registry-client.ts'

interface RegistryFlags {
  bootstrap?: string
  port: string
  host: string
  topic?: string
  changesTopic?: string
  defaultCompatibility?: string
}

interface CodegenFlags {
  registry: string
  subject: string[]
  out: string
  importFrom?: string
  serdes: boolean
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `subject` or `subject@version`. */
function parseSubjectArg(arg: string): { subject: string; version: number | 'latest' } {
  const at = arg.lastIndexOf('@')
  if (at <= 0) return { subject: arg, version: 'latest' }
  const v = arg.slice(at + 1)
  return { subject: arg.slice(0, at), version: v === 'latest' ? 'latest' : Number(v) }
}

/** Adds `tributary registry` (the server) and `tributary registry codegen` (TypeScript from subjects). */
export function registerRegistryCommands(program: Command): void {
  const registry = program
    .command('registry')
    .description('run the Confluent-compatible schema registry (state in the _schemas topic)')
    .option('--bootstrap <host:port>', 'Kafka bootstrap address (default: $TRIBUTARY_BOOTSTRAP)')
    .option('--port <n>', 'HTTP port', '8081')
    .option('--host <addr>', 'HTTP listen address', '127.0.0.1')
    .option('--topic <name>', 'storage topic', '_schemas')
    .option('--changes-topic <name>', 'change-notification topic', '_schemas_changes')
    .option('--default-compatibility <level>', `global default (${COMPATIBILITY_LEVELS.join(', ')})`, 'BACKWARD')
    .action(async (flags: RegistryFlags) => {
      const level = (flags.defaultCompatibility ?? 'BACKWARD').toUpperCase() as CompatibilityLevel
      if (!COMPATIBILITY_LEVELS.includes(level))
        throw new Error(`unknown compatibility level ${flags.defaultCompatibility}`)
      const running = await startSchemaRegistry({
        bootstrap: flags.bootstrap,
        port: Number(flags.port),
        host: flags.host,
        topic: flags.topic,
        changesTopic: flags.changesTopic,
        defaultCompatibility: level,
      })
      process.stderr.write(
        `${JSON.stringify({ level: 'info', msg: 'schema registry started', url: running.url, topic: flags.topic })}\n`,
      )
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) process.exit(130)
        stopping = true
        process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'schema registry stopping', signal })}\n`)
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })

  registry
    .command('codegen')
    .description('write TypeScript types and typed serdes for registered subjects')
    .option('--registry <url>', 'registry base URL', 'http://127.0.0.1:8081')
    .requiredOption('--subject <subject[@version]>', 'subject to generate (repeatable)', collect, [])
    .option('--out <file>', 'output .ts file', 'src/generated/schemas.ts')
    .option('--import-from <module>', 'module the serdes are imported from', 'tributary/registry')
    .option('--no-serdes', 'emit types only')
    .action(async (flags: CodegenFlags) => {
      if (flags.subject.length === 0) throw new Error('pass at least one --subject')
      const client = new SchemaRegistryClient(flags.registry)
      const inputs = await fetchCodegenInputs(client, flags.subject.map(parseSubjectArg))
      const code = generateTypeScript(inputs, { importFrom: flags.importFrom, serdes: flags.serdes })
      const out = resolve(flags.out)
      mkdirSync(dirname(out), { recursive: true })
      writeFileSync(out, code)
      process.stdout.write(`wrote ${out} (${inputs.length} subject${inputs.length === 1 ? '' : 's'})\n`)
    })
}
