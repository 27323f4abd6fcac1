import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { TributaryError } from '../../errors.ts'
import { type CliContext, processContext } from '../context.ts'

interface RestProxyFlags {
  bootstrap?: string
  registry?: string
  port: string
  host: string
  auth: string
  saslMechanism: string
  tls?: boolean
  ca?: string
  maxRecordBytes: string
}

/** Adds `tributary rest-proxy`: Confluent's REST Proxy API (v2, v3) in front of any Kafka cluster. */
export function registerRestProxyCommand(program: Command, ctx: CliContext = processContext().ctx): void {
  program
    .command('rest-proxy')
    .description('run the Confluent-compatible REST proxy (v2 and v3 APIs, server-sent events) against any Kafka')
    .option('--bootstrap <host:port>', 'Kafka bootstrap address (default: $TRIBUTARY_BOOTSTRAP)')
    .option('--registry <url>', 'schema registry URL, for Avro / JSON Schema / Protobuf records')
    .option('--port <n>', 'HTTP port', '8082')
    .option('--host <addr>', 'HTTP listen address', '127.0.0.1')
    .option('--auth <none|basic>', 'basic: callers authenticate with their Kafka SASL user and password', 'none')
    .option('--sasl-mechanism <m>', 'SASL mechanism used with the callers credentials', 'SCRAM-SHA-512')
    .option('--tls', 'connect to Kafka over TLS')
    .option('--ca <pem>', 'CA certificate file for TLS')
    .option('--max-record-bytes <n>', 'largest record accepted', String(1024 * 1024))
    .action(async (flags: RestProxyFlags) => {
      ctx.keepAlive = true
      const { startRestProxy } = await import('../../console/rest-proxy/server.ts')
      if (flags.auth !== 'none' && flags.auth !== 'basic') {
        throw new TributaryError('TRB_CONFIG_INVALID', `--auth must be none or basic, not ${flags.auth}`)
      }
      const mechanism = flags.saslMechanism.toUpperCase()
      if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(mechanism)) {
        throw new TributaryError('TRB_CONFIG_INVALID', `unknown --sasl-mechanism ${flags.saslMechanism}`)
      }
      const port = Number(flags.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new TributaryError('TRB_CONFIG_INVALID', `invalid --port ${flags.port}`)
      }
      const running = await startRestProxy({
        bootstrap: flags.bootstrap,
        registryUrl: flags.registry,
        port,
        host: flags.host,
        authentication: flags.auth,
        saslMechanism: mechanism as 'PLAIN',
        tls: flags.tls || flags.ca ? { ...(flags.ca ? { ca: readFileSync(flags.ca) } : {}) } : undefined,
        maxRecordBytes: Number(flags.maxRecordBytes),
      })
      process.stderr.write(
        `${JSON.stringify({ level: 'info', msg: 'rest proxy started', url: running.url, auth: flags.auth })}\n`,
      )
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) process.exit(130)
        stopping = true
        process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'rest proxy stopping', signal })}\n`)
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
}

/** The proxy `tributary dev` runs beside the broker and registry; undefined when its port is -1. */
export async function startDevRestProxy(
  portFlag: string,
  options: { bootstrap: string; host: string; registryUrl?: string },
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const port = Number(portFlag)
  if (!Number.isInteger(port) || port < -1 || port > 65535) {
    throw new TributaryError('TRB_CONFIG_INVALID', `invalid --rest-proxy-port ${portFlag}`)
  }
  if (port < 0) return undefined
  const { startRestProxy } = await import('../../console/rest-proxy/server.ts')
  return startRestProxy({ ...options, port })
}
