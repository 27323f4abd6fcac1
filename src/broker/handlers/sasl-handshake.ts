import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { SaslHandshakeRequest } from '../../protocol/generated/sasl-handshake-request.ts'
import type { SaslHandshakeResponseInput } from '../../protocol/generated/sasl-handshake-response.ts'
import type { HandlerSpec } from '../handler.ts'
import { SCRAM_MECHANISMS, type ScramMechanism, ScramServerExchange } from '../security/scram.ts'
import { isSaslProtocol } from '../security/session.ts'
import { CloseConnection } from '../server.ts'

export const saslHandshakeHandler: HandlerSpec<SaslHandshakeRequest, SaslHandshakeResponseInput> = {
  apiKey: 17,
  // v0 would switch the connection to raw SASL frames; every client we serve sends v1 and then SaslAuthenticate.
  minVersion: 1,
  maxVersion: 1,
  handle(req, ctx) {
    const session = ctx.session
    const mechanisms = ctx.services.config.saslEnabledMechanisms
    if (!session || !isSaslProtocol(session.listener.securityProtocol)) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }
    }
    if (session.authenticated || session.saslMechanism !== undefined) {
      throw new CloseConnection('SaslHandshake after the mechanism was chosen', {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        mechanisms,
      })
    }
    if (!mechanisms.includes(req.mechanism)) {
      throw new CloseConnection(`unsupported SASL mechanism ${req.mechanism}`, {
        errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms,
      })
    }
    session.saslMechanism = req.mechanism
    if ((SCRAM_MECHANISMS as readonly string[]).includes(req.mechanism)) {
      const topics = ctx.services.topics
      session.scram = new ScramServerExchange(req.mechanism as ScramMechanism, (user, m) =>
        topics.scramCredential(user, m),
      )
    }
    return { errorCode: ErrorCode.NONE, mechanisms }
  },
}
