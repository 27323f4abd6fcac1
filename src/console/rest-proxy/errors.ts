import { TributaryError, type TributaryErrorCode } from '../../errors.ts'

/**
 * An error the REST proxy answers with: HTTP `status` and Confluent's numeric `errorCode` (40401, 42206, ...) that
 * REST Proxy clients switch on. The body is always `{ "error_code": errorCode, "message": message }`.
 */
export class RestProxyError extends TributaryError {
  readonly status: number
  readonly errorCode: number
  constructor(status: number, errorCode: number, message: string, code: TributaryErrorCode = 'TRB_REST_PROXY') {
    super(code, message)
    this.status = status
    this.errorCode = errorCode
    this.name = 'RestProxyError'
  }

  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message }
  }
}

export const badRequest = (message: string, errorCode = 400) =>
  new RestProxyError(400, errorCode, message, 'TRB_REST_BAD_REQUEST')
export const malformedJson = (detail: string) =>
  new RestProxyError(400, 400, `Unexpected character or malformed JSON: ${detail}`, 'TRB_REST_MALFORMED_JSON')
export const unauthorized = (message = 'Authentication failed') =>
  new RestProxyError(401, 40101, message, 'TRB_REST_UNAUTHENTICATED')
export const forbidden = (message = 'Request is not authorized') =>
  new RestProxyError(403, 40301, message, 'TRB_REST_FORBIDDEN')
export const notFound = (message = 'HTTP 404 Not Found') => new RestProxyError(404, 404, message, 'TRB_REST_NOT_FOUND')
export const topicNotFound = (topic?: string) =>
  new RestProxyError(
    404,
    40401,
    topic === undefined ? 'Topic not found.' : `Topic '${topic}' not found.`,
    'TRB_REST_TOPIC_NOT_FOUND',
  )
export const partitionNotFound = () =>
  new RestProxyError(404, 40402, 'Partition not found.', 'TRB_REST_PARTITION_NOT_FOUND')
export const consumerInstanceNotFound = () =>
  new RestProxyError(404, 40403, 'Consumer instance not found.', 'TRB_REST_CONSUMER_NOT_FOUND')
export const consumerGroupNotFound = (group: string) =>
  new RestProxyError(404, 40405, `Consumer group '${group}' not found.`, 'TRB_REST_GROUP_NOT_FOUND')
export const consumerFormatMismatch = () =>
  new RestProxyError(
    406,
    40601,
    'The requested embedded data format does not match the deserializer for this consumer instance',
    'TRB_REST_CONSUMER_FORMAT_MISMATCH',
  )
export const consumerAlreadyExists = () =>
  new RestProxyError(
    409,
    40902,
    'Consumer with specified consumer ID already exists in the specified consumer group.',
    'TRB_REST_CONSUMER_EXISTS',
  )
export const illegalState = (detail: string) =>
  new RestProxyError(409, 40903, `Illegal state: ${detail}`, 'TRB_REST_ILLEGAL_STATE')
export const payloadTooLarge = (
  message = 'The request included a message larger than the maximum message size the server can accept.',
) => new RestProxyError(413, 413, message, 'TRB_REST_TOO_LARGE')
export const unsupportedMediaType = () =>
  new RestProxyError(415, 415, 'HTTP 415 Unsupported Media Type', 'TRB_REST_MEDIA_TYPE')
export const keySchemaMissing = () =>
  new RestProxyError(422, 42201, 'Request includes keys but does not include key schema', 'TRB_REST_SCHEMA_MISSING')
export const valueSchemaMissing = () =>
  new RestProxyError(422, 42202, 'Request includes values but does not include value schema', 'TRB_REST_SCHEMA_MISSING')
export const jsonConversion = (detail: string) =>
  new RestProxyError(422, 42203, `Conversion of JSON to Object failed: ${detail}`, 'TRB_REST_JSON_CONVERSION')
export const invalidConsumerConfig = (detail: string) =>
  new RestProxyError(422, 42204, `Invalid consumer configuration: ${detail}`, 'TRB_REST_CONSUMER_CONFIG')
export const invalidSchema = (detail: string) =>
  new RestProxyError(422, 42205, `Invalid schema: ${detail}`, 'TRB_REST_INVALID_SCHEMA')
export const invalidPayload = (detail: string) =>
  new RestProxyError(422, 42206, `Payload error. ${detail}`, 'TRB_REST_INVALID_PAYLOAD')
export const serializationFailed = (detail: string) =>
  new RestProxyError(422, 42207, `Error serializing message. ${detail}`, 'TRB_REST_SERIALIZATION')
export const produceBatchInvalid = (detail: string) => new RestProxyError(422, 42208, detail, 'TRB_REST_BATCH_INVALID')
export const kafkaBadRequest = (message: string) =>
  new RestProxyError(400, 40002, message, 'TRB_REST_KAFKA_BAD_REQUEST')
