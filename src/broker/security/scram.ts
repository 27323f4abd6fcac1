/**
 * SASL mechanisms on the broker side: SCRAM-SHA-256/512 (RFC 5802, RFC 7677) and PLAIN (RFC 4616). Only salted
 * credentials are stored (salt, iterations, StoredKey, ServerKey); a SCRAM login needs HMACs only, a PLAIN login one
 * PBKDF2 run, done off the event loop and with a bound on how many run at once.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { TributaryError } from '../../errors.ts'

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512']
/** Kafka's ScramMechanism enum as used by Describe/AlterUserScramCredentials. */
export const SCRAM_MECHANISM_CODES: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 }
export const MIN_ITERATIONS = 4096
export const MAX_ITERATIONS = 16384

export interface ScramCredential {
  mechanism: ScramMechanism
  /** base64 */
  salt: string
  iterations: number
  /** base64 H(ClientKey) */
  storedKey: string
  /** base64 HMAC(SaltedPassword, "Server Key") */
  serverKey: string
}

export function mechanismFromCode(code: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === code)
}

function digest(m: ScramMechanism): 'sha256' | 'sha512' {
  return m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512'
}

function hmac(m: ScramMechanism, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(digest(m), key).update(data).digest()
}

/** Derives what the broker stores from a salted password (AlterUserScramCredentials sends exactly that). */
export function credentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Buffer,
  iterations: number,
  saltedPassword: Buffer,
): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key')
  return {
    mechanism,
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(digest(mechanism)).update(clientKey).digest('base64'),
    serverKey: hmac(mechanism, saltedPassword, 'Server Key').toString('base64'),
  }
}

/** PBKDF2 is CPU work on libuv's pool; too many at once (a login storm) would starve other crypto and file I/O. */
const MAX_CONCURRENT_PBKDF2 = 2
let running = 0
const waiting: (() => void)[] = []

export async function saltPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_PBKDF2) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    const size = mechanism === 'SCRAM-SHA-256' ? 32 : 64
    return await new Promise<Buffer>((resolve, reject) =>
      pbkdf2(password.normalize('NFKC'), salt, iterations, size, digest(mechanism), (err, key) =>
        err ? reject(err) : resolve(key),
      ),
    )
  } finally {
    running--
    waiting.shift()?.()
  }
}

export async function createCredential(
  mechanism: ScramMechanism,
  password: string,
  iterations = MIN_ITERATIONS,
): Promise<ScramCredential> {
  const salt = randomBytes(24)
  return credentialFromSaltedPassword(
    mechanism,
    salt,
    iterations,
    await saltPassword(mechanism, password, salt, iterations),
  )
}

/** Checks a clear-text password (SASL/PLAIN) against a stored SCRAM credential. */
export async function verifyPassword(cred: ScramCredential, password: string): Promise<boolean> {
  const salted = await saltPassword(cred.mechanism, password, Buffer.from(cred.salt, 'base64'), cred.iterations)
  const derived = credentialFromSaltedPassword(
    cred.mechanism,
    Buffer.from(cred.salt, 'base64'),
    cred.iterations,
    salted,
  )
  return timingSafeEqual(Buffer.from(derived.storedKey, 'base64'), Buffer.from(cred.storedKey, 'base64'))
}

export class SaslFailure extends TributaryError {
  constructor(message: string) {
    super('TRB_SASL_FAILED', message)
  }
}

/** `saslname` escaping of RFC 5802: "=2C" is ",", "=3D" is "=". */
function decodeSaslName(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new SaslFailure('invalid username encoding')
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=')
}

function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=')
    if (eq !== 1) throw new SaslFailure(`invalid SCRAM message attribute "${part.slice(0, 20)}"`)
    out.set(part[0]!, part.slice(2))
  }
  return out
}

