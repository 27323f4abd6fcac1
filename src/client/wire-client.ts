/**
 * One Kafka connection without a client library, on the generated codecs: for the admin APIs the client libraries
 * lack (Describe/AlterUserScramCredentials, quotas, ACLs in the CLI), for benchmarks that measure the broker rather
 * than a library, and for tests that need exact control of the frames (bad input, fuzzing, protocol edges).
 *
 * Requests may be pipelined; Kafka answers a connection's requests in order, so each response must carry the
 * correlation id of the oldest unanswered request, and a response that does not fails the connection. Raw use:
 * `write()` any bytes and read the frames that no call claimed with `nextFrame()`.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { TributaryError } from '../errors.ts'
import { apiCodec, encodeRequestPayload, readResponseHeader, writeRequestHeader } from '../protocol/framing.ts'
import { ApiKeys } from '../protocol/generated/api-table.ts'
import { Reader, Writer } from '../protocol/primitives.ts'

/** The connection ended (closed by either side, or failed) before an answer came. */
export class ConnectionClosed extends TributaryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRB_CONNECTION_CLOSED', message, options)
    this.name = 'ConnectionClosed'
  }
}

export interface SaslCredentials {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
  username: string
  password: string
}

export interface WireClientOptions {
  /** Client id in every request header (default `tributary`). */
  clientId?: string
  /** Connect with TLS. */
  tls?: tls.ConnectionOptions
  /** Log in right after connecting (SaslHandshake v1 + SaslAuthenticate v2). */
  sasl?: SaslCredentials
  /** A response frame larger than this fails the connection (default 1 GiB). */
  maxFrameBytes?: number
  /** A request unanswered this long fails the connection, as Kafka clients' request.timeout.ms (default none). */
  requestTimeoutMs?: number
}

interface Waiter {
  /** Set for a request's answer: the frame must carry it. Unset for a raw `nextFrame()`. */
  correlationId?: number
  resolve(frame: Buffer): void
  reject(err: Error): void
}

export class KafkaWireClient {
  readonly socket: net.Socket
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<void>
  #clientId: string
  #maxFrameBytes: number
  #requestTimeoutMs: number | undefined
  #chunks: Buffer[] = []
  #buffered = 0
  #frames: Buffer[] = []
  #waiting: Waiter[] = []
  #nextCorrelationId = 1
  #isClosed = false
  #failure: Error | undefined

