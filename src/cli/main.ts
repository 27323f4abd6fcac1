/**
 * The `tributary` command. Commands are defined here and in ./commands/, but what they run is imported only when
 * they run, so `tributary --help` and a simple admin command start in a fraction of a second.
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Command, CommanderError } from 'commander'
import { TributaryError } from '../errors.ts'
import { addBrokerOptions, type BrokerFlags, DEV_METRICS_PORT, runBroker, stopOnSignals } from './broker-command.ts'
import { registerClusterCommands } from './commands/cluster.ts'
import { registerGroupCommands } from './commands/groups.ts'
import { registerLogCommands } from './commands/log.ts'
import { registerRecordCommands } from './commands/records.ts'
import { registerRegistryCommands } from './commands/registry.ts'
import { registerRestProxyCommand, startDevRestProxy } from './commands/rest-proxy.ts'
import { registerSecurityCommands } from './commands/security.ts'
import { registerStreamsCommands } from './commands/streams.ts'
import { registerTopicCommands } from './commands/topics.ts'
import { type CliContext, ExitCode, exitCodeOf, processContext } from './context.ts'

/** The package version (package.json sits two levels up from both src/cli and dist/cli). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export function buildProgram(ctx: CliContext = processContext().ctx): Command {
  const program = new Command('tributary')
    .description('Event-driven microservices platform: Kafka-compatible broker, schema registry, stream processing')
    .version(version(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })

  addBrokerOptions(program.command('broker').description('run the Kafka-compatible broker')).action(
    async (flags: BrokerFlags) => {
      ctx.keepAlive = true
      // Signals are handled from the first moment, so a SIGTERM during startup still shuts down cleanly.
      const starting = runBroker(flags)
      stopOnSignals(async () => (await starting).close())
      await starting
    },
  )

  addBrokerOptions(
    program.command('dev').description('run the whole platform on this machine (broker, schema registry, REST proxy)'),
  )
    .option('--registry-port <n>', 'schema registry HTTP port (-1: do not start it)', '8081')
    .option('--rest-proxy-port <n>', 'REST proxy HTTP port (-1: do not start it)', '8082')
    .action(async (flags: BrokerFlags & { registryPort: string; restProxyPort: string }) => {
      ctx.keepAlive = true
      const registryPort = Number(flags.registryPort)
      if (!Number.isInteger(registryPort) || registryPort < -1 || registryPort > 65535) {
        throw new TributaryError('TRB_CONFIG_INVALID', `invalid --registry-port ${flags.registryPort}`)
      }
      const stops: (() => Promise<void>)[] = []
      stopOnSignals(async () => {
        for (const stop of stops.reverse()) await stop()
      })
      const broker = await runBroker(flags, { metricsPort: DEV_METRICS_PORT })
      stops.push(() => broker.close())
      let registryUrl: string | undefined
      if (registryPort >= 0) {
        const { startSchemaRegistry } = await import('../registry/registry-server.ts')
        const registry = await startSchemaRegistry({
          bootstrap: broker.bootstrap,
          port: registryPort,
          host: broker.config.host,
        })
        stops.push(() => registry.close())
        registryUrl = registry.url
        broker.services.logger.child('registry').info('schema registry started', { url: registry.url })
      }
      const proxy = await startDevRestProxy(flags.restProxyPort, {
        bootstrap: broker.bootstrap,
        host: broker.config.host,
        registryUrl,
      })
      if (proxy) {
        stops.push(() => proxy.close())
        broker.services.logger.child('rest-proxy').info('rest proxy started', { url: proxy.url })
      }
    })

  registerTopicCommands(program, ctx)
  registerGroupCommands(program, ctx)
  registerRecordCommands(program, ctx)
  registerClusterCommands(program, ctx)
  registerRegistryCommands(program, ctx)
  registerRestProxyCommand(program, ctx)
  registerSecurityCommands(program, ctx)
  registerLogCommands(program)
  registerStreamsCommands(program)

  program.addHelpText(
    'after',
    '\nClient commands connect to --bootstrap (default $TRIBUTARY_BOOTSTRAP or 127.0.0.1:9092); see docs/cli/README.md.',
  )
  return program
}

/** Runs one command line and returns its exit code (see ExitCode); errors are printed to ctx.err. */
export async function run(argv: string[], ctx: CliContext = processContext().ctx): Promise<number> {
  const program = buildProgram(ctx)
  program.exitOverride()
  for (const sub of program.commands) exitOverrideAll(sub)
  try {
    await program.parseAsync(argv)
    return ExitCode.OK
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; a parse error (unknown option, missing argument) is a usage error.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE
    }
    const code = exitCodeOf(err)
    const coded = err instanceof TributaryError ? ` (${err.code})` : ''
    const message = (err as Error)?.message ?? String(err)
    ctx.err(`tributary: ${message}${coded}\n`)
    if (ctx.env.TRIBUTARY_DEBUG && (err as Error)?.stack) ctx.err(`${(err as Error).stack}\n`)
    return code
  }
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride()
  for (const sub of cmd.commands) exitOverrideAll(sub)
}

export async function main(argv: string[]): Promise<void> {
  const { ctx, abort } = processContext()
  let interrupted = 0
  const onSignal = () => {
    // Servers (broker, dev, registry) stop themselves on signals; client commands end what they are doing.
    if (ctx.keepAlive) return
    interrupted++
    if (interrupted > 1) process.exit(ExitCode.INTERRUPTED)
    abort.abort()
    // A command that does not react to the abort is stopped shortly after.
    setTimeout(() => process.exit(ExitCode.INTERRUPTED), 3000).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const code = await run(argv, ctx)
  if (ctx.keepAlive && code === ExitCode.OK) return
  // Exit once standard output is flushed, even if a client left a socket or timer behind.
  process.stdout.write('', () => process.exit(code))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv)
