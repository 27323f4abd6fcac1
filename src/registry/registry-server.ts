import type { FastifyInstance } from 'fastify'
import type { SchemaChangeSink } from './change-events.ts'
import { KafkaChangeSink, KafkaSchemaLog, SCHEMA_CHANGES_TOPIC, SCHEMAS_TOPIC } from './kafka-schema-log.ts'
import { RegistryService } from './registry-service.ts'
import { createRegistryRestApi } from './rest-api.ts'
import type { SchemaLog } from './schema-log.ts'
import { SchemaStore } from './schema-store.ts'
import type { CompatibilityLevel } from './types.ts'

export interface SchemaRegistryServerOptions {
  /** Kafka bootstrap (host:port); defaults to TRIBUTARY_BOOTSTRAP. Ignored when `log` is given. */
  bootstrap?: string | string[]
  /** Storage log; defaults to the `_schemas` topic on `bootstrap`. */
  log?: SchemaLog
  /** Where change events go; defaults to the `_schemas_changes` topic when storage is Kafka. */
  changes?: SchemaChangeSink | null
  topic?: string
  changesTopic?: string
  port?: number
  host?: string
  defaultCompatibility?: CompatibilityLevel
  /** How long a write waits for its record to come back from the log. */
  timeoutMs?: number
  logger?: boolean
}

export interface RunningSchemaRegistry {
  url: string
  port: number
  host: string
  service: RegistryService
  app: FastifyInstance
  close(): Promise<void>
}

/** Starts a registry: replays the schema log, then serves the REST API. */
export async function startSchemaRegistry(options: SchemaRegistryServerOptions = {}): Promise<RunningSchemaRegistry> {
  const kafka = options.log === undefined
  const log = options.log ?? new KafkaSchemaLog({ bootstrap: options.bootstrap, topic: options.topic ?? SCHEMAS_TOPIC })
  const changes =
    options.changes === null
      ? undefined
      : (options.changes ??
        (kafka
          ? new KafkaChangeSink({ bootstrap: options.bootstrap, topic: options.changesTopic ?? SCHEMA_CHANGES_TOPIC })
          : undefined))
  const store = new SchemaStore(log, { timeoutMs: options.timeoutMs })
  const service = new RegistryService({ store, changes, defaultCompatibility: options.defaultCompatibility })
  const app = createRegistryRestApi({ service, logger: options.logger })
  try {
    await store.start()
    const host = options.host ?? '127.0.0.1'
    await app.listen({ port: options.port ?? 8081, host })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : (options.port ?? 8081)
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      host,
      service,
      app,
      async close() {
        await app.close()
        await store.close()
        await changes?.close()
      },
    }
  } catch (error) {
    await app.close().catch(() => {})
    await store.close().catch(() => {})
    await changes?.close().catch(() => {})
    throw error
  }
}