export const kafkaError = (message: string) =>
  new RestProxyError(500, 50002, `Kafka error: ${message}`, 'TRB_REST_KAFKA')
export const kafkaRetriable = (message: string) => new RestProxyError(500, 50003, message, 'TRB_REST_KAFKA_RETRIABLE')
export const brokerNotAvailable = (message: string) =>
  new RestProxyError(503, 50302, message, 'TRB_REST_BROKER_UNAVAILABLE')

interface KafkaLikeError {
  code?: string
  apiId?: string
  canRetry?: boolean
  serverErrorMessage?: string | null
  message?: string
  errors?: unknown[]
  cause?: unknown
}

/** Every error in an error tree (AggregateError members and causes), depth first. */
function flatten(error: unknown, out: KafkaLikeError[] = [], depth = 0): KafkaLikeError[] {
  if (!error || typeof error !== 'object' || depth > 8) return out
  const e = error as KafkaLikeError
  out.push(e)
  if (Array.isArray(e.errors)) for (const inner of e.errors) flatten(inner, out, depth + 1)
  if (e.cause) flatten(e.cause, out, depth + 1)
  return out
}

const BAD_REQUEST_IDS = new Set([
  'TOPIC_ALREADY_EXISTS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_PARTITIONS',
  'INVALID_REQUEST',
  'POLICY_VIOLATION',
  'INVALID_CONFIG',
  'SECURITY_DISABLED',
  'UNSUPPORTED_VERSION',
  'UNKNOWN_SERVER_ERROR',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REPLICA_ASSIGNMENT',
  'NON_EMPTY_GROUP',
  'INVALID_GROUP_ID',
])

const KAFKA_MESSAGES: Record<string, (detail: string) => string> = {
  UNKNOWN_TOPIC_OR_PARTITION: () => 'This server does not host this topic-partition.',
  RECORD_TOO_LARGE: () => 'The request included a message larger than the maximum message size the server can accept.',
  MESSAGE_TOO_LARGE: () => 'The request included a message larger than the maximum message size the server can accept.',
}

/** The apiId (UNKNOWN_TOPIC_OR_PARTITION, ...) of the first Kafka protocol error in an error tree. */
export function kafkaErrorId(error: unknown): string | undefined {
  return flatten(error).find((e) => typeof e.apiId === 'string')?.apiId
}

/**
 * Maps what the Kafka client threw to the answer Confluent's REST Proxy gives for the same Kafka exception:
 * authentication 401/40101, authorization 403/40301, unknown topic or partition 404/40403, the admin "bad request"
 * family 400/40002, brokers unreachable 503/50302, retriable errors 500/50003, anything else 500/50002.
 */
export function fromKafkaError(error: unknown): RestProxyError {
  if (error instanceof RestProxyError) return error
  const all = flatten(error)
  const protocol = all.find((e) => typeof e.apiId === 'string')
  const detail = protocol?.serverErrorMessage || protocol?.message || (error as Error)?.message || String(error)
  if (all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.apiId === 'SASL_AUTHENTICATION_FAILED')) {
    return unauthorized()
  }
  const id = protocol?.apiId
  // The client reports a topic missing from metadata as a plain error, not as the protocol error code.
  if (!protocol && all.some((e) => /unknown topic/i.test(e.message ?? '')))
    return new RestProxyError(
      404,
      40403,
      KAFKA_MESSAGES.UNKNOWN_TOPIC_OR_PARTITION(detail),
      'TRB_REST_UNKNOWN_PARTITION',
    )
  if (id?.endsWith('_AUTHORIZATION_FAILED')) return forbidden(`Request is not authorized: ${detail}`)
  if (id === 'UNKNOWN_TOPIC_OR_PARTITION' || id === 'UNKNOWN_TOPIC_ID')
    return new RestProxyError(
      404,
      40403,
      KAFKA_MESSAGES.UNKNOWN_TOPIC_OR_PARTITION(detail),
      'TRB_REST_UNKNOWN_PARTITION',
    )
  if (id === 'GROUP_ID_NOT_FOUND')
    return new RestProxyError(404, 40405, 'Consumer group id not found.', 'TRB_REST_GROUP_NOT_FOUND')
  if (id === 'RECORD_TOO_LARGE' || id === 'MESSAGE_TOO_LARGE') return payloadTooLarge()
  if (id && BAD_REQUEST_IDS.has(id)) return kafkaBadRequest(detail)
  if (all.some((e) => e.code === 'PLT_KFK_NETWORK')) return brokerNotAvailable(`Broker not available: ${detail}`)
  if (protocol?.canRetry || all.some((e) => e.code === 'PLT_KFK_TIMEOUT')) return kafkaRetriable(detail)
  return kafkaError(detail)
}
