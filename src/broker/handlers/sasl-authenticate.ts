import { setTimeout as sleep } from 'node:timers/promises'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { SaslAuthenticateRequest } from '../../protocol/generated/sasl-authenticate-request.ts'
import type { SaslAuthenticateResponseInput } from '../../protocol/generated/sasl-authenticate-response.ts'
import type { HandlerSpec, RequestContext } from '../handler.ts'
import { parsePlain, SaslFailure, SCRAM_MECHANISMS, verifyPassword } from '../security/scram.ts'
import { isSaslProtocol } from '../security/session.ts'

const EMPTY = Buffer.alloc(0)

/**
 * Kafka answers a failed login, then closes the connection: the client learns why, and cannot try again on this
 * connection. Both wait connection.failed.authentication.delay.ms, so guessing passwords costs the guesser time.
 */
async function refuse(ctx: RequestContext, errorCode: number, message: string): Promise<SaslAuthenticateResponseInput> {
  ctx.services.metrics.inc('tributary_sasl_failures_total', 'Failed SASL authentications', {})
  ctx.services.logLimiter.log(ctx.services.logger.child('security'), 'info', 'authentication failed', {
    connection: ctx.connectionId,
    host: ctx.clientHost,
    reason: message,
  })
  await delayFailure(ctx)
  ctx.closeConnection(message)
  return { errorCode, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0n }
}

/** Waits connection.failed.authentication.delay.ms (ends early, rejecting, if the connection closes meanwhile). */
export async function delayFailure(ctx: RequestContext): Promise<void> {
  const ms = ctx.services.config.connectionFailedAuthenticationDelayMs
  if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal })
}

export const saslAuthenticateHandler: HandlerSpec<SaslAuthenticateRequest, SaslAuthenticateResponseInput> = {
  apiKey: ApiKeys.SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  // Authorization: the SASL exchange establishes the principal that ACLs are checked for.
  authorize: 'in-handler',
  async handle(req, ctx) {
    const session = ctx.session
    if (!session || !isSaslProtocol(session.listener.securityProtocol) || session.authenticated) {
      return refuse(ctx, ErrorCode.ILLEGAL_SASL_STATE, 'Unexpected SaslAuthenticate request')
    }
    if (session.saslMechanism === undefined) {
      return refuse(ctx, ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before SaslHandshake')
    }
    try {
      if (session.saslMechanism === 'PLAIN') {
        const { username, password } = parsePlain(req.authBytes)
        let ok = false
        for (const m of SCRAM_MECHANISMS) {
          const cred = ctx.services.scram.scramCredential(username, m)
          if (cred) {
            ok = await verifyPassword(cred, password)
            break
          }
        }
        if (!ok) throw new SaslFailure('Authentication failed: Invalid username or password')
        succeed(ctx, username)
        return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: EMPTY, sessionLifetimeMs: 0n }
      }
      const scram = session.scram
      if (!scram) return refuse(ctx, ErrorCode.ILLEGAL_SASL_STATE, 'no SASL exchange in progress')
      const reply = scram.evaluate(req.authBytes)
      if (scram.complete) succeed(ctx, scram.username)
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: reply, sessionLifetimeMs: 0n }
    } catch (err) {
      if (err instanceof SaslFailure) return refuse(ctx, ErrorCode.SASL_AUTHENTICATION_FAILED, err.message)
      throw err
    }
  },
}

function succeed(ctx: RequestContext, user: string): void {
  const session = ctx.session!
  session.authenticated = true
  session.principal = `User:${user}`
  session.scram = undefined
  ctx.services.logger.child('security').debug('authenticated', {
    connection: ctx.connectionId,
    principal: session.principal,
    mechanism: session.saslMechanism,
  })
}
