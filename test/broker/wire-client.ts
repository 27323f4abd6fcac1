/**
 * A Kafka connection without a client library, for tests that need what libraries hide: pipelining many requests
 * without reading the answers, frames of any size, and the moment the broker hangs up.
 */
import net from 'node:net'
import { ApiKeys, apiCodecs } from '../../src/protocol/generated/api-table.ts'
import { Reader, Writer } from '../../src/protocol/primitives.ts'

export { ApiKeys }

export class ConnectionClosed extends Error {}

export class WireClient {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private frames: Buffer[] = []
  private waiting: { resolve(frame: Buffer): void; reject(err: Error): void }[] = []
  private correlationId = 0
  private versions = new Map<number, { apiKey: number; version: number }>()
  readonly closed: Promise<void>
  isClosed = false

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => this.onData(d))
    socket.on('error', () => {})
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true
        for (const w of this.waiting.splice(0)) w.reject(new ConnectionClosed('broker closed the connection'))
        resolve()
      }),
    )
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off('error', reject)
        resolve(new WireClient(socket))
      })
      socket.once('error', reject)
    })
  }

  private onData(d: Buffer): void {
    this.pending.push(d)
    this.pendingBytes += d.length
    for (;;) {
      if (this.pendingBytes < 4) return
      let head = this.pending[0]!
      if (head.length < 4) {
        head = Buffer.concat(this.pending)
        this.pending = [head]
      }
      const size = head.readInt32BE(0)
      if (this.pendingBytes < 4 + size) return
      const all = this.pending.length === 1 ? head : Buffer.concat(this.pending, this.pendingBytes)
      const frame = Buffer.from(all.subarray(4, 4 + size))
      const rest = all.subarray(4 + size)
      this.pending = rest.length > 0 ? [rest] : []
      this.pendingBytes = rest.length
      const w = this.waiting.shift()
      if (w) w.resolve(frame)
      else this.frames.push(frame)
    }
  }

  /** Wraps a socket that is already connected. */
  static adopt(socket: net.Socket): WireClient {
    return new WireClient(socket)
  }

  /** Encodes a request (header v1, or v2 for flexible versions) with its size prefix. */
  encode(apiKey: number, version: number, body: unknown, clientId = 'wire-test'): Buffer {
    const codec = apiCodecs.get(apiKey)!
    const correlationId = ++this.correlationId
    this.versions.set(correlationId, { apiKey, version })
    const w = new Writer()
    w.int16(apiKey).int16(version).int32(correlationId).nullableString(clientId)
    if (codec.flexibleMin >= 0 && version >= codec.flexibleMin) w.uvarint(0)
    codec.encodeRequest(w, version, body)
    const payload = w.toBuffer()
    const head = Buffer.allocUnsafe(4)
    head.writeInt32BE(payload.length, 0)
    return Buffer.concat([head, payload])
  }

  /** Writes a request without waiting for its answer. */
  send(apiKey: number, version: number, body: unknown): void {
    this.socket.write(this.encode(apiKey, version, body))
  }

  /** Writes bytes as they are; resolves once the socket took them (or rejects if it closed). */
  async writeRaw(bytes: Buffer): Promise<void> {
    if (this.isClosed) throw new ConnectionClosed('connection already closed')
    if (!this.socket.write(bytes)) {
      await new Promise<void>((resolve, reject) => {
        const drained = () => {
          this.socket.off('close', closed)
          resolve()
        }
        const closed = () => {
          this.socket.off('drain', drained)
          reject(new ConnectionClosed('broker closed the connection'))
        }
        this.socket.once('drain', drained)
        this.socket.once('close', closed)
      })
    }
  }

  /** Next response frame; rejects with ConnectionClosed if the broker hangs up instead. */
  nextFrame(): Promise<Buffer> {
    const f = this.frames.shift()
    if (f) return Promise.resolve(f)
    if (this.isClosed) return Promise.reject(new ConnectionClosed('connection already closed'))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  /** Reads and decodes the next response (in request order). */
  // biome-ignore lint/suspicious/noExplicitAny: the response type depends on the API key chosen at run time
  async next<T = any>(): Promise<T> {
    const frame = await this.nextFrame()
    const r = new Reader(frame)
    const correlationId = r.int32()
    const sent = this.versions.get(correlationId)
    if (!sent) throw new Error(`response with unknown correlation id ${correlationId}`)
    this.versions.delete(correlationId)
    const codec = apiCodecs.get(sent.apiKey)!
    if (codec.flexibleMin >= 0 && sent.version >= codec.flexibleMin && sent.apiKey !== ApiKeys.ApiVersions)
      r.taggedFields()
    return codec.decodeResponse(r, sent.version) as T
  }

  // biome-ignore lint/suspicious/noExplicitAny: the response type depends on the API key chosen at run time
  async call<T = any>(apiKey: number, version: number, body: unknown): Promise<T> {
    this.send(apiKey, version, body)
    return this.next<T>()
  }

  close(): void {
    this.socket.destroy()
  }
}
