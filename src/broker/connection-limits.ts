/**
 * What keeps connections from locking clients out: Kafka's max.connections and max.connections.per.ip (counted over
 * all listeners of the broker), and a watch on the process's file descriptors, which every connection uses one of.
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { Logger, LogRateLimiter } from '../common/logger.ts'

export type RefusalReason = 'max.connections' | 'max.connections.per.ip'

export class ConnectionQuotas {
  private open = 0
  private readonly perIp = new Map<string, number>()

  constructor(
    readonly maxConnections: number,
    readonly maxConnectionsPerIp: number,
  ) {}

  /** Open connections, all listeners together. */
  get total(): number {
    return this.open
  }

  /** Counts a new connection from `ip`, or says which limit refuses it (then nothing is counted). */
  admit(ip: string): RefusalReason | null {
    if (this.open >= this.maxConnections) return 'max.connections'
    const fromIp = this.perIp.get(ip) ?? 0
    if (fromIp >= this.maxConnectionsPerIp) return 'max.connections.per.ip'
    this.open++
    this.perIp.set(ip, fromIp + 1)
    return null
  }

  release(ip: string): void {
    this.open--
    const n = (this.perIp.get(ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(ip)
    else this.perIp.set(ip, n)
  }
}

/** Warn from this share of the descriptor limit in use. */
const WARN_RATIO = 0.9
const CHECK_INTERVAL_MS = 5000

/**
 * When the process has no descriptor left, the kernel still completes TCP handshakes and libuv closes those
 * connections at once without telling Node: clients are locked out and nothing says why. So the broker counts its
 * descriptors (Linux /proc; elsewhere this does nothing) when accepting connections near the limit and every few
 * seconds, and logs (rate-limited) once 90% are in use.
 */
export class DescriptorWatch {
  private lastCount = -1
  private lastConnections = 0
  private lastCheck = 0
  private limit: number | null = null
  private timer: NodeJS.Timeout | undefined
  private readonly available: boolean

  constructor(
    private readonly logger: Logger,
    private readonly limiter: LogRateLimiter,
    private readonly connections: () => number,
  ) {
    this.available = process.platform === 'linux'
  }

  start(): void {
    if (!this.available) return
    this.check()
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Called for each accepted connection: counts only when the estimate is near the limit or a second has passed. */
  onAccept(): void {
    if (!this.available) return
    const connections = this.connections()
    const estimate = this.lastCount + (connections - this.lastConnections)
    if (this.limit === null || estimate >= this.limit * WARN_RATIO || Date.now() - this.lastCheck >= 1000) this.check()
  }

  /** Descriptors in use and the soft limit; `exhausted` when not even /proc could be opened for lack of one. */
  usage(): { open: number; limit: number } | 'exhausted' | null {
    if (!this.available) return null
    try {
      const open = readdirSync('/proc/self/fd').length - 1 // the directory being read is one of them
      const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
      const limit = m && m[1] !== 'unlimited' ? Number(m[1]) : Number.POSITIVE_INFINITY
      return { open, limit }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return code === 'EMFILE' || code === 'ENFILE' ? 'exhausted' : null
    }
  }

  check(): void {
    const u = this.usage()
    this.lastCheck = Date.now()
    if (!u) return
    const connections = this.connections()
    if (u === 'exhausted' || u.open >= u.limit * WARN_RATIO) {
      if (u !== 'exhausted') {
        this.lastCount = u.open
        this.lastConnections = connections
        this.limit = u.limit
      }
      this.limiter.log(
        this.logger,
        'warn',
        'file descriptors (nearly) exhausted: new connections are dropped and new partitions fail',
        {
          open: u === 'exhausted' ? 'all' : u.open,
          limit: u === 'exhausted' ? (this.limit ?? 'unknown') : u.limit,
          connections,
          hint: 'raise the limit (ulimit -n) or set max.connections / connections.max.idle.ms',
        },
      )
      return
    }
    this.lastCount = u.open
    this.lastConnections = connections
    this.limit = u.limit
  }
}
