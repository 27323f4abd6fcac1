/**
 * The `tributary` command.
 */
import { pathToFileURL } from 'node:url'
import { Command, CommanderError } from 'commander'
import { TributaryError } from '../errors.ts'
import { startSchemaRegistry } from '../registry/index.ts'
import { addBrokerOptions, type BrokerFlags, runBroker, stopOnSignals } from './broker-command.ts'
import { registerRegistryCommands } from './commands/registry.ts'
import { registerRestProxyCommand, startDevRestProxy } from './commands/rest-proxy.ts'
import { registerSecurityCommands } from './commands/security.ts'

export function buildProgram(): Command {
  const program = new Command('tributary')
    .description('Event-driven microservices platform: Kafka-compatible broker, schema registry, stream processing')
    .showHelpAfterError()

  addBrokerOptions(program.command('broker').description('run the Kafka-compatible broker')).action(
    async (flags: BrokerFlags) => {
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
      const stops: (() => Promise<void>)[] = []
      stopOnSignals(async () => {
        for (const stop of stops.reverse()) await stop()
      })
      const broker = await runBroker(flags)
      stops.push(() => broker.close())
      const registryPort = Number(flags.registryPort)
      if (!Number.isInteger(registryPort) || registryPort < -1 || registryPort > 65535) {
        throw new TributaryError('TRB_CONFIG_INVALID', `invalid --registry-port ${flags.registryPort}`)
      }
      let registryUrl: string | undefined
      if (registryPort >= 0) {
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

  registerRegistryCommands(program)
  registerRestProxyCommand(program)
  registerSecurityCommands(program)

  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode)
    const code = err instanceof TributaryError ? ` (${err.code})` : ''
    process.stderr.write(`tributary: ${(err as Error).message}${code}\n`)
    process.exit(1)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv)
