/**
 * The Kafka wire: length-prefixed frames over TCP. Requests on one connection are dispatched in arrival order
 * (handlers do their state changes before their first await, so side effects keep that order) and responses are
 * written in the same order, which Kafka clients rely on.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import { ApiKeys, apiCodecs } from '../protocol/generated/api-table.ts'
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions-response.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { Reader, Writer } from '../protocol/primitives.ts'
import { FramePool } from './frame-pool.ts'
import type { HandlerSpec, RequestContext } from './handler.ts'
import { type ConnectionSession, type ListenerInfo, newSession } from './security/session.ts'
import type { BrokerServices } from './services.ts'

/** More requests than this waiting for their responses on one connection pauses reading from it. */
const MAX_IN_FLIGHT = 256
/** Pause reading while this much response data waits in the socket. */
const MAX_PENDING_WRITE = 64 * 1024 * 1024

interface Slot {
  done: boolean
  chunks: Buffer[] | null
  /** Close the connection once every earlier response is written (Kafka's answer to some requests). */
  close?: string
}

/**
 * Thrown (or rejected with) by a handler when Kafka answers the request by closing the connection rather than with
 * a response: e.g. a Produce with acks=0 that failed, since the client reads no response and only notices the
 * close. Earlier responses on the connection are still written first, as Kafka queues the close in order.
 */
export class CloseConnection extends TributaryError {
  /** When given, this response is written before the close (a failed SaslAuthenticate tells the client why). */
  readonly response: unknown
  constructor(reason: string, response?: unknown) {
    super('TRB_CONNECTION_CLOSED', reason)
    this.name = 'CloseConnection'
    this.response = response
  }
}

/** Requests a SASL listener serves before authentication completes: ApiVersions, SaslHandshake, SaslAuthenticate. */
const PRE_AUTH_APIS = new Set([18, 17, 36])

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
}

export class KafkaServer {
  private server: net.Server
  readonly listener: ListenerInfo
  private connections = new Set<Connection>()
  readonly handlers = new Map<number, HandlerSpec>()
  /** Buffers for assembling large Produce requests, shared by this listener's connections. */
  readonly framePool = new FramePool()
  private nextConnectionId = 0

