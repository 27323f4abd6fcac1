/**
 * One client connection: length-prefixed request frames in, responses out. Requests are dispatched in arrival
 * order (handlers do their state changes before their first await, so side effects keep that order) and responses
 * are written in the same order, which Kafka clients rely on. What a connection may hold is bounded
 * (docs/decisions/0006-bounded-connection-memory.md): reading pauses while a limit is exceeded.
 */
import type net from 'node:net'
import type { Logger, LogLevel } from '../common/logger.ts'
import type { LogSlice } from '../log/index.ts'
import { ApiKeys } from '../protocol/generated/api-table.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import type { Writer } from '../protocol/primitives.ts'
import { errorResponse } from './error-response.ts'
import { regionOf, releaseRegion, sendRegion } from './file-region.ts'
import type { FramePool } from './frame-pool.ts'
import type { RequestContext } from './handler.ts'
import { chargeQuotas, clientThrottles } from './quota-throttle.ts'
import { type DecodedRequest, decodeRequestFrame, encodeResponse, framed, type ServedApis } from './request-frame.ts'
import { type ConnectionSession, type ListenerInfo, newSession } from './security/session.ts'
import type { BrokerServices } from './services.ts'

/*
 * What one connection may hold. Requests are pipelined (Produce throughput needs it), but reading from the socket
 * pauses while any of these is exceeded, and resumes below half.
 */
/** Requests waiting for their responses. */
const MAX_IN_FLIGHT = 256
/** Bytes of request frames whose handlers have not settled (Produce frames are held until the append is durable). */
const MAX_IN_FLIGHT_REQUEST_BYTES = 16 * 1024 * 1024
/** Bytes of encoded responses held in memory: queued behind earlier ones or waiting in the socket. */
const MAX_PENDING_WRITE = 8 * 1024 * 1024

const UNKNOWN_ERROR = 'The server experienced an unexpected error when processing the request.'

/** What a connection needs from the listener that accepted it. */
export interface ConnectionSettings extends ServedApis {
  listener: ListenerInfo
  services: BrokerServices
  logger: Logger
  /** Buffers for assembling large Produce requests, shared by the listener's connections. */
  framePool: FramePool
  /** socket.request.max.bytes */
  maxRequestBytes: number
  /** sasl.server.max.receive.size: largest frame before a SASL login completes. */
  saslServerMaxReceiveSize?: number
  /** connections.max.idle.ms (-1 or absent: never). */
  connectionsMaxIdleMs?: number
}

/** One request's place in the response order. */
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
  /** Close the connection once every earlier response and this one are written (Kafka's answer to some requests). */
  close?: string
}

export class Connection {
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
    private settings: ConnectionSettings,
    private socket: net.Socket,
    private id: string,
  ) {
    this.logger = settings.logger
    this.clientHost = socket.remoteAddress ?? ''
    this.session = newSession(settings.listener)
    socket.on('data', (data) => this.onData(data))
    socket.on('error', (err) => this.logger.debug('connection error', { connection: id, err }))
    socket.on('drain', () => this.maybeResume())
    const idleMs = settings.connectionsMaxIdleMs ?? -1
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
        ? Math.min(this.settings.maxRequestBytes, this.settings.saslServerMaxReceiveSize ?? Number.MAX_VALUE)
        : this.settings.maxRequestBytes
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
      const pool = this.settings.framePool
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
    const outcome = decodeRequestFrame(frame, this.settings, this.session)
    if (outcome.kind === 'close') {
      this.limitedLog(outcome.level, outcome.message, { connection: this.id, ...outcome.fields })
      this.socket.destroy()
      return false
    }
    if (outcome.kind === 'answer') {
      this.respondNow(outcome.response)
      return false
    }
    this.dispatch(outcome, frame, lease)
    return true
  }

  /** Runs the request's handler; its response (or a close) takes the request's place in the response order. */
  private dispatch(req: DecodedRequest, frame: Buffer, lease: Buffer | null): void {
    const { services } = this.settings
    const { apiKey, apiVersion, codec, request } = req
    services.metrics.inc('tributary_requests_total', 'Requests received, by API', { api: codec.name })
    services.metrics.inc(
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
      correlationId: req.correlationId,
      clientId: req.clientId,
      clientHost: this.clientHost,
      principal: this.session.principal,
      session: this.session,
      connectionId: this.id,
      services,
      signal: this.abort.signal,
      // Honoured when the slot is written: after every earlier response and this request's own, if any.
      closeConnection: (reason) => {
        slot.close = reason
      },
    }
    const finish = (response: unknown) => {
      if (response === undefined) {
        slot.done = true
        this.flush()
        return
      }
      let throttleMs = 0
      try {
        let w = encodeResponse(req, response)
        throttleMs = chargeQuotas(ctx, request, frame.length + 4, w.length, performance.now() - started)
        if (throttleMs > 0) {
          ;(response as { throttleTimeMs?: number }).throttleTimeMs = throttleMs
          w = encodeResponse(req, response)
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
        correlationId: req.correlationId,
        clientId: req.clientId,
        err,
        stack: err instanceof Error ? err.stack : undefined,
      })
      services.metrics.inc(
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
          this.setChunks(slot, framed(encodeResponse(req, response)))
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
    const release = () => {
      this.inFlightRequestBytes -= frame.length
      if (lease) this.settings.framePool.release(lease)
      if (this.paused) this.maybeResume()
    }
    const started = performance.now()
    try {
      const result = req.handler.handle(request, ctx)
      if (result instanceof Promise) result.then(finish, handlerFailed).finally(release)
      else {
        finish(result)
        release()
      }
    } catch (err) {
      handlerFailed(err)
      release()
    }
  }

  /** Log lines a client can cause at will are rate-limited (per message, broker-wide). */
  private limitedLog(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    this.settings.services.logLimiter.log(this.logger, level, msg, fields)
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

  /** Sends a response's records from their segment file (file-region.ts); then the rest of the response follows. */
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
    sendRegion(this.socket, region).then(() => done(), done)
  }

  /**
   * Time from a request's arrival until its whole response was handed to the socket (Kafka's TotalTimeMs without
   * the network): handler time, waiting behind earlier responses, and streaming records from the files.
   */
  private observeLatency(slot: Slot): void {
    if (slot.api === undefined || slot.started === undefined) return
    this.settings.services.metrics.observe(
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

/** Releases the file regions among `chunks` from index `from` on. */
function releaseChunks(chunks: Buffer[] | null, from: number): void {
  if (!chunks) return
  for (let i = from; i < chunks.length; i++) releaseRegion(chunks[i])
}
