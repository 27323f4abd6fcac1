import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { SaslHandshakeRequest } from '../../protocol/generated/sasl-handshake-request.ts'
import type { SaslHandshakeResponseInput } from '../../protocol/generated/sasl-handshake-response.ts'
import type { HandlerSpec } from '../handler.ts'
import { SCRAM_MECHANISMS, type ScramMechanism, ScramServerExchange } from '../security/scram.ts'
import { isSaslProtocol } from '../security/session.ts'
import { delayFailure } from './sasl-authenticate.ts'

export const saslHandshakeHandler: HandlerSpec<SaslHandshakeRequest, SaslHandshakeResponseInput> = {
  apiKey: ApiKeys.SaslHandshake,
  // librdkafka requires v0 to be advertised before it uses SASL at all, but every client we serve sends v1 and then
  // SaslAuthenticate. A real v0 handshake (raw SASL tokens after it, pre-KIP-152 clients) is refused.
  minVersion: 0,
  maxVersion: 1,
  // Authorization: the SASL exchange establishes the principal that ACLs are checked for.
  authorize: 'in-handler',
  handle(req, ctx) {
    const session = ctx.session
    const mechanisms = ctx.services.config.saslEnabledMechanisms
    if (!session || !isSaslProtocol(session.listener.securityProtocol)) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }
    }
    // Kafka answers these, then closes the connection.
    if (ctx.apiVersion === 0) {
      ctx.closeConnection('SaslHandshake v0 (unframed SASL tokens) is not supported')
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (session.authenticated || session.saslMechanism !== undefined) {
      ctx.closeConnection('SaslHandshake after the mechanism was chosen')
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (!mechanisms.includes(req.mechanism)) {
      // An authentication failure for Kafka: answered and closed after connection.failed.authentication.delay.ms.
      return delayFailure(ctx).then(() => {
        ctx.closeConnection(`unsupported SASL mechanism ${req.mechanism}`)
        return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }
      })
    }
    session.saslMechanism = req.mechanism
    if ((SCRAM_MECHANISMS as readonly string[]).includes(req.mechanism)) {
      const scram = ctx.services.scram
      session.scram = new ScramServerExchange(req.mechanism as ScramMechanism, (user, m) =>
        scram.scramCredential(user, m),
      )
    }
    return { errorCode: ErrorCode.NONE, mechanisms }
  },
}
