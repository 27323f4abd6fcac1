/**
 * The contract between the network layer and the request handlers: one handler per Kafka API, in
 * src/broker/handlers/<api-name>.ts, each exporting a HandlerSpec. Handlers receive the decoded request (generated
 * codec types) and return the response object; the server encodes it in the request's version.
 */
import type { ConnectionSession } from './security/session.ts'
import type { BrokerServices } from './services.ts'

export interface RequestContext {
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
  /** Remote address of the connection (for ACL host checks and logs). */
  clientHost: string
  /** Authenticated principal, e.g. "User:ANONYMOUS" on PLAINTEXT listeners. */
  principal: string
  /** The connection's listener and SASL state (absent when a handler is called outside a connection). */
  session?: ConnectionSession
  connectionId: string
  services: BrokerServices
  /** Aborts when the connection closes or the broker stops: long waits (Fetch, JoinGroup) should end early. */
  signal: AbortSignal
}

export interface HandlerSpec<Req = any, Res = any> {
  apiKey: number
  /** Inclusive version range this broker serves; advertised in ApiVersions. */
  minVersion: number
  maxVersion: number
  /** Returning undefined means "send no response" (Produce with acks=0). */
  handle(request: Req, ctx: RequestContext): Res | undefined | Promise<Res | undefined>
}
