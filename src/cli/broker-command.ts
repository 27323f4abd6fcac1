/**
 * `tributary broker` and `tributary dev`: options here, the broker itself loaded only when one starts.
 */
import type { Command } from 'commander'
import type { BrokerConfig, RunningBroker } from '../broker/index.ts'

export interface BrokerFlags {
  dataDir?: string
  port?: string
  host?: string
  advertisedHost?: string
  advertisedPort?: string
  config?: string
  set?: string[]
  logLevel?: string
  metricsPort?: string
}

/** Flags → Kafka-style properties (the highest-precedence layer over file and environment). */
export function brokerFlagsToProperties(flags: BrokerFlags): Record<string, string> {
  const props: Record<string, string> = {}
  if (flags.dataDir !== undefined) props['data.dir'] = flags.dataDir
  if (flags.port !== undefined) props.port = flags.port
  if (flags.host !== undefined) props.host = flags.host
  if (flags.advertisedHost !== undefined) props['advertised.host'] = flags.advertisedHost
  if (flags.advertisedPort !== undefined) props['advertised.port'] = flags.advertisedPort
  if (flags.logLevel !== undefined) props['log.level'] = flags.logLevel
  if (flags.metricsPort !== undefined) props['metrics.port'] = flags.metricsPort
  for (const kv of flags.set ?? []) {
    const eq = kv.indexOf('=')
    if (eq <= 0) throw new Error(`--set expects key=value, got "${kv}"`)
    props[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return props
}

export function addBrokerOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'where partitions and internal state are stored (default ./.tributary)')
    .option('--port <n>', 'listener port (default 9092)')
    .option('--host <addr>', 'listener address (default 127.0.0.1)')
    .option('--advertised-host <host>', 'host given to clients in Metadata (default: the listener address)')
    .option('--advertised-port <n>', 'port given to clients in Metadata (default: the listener port)')
    .option('--config <file>', 'broker properties file (key=value lines or JSON)')
    .option('--set <key=value...>', 'any broker property, e.g. --set log.retention.ms=60000')
    .option('--log-level <level>', 'debug | info | warn | error | silent')
    .option(
      '--metrics-port <n>',
      `serve Prometheus metrics, /health and /ready at http://HOST:N (-1: off; default off for broker, ${DEV_METRICS_PORT} for dev)`,
    )
}

/**
 * `tributary dev` serves Prometheus metrics, /health and /ready by default on this port (the OpenTelemetry
 * Prometheus exporter's usual port); `--metrics-port -1` turns them off.
 */
export const DEV_METRICS_PORT = 9464

/** The broker config from flags, environment and file, over `defaults` (e.g. the dev command's). */
export async function brokerConfig(
  flags: BrokerFlags,
  env: NodeJS.ProcessEnv = process.env,
  defaults: Partial<BrokerConfig> = {},
): Promise<BrokerConfig> {
  // Loaded on demand so that commands other than broker/dev start without the broker's modules.
  const { DEFAULT_BROKER_CONFIG, resolveBrokerConfig } = await import('../broker/index.ts')
  return resolveBrokerConfig(
    { file: flags.config, env, flags: brokerFlagsToProperties(flags) },
    { ...DEFAULT_BROKER_CONFIG, ...defaults },
  )
}

export async function runBroker(flags: BrokerFlags, defaults: Partial<BrokerConfig> = {}): Promise<RunningBroker> {
  const config = await brokerConfig(flags, process.env, defaults)
  const { startBroker } = await import('../broker/index.ts')
  return startBroker(config)
}

/** Stops everything on SIGINT/SIGTERM; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: string) => {
    if (stopping) process.exit(130)
    stopping = true
    process.stderr.write(`received ${signal}, shutting down\n`)
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`shutdown failed: ${err.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
}
