/**
 * Prometheus metrics, kept in a prom-client registry (docs/decisions/0007-metrics-prom-client.md) behind a small
 * facade: metrics are created on first use from their name, help and label names, so callers stay one line.
 * Counters and histograms are updated on the hot path; gauges are set by collectors right before each scrape (the
 * per-partition and per-group figures are read from the logs and the group coordinator then). The HTTP server
 * serves `/metrics`, `/health` (the process is alive) and `/ready` (the broker is serving).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Logger } from './logger.ts'

type Labels = Record<string, string>

/** Request latencies from 0.1 ms to 30 s (long polls and rebalances reach the upper buckets). */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

export class Metrics {
  readonly registry = new Registry()
  private readonly counters = new Map<string, Counter>()
  private readonly gauges = new Map<string, Gauge>()
  private readonly histograms = new Map<string, Histogram>()
  private readonly collectors: ((m: Metrics) => void)[] = []
  private processMetrics = false

  /** Adds to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name)
    if (!c) {
      c = new Counter({ name, help, labelNames: Object.keys(labels), registers: [this.registry] })
      this.counters.set(name, c)
    }
    c.inc(labels, by)
  }

  /** Sets a gauge; gauges are cleared before each scrape, so set them from a collector. */
  set(name: string, help: string, labels: Labels, value: number): void {
    let g = this.gauges.get(name)
    if (!g) {
      g = new Gauge({ name, help, labelNames: Object.keys(labels), registers: [this.registry] })
      this.gauges.set(name, g)
    }
    g.set(labels, value)
  }

  /** Records one observation (e.g. a latency in seconds) in a histogram. */
  observe(name: string, help: string, labels: Labels, value: number, buckets = LATENCY_BUCKETS): void {
    let h = this.histograms.get(name)
    if (!h) {
      h = new Histogram({ name, help, labelNames: Object.keys(labels), buckets, registers: [this.registry] })
      this.histograms.set(name, h)
    }
    h.observe(labels, value)
  }

  /** Registers a callback that sets gauges right before each scrape. */
  collect(fn: (m: Metrics) => void): void {
    this.collectors.push(fn)
  }

  /**
   * Adds Node's process and event-loop metrics (prom-client's defaults: CPU, resident memory, heap, open and maximum
   * file descriptors, event-loop lag, GC pauses), under their usual names (process_*, nodejs_*). Only done when the
   * metrics are served: the event-loop monitor costs a little.
   */
  enableProcessMetrics(): void {
    if (this.processMetrics) return
    this.processMetrics = true
    collectDefaultMetrics({ register: this.registry })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The text exposition of every metric. */
  async render(): Promise<string> {
    for (const g of this.gauges.values()) g.reset()
    for (const c of this.collectors) c(this)
    return this.registry.metrics()
  }
}

export interface MetricsServer {
  port: number
  close(): Promise<void>
}

/**
 * Serves `/metrics`, `/health` and `/ready`; resolves with the bound port. `ready()` says whether the broker serves
 * clients (false while it starts and once it is stopping): `/ready` answers 200 or 503 accordingly, `/health` 200
 * whenever the process answers at all.
 */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
  logger: Logger,
  ready: () => boolean = () => true,
): Promise<MetricsServer> {
  metrics.enableProcessMetrics()
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/metrics') {
      metrics.render().then(
        (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
        (err: unknown) => {
          logger.error('rendering metrics failed', { err })
          res.writeHead(500).end()
        },
      )
      return
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}\n')
      return
    }
    if (path === '/ready') {
      const ok = ready()
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(ok ? '{"status":"READY"}\n' : '{"status":"NOT_READY"}\n')
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /health or /ready\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = (server.address() as AddressInfo).port
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
