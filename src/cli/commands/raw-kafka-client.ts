/**
 * A minimal Kafka wire client over the generated codecs, for admin APIs the client libraries lack
 * (Describe/AlterUserScramCredentials) and for tests that need exact control of the frames. One connection,
 * requests answered in order. With `sasl`, it logs in first (PLAIN or SCRAM-SHA-256/512).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { TributaryError } from '../../errors.ts'
import { ApiKeys, apiCodecs } from '../../protocol/generated/api-table.ts'
import { Reader, Writer } from '../../protocol/primitives.ts'

export interface RawClient {
  // biome-ignore lint/suspicious/noExplicitAny: decoded response types differ per API
  request(apiKey: number, version: number, body: Record<string, unknown>): Promise<any>
  /** Resolves when the broker closes the connection. */
  closed: Promise<void>
  close(): void
}

export interface RawClientOptions {
  clientId?: string
  tls?: tls.ConnectionOptions
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
}

export async function rawClient(bootstrap: string, opts: RawClientOptions = {}): Promise<RawClient> {
  const colon = bootstrap.lastIndexOf(':')
  const host = bootstrap.slice(0, colon)
  const port = Number(bootstrap.slice(colon + 1))
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = opts.tls
      ? tls.connect({ host, port, ...opts.tls }, () => resolve(s))
      : net.connect({ host, port }, () => resolve(s))
    s.once('error', reject)
  })
  const pending: { resolve(v: unknown): void; reject(e: Error): void; apiKey: number; version: number }[] = []
  let correlation = 0
  let buffered = Buffer.alloc(0)
  let isClosed = false
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true
      for (const p of pending.splice(0)) p.reject(new TributaryError('TRB_CONNECTION_CLOSED', 'connection closed'))
      resolve()
    }),
  )
  socket.on('error', () => {})
  socket.on('data', (data) => {
    buffered = Buffer.concat([buffered, data])
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0))
      buffered = buffered.subarray(4 + frame.length)
      const p = pending.shift()
      if (!p) continue
      const codec = apiCodecs.get(p.apiKey)!
      const r = new Reader(frame)
      r.int32()
      if (codec.flexibleMin >= 0 && p.version >= codec.flexibleMin && p.apiKey !== ApiKeys.ApiVersions) r.taggedFields()
      try {
        p.resolve(codec.decodeResponse(r, p.version))
      } catch (err) {
        p.reject(err as Error)
      }
    }
  })
  const client: RawClient = {
    request(apiKey, version, body) {
      if (isClosed) return Promise.reject(new TributaryError('TRB_CONNECTION_CLOSED', 'connection closed'))
      const codec = apiCodecs.get(apiKey)
      if (!codec) throw new TributaryError('TRB_UNKNOWN_API', `unknown API key ${apiKey}`)
      const flexible = codec.flexibleMin >= 0 && version >= codec.flexibleMin
      const w = new Writer(256)
      w.int16(apiKey)
      w.int16(version)
      w.int32(correlation++)
      w.nullableString(opts.clientId ?? 'tributary-cli')
      if (flexible) w.uvarint(0)
      codec.encodeRequest(w, version, body)
      const size = Buffer.alloc(4)
      size.writeInt32BE(w.length)
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject, apiKey, version })
        socket.write(Buffer.concat([size, ...w.chunksView()]))
      })
    },
    closed,
    close: () => socket.destroy(),
  }
  if (opts.sasl) {
    try {
      await saslLogin(client, opts.sasl)
    } catch (err) {
      client.close()
      throw err
    }
  }
  return client
}

async function saslLogin(c: RawClient, sasl: NonNullable<RawClientOptions['sasl']>): Promise<void> {
  const hs = await c.request(ApiKeys.SaslHandshake, 1, { mechanism: sasl.mechanism })
  if (hs.errorCode !== 0) {
    throw new TributaryError(
      'TRB_SASL_FAILED',
      `broker refused SASL mechanism ${sasl.mechanism} (error ${hs.errorCode})`,
    )
  }
  const step = async (bytes: Buffer): Promise<Buffer> => {
    const r = await c.request(ApiKeys.SaslAuthenticate, 2, { authBytes: bytes })
    if (r.errorCode !== 0) throw new TributaryError('TRB_SASL_FAILED', r.errorMessage ?? `SASL error ${r.errorCode}`)
    return r.authBytes
  }
  if (sasl.mechanism === 'PLAIN') {
    await step(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`))
    return
  }
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
