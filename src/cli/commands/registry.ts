import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { COMPATIBILITY_LEVELS, type CompatibilityLevel } from '../../registry/types.ts'
import { type CliContext, processContext } from '../context.ts'

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
  all?: boolean
  out?: string
  outDir?: string
  importFrom?: string
  importExtension: string
  serdes: boolean
}

const DEFAULT_OUT_DIR = 'src/generated/schemas'

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `subject` or `subject@version`. */
function parseSubjectArg(arg: string): { subject: string; version: number | 'latest' } {
  const at = arg.lastIndexOf('@')
  if (at <= 0) return { subject: arg, version: 'latest' }
  const v = arg.slice(at + 1)
  return { subject: arg.slice(0, at), version: v === 'latest' ? 'latest' : Number(v) }
}

/** Adds `tributary registry` (the server) and `tributary registry codegen` (TypeScript from subjects). */
export function registerRegistryCommands(program: Command, ctx: CliContext = processContext().ctx): void {
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
      ctx.keepAlive = true
      const { startSchemaRegistry } = await import('../../registry/registry-server.ts')
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
    .description('write TypeScript types and typed serdes for registered subjects, one module per subject')
    .option('--registry <url>', 'registry base URL', 'http://127.0.0.1:8081')
    .option('--subject <subject[@version]>', 'subject to generate (repeatable)', collect, [])
    .option('--all', 'every subject of the registry, at its latest version')
    .option('--out-dir <dir>', `one module per subject and an index.ts (default ${DEFAULT_OUT_DIR})`)
    .option('--out <file>', 'all subjects in one module instead (refused if two declare different types of one name)')
    .option('--import-from <module>', 'module the serdes are imported from', 'tributary/registry')
    .option('--import-extension <ext>', 'extension of imports between generated modules: .js or .ts', '.js')
    .option('--no-serdes', 'emit types only')
    .action(async (flags: CodegenFlags) => {
      if (flags.all && flags.subject.length > 0) throw new Error('pass either --all or --subject, not both')
      if (!flags.all && flags.subject.length === 0) throw new Error('pass --subject (repeatable) or --all')
      if (flags.out && flags.outDir) throw new Error('pass either --out or --out-dir, not both')
      if (flags.importExtension !== '.js' && flags.importExtension !== '.ts') {
        throw new Error(`--import-extension must be .js or .ts, not ${flags.importExtension}`)
      }
      const { SchemaRegistryClient } = await import('../../serde/registry-client.ts')
      const { fetchCodegenInputs, generateModules, generateTypeScript } = await import('../../registry/codegen.ts')
      const client = new SchemaRegistryClient(flags.registry)
      let wanted = flags.subject.map(parseSubjectArg)
      if (flags.all) {
        const subjects = await client.getSubjects()
        if (subjects.length === 0) throw new Error(`the registry at ${flags.registry} has no subjects`)
        wanted = subjects.map((subject) => ({ subject, version: 'latest' }))
      }
      const inputs = await fetchCodegenInputs(client, wanted)
      const options = {
        importFrom: flags.importFrom,
        serdes: flags.serdes,
        importExtension: flags.importExtension as '.js' | '.ts',
      }
      const count = `${inputs.length} subject${inputs.length === 1 ? '' : 's'}`
      if (flags.out) {
        const out = resolve(flags.out)
        const code = generateTypeScript(inputs, options)
        mkdirSync(dirname(out), { recursive: true })
        writeFileSync(out, code)
        ctx.out(`wrote ${out} (${count})\n`)
        return
      }
      const dir = resolve(flags.outDir ?? DEFAULT_OUT_DIR)
      const { files } = generateModules(inputs, options)
      mkdirSync(dir, { recursive: true })
      for (const [name, code] of files) writeFileSync(join(dir, name), code)
      ctx.out(`wrote ${files.size - 1} module${files.size === 2 ? '' : 's'} and index.ts to ${dir} (${count})\n`)
    })
}