/** One SCRAM exchange: client-first → server-first → client-final → server-final. */
export class ScramServerExchange {
  private state: 'first' | 'final' | 'done' = 'first'
  private clientFirstBare = ''
  private serverFirst = ''
  private nonce = ''
  private gs2Header = ''
  private credential: ScramCredential | undefined
  username = ''

  constructor(
    readonly mechanism: ScramMechanism,
    private lookup: (user: string, mechanism: ScramMechanism) => ScramCredential | undefined,
  ) {}

  get complete(): boolean {
    return this.state === 'done'
  }

  /** Returns the server's next message; throws SaslFailure when authentication fails. */
  evaluate(token: Buffer): Buffer {
    const msg = token.toString('utf8')
    if (this.state === 'first') return this.first(msg)
    if (this.state === 'final') return this.final(msg)
    throw new SaslFailure('SCRAM exchange already complete')
  }

  private first(msg: string): Buffer {
    // gs2-header: "n,," or "y,," (no channel binding) with an optional a=authzid
    const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(msg)
    if (!m) throw new SaslFailure('invalid SCRAM client-first message')
    this.gs2Header = `${m[1]},${m[2] ?? ''},`
    this.clientFirstBare = m[3]!
    const attrs = attributes(this.clientFirstBare)
    const user = attrs.get('n')
    const clientNonce = attrs.get('r')
    if (user === undefined || !clientNonce) throw new SaslFailure('SCRAM client-first message lacks n= or r=')
    this.username = decodeSaslName(user)
    if (m[2] && decodeSaslName(m[2].slice(2)) !== this.username) {
      throw new SaslFailure('authorization id must be the authenticated user')
    }
    this.credential = this.lookup(this.username, this.mechanism)
    if (!this.credential) throw new SaslFailure('Authentication failed: Invalid user credentials')
    this.nonce = clientNonce + randomBytes(18).toString('base64')
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt},i=${this.credential.iterations}`
    this.state = 'final'
    return Buffer.from(this.serverFirst)
  }

  private final(msg: string): Buffer {
    const cred = this.credential!
    const proofAt = msg.lastIndexOf(',p=')
    if (proofAt < 0) throw new SaslFailure('SCRAM client-final message lacks a proof')
    const withoutProof = msg.slice(0, proofAt)
    const attrs = attributes(msg)
    // librdkafka repeats its own nonce before the combined one; like Kafka, only the ending is checked.
    if (!(attrs.get('r') ?? '').endsWith(this.nonce)) throw new SaslFailure('Invalid SCRAM nonce')
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) {
      throw new SaslFailure('Invalid SCRAM channel binding')
    }
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64')
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`
    const storedKey = Buffer.from(cred.storedKey, 'base64')
    const clientSignature = hmac(this.mechanism, storedKey, authMessage)
    if (proof.length !== clientSignature.length)
      throw new SaslFailure('Authentication failed: Invalid user credentials')
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!
    const computed = createHash(digest(this.mechanism)).update(clientKey).digest()
    if (!timingSafeEqual(computed, storedKey)) throw new SaslFailure('Authentication failed: Invalid user credentials')
    this.state = 'done'
    const serverSignature = hmac(this.mechanism, Buffer.from(cred.serverKey, 'base64'), authMessage)
    return Buffer.from(`v=${serverSignature.toString('base64')}`)
  }
}

/** PLAIN: "[authzid] NUL authcid NUL passwd"; an authzid other than the user itself is refused, as Kafka does. */
export function parsePlain(token: Buffer): { username: string; password: string } {
  const parts = token.toString('utf8').split('\u0000')
  if (parts.length !== 3) throw new SaslFailure('Invalid SASL/PLAIN response: expected 3 tokens')
  const [authzid, username, password] = parts as [string, string, string]
  if (!username) throw new SaslFailure('Authentication failed: username not specified')
  if (!password) throw new SaslFailure('Authentication failed: password not specified')
  if (authzid && authzid !== username)
    throw new SaslFailure('Authentication failed: Client requested an authorization id that is different from username')
  return { username, password }
}
