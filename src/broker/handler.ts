/**
 * The contract between the network layer and the request handlers: one handler per Kafka API, in
 * src/broker/handlers/<api-name>.ts, each exporting a HandlerSpec. Handlers receive the decoded request (generated
 * codec types) and return the response object; the server encodes it in the request's version. Each spec also
 * declares the API's authorization, typed by the same request and response, which the broker applies around the
 * handler when ACLs are enforced (security/api-authorization.ts); the handler itself stays unaware of ACLs.
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
  /**
   * Kafka's answer where a response cannot say it (a failed acks=0 Produce: the client reads none) or where the
   * client must not go on (a failed SASL login): the connection closes once every earlier response and this
   * request's own response, if the handler returns one, are written. Requests read after this one get no answer.
   */
  closeConnection(reason: string): void
}

/**
 * What an API's authorization decided for one request: the handler runs on the part of the request that is
 * allowed, and `complete` adds the refused part to its response (or filters out what the principal may not see);
 * or the whole request is refused with a response built here (`undefined`: none is sent, e.g. acks=0 Produce,
 * after asking for the connection to close).
 */
export type Authorization<Req, Res> =
  | { readonly allowed: Req; readonly complete?: (response: Res) => Res }
  | { readonly refused: Res | undefined }

/**
 * How an API is authorized when the broker enforces ACLs: a function of the request (what KafkaApis checks for
 * that API), or 'in-handler' for APIs whose handler checks its own resources (the ACL, SCRAM and quota admin
 * APIs) or that every client may call (ApiVersions, and the SASL exchange that establishes the principal).
 */
export type AuthorizeRequest<Req, Res> = ((request: Req, ctx: RequestContext) => Authorization<Req, Res>) | 'in-handler'

// biome-ignore lint/suspicious/noExplicitAny: the list of all handlers mixes every API's request and response types
export interface HandlerSpec<Req = any, Res = any> {
  apiKey: number
  /** Inclusive version range this broker serves; advertised in ApiVersions. */
  minVersion: number
  maxVersion: number
  authorize: AuthorizeRequest<Req, Res>
  /** Returning undefined means "send no response" (Produce with acks=0). */
  handle(request: Req, ctx: RequestContext): Res | undefined | Promise<Res | undefined>
}
