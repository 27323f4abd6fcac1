import { type RestProxyOptions, type RunningRestProxy, startRestProxy } from '../../../src/console/rest-proxy/index.ts'
import { type RunningSchemaRegistry, startSchemaRegistry } from '../../../src/registry/index.ts'
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts'

export interface Stack {
  tb: TestBroker
  registry: RunningSchemaRegistry
  proxy: RunningRestProxy
  clusterId: string
  close(): Promise<void>
}

/** A broker, a schema registry storing in it, and a REST proxy, all on free loopback ports. */
export async function startStack(proxyOptions: Partial<RestProxyOptions> = {}): Promise<Stack> {
  const tb = await startTestBroker()
  const registry = await startSchemaRegistry({ bootstrap: tb.bootstrap, port: 0 })
  const proxy = await startRestProxy({ bootstrap: tb.bootstrap, registryUrl: registry.url, port: 0, ...proxyOptions })
  const clusters = await call(proxy, 'GET', '/v3/clusters')
  return {
    tb,
    registry,
    proxy,
    clusterId: clusters.body.data[0].cluster_id,
    async close() {
      await proxy.close()
      await registry.close()
      await tb.close()
    },
  }
}

export interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary JSON answers
  body: any
  text: string
  contentType: string | null
}

export async function call(
  proxy: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${proxy.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed, text, contentType: res.headers.get('content-type') }
}

/** Delivery reports of a v3 produce call: one JSON object per line. */
// biome-ignore lint/suspicious/noExplicitAny: reports are arbitrary JSON
export function reports(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))
}

import { Admin, Consumer, type Message } from '@platformatic/kafka'

/** The first `count` records of a topic, read by a native @platformatic/kafka consumer. */
export async function readRecords(bootstrap: string, topic: string, count: number): Promise<Message[]> {
  const consumer = new Consumer({
    clientId: 'rest-proxy-test-reader',
    groupId: `reader-${topic}-${Math.random().toString(36).slice(2)}`,
    bootstrapBrokers: [bootstrap],
  })
  const out: Message[] = []
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    for await (const m of stream) {
      out.push(m as Message)
      if (out.length >= count) break
    }
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return out
}

/** Sum of the log-end offsets of a topic's partitions: how many records were ever written to it. */
export async function endOffsets(bootstrap: string, topic: string, partitions: number): Promise<number> {
  const admin = new Admin({ clientId: 'rest-proxy-test-admin', bootstrapBrokers: [bootstrap] })
  try {
    const listed = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n })),
        },
      ],
    })
    return listed[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0)
  } finally {
    await admin.close()
  }
}