  private constructor(socket: net.Socket, options: WireClientOptions) {
    this.socket = socket
    this.#clientId = options.clientId ?? 'tributary'
    this.#maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024 * 1024
    this.#requestTimeoutMs = options.requestTimeoutMs
    let socketError: Error | undefined
    socket.on('data', (d: Buffer) => this.#onData(d))
    socket.on('error', (err) => {
      socketError = err
    })
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true
        const reason = this.#failure ?? new ConnectionClosed('connection closed', { cause: socketError })
        for (const w of this.#waiting.splice(0)) w.reject(reason)
        resolve()
      }),
    )
  }

  /** Connects to `host:port` (or `{ host, port }`), logging in when `options.sasl` is given. */
  static async connect(
    address: string | { host: string; port: number },
    options: WireClientOptions = {},
  ): Promise<KafkaWireClient> {
    const { host, port } = typeof address === 'string' ? parseAddress(address) : address
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const onConnect = () => {
        s.off('error', reject)
        resolve(s)
      }
      const s = options.tls
        ? tls.connect({ host, port, ...options.tls }, onConnect)
        : net.connect({ host, port, noDelay: true }, onConnect)
      s.once('error', reject)
    })
    const client = new KafkaWireClient(socket, options)
    if (options.sasl) {
      try {
        await saslLogin(client, options.sasl)
      } catch (err) {
        client.close()
        throw err
      }
    }
    return client
  }

  /** Wraps a socket that is already connected. */
  static adopt(socket: net.Socket, options: WireClientOptions = {}): KafkaWireClient {
    return new KafkaWireClient(socket, options)
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  /** Why the connection failed on the client's side (a malformed or out-of-order response), if it did. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /**
   * Sends one request and resolves with its decoded response. As Kafka clients do, a Produce with acks=0 expects
   * no response: it resolves with undefined once written.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the response type depends on the API key chosen at run time
  async call<T = any>(apiKey: number, version: number, body: unknown): Promise<T> {
    const codec = apiCodec(apiKey)
    if (apiKey === ApiKeys.Produce && (body as { acks?: number }).acks === 0) {
      if (this.#isClosed) throw this.#failure ?? new ConnectionClosed('connection already closed')
      this.write(this.#frame(apiKey, version, (w) => codec.encodeRequest(w, version, body)).frame)
      return undefined as T
    }
    const r = await this.send(apiKey, version, (w) => codec.encodeRequest(w, version, body))
    return codec.decodeResponse(r, version) as T
  }

  /**
   * Sends one request whose body `encodeBody` writes, and resolves with its response read up to the body.
   * `tail`, if given, goes to the socket as-is after the body (and counts in the frame size), so a large record
   * batch is sent without being copied into the request first; the body must then end with the int32 length
   * field of those bytes, which is filled in here.
   */
  send(apiKey: number, version: number, encodeBody: (w: Writer) => void, tail?: Buffer): Promise<Reader> {
    if (this.#isClosed) return Promise.reject(this.#failure ?? new ConnectionClosed('connection already closed'))
    const { frame, correlationId } = this.#frame(apiKey, version, encodeBody, tail)
    return new Promise<Reader>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const waiter: Waiter = {
        correlationId,
        resolve: (f) => {
          if (timer) clearTimeout(timer)
          try {
            const r = new Reader(f)
            readResponseHeader(r, apiKey, version)
            resolve(r)
          } catch (err) {
            reject(err)
          }
        },
        reject: (err) => {
          if (timer) clearTimeout(timer)
          reject(err)
        },
      }
      if (this.#requestTimeoutMs !== undefined) {
        const ms = this.#requestTimeoutMs
        timer = setTimeout(() => {
          const what = `API ${apiKey} v${version} (correlation id ${correlationId})`
          this.#fail(new TributaryError('TRB_REQUEST_TIMED_OUT', `no response to ${what} within ${ms} ms`))
        }, ms)
        timer.unref()
      }
      this.#waiting.push(waiter)
      if (!tail) {
        this.socket.write(frame)
        return
      }
      this.socket.cork()
      this.socket.write(frame)
      this.socket.write(tail)
      this.socket.uncork()
    })
  }

  #frame(apiKey: number, version: number, encodeBody: (w: Writer) => void, tail?: Buffer) {
    const correlationId = this.#nextCorrelationId++
    const w = new Writer(1024)
    w.int32(0)
    writeRequestHeader(w, { apiKey, version, correlationId, clientId: this.#clientId })
    encodeBody(w)
    const frame = w.toBuffer()
    frame.writeInt32BE(frame.length - 4 + (tail?.length ?? 0), 0)
    if (tail) frame.writeInt32BE(tail.length, frame.length - 4)
    return { frame, correlationId }
  }

  /**
   * A request's bytes for raw use: `payload` is header and body, `frame` the same behind its size. The
   * correlation id is taken from this connection's sequence; nothing is sent.
   */
  encode(
    apiKey: number,
    version: number,
    body: unknown,
    clientId: string | null = this.#clientId,
  ): { payload: Buffer; frame: Buffer; correlationId: number } {
    const correlationId = this.#nextCorrelationId++
    const payload = encodeRequestPayload({ apiKey, version, correlationId, clientId }, body)
    const frame = Buffer.allocUnsafe(4 + payload.length)
    frame.writeInt32BE(payload.length, 0)
    payload.copy(frame, 4)
    return { payload, frame, correlationId }
  }

  /** Writes bytes as they are: frames built with `encode`, or anything at all. */
  write(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes)
  }

  /**
   * Writes bytes as they are and resolves once the socket took them (after a 'drain' when it had to buffer), so a
   * large stream is written at the pace the peer reads; rejects with ConnectionClosed if the connection ends first.
   */
  async writeAndDrain(bytes: Buffer | Uint8Array): Promise<void> {
    if (this.#isClosed) throw this.#failure ?? new ConnectionClosed('connection already closed')
    if (this.socket.write(bytes)) return
    await new Promise<void>((resolve, reject) => {
      const drained = () => {
        this.socket.off('close', closed)
        resolve()
      }
      const closed = () => {
        this.socket.off('drain', drained)
        reject(this.#failure ?? new ConnectionClosed('connection closed'))
      }
      this.socket.once('drain', drained)
      this.socket.once('close', closed)
    })
  }

  /** The next response frame no request claimed (correlation id first); rejects if the connection ends instead. */
  nextFrame(): Promise<Buffer> {
    const f = this.#frames.shift()
    if (f) return Promise.resolve(f)
    if (this.#isClosed) return Promise.reject(this.#failure ?? new ConnectionClosed('connection already closed'))
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }))
  }

  close(): void {
    this.socket.destroy()
  }

  #onData(d: Buffer): void {
    this.#chunks.push(d)
    this.#buffered += d.length
    while (this.#buffered >= 4) {
      let head = this.#chunks[0]!
      if (head.length < 4) {
        head = Buffer.concat(this.#chunks)
        this.#chunks = [head]
      }
      const size = head.readInt32BE(0)
      if (size < 4 || size > this.#maxFrameBytes) {
        this.#fail(new TributaryError('TRB_PROTOCOL_MALFORMED', `response frame size ${size} is out of bounds`))
        return
      }
      if (this.#buffered < 4 + size) return
      const all = this.#chunks.length === 1 ? head : Buffer.concat(this.#chunks, this.#buffered)
      const frame = all.subarray(4, 4 + size)
      const rest = all.subarray(4 + size)
      this.#chunks = rest.length > 0 ? [rest] : []
      this.#buffered = rest.length
      this.#deliver(frame)
      if (this.#failure) return
    }
  }

  #deliver(frame: Buffer): void {
    const w = this.#waiting.shift()
    if (!w) {
      this.#frames.push(frame)
      return
    }
    if (w.correlationId !== undefined && frame.readInt32BE(0) !== w.correlationId) {
      const err = new TributaryError(
        'TRB_UNEXPECTED_CORRELATION_ID',
        `response correlation id ${frame.readInt32BE(0)} does not answer the oldest request (${w.correlationId})`,
      )
      w.reject(err)
      this.#fail(err)
      return
    }
    w.resolve(frame)
  }

  #fail(err: Error): void {
    this.#failure ??= err
    for (const w of this.#waiting.splice(0)) w.reject(err)
    this.socket.destroy()
  }
}

