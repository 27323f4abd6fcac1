/**
 * Server-sent events, Tributary's extension to Confluent's API (book ch. 13, pushing events to UIs):
 *
 *   GET /v3/clusters/{cluster_id}/topics/{topic_name}/records:tail?from=latest|earliest
 *       event `ready` once tailing has started, then one `record` event per record (id `partition:offset`)
 *   GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags:stream?interval_ms=1000
 *       one `lag` event per interval: the lag summary and every partition's lag
 *
 * A browser's EventSource follows either without polling; both stop when the client disconnects.
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkCluster, clientsOf, type ProxyContext } from './context.ts'
import { badRequest, RestProxyError } from './errors.ts'
import { describeBytes } from './formats.ts'
import { TopicTail } from './topic-tail.ts'
import { groupLags, lagSummaryData } from './v3-admin/groups.ts'

type Params = Record<string, string>

const HEARTBEAT_MS = 15_000

function openStream(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.write(': tributary rest proxy\n\n')
}

function event(res: ServerResponse, name: string, data: unknown, id?: string): void {
  if (res.destroyed) return
  res.write(`event: ${name}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`)
}

export function registerSse(app: FastifyInstance, ctx: ProxyContext): void {
  const p = (req: FastifyRequest) => req.params as Params
  const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>

  app.get('/v3/clusters/:cluster_id/topics/:topic_name/records::tail', async (req, reply) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const from = (q(req).from ?? 'latest').toLowerCase()
    if (from !== 'latest' && from !== 'earliest') throw badRequest("Bad Request: from must be 'latest' or 'earliest'")
    const clients = clientsOf(req)
    const topic = p(req).topic_name
    const existing = await clients.admin.listTopics({ includeInternals: true })
    if (!existing.includes(topic)) {
      throw new RestProxyError(404, 40403, 'This server does not host this topic-partition.', 'TRB_REST_UNKNOWN_TOPIC')
    }
    const res = reply.raw
    // Records are written in arrival order even though decoding (schema lookups) is asynchronous.
    let chain: Promise<void> = Promise.resolve()
    const tail = new TopicTail(clients, topic, {
      from,
      onRecord(r) {
        chain = chain.then(async () => {
          const [key, value] = await Promise.all([describeBytes(r.key, ctx.codecs), describeBytes(r.value, ctx.codecs)])
          event(
            res,
            'record',
            {
              cluster_id: metadata.id,
              topic_name: r.topic,
              partition_id: r.partition,
              offset: Number(r.offset),
              timestamp: new Date(Number(r.timestamp)).toISOString(),
              headers: r.headers.map(([k, v]) => ({
                name: k?.toString('utf8') ?? '',
                value: v ? v.toString('base64') : null,
              })),
              key,
              value,
            },
            `${r.partition}:${r.offset}`,
          )
        })
      },
      onError(error) {
        const body = error instanceof RestProxyError ? error.toBody() : { error_code: 500, message: error.message }
        event(res, 'error', body)
        res.end()
      },
    })
    await tail.start()
    clients.leases++
    reply.hijack()
    openStream(res)
    event(res, 'ready', { cluster_id: metadata.id, topic_name: topic, from })
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS)
    req.raw.on('close', () => {
      clearInterval(heartbeat)
      clients.leases--
      tail.stop().catch(() => {})
    })
  })

  app.get('/v3/clusters/:cluster_id/consumer-groups/:consumer_group_id/lags::stream', async (req, reply) => {
    const metadata = await checkCluster(req, p(req).cluster_id)
    const interval = q(req).interval_ms === undefined ? 1000 : Number(q(req).interval_ms)
    if (!Number.isInteger(interval) || interval < 100)
      throw badRequest('Bad Request: interval_ms must be an integer >= 100')
    const clients = clientsOf(req)
    const groupId = p(req).consumer_group_id
    const self = `${req.protocol}://${req.headers.host}/v3/clusters/${metadata.id}/consumer-groups/${encodeURIComponent(groupId)}`
    const snapshot = async () => {
      const lags = await groupLags(clients, groupId)
      return {
        ...lagSummaryData(req, metadata.id, groupId, self, lags),
        lags: lags.map((l) => ({
          topic_name: l.topic,
          partition_id: l.partition,
          current_offset: Number(l.current),
          log_end_offset: Number(l.end),
          lag: Number(l.lag),
          consumer_id: l.consumerId,
          client_id: l.clientId,
        })),
      }
    }
    const first = await snapshot()
    const res = reply.raw
    clients.leases++
    reply.hijack()
    openStream(res)
    event(res, 'lag', first)
    let closed = false
    let timer: NodeJS.Timeout
    const tick = async () => {
      if (closed) return
      try {
        event(res, 'lag', await snapshot())
      } catch (error) {
        const body = error instanceof RestProxyError ? error.toBody() : { error_code: 500, message: String(error) }
        event(res, 'error', body)
      }
      if (!closed) timer = setTimeout(tick, interval)
    }
    timer = setTimeout(tick, interval)
    req.raw.on('close', () => {
      closed = true
      clearTimeout(timer)
      clients.leases--
    })
  })
}
