/**
 * Kafka's per-API authorization, applied around the request handlers so that they stay unaware of ACLs. Each API
 * declares its rule beside its handler (HandlerSpec.authorize, typed by the handler's request and response): it
 * checks what KafkaApis checks for that API and decides which part of the request the handler gets and how the
 * refused part is answered. Without an authorizer the handlers run unwrapped.
 *
 * What an unauthorized client may learn follows Kafka: a topic it may not DESCRIBE is TOPIC_AUTHORIZATION_FAILED
 * whether or not it exists, and it is left out of "all topics" answers (Metadata, OffsetFetch of all offsets).
 */
import type { HandlerSpec } from '../handler.ts'

/** The handler with its API's authorization applied when the broker has an authorizer. */
export function withAuthorization<Req, Res>(h: HandlerSpec<Req, Res>): HandlerSpec<Req, Res> {
  const authorize = h.authorize
  if (authorize === 'in-handler') return h
  return {
    ...h,
    handle(request, ctx) {
      if (!ctx.services.authorizer) return h.handle(request, ctx)
      const decision = authorize(request, ctx)
      if ('refused' in decision) return decision.refused
      const result = h.handle(decision.allowed, ctx)
      const complete = decision.complete
      if (!complete) return result
      // Completed as the handler answers, synchronously or not, so that responses keep the handlers' ordering.
      if (result instanceof Promise) return result.then((r) => (r === undefined ? r : complete(r)))
      return result === undefined ? result : complete(result)
    },
  }
}
