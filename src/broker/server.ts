/**
 * The Kafka wire: length-prefixed frames over TCP. Requests on one connection are dispatched in arrival order
 * (handlers do their state changes before their first await, so side effects keep that order) and responses are
 * written in the same order, which Kafka clients rely on.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { Logger, LogLevel } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import type { LogSlice } from '../log/index.ts'
import { ApiKeys, apiCodecs } from '../protocol/generated/api-table.ts'
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions-response.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { Reader, Writer } from '../protocol/primitives.ts'
import type { ConnectionQuotas, DescriptorWatch } from './connection-limits.ts'
import { errorResponse } from './error-response.ts'
import { regionOf, releaseRegion } from './file-region.ts'
import { FramePool } from './frame-pool.ts'
import type { HandlerSpec, RequestContext } from './handler.ts'
import { type ConnectionSession, type ListenerInfo, newSession } from './security/session.ts'
import type { BrokerServices } from './services.ts'

/*
 * What one connection may hold (docs/decisions/0006-bounded-connection-memory.md). Requests are pipelined (Produce
 * throughput needs it), but reading from the socket pauses while any of these is exceeded, and resumes below half.
 */
/** Requests waiting for their responses. */
const MAX_IN_FLIGHT = 256
/** Bytes of request frames whose handlers have not settled (Produce frames are held until the append is durable). */
const MAX_IN_FLIGHT_REQUEST_BYTES = 16 * 1024 * 1024
/** Bytes of encoded responses held in memory: queued behind earlier ones or waiting in the socket. */
const MAX_PENDING_WRITE = 8 * 1024 * 1024
/** Records streamed from segment files are read and written in pieces of this size, one read ahead. */
const STREAM_PIECE = 256 * 1024

interface Slot {
  done: boolean
  chunks: Buffer[] | null
  /** Index of the next chunk to write (a response streamed from a file is written over several turns). */
  next: number
  /** A Fetch: reading from the connection waits until its response is written. */
  fetch?: boolean
  /** API name and arrival time, for the latency histogram (absent for answers the server makes itself). */
  api?: string
  started?: number
  /** Close the connection once every earlier response is written (Kafka's answer to some requests). */
  close?: string
}

/** Buffers for the pieces of streamed records, shared by all connections (returned once the socket wrote them). */
const streamPieces = new FramePool(0, STREAM_PIECE, 8 * 1024 * 1024)

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

