import { InMemoryChangeSink } from '../../src/registry/change-events.ts'
import { type RunningSchemaRegistry, startSchemaRegistry } from '../../src/registry/registry-server.ts'
import { InMemorySchemaLog } from '../../src/registry/schema-log.ts'

export interface MemoryRegistry extends RunningSchemaRegistry {
  log: InMemorySchemaLog
  changes: InMemoryChangeSink
  // biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary JSON answers
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; contentType: string | null }>
}

/** A registry on loopback port 0 over an in-memory schema log. */
export async function startMemoryRegistry(log = new InMemorySchemaLog()): Promise<MemoryRegistry> {
  const changes = new InMemoryChangeSink()
  const running = await startSchemaRegistry({ log, changes, port: 0, timeoutMs: 2000 })
  return {
    ...running,
    log,
    changes,
    async call(method, path, body) {
      const res = await fetch(`${running.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {}
      return { status: res.status, body: parsed, contentType: res.headers.get('content-type') }
    },
  }
}

export const userV1 = {
  type: 'record',
  name: 'User',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
  ],
}

export const userV2 = {
  ...userV1,
  fields: [...userV1.fields, { name: 'email', type: ['null', 'string'], default: null }],
}
