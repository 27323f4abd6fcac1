/**
 * A Kafka listener: a TCP or TLS server on one address, applying the connection limits (max.connections,
 * max.connections.per.ip) as clients connect, with a Connection (connection.ts) for each client it accepts.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from '../common/logger.ts'
import { Connection, type ConnectionSettings } from './connection.ts'
import type { ConnectionQuotas, DescriptorWatch } from './connection-limits.ts'
import { FramePool } from './frame-pool.ts'
import type { HandlerSpec } from './handler.ts'
import type { ListenerInfo } from './security/session.ts'
import type { BrokerServices } from './services.ts'

export interface ServerOptions {
  host: string
  port: number
  maxRequestBytes: number
  handlers: readonly HandlerSpec[]
  services: BrokerServices
  logger: Logger
  /** Security protocol and advertised address of this listener; PLAINTEXT at host:port when absent. */
  listener?: ListenerInfo
  /** PEM certificate and key for SSL and SASL_SSL listeners. */
  tls?: tls.TlsOptions
  /** max.connections / max.connections.per.ip, shared by the broker's listeners (unlimited when absent). */
  connectionQuotas?: ConnectionQuotas
  /** Counts descriptors as connections arrive (logs when they run out). */
  descriptors?: DescriptorWatch
  /** connections.max.idle.ms (-1 or absent: never). */
  connectionsMaxIdleMs?: number
  /** sasl.server.max.receive.size: largest frame before a SASL login completes. */
  saslServerMaxReceiveSize?: number
}

export class KafkaServer {
  private server: net.Server
  readonly listener: ListenerInfo
  private connections = new Set<Connection>()
  readonly handlers = new Map<number, HandlerSpec>()
  /** Buffers for assembling large Produce requests, shared by this listener's connections. */
  readonly framePool = new FramePool()
  private nextConnectionId = 0
  private readonly settings: ConnectionSettings

  constructor(readonly opts: ServerOptions) {
    for (const h of opts.handlers) this.handlers.set(h.apiKey, h)
    this.listener = opts.listener ?? {
      name: 'PLAINTEXT',
      securityProtocol: 'PLAINTEXT',
      advertisedHost: opts.host,
      advertisedPort: opts.port,
    }
    this.settings = {
      listener: this.listener,
      handlers: this.handlers,
      services: opts.services,
      logger: opts.logger,
      framePool: this.framePool,
      maxRequestBytes: opts.maxRequestBytes,
      saslServerMaxReceiveSize: opts.saslServerMaxReceiveSize,
      connectionsMaxIdleMs: opts.connectionsMaxIdleMs,
      apiVersions: () => this.apiVersions(),
    }
    const proto = this.listener.securityProtocol
    if (proto === 'SSL' || proto === 'SASL_SSL') {
      this.server = tls.createServer({ ...opts.tls, noDelay: true }, (socket) => this.accept(socket))
      this.server.on('tlsClientError', (err) => opts.logger.debug('TLS handshake failed', { err }))
      // Limits apply to the TCP connection, before the TLS handshake spends anything on it.
      this.server.on('connection', (socket: net.Socket) => this.admit(socket))
    } else {
      this.server = net.createServer({ noDelay: true })
      this.server.on('connection', (socket: net.Socket) => {
        if (this.admit(socket)) this.accept(socket)
      })
    }
    this.server.on('error', (err) =>
      opts.services.logLimiter.log(opts.logger, 'error', 'listener error', { listener: this.listener.name, err }),
    )
  }

  /** Applies max.connections and max.connections.per.ip; a refused connection is closed at once. */
  private admit(socket: net.Socket): boolean {
    const quotas = this.opts.connectionQuotas
    if (!quotas) return true
    const ip = socket.remoteAddress ?? ''
    const refused = quotas.admit(ip)
    if (refused) {
      this.opts.services.logLimiter.log(this.opts.logger, 'warn', 'connection refused: too many connections', {
        limit: refused,
        value: refused === 'max.connections' ? quotas.maxConnections : quotas.maxConnectionsPerIp,
        host: ip,
        listener: this.listener.name,
      })
      this.opts.services.metrics.inc(
        'tributary_connections_refused_total',
        'Connections closed at once because a connection limit was reached',
        { limit: refused },
      )
      socket.destroy()
      return false
    }
    socket.once('close', () => quotas.release(ip))
    this.opts.descriptors?.onAccept()
    return true
  }

  /** Connections open on this listener. */
  get connectionCount(): number {
    return this.connections.size
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError)
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  /** Supported version ranges for ApiVersions. */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey)
  }

  private accept(socket: net.Socket): void {
    const id = `${socket.remoteAddress}:${socket.remotePort}-${this.nextConnectionId++}`
    const conn = new Connection(this.settings, socket, id)
    this.connections.add(conn)
    socket.once('close', () => {
      this.connections.delete(conn)
      conn.closed()
    })
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const c of this.connections) c.destroy()
    await closed
  }
}