  constructor(readonly opts: ServerOptions) {
    for (const h of opts.handlers) this.handlers.set(h.apiKey, h)
    this.listener = opts.listener ?? {
      name: 'PLAINTEXT',
      securityProtocol: 'PLAINTEXT',
      advertisedHost: opts.host,
      advertisedPort: opts.port,
    }
    const proto = this.listener.securityProtocol
    if (proto === 'SSL' || proto === 'SASL_SSL') {
      this.server = tls.createServer({ ...opts.tls, noDelay: true }, (socket) => this.accept(socket))
      this.server.on('tlsClientError', (err) => opts.logger.debug('TLS handshake failed', { err }))
    } else {
      this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    }
    this.server.on('error', (err) => opts.logger.error('listener error', { err }))
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
    const conn = new Connection(this, socket, `${socket.remoteAddress}:${socket.remotePort}-${this.nextConnectionId++}`)
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

class Connection {
  private chunks: Buffer[] = []
  private buffered = 0
  private slots: Slot[] = []
  private abort = new AbortController()
  private paused = false
  /** Muted for a quota throttle: reading resumes when the throttle time is over. */
  private throttled = false
  private unmuteTimer: NodeJS.Timeout | undefined
  /** Set once a close was decided: nothing more is read, dispatched or written. */
  private closing = false
  private dispatching = false
  private readonly logger: Logger
  private readonly clientHost: string
  private readonly session: ConnectionSession

  constructor(
    private server: KafkaServer,
    private socket: net.Socket,
    private id: string,
  ) {
    this.logger = server.opts.logger
    this.clientHost = socket.remoteAddress ?? ''
    this.session = newSession(server.listener)
    socket.on('data', (data) => this.onData(data))
    socket.on('error', (err) => this.logger.debug('connection error', { connection: id, err }))
    socket.on('drain', () => this.maybeResume())
  }

  destroy(): void {
    this.socket.destroy()
  }

  closed(): void {
    clearTimeout(this.unmuteTimer)
    this.abort.abort()
    this.slots = []
  }

  private onData(data: Buffer): void {
    this.chunks.push(data)
    this.buffered += data.length
    this.dispatchBuffered()
  }

  /**
   * Dispatches complete frames until none is left or the connection is paused: a client that pipelines thousands of
   * requests in one TCP read must still wait for responses to drain, so in-flight work stays bounded.
   */
  private dispatchBuffered(): void {
    // A handler that completes synchronously can resume the connection from inside this loop.
    if (this.dispatching) return
    this.dispatching = true
    try {
      this.dispatchFrames()
    } finally {
      this.dispatching = false
    }
  }

  private dispatchFrames(): void {
    while (this.buffered >= 4 && !this.socket.destroyed && !this.closing && !this.paused) {
      const size = this.int32At(0)
      if (size < 0 || size > this.server.opts.maxRequestBytes) {
        this.logger.warn('closing connection: request size out of range', {
          connection: this.id,
          size,
          max: this.server.opts.maxRequestBytes,
        })
        this.socket.destroy()
        return
      }
      if (this.buffered < 4 + size) return
      const pool = this.server.framePool
      const produce = size >= 2 && ((this.byteAt(4) << 8) | this.byteAt(5)) === ApiKeys.Produce
      const lease = produce && pool.pools(4 + size) && this.chunks[0]!.length < 4 + size ? pool.acquire(4 + size) : null
      const frame = this.take(4 + size, lease).subarray(4)
      if (!this.onFrame(frame, lease) && lease) pool.release(lease)
    }
  }

  private byteAt(i: number): number {
    for (const c of this.chunks) {
      if (i < c.length) return c[i]!
      i -= c.length
    }
    return 0
  }

  private int32At(i: number): number {
    const c = this.chunks[0]!
    if (c.length >= i + 4) return c.readInt32BE(i)
    return (this.byteAt(i) << 24) | (this.byteAt(i + 1) << 16) | (this.byteAt(i + 2) << 8) | this.byteAt(i + 3) | 0
  }

  /**
   * Removes the next n bytes. A frame inside one socket chunk is a view of it; one spread over chunks is copied
   * into `into` (a pooled buffer) or a new buffer, and only its own bytes are copied.
   */
  private take(n: number, into: Buffer | null): Buffer {
    const first = this.chunks[0]!
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.buffered -= n
      return first.subarray(0, n)
    }
    const dest = into ?? Buffer.allocUnsafe(n)
    let copied = 0
    while (copied < n) {
      const c = this.chunks[0]!
      const k = Math.min(c.length, n - copied)
      c.copy(dest, copied, 0, k)
      copied += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    this.buffered -= n
    return dest.subarray(0, n)
  }

  /**
   * Decodes and dispatches one request. Returns whether a handler took it; if so, `lease` (the pooled buffer
   * holding the frame) goes back to the frame pool once the handler has settled and the response is encoded.
   */
  private onFrame(frame: Buffer, lease: Buffer | null): boolean {
    const r = new Reader(frame)
    let apiKey: number
    let apiVersion: number
    let correlationId: number
    try {
      apiKey = r.int16()
      apiVersion = r.int16()
      correlationId = r.int32()
    } catch {
      this.logger.warn('closing connection: truncated request header', { connection: this.id })
      this.socket.destroy()
      return false
    }
    const handler = this.server.handlers.get(apiKey)
    const codec = apiCodecs.get(apiKey)
    if (!this.session.authenticated && !PRE_AUTH_APIS.has(apiKey)) {
      // Kafka closes a SASL connection that sends anything else before authenticating.
      this.logger.info('closing connection: request before SASL authentication', { connection: this.id, apiKey })
      this.socket.destroy()
      return false
    }
    if (!handler || !codec) {
      this.logger.warn('closing connection: unsupported API key', { connection: this.id, apiKey })
      this.socket.destroy()
      return false
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKeys.ApiVersions) {
        // KIP-511: answer an unknown ApiVersions version with a v0 body carrying UNSUPPORTED_VERSION and our ranges,
        // so the client can retry with a version we speak.
        const w = new Writer(512)
        w.int32(correlationId)
        encodeApiVersionsResponse(w, 0, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: this.server.apiVersions(),
        })
        this.respondNow(w)
        return false
      }
      this.logger.warn('closing connection: unsupported API version', {
        connection: this.id,
        api: codec.name,
        version: apiVersion,
        supported: `${handler.minVersion}-${handler.maxVersion}`,
      })
      this.socket.destroy()
      return false
    }
    const flexible = codec.flexibleMin >= 0 && apiVersion >= codec.flexibleMin
    let clientId: string | null
    let request: unknown
    try {
      clientId = r.nullableString()
      if (flexible) r.taggedFields()
      request = codec.decodeRequest(r, apiVersion)
    } catch (err) {
      this.logger.warn('closing connection: malformed request', {
        connection: this.id,
        api: codec.name,
        version: apiVersion,
        err,
      })
      this.socket.destroy()
      return false
    }
    this.server.opts.services.metrics.inc('tributary_requests_total', 'Requests received, by API', { api: codec.name })
    this.server.opts.services.metrics.inc(
      'tributary_request_bytes_total',
      'Request bytes received, by API',
      { api: codec.name },
      frame.length + 4,
    )
    const slot: Slot = { done: false, chunks: null }
    this.slots.push(slot)
    if (this.slots.length >= MAX_IN_FLIGHT) this.pause()
    const ctx: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId,
      clientHost: this.clientHost,
      principal: this.session.principal,
      session: this.session,
      connectionId: this.id,
      services: this.server.opts.services,
      signal: this.abort.signal,
    }
    const encode = (response: unknown): Writer => {
      const w = new Writer(256)
      w.int32(correlationId)
      // ApiVersions responses always use header v0, even for flexible versions, so clients can parse them
      // before they know what the broker supports.
      if (flexible && apiKey !== ApiKeys.ApiVersions) w.uvarint(0)
      codec.encodeResponse(w, apiVersion, response)
      return w
    }
    const finish = (response: unknown) => {
      if (response === undefined) {
        slot.done = true
        this.flush()
        return
      }
      let throttleMs = 0
      try {
        let w = encode(response)
        throttleMs = this.quotaThrottle(ctx, request, frame.length + 4, w.length, performance.now() - started)
        if (throttleMs > 0) {
          ;(response as { throttleTimeMs?: number }).throttleTimeMs = throttleMs
          w = encode(response)
        }
        slot.chunks = framed(w)
      } catch (err) {
        this.fail(codec.name, apiVersion, err)
        return
      }
      if (throttleMs > 0) {
        // Kafka mutes a throttled channel; clients of KIP-219 versions get the response at once and wait themselves,
        // older ones only notice the throttle by the delayed response.
        this.mute(throttleMs)
        if (!clientThrottles(apiKey, apiVersion)) {
          setTimeout(() => {
            slot.done = true
            this.flush()
          }, throttleMs).unref()
          return
        }
      }
      slot.done = true
      this.flush()
    }
    const failed = (err: unknown) => {
      if (err instanceof CloseConnection) {
        if (err.response !== undefined) {
          try {
            slot.chunks = framed(encode(err.response))
          } catch (encodeErr) {
            this.fail(codec.name, apiVersion, encodeErr)
            return
          }
        }
        slot.close = err.message
        slot.done = true
        this.flush()
      } else this.fail(codec.name, apiVersion, err)
    }
    const release = () => {
      if (lease) this.server.framePool.release(lease)
    }
    const started = performance.now()
    try {
      const result = handler.handle(request, ctx)
      if (result instanceof Promise) result.then(finish, failed).finally(release)
      else {
        finish(result)
        release()
      }
    } catch (err) {
      failed(err)
      release()
    }
    return true
  }

  private fail(api: string, version: number, err: unknown): void {
    if (this.abort.signal.aborted) return
    this.logger.error('closing connection: request handler failed', { connection: this.id, api, version, err })
    this.socket.destroy()
  }

  private respondNow(w: Writer): void {
    this.slots.push({ done: true, chunks: framed(w) })
    this.flush()
  }

  private flush(): void {
    if (this.socket.destroyed || this.closing) return
    let wrote = false
    let closeReason: string | undefined
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!
      if (slot.chunks) {
        if (!wrote) this.socket.cork()
        wrote = true
        for (const c of slot.chunks) this.socket.write(c)
      }
      if (slot.close !== undefined) {
        closeReason = slot.close
        break
      }
    }
    if (wrote) this.socket.uncork()
    if (closeReason !== undefined) {
      this.logger.info('closing connection', { connection: this.id, reason: closeReason })
      // Requests after the close point get no answer: stop reading and drop their slots.
      this.closing = true
      this.slots = []
      this.socket.pause()
      this.socket.destroySoon()
      return
    }
    if (this.socket.writableLength > MAX_PENDING_WRITE) this.pause()
    else this.maybeResume()
  }

  /**
   * Charges the request to the client's quotas (user and client-id): produce bytes by request size, consumer fetch
   * bytes by response size, request_percentage by handler time. Returns the throttle time in ms (0 within quota).
   */
  private quotaThrottle(
    ctx: RequestContext,
    request: unknown,
    requestBytes: number,
    responseBytes: number,
    handlerMs: number,
  ): number {
    const quotas = this.server.opts.services.quotas
    if (!quotas || PRE_AUTH_APIS.has(ctx.apiKey)) return 0
    const user = ctx.principal.startsWith('User:') ? ctx.principal.slice(5) : ctx.principal
    const clientId = ctx.clientId ?? ''
    let throttle = quotas.record(user, clientId, 'request_percentage', handlerMs)
    if (ctx.apiKey === ApiKeys.Produce) {
      throttle = Math.max(throttle, quotas.record(user, clientId, 'producer_byte_rate', requestBytes))
    } else if (ctx.apiKey === ApiKeys.Fetch) {
      const r = request as { replicaId: number; replicaState?: { replicaId: number } }
      const replicaId = ctx.apiVersion >= 15 ? (r.replicaState?.replicaId ?? -1) : r.replicaId
      if (replicaId < 0)
        throttle = Math.max(throttle, quotas.record(user, clientId, 'consumer_byte_rate', responseBytes))
    }
    if (throttle > 0) {
      this.server.opts.services.metrics.inc(
        'tributary_quota_throttle_time_ms_total',
        'Time clients were throttled for exceeding their quotas',
        {},
        throttle,
      )
    }
    return throttle
  }

  /** Stops reading from the connection for `ms` (Kafka's muted channel while a client is throttled). */
  private mute(ms: number): void {
    this.throttled = true
    this.pause()
    clearTimeout(this.unmuteTimer)
    this.unmuteTimer = setTimeout(() => {
      this.throttled = false
      this.maybeResume()
    }, ms)
    this.unmuteTimer.unref()
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true
      this.socket.pause()
    }
  }

  private maybeResume(): void {
    if (this.closing || this.throttled) return
    if (this.paused && this.slots.length < MAX_IN_FLIGHT / 2 && this.socket.writableLength <= MAX_PENDING_WRITE) {
      this.paused = false
      this.socket.resume()
      this.dispatchBuffered()
    }
  }
}

/** KIP-219: from these versions on, the client itself waits out throttle_time_ms, so the response is not delayed. */
const CLIENT_THROTTLES_FROM: Record<number, number> = { 0: 6, 1: 8 }

function clientThrottles(apiKey: number, apiVersion: number): boolean {
  const from = CLIENT_THROTTLES_FROM[apiKey]
  return from !== undefined && apiVersion >= from
}

function framed(w: Writer): Buffer[] {
  const chunks = w.chunksView()
  const size = Buffer.allocUnsafe(4)
  size.writeInt32BE(w.length, 0)
  return [size, ...chunks]
}