const UNKNOWN_ERROR = 'The server experienced an unexpected error when processing the request.'

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
  /** A response's records are being sent from a segment file; later chunks wait. */
  private streaming = false
  /** Bytes of frames whose handlers have not settled. */
  private inFlightRequestBytes = 0
  /** In-memory bytes of encoded responses not yet handed to the socket. */
  private unsentBytes = 0
  /** A Fetch whose response is not yet written: like Kafka, the connection reads nothing more meanwhile. */
  private fetchInFlight = false
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
    const idleMs = server.opts.connectionsMaxIdleMs ?? -1
    if (idleMs > 0) {
      // The socket's timer restarts with every read and write, and again after firing once there is activity.
      socket.setTimeout(idleMs)
      socket.on('timeout', () => this.onIdle(idleMs))
    }
  }

  /**
   * connections.max.idle.ms passed without a byte read or written. A connection whose request is still being
   * handled (a long poll, a JoinGroup waiting for the group) is not idle; its answer restarts the timer.
   */
  private onIdle(idleMs: number): void {
    if (this.closing || this.slots.some((s) => !s.done)) return
    this.limitedLog('info', 'closing idle connection', { connection: this.id, idleMs })
    this.closing = true
    this.socket.destroy()
  }

  destroy(): void {
    this.socket.destroy()
  }

  closed(): void {
    clearTimeout(this.unmuteTimer)
    this.abort.abort()
    // Records that will never be sent let their segment files go (one being streamed is released by the stream).
    this.slots.forEach((slot, i) => {
      releaseChunks(slot.chunks, slot.next + (i === 0 && this.streaming ? 1 : 0))
    })
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
      // Before a SASL login completes, frames are capped by sasl.server.max.receive.size (Kafka: 512 KiB), so an
      // unauthenticated client cannot make the broker buffer a request of socket.request.max.bytes.
      const preAuth = !this.session.authenticated
      const max = preAuth
        ? Math.min(this.server.opts.maxRequestBytes, this.server.opts.saslServerMaxReceiveSize ?? Number.MAX_VALUE)
        : this.server.opts.maxRequestBytes
      if (size < 0 || size > max) {
        this.limitedLog('warn', 'closing connection: request size out of range', {
          connection: this.id,
          size,
          max,
          limit: preAuth ? 'sasl.server.max.receive.size' : 'socket.request.max.bytes',
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
      this.limitedLog('warn', 'closing connection: truncated request header', { connection: this.id })
      this.socket.destroy()
      return false
    }
    const handler = this.server.handlers.get(apiKey)
    const codec = apiCodecs.get(apiKey)
    if (!this.session.authenticated && !PRE_AUTH_APIS.has(apiKey)) {
      // Kafka closes a SASL connection that sends anything else before authenticating.
      this.limitedLog('info', 'closing connection: request before SASL authentication', { connection: this.id, apiKey })
      this.socket.destroy()
      return false
    }
    if (!handler || !codec) {
      this.limitedLog('warn', 'closing connection: unsupported API key', { connection: this.id, apiKey })
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
      this.limitedLog('warn', 'closing connection: unsupported API version', {
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
      this.limitedLog('warn', 'closing connection: malformed request', {
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
    const slot: Slot = { done: false, chunks: null, next: 0, api: codec.name, started: performance.now() }
    if (apiKey === ApiKeys.Fetch) {
      // One Fetch at a time per connection, as Kafka handles every request: a client that pipelines fetches
      // without reading the answers makes the broker hold one answer, not many. Consumers have one Fetch in
      // flight per connection anyway; Produce stays pipelined.
      slot.fetch = true
      this.fetchInFlight = true
    }
    this.slots.push(slot)
    this.inFlightRequestBytes += frame.length
    if (this.overLimits()) this.pause()
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
        this.setChunks(slot, framed(w))
      } catch (err) {
        handlerFailed(err)
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
    /**
     * A handler bug (or a response that cannot be encoded) costs this request only: Kafka answers it with
     * UNKNOWN_SERVER_ERROR in the API's response shape and keeps the connection.
     */
    const handlerFailed = (err: unknown) => {
      if (this.abort.signal.aborted) return
      this.limitedLog('error', 'request handler failed', {
        connection: this.id,
        api: codec.name,
        version: apiVersion,
        correlationId,
        clientId,
        err,
        stack: err instanceof Error ? err.stack : undefined,
      })
      this.server.opts.services.metrics.inc(
        'tributary_request_handler_errors_total',
        'Requests whose handler failed unexpectedly (answered with UNKNOWN_SERVER_ERROR)',
        { api: codec.name },
      )
      if (apiKey === ApiKeys.Produce && (request as { acks: number }).acks === 0) {
        // The client reads no response: closing the connection is how Kafka tells an acks=0 producer.
        slot.close = 'acks=0 produce failed on the server'
      } else {
        const response = errorResponse(apiKey, apiVersion, request, ErrorCode.UNKNOWN_SERVER_ERROR, UNKNOWN_ERROR)
        try {
          this.setChunks(slot, framed(encode(response)))
        } catch (encodeErr) {
          this.fail(codec.name, apiVersion, encodeErr)
          return
        }
        // A SASL exchange in an unknown state cannot go on: answer, then close (the client reconnects).
        if (!this.session.authenticated) slot.close = 'SASL request failed on the server'
      }
      slot.done = true
      this.flush()
    }
    const failed = (err: unknown) => {
      if (err instanceof CloseConnection) {
        if (err.response !== undefined) {
          try {
            this.setChunks(slot, framed(encode(err.response)))
          } catch (encodeErr) {
            handlerFailed(encodeErr)
            return
          }
        }
        slot.close = err.message
        slot.done = true
        this.flush()
      } else handlerFailed(err)
    }
    const release = () => {
      this.inFlightRequestBytes -= frame.length
      if (lease) this.server.framePool.release(lease)
      if (this.paused) this.maybeResume()
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

  /** Log lines a client can cause at will are rate-limited (per message, broker-wide). */
  private limitedLog(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    this.server.opts.services.logLimiter.log(this.logger, level, msg, fields)
  }

  /** Last resort, when not even an error response can be encoded. */
  private fail(api: string, version: number, err: unknown): void {
    if (this.abort.signal.aborted) return
    this.logger.error('closing connection: no response could be encoded', { connection: this.id, api, version, err })
    this.socket.destroy()
  }

  private respondNow(w: Writer): void {
    const slot: Slot = { done: true, chunks: null, next: 0 }
    this.slots.push(slot)
    this.setChunks(slot, framed(w))
    this.flush()
  }

  /** Gives a slot its encoded response; stand-ins for file regions hold no memory and are not counted. */
  private setChunks(slot: Slot, chunks: Buffer[]): void {
    if (this.abort.signal.aborted) {
      // The connection closed while the handler ran: nothing will be sent.
      releaseChunks(chunks, 0)
      return
    }
    slot.chunks = chunks
    for (const c of chunks) if (!regionOf(c)) this.unsentBytes += c.length
  }

  /** Writes the responses that are ready, in request order, until one is not (or is being streamed). */
  private flush(): void {
    if (this.socket.destroyed || this.closing || this.streaming) return
    let corked = false
    let closeReason: string | undefined
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots[0]!
      const chunks = slot.chunks ?? []
      while (slot.next < chunks.length) {
        const c = chunks[slot.next]!
        const region = regionOf(c)
        if (region) {
          if (corked) this.socket.uncork()
          this.stream(slot, c, region)
          return
        }
        if (!corked) this.socket.cork()
        corked = true
        this.socket.write(c)
        this.unsentBytes -= c.length
        slot.next++
      }
      this.slots.shift()
      if (slot.fetch) this.fetchInFlight = false
      this.observeLatency(slot)
      if (slot.close !== undefined) {
        closeReason = slot.close
        break
      }
    }
    if (corked) this.socket.uncork()
    if (closeReason !== undefined) {
      this.limitedLog('info', 'closing connection', { connection: this.id, reason: closeReason })
      // Requests after the close point get no answer: stop reading and drop their slots.
      this.closing = true
      this.slots = []
      this.socket.pause()
      this.socket.destroySoon()
      return
    }
    if (this.overLimits()) this.pause()
    else this.maybeResume()
  }

  /**
   * Sends a response's records from their segment file, a piece at a time: the next piece is read while the socket
   * sends the current one, and reading waits while the socket holds more than a piece (a client that does not read
   * costs at most two pieces). Then the rest of the response follows.
   */
  private stream(slot: Slot, chunk: Buffer, region: LogSlice): void {
    this.streaming = true
    const done = (err?: unknown) => {
      releaseRegion(chunk)
      this.streaming = false
      if (err !== undefined) {
        if (!this.socket.destroyed) {
          // Part of the response is written already: the connection cannot carry on.
          this.limitedLog('error', 'closing connection: sending records from a segment file failed', {
            connection: this.id,
            err,
          })
          this.socket.destroy()
        }
        return
      }
      slot.next++
      this.flush()
    }
    this.sendRegion(region).then(() => done(), done)
  }

  private async sendRegion(region: LogSlice): Promise<void> {
    const readPiece = async (position: number) => {
      const n = Math.min(STREAM_PIECE, region.length - position)
      const buf = streamPieces.acquire(n)
      await region.read(buf, 0, n, position)
      return { buf, n }
    }
    let position = 0
    let next: Promise<{ buf: Buffer; n: number }> | null = readPiece(0)
    try {
      while (next) {
        const { buf, n } = await next
        position += n
        next = position < region.length && !this.socket.destroyed ? readPiece(position) : null
        if (this.socket.destroyed) return
        this.socket.write(buf.subarray(0, n), () => streamPieces.release(buf))
        if (this.socket.writableLength > STREAM_PIECE) await this.drained()
      }
    } finally {
      // The slice is released after this returns: no read of it may still be running then.
      if (next) await next.catch(() => {})
    }
  }

  /** Resolves when the socket has written what it holds, or has closed. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }

  /**
   * Time from a request's arrival until its whole response was handed to the socket (Kafka's TotalTimeMs without
   * the network): handler time, waiting behind earlier responses, and streaming records from the files.
   */
  private observeLatency(slot: Slot): void {
    if (slot.api === undefined || slot.started === undefined) return
    this.server.opts.services.metrics.observe(
      'tributary_request_duration_seconds',
      'Time from request arrival to its whole response written to the socket, by API',
      { api: slot.api },
      (performance.now() - slot.started) / 1000,
    )
  }

  /** Whether reading must pause: too many requests in flight, or too many of their bytes held. */
  private overLimits(): boolean {
    return (
      this.fetchInFlight ||
      this.slots.length >= MAX_IN_FLIGHT ||
      this.inFlightRequestBytes > MAX_IN_FLIGHT_REQUEST_BYTES ||
      this.unsentBytes + this.socket.writableLength > MAX_PENDING_WRITE
    )
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
    if (
      this.paused &&
      !this.fetchInFlight &&
      this.slots.length < MAX_IN_FLIGHT / 2 &&
      this.inFlightRequestBytes <= MAX_IN_FLIGHT_REQUEST_BYTES / 2 &&
      this.unsentBytes + this.socket.writableLength <= MAX_PENDING_WRITE / 2
    ) {
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

/** Releases the file regions among `chunks` from index `from` on. */
function releaseChunks(chunks: Buffer[] | null, from: number): void {
  if (!chunks) return
  for (let i = from; i < chunks.length; i++) releaseRegion(chunks[i])
}

function framed(w: Writer): Buffer[] {
  const chunks = w.chunksView()
  const size = Buffer.allocUnsafe(4)
  size.writeInt32BE(w.length, 0)
  return [size, ...chunks]
}