function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':')
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) }
}

async function saslLogin(c: KafkaWireClient, sasl: SaslCredentials): Promise<void> {
  const hs = await c.call(ApiKeys.SaslHandshake, 1, { mechanism: sasl.mechanism })
  if (hs.errorCode !== 0) {
    throw new TributaryError(
      'TRB_SASL_FAILED',
      `broker refused SASL mechanism ${sasl.mechanism} (error ${hs.errorCode})`,
    )
  }
  const step = async (bytes: Buffer): Promise<Buffer> => {
    const r = await c.call(ApiKeys.SaslAuthenticate, 2, { authBytes: bytes })
    if (r.errorCode !== 0) throw new TributaryError('TRB_SASL_FAILED', r.errorMessage ?? `SASL error ${r.errorCode}`)
    return r.authBytes
  }
  if (sasl.mechanism === 'PLAIN') {
    await step(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`))
    return
  }
  // SCRAM (RFC 5802) without channel binding, as Kafka's SCRAM-SHA-256/512.
  const algo = sasl.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512'
  const clientNonce = randomBytes(18).toString('base64')
  const user = sasl.username.replace(/=/g, '=3D').replace(/,/g, '=2C')
  const clientFirstBare = `n=${user},r=${clientNonce}`
  const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`))).toString()
  const attrs = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)]))
  const nonce = attrs.get('r')!
  if (!nonce.startsWith(clientNonce)) throw new TributaryError('TRB_SASL_FAILED', 'server nonce does not extend ours')
  const salted = pbkdf2Sync(
    sasl.password,
    Buffer.from(attrs.get('s')!, 'base64'),
    Number(attrs.get('i')),
    algo === 'sha256' ? 32 : 64,
    algo,
  )
  const clientKey = createHmac(algo, salted).update('Client Key').digest()
  const storedKey = createHash(algo).update(clientKey).digest()
  const withoutProof = `c=biws,r=${nonce}`
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
  const signature = createHmac(algo, storedKey).update(authMessage).digest()
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!))
  const serverFinal = (await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`))).toString()
  const serverKey = createHmac(algo, salted).update('Server Key').digest()
  const expected = createHmac(algo, serverKey).update(authMessage).digest('base64')
  if (serverFinal !== `v=${expected}`) throw new TributaryError('TRB_SASL_FAILED', 'server signature does not verify')
}
