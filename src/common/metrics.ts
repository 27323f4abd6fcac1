/**
 * Prometheus metrics in the text exposition format, served over HTTP (`GET /metrics`). Counters are updated on the
 * hot path with plain additions; per-partition gauges are read from the logs when scraped.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from './logger.ts'

type Labels = Record<string, string>

interface Sample {
  labels: Labels
  value: number
}

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge'
  samples: Map<string, Sample>
}

function labelKey(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

export class Metrics {
  private families = new Map<string, Family>()
  private collectors: ((m: Metrics) => void)[] = []

  private family(name: string, help: string, type: 'counter' | 'gauge'): Family {
    let f = this.families.get(name)
    if (!f) {
      f = { name, help, type, samples: new Map() }
      this.families.set(name, f)
    }
    return f
  }

  /** Adds to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.family(name, help, 'counter')
    const key = labelKey(labels)
    const s = f.samples.get(key)
    if (s) s.value += by
    else f.samples.set(key, { labels, value: by })
  }

  /** Sets a gauge. */
  set(name: string, help: string, labels: Labels, value: number): void {
    const f = this.family(name, help, 'gauge')
    f.samples.set(labelKey(labels), { labels, value })
  }

  /** Registers a callback that sets gauges right before each scrape. */
  collect(fn: (m: Metrics) => void): void {
    this.collectors.push(fn)
  }

  render(): string {
    for (const f of this.families.values()) if (f.type === 'gauge') f.samples.clear()
    for (const c of this.collectors) c(this)
    const out: string[] = []
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
      for (const s of f.samples.values()) {
        const entries = Object.entries(s.labels)
        const labels = entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : ''
        out.push(`${f.name}${labels} ${s.value}`)
      }
    }
    return `${out.join('\n')}\n`
  }
}

/** Serves `/metrics`; resolves with the bound port. */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
  logger: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      let body: string
      try {
        body = metrics.render()
      } catch (err) {
        logger.error('rendering metrics failed', { err })
        res.writeHead(500).end()
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n')
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
