/**
 * Coded errors. Every error Tributary raises on purpose carries a stable `code` (TRB_*) that callers and tests
 * can match on, independent of the message text. Every code is declared once, here, with what it means and
 * whether retrying the same operation can succeed; `TributaryError` accepts only a declared code, so a new code
 * is added to this list (and so to docs/errors.md, which `npm run generate:errors` writes from it) or `tsc` fails.
 */

export interface ErrorDescription {
  /** What went wrong, for the reader of docs/errors.md. */
  readonly meaning: string
  /** True when the same operation may succeed if retried unchanged (a transient condition). */
  readonly retriable: boolean
  /** A warning (process.emitWarning) rather than a thrown error. */
  readonly warning?: boolean
}

export const errorCodes = {
  // Configuration and command line
  TRB_CONFIG_INVALID: {
    meaning:
      'A broker property, topic config, flag or config file is unknown or has a bad value; the message names the key.',
    retriable: false,
  },
  TRB_CLI_USAGE: {
    meaning: 'A `tributary` command was given missing or contradictory options.',
    retriable: false,
  },
  TRB_DATA_DIR_LOCKED: {
    meaning: 'Another live broker process holds the data directory lock.',
    retriable: false,
  },
  TRB_DATA_DIR_INVALID: {
    meaning: 'The data directory cannot be created or used: a path element is a file, or permission is denied.',
    retriable: false,
  },
  TRB_CLI_NOT_FOUND: {
    meaning: 'A `tributary` command named a topic, group or other object that does not exist (exit code 3).',
    retriable: false,
  },
  TRB_CLI_REFUSED: {
    meaning: 'The cluster refused what a `tributary` command asked (exit code 4); the message says why.',
    retriable: false,
  },
  TRB_CLI_INTERRUPTED: {
    meaning: 'A `tributary` command was interrupted (SIGINT/SIGTERM) before it finished.',
    retriable: false,
  },
  TRB_CONNECTION_FAILED: {
    meaning:
      'A `tributary` command cannot reach the Kafka cluster; the message names the address and the network cause.',
    retriable: true,
  },

  // Protocol codecs
  TRB_PROTOCOL_MALFORMED: {
    meaning: 'Bytes do not decode as the Kafka message they claim to be (truncated, bad length or varint).',
    retriable: false,
  },
  TRB_COMPRESSION_FAILED: {
    meaning: 'A record batch cannot be compressed or decompressed with its codec, or names an unknown codec.',
    retriable: false,
  },
  TRB_COMPRESSION_UNSUPPORTED: {
    meaning: 'Compression with a codec Tributary only reads (zstd) was requested.',
    retriable: false,
  },
  TRB_UNKNOWN_API: {
    meaning: 'A request names an API key that has no codec.',
    retriable: false,
  },

  // Log: a rejection the broker answers with the Kafka error code in the error's `errorCode`
  TRB_LOG_OFFSET_OUT_OF_RANGE: {
    meaning: "A read or delete names an offset outside the partition's [log start, log end] range.",
    retriable: false,
  },
  TRB_LOG_CORRUPT_MESSAGE: {
    meaning: 'A record batch fails its CRC-32C, its length framing, or the request holds no batch.',
    retriable: true,
  },
  TRB_LOG_INVALID_RECORD: {
    meaning:
      'A record batch is well framed but not acceptable (control batch from a client, no records, record count mismatch, null key on a compacted topic).',
    retriable: false,
  },
  TRB_LOG_MESSAGE_TOO_LARGE: {
    meaning: "A record batch is larger than the topic's max.message.bytes.",
    retriable: false,
  },
  TRB_LOG_UNSUPPORTED_FOR_MESSAGE_FORMAT: {
    meaning: 'A batch uses a message format older than record batch v2 (magic 2).',
    retriable: false,
  },
  TRB_LOG_OUT_OF_ORDER_SEQUENCE_NUMBER: {
    meaning: "An idempotent producer's batch does not continue its sequence.",
    retriable: false,
  },
  TRB_LOG_INVALID_PRODUCER_EPOCH: {
    meaning: 'A batch or marker carries an older producer epoch than the partition has seen (a fenced producer).',
    retriable: false,
  },
  TRB_LOG_INVALID_TXN_STATE: {
    meaning: 'A transactional batch or marker does not fit the producer’s transaction state on the partition.',
    retriable: false,
  },
  TRB_LOG_KAFKA_STORAGE_ERROR: {
    meaning: 'Writing a segment failed; the partition takes no more appends until the log is reopened.',
    retriable: true,
  },
  TRB_LOG_UNKNOWN_TOPIC_OR_PARTITION: {
    meaning: 'The broker has no local log for the partition an internal append or read names.',
    retriable: true,
  },
  TRB_LOG_UNKNOWN_SERVER_ERROR: {
    meaning: 'The log failed in a way no other code describes (a released read slice, a batch it cannot recompress).',
    retriable: false,
  },
  TRB_LOG_FLUSH_FAILED: {
    meaning: 'fdatasync of a segment failed; the appends waiting for durability are not acknowledged.',
    retriable: true,
  },
  TRB_LOG_CLOSED: {
    meaning: 'The partition log was used after it was closed (the topic was deleted or the broker is stopping).',
    retriable: false,
  },
  TRB_LOG_CORRUPT: {
    meaning:
      'A segment holds damaged bytes that compaction would otherwise drop with everything after them; it is not compacted.',
    retriable: false,
  },
  TRB_LOG_DAMAGED: {
    meaning: '`tributary log verify` found damaged segments; the message summarizes them.',
    retriable: false,
  },

  // Broker
  TRB_TOPIC: {
    meaning: 'A topic cannot be created, changed or deleted as asked (name, partitions or configs rejected).',
    retriable: false,
  },
  TRB_CONNECTION_CLOSED: {
    meaning: 'The connection was closed (by the broker after a fatal request, or by the peer) before an answer.',
    retriable: true,
  },
  TRB_UNEXPECTED_CORRELATION_ID: {
    meaning:
      "A response does not carry the correlation id of the connection's oldest unanswered request; the connection is closed.",
    retriable: true,
  },
  TRB_REQUEST_TIMED_OUT: {
    meaning: 'A request got no response within the client’s request timeout; the connection is closed.',
    retriable: true,
  },
  TRB_SASL_FAILED: {
    meaning: 'SASL authentication failed: unknown user, wrong password or a SCRAM exchange that does not verify.',
    retriable: false,
  },
  TRB_GROUP_STATE_UNKNOWN_KEY: {
    meaning: 'A record in __consumer_offsets has a key kind this broker does not know.',
    retriable: false,
  },
  TRB_GROUP_STATE_UNKNOWN_VERSION: {
    meaning: 'A record in __consumer_offsets has a value version this broker does not know.',
    retriable: false,
  },
  TRB_TXN_STATE_UNKNOWN_KEY: {
    meaning: 'A record in __transaction_state has a key version this broker does not know.',
    retriable: false,
  },
  TRB_TXN_STATE_UNKNOWN_VERSION: {
    meaning: 'A record in __transaction_state has a value version this broker does not know.',
    retriable: false,
  },
  TRB_TXN_STATE_INVALID: {
    meaning: 'A record in __transaction_state names a transaction state that does not exist.',
    retriable: false,
  },

  // Clients
  TRB_CLIENT_NO_BOOTSTRAP: {
    meaning: 'No bootstrap address was given (option or TRIBUTARY_BOOTSTRAP).',
    retriable: false,
  },
  TRB_CLIENT_BAD_BOOTSTRAP: {
    meaning: 'A bootstrap address is not host:port.',
    retriable: false,
  },
  TRB_CLIENT_KAFKA_UNREACHABLE: {
    meaning: 'No broker of the bootstrap list answered; the message names the addresses and the network causes.',
    retriable: true,
  },
  TRB_CLIENT_CLOSED: {
    meaning: 'A client (group member, fetcher) was used after close().',
    retriable: false,
  },
  TRB_CLIENT_UNKNOWN_BROKER: {
    meaning: 'A broker id is not in the cluster metadata.',
    retriable: true,
  },
  TRB_CLIENT_UNKNOWN_PARTITION: {
    meaning: 'A partition has no leader in the cluster metadata (unknown, or a leader election is in progress).',
    retriable: true,
  },
  TRB_CLIENT_COORDINATOR_NOT_AVAILABLE: {
    meaning: 'No group or transaction coordinator is available for the key yet.',
    retriable: true,
  },
  TRB_CLIENT_FETCH_FAILED: {
    meaning: 'A Fetch failed with an error that retrying does not fix; the message carries the Kafka error.',
    retriable: false,
  },
  TRB_CLIENT_OFFSET_OUT_OF_RANGE: {
    meaning: 'A fetch position is out of range and auto.offset.reset is none.',
    retriable: false,
  },
  TRB_CLIENT_LIST_OFFSETS_FAILED: {
    meaning: 'ListOffsets failed after its retries; the message carries the Kafka error.',
    retriable: true,
  },
  TRB_CLIENT_BAD_GROUP_METADATA: {
    meaning: 'Consumer protocol data in a group (subscription or assignment) is truncated or malformed.',
    retriable: false,
  },
  TRB_CLIENT_GROUP_JOIN_FAILED: {
    meaning: 'Joining or syncing a consumer group failed with an error retrying does not fix.',
    retriable: false,
  },
  TRB_CLIENT_GROUP_FENCED: {
    meaning: 'A commit was refused because the member no longer owns its partitions (a newer generation started).',
    retriable: false,
  },
  TRB_CLIENT_COMMIT_FAILED: {
    meaning: 'An offset commit (plain or transactional) failed with an error retrying does not fix.',
    retriable: false,
  },
  TRB_CLIENT_OFFSET_FETCH_FAILED: {
    meaning: "Reading a group's committed offsets failed with an error retrying does not fix.",
    retriable: false,
  },
  TRB_CLIENT_PRODUCER_FENCED: {
    meaning: 'A newer producer with the same transactional id fenced this one (or its epoch expired).',
    retriable: false,
  },
  TRB_CLIENT_UNSUPPORTED_VERSION: {
    meaning: 'The broker does not support a request version Tributary needs; the message names the API and versions.',
    retriable: false,
  },
  TRB_CLIENT_NOT_TRANSACTIONAL: {
    meaning: 'Offsets were sent in a transaction with a producer that is not transactional.',
    retriable: false,
  },
  TRB_ADMIN_FAILED: {
    meaning: 'The broker refused an admin operation; the message carries its error.',
    retriable: false,
  },

  // Serdes
  TRB_SERDE_INVALID_VALUE: {
    meaning: 'A value to serialize does not fit the serde or does not match its schema (the paths are named).',
    retriable: false,
  },
  TRB_SERDE_UNDECODABLE: {
    meaning: 'A payload does not decode with its serde or schema (truncated, trailing bytes, bad JSON).',
    retriable: false,
  },
  TRB_SERDE_EMPTY: {
    meaning: 'A schema-registry payload is empty.',
    retriable: false,
  },
  TRB_SERDE_TRUNCATED: {
    meaning: 'A schema-registry payload is shorter than the 5-byte wire-format header.',
    retriable: false,
  },
  TRB_SERDE_UNKNOWN_MAGIC_BYTE: {
    meaning: 'The first byte of a schema-registry payload is not 0.',
    retriable: false,
  },
  TRB_SERDE_UNKNOWN_SCHEMA_ID: {
    meaning: 'The schema registry does not know the schema id in the payload.',
    retriable: false,
  },
  TRB_SERDE_WRONG_SCHEMA_TYPE: {
    meaning: "The payload's schema is of another format than the serde's (e.g. JSON Schema read by Avro).",
    retriable: false,
  },
  TRB_SERDE_REGISTRY_UNAVAILABLE: {
    meaning: 'The schema registry could not be reached or answered an error while resolving a schema.',
    retriable: true,
  },
  TRB_SERDE_CONFIG: {
    meaning: "A serde's options are incomplete or contradictory (no writer schema, unknown message type).",
    retriable: false,
  },
  TRB_SERDE_NOT_READY: {
    meaning: 'A synchronous serde call ran before its prepareSerialize/prepareDeserialize.',
    retriable: false,
  },
  TRB_SERDE_INVALID_SCHEMA: {
    meaning: 'A schema does not parse in its format (Avro, JSON Schema, Protobuf) or a reference does not resolve.',
    retriable: false,
  },
  TRB_SERDE_UNSUPPORTED_SCHEMA: {
    meaning: 'An Avro schema the registry accepts cannot be built by the Avro serdes (avsc); none is known.',
    retriable: false,
  },

  // Stream processing
  TRB_STREAMS_MISSING_SERDE: {
    meaning: 'A serde is needed (source, sink, store, repartition topic) and none was given nor configured as default.',
    retriable: false,
  },
  TRB_STREAMS_NAME_EXISTS: {
    meaning: 'A processor, source, sink or store name is used twice in one topology.',
    retriable: false,
  },
  TRB_STREAMS_STORE_EXISTS: {
    meaning: 'A state store name is registered twice.',
    retriable: false,
  },
  TRB_STREAMS_UNKNOWN_NODE: {
    meaning: 'A node, parent or store named in the topology does not exist.',
    retriable: false,
  },
  TRB_STREAMS_UNKNOWN_STORE: {
    meaning: 'A processor asked for a store it is not connected to, or that does not exist.',
    retriable: false,
  },
  TRB_STREAMS_TOPIC_EXISTS: {
    meaning: 'A topic is consumed by two sources.',
    retriable: false,
  },
  TRB_STREAMS_INVALID_TOPOLOGY: {
    meaning: 'The topology is invalid (empty, a sink with children, a processor without a parent...).',
    retriable: false,
  },
  TRB_STREAMS_TOPOLOGY_BUILT: {
    meaning: 'A DSL operator was called after StreamsBuilder.build(): the topology is immutable once built.',
    retriable: false,
  },
  TRB_STREAMS_INVALID_ARGUMENT: {
    meaning: 'An argument to a DSL or Processor API call is invalid.',
    retriable: false,
  },
  TRB_STREAMS_INVALID_CONFIG: {
    meaning: 'A configuration value is invalid.',
    retriable: false,
  },
  TRB_STREAMS_INVALID_TIMESTAMP: {
    meaning: "A record's timestamp is invalid (negative) and the extractor is configured to fail.",
    retriable: false,
  },
  TRB_STREAMS_DESERIALIZATION_FAILED: {
    meaning: 'A record could not be deserialized and the deserialization exception handler said FAIL.',
    retriable: false,
  },
  TRB_STREAMS_PROCESSING_FAILED: {
    meaning: 'User code threw while processing a record and the processing exception handler said FAIL.',
    retriable: false,
  },
  TRB_STREAMS_PRODUCTION_FAILED: {
    meaning: 'A record could not be serialized or produced and the production exception handler said FAIL.',
    retriable: false,
  },
  TRB_STREAMS_STORE_CLOSED: {
    meaning: 'A store was used after close, or before the task initialized it.',
    retriable: false,
  },
  TRB_STREAMS_NEEDS_ASYNC: {
    meaning:
      'A serde needs an asynchronous preparation (a schema registry lookup) that a synchronous call cannot wait for.',
    retriable: false,
  },
  TRB_STREAMS_ILLEGAL_STATE: {
    meaning: "An operation is not valid in the task's or driver's current state (closed, not initialized...).",
    retriable: false,
  },
  TRB_STREAMS_UNKNOWN_TOPIC: {
    meaning: 'The test driver was asked about a topic the topology does not read or write.',
    retriable: false,
  },
  TRB_STREAMS_NO_SUCH_RECORD: {
    meaning: 'A test output topic was read while empty.',
    retriable: false,
  },
  TRB_STREAMS_SKIPPED_RECORD: {
    meaning:
      'A DSL operator skipped a record it cannot process (a null key where one is needed), as Kafka Streams does.',
    retriable: false,
    warning: true,
  },
  TRB_STREAMS_HANDLER: {
    meaning: 'An exception handler chose to continue past a record that failed; the warning names the record.',
    retriable: false,
    warning: true,
  },
  TRB_STREAMS_MISSING_SOURCE_TOPIC: {
    meaning: 'A source topic of the topology does not exist (checked at start and at every rebalance).',
    retriable: false,
  },
  TRB_STREAMS_COPARTITIONING: {
    meaning: 'Topics that must be co-partitioned (joined) have different partition counts.',
    retriable: false,
  },
  TRB_STREAMS_INTERNAL_TOPIC_MISMATCH: {
    meaning: 'An internal (repartition or changelog) topic exists with a partition count the topology cannot use.',
    retriable: false,
  },
  TRB_STREAMS_LATE_RECORD: {
    meaning:
      'A record arrived after its window closed (window end + grace) and was dropped (see late.records.dead.letter.topic).',
    retriable: false,
  },
  TRB_STREAMS_BUFFER_FULL: {
    meaning: 'A suppress() buffer configured with shutDownWhenFull() went over its limit.',
    retriable: false,
  },
  TRB_STREAMS_NOT_STARTED: {
    meaning: "Interactive queries: KafkaStreams has not been started yet (Kafka's StreamsNotStartedException).",
    retriable: false,
  },
  TRB_STREAMS_STORE_NOT_YET_AVAILABLE: {
    meaning:
      'Interactive queries: the store is on this instance but cannot answer yet — it is being restored, or the application is rebalancing. Retry later on the same instance (or query a standby with stale stores enabled).',
    retriable: true,
  },
  TRB_STREAMS_STORE_MIGRATED: {
    meaning:
      "Interactive queries: the store (or the asked partition of it) is not on this instance any more — it moved to another instance in a rebalance (Kafka's StateStoreMigratedException). Find its host again and retry there.",
    retriable: true,
  },
  TRB_STREAMS_STORE_NOT_AVAILABLE: {
    meaning:
      "Interactive queries: KafkaStreams is shutting down, stopped or failed (Kafka's StateStoreNotAvailableException).",
    retriable: false,
  },
  TRB_STREAMS_STORE_TYPE_MISMATCH: {
    meaning:
      'Interactive queries: the store exists but is not of the asked type (a window query on a key-value store...).',
    retriable: false,
  },
  TRB_STREAMS_INVALID_STORE_PARTITION: {
    meaning:
      "Interactive queries: the asked partition of the store does not exist (Kafka's InvalidStateStorePartitionException).",
    retriable: false,
  },
  TRB_STREAMS_POSITION_NOT_REACHED: {
    meaning: 'Interactive queries: the store did not reach the asked position (PositionBound) within the timeout.',
    retriable: true,
  },
  TRB_STREAMS_QUERY_ROUTING_FAILED: {
    meaning: 'Interactive queries over HTTP: the instance holding the data could not be reached or answered badly.',
    retriable: true,
  },
  TRB_STREAMS_INVALID_QUERY: {
    meaning: 'Interactive queries over HTTP: the request is malformed (a bad key, position, range or parameter).',
    retriable: false,
  },
  TRB_STREAMS_QUERY_FAILED: {
    meaning:
      'Interactive queries over HTTP: the query failed in a way no other code describes (an error in the store).',
    retriable: false,
  },
  TRB_STREAMS_STATE_DIR_LOCKED: {
    meaning: 'Another live process uses the same state directory for this application.',
    retriable: false,
  },
  TRB_STREAMS_APPLICATION_SHUTDOWN: {
    meaning:
      'Another member asked the whole application to shut down (uncaught exception handler SHUTDOWN_APPLICATION).',
    retriable: false,
  },
  TRB_STREAMS_CLOSE_TIMEOUT: { meaning: 'close() did not finish within its timeout.', retriable: true },
  TRB_STREAMS_RESET_FAILED: {
    meaning: 'The application reset tool refused to run (the application still has active members) or failed.',
    retriable: true,
  },

  // Schema registry: the REST API's errors; `status` and `errorCode` carry Confluent's HTTP status and code
  TRB_REGISTRY: {
    meaning: 'A schema registry request failed (malformed body, unsupported media type, a refused overwrite).',
    retriable: false,
  },
  TRB_REGISTRY_SUBJECT_NOT_FOUND: { meaning: 'The subject does not exist (40401).', retriable: false },
  TRB_REGISTRY_VERSION_NOT_FOUND: { meaning: 'The subject has no such version (40402).', retriable: false },
  TRB_REGISTRY_SCHEMA_NOT_FOUND: { meaning: 'No schema has this id or text (40403).', retriable: false },
  TRB_REGISTRY_SUBJECT_SOFT_DELETED: {
    meaning: 'The subject was soft-deleted; delete it permanently or re-register (40404).',
    retriable: false,
  },
  TRB_REGISTRY_SUBJECT_NOT_SOFT_DELETED: {
    meaning: 'A permanent delete of a subject that was not soft-deleted first (40405).',
    retriable: false,
  },
  TRB_REGISTRY_VERSION_SOFT_DELETED: { meaning: 'The version was soft-deleted (40406).', retriable: false },
  TRB_REGISTRY_VERSION_NOT_SOFT_DELETED: {
    meaning: 'A permanent delete of a version that was not soft-deleted first (40407).',
    retriable: false,
  },
  TRB_REGISTRY_CONFIG_NOT_FOUND: {
    meaning: 'The subject has no subject-level compatibility configured (40408).',
    retriable: false,
  },
  TRB_REGISTRY_MODE_NOT_FOUND: {
    meaning: 'The subject has no subject-level mode configured (40409).',
    retriable: false,
  },
  TRB_REGISTRY_INVALID_SCHEMA: {
    meaning: 'The schema does not parse in its format or a reference does not resolve (42201).',
    retriable: false,
  },
  TRB_REGISTRY_INVALID_VERSION: { meaning: 'A version is not 1..2^31-1 or "latest" (42202).', retriable: false },
  TRB_REGISTRY_INVALID_COMPATIBILITY: { meaning: 'Unknown compatibility level (42203).', retriable: false },
  TRB_REGISTRY_INVALID_MODE: { meaning: 'Unknown mode (42204).', retriable: false },
  TRB_REGISTRY_OPERATION_NOT_PERMITTED: {
    meaning: 'The operation is not allowed in the current mode or state (42205).',
    retriable: false,
  },
  TRB_REGISTRY_REFERENCE_EXISTS: {
    meaning: 'The version is referenced by another schema and cannot be deleted (42206).',
    retriable: false,
  },
  TRB_REGISTRY_INCOMPATIBLE_SCHEMA: {
    meaning: "The schema breaks the subject's compatibility level; the message lists why (409).",
    retriable: false,
  },
  TRB_REGISTRY_STORE: { meaning: 'The backend store (the schemas topic) failed (50001).', retriable: true },
  TRB_REGISTRY_KAFKA_UNREACHABLE: {
    meaning:
      'The registry cannot reach the Kafka cluster that holds its schemas topic; the message names the addresses and causes.',
    retriable: true,
  },
  TRB_REGISTRY_STORE_TIMEOUT: {
    meaning: 'The backend store did not confirm a write in time (50002).',
    retriable: true,
  },
  TRB_REGISTRY_CLIENT: {
    meaning: 'A schema registry answered an HTTP client with an error; `status` and `errorCode` carry it.',
    retriable: false,
  },
  TRB_CODEGEN_NAME_CONFLICT: {
    meaning:
      'Two subjects generated into one file declare different types with the same name; generate one module per subject.',
    retriable: false,
  },

  // REST proxy: `status` and `errorCode` carry Confluent REST Proxy's HTTP status and code
  TRB_REST_PROXY: {
    meaning: 'A REST proxy request failed (the generic code; the HTTP status and error code say more).',
    retriable: false,
  },
  TRB_REST_BAD_REQUEST: {
    meaning: 'A REST proxy request is malformed: a missing or ill-typed field, a body that is not a JSON object (400).',
    retriable: false,
  },
  TRB_REST_MALFORMED_JSON: { meaning: 'A REST proxy request body is not valid JSON (400).', retriable: false },
  TRB_REST_UNAUTHENTICATED: {
    meaning: 'The Kafka cluster refused the credentials the REST proxy passed on (401, 40101).',
    retriable: false,
  },
  TRB_REST_NO_CREDENTIALS: {
    meaning: 'The REST proxy requires HTTP basic authentication and the request has none (401).',
    retriable: false,
  },
  TRB_REST_FORBIDDEN: {
    meaning: 'The Kafka cluster refused the request for lack of an ACL (403, 40301).',
    retriable: false,
  },
  TRB_REST_NOT_FOUND: { meaning: 'No REST proxy endpoint has this path (404).', retriable: false },
  TRB_REST_CLUSTER_NOT_FOUND: {
    meaning: 'The cluster id in the path is not the id of the cluster the REST proxy serves (404).',
    retriable: false,
  },
  TRB_REST_TOPIC_NOT_FOUND: { meaning: 'The topic does not exist (404, 40401).', retriable: false },
  TRB_REST_PARTITION_NOT_FOUND: { meaning: 'The partition does not exist (404, 40402).', retriable: false },
  TRB_REST_UNKNOWN_TOPIC: {
    meaning: 'Records were sent to or read from a topic the cluster does not host (404, 40403).',
    retriable: false,
  },
  TRB_REST_UNKNOWN_PARTITION: { meaning: 'Kafka answered UNKNOWN_TOPIC_OR_PARTITION (404, 40403).', retriable: false },
  TRB_REST_CONSUMER_NOT_FOUND: {
    meaning: 'The consumer instance does not exist (expired or deleted) (404, 40403).',
    retriable: false,
  },
  TRB_REST_GROUP_NOT_FOUND: { meaning: 'The consumer group does not exist (404, 40405).', retriable: false },
  TRB_REST_CONSUMER_FORMAT_MISMATCH: {
    meaning: "The requested embedded format differs from the consumer instance's format (406, 40601).",
    retriable: false,
  },
  TRB_REST_CONSUMER_EXISTS: {
    meaning: 'A consumer instance with this name already exists in the group (409, 40902).',
    retriable: false,
  },
  TRB_REST_ILLEGAL_STATE: {
    meaning: 'The operation does not fit the consumer instance state, e.g. reading before subscribing (409, 40903).',
    retriable: false,
  },
  TRB_REST_BAD_SUBSCRIPTION: {
    meaning: 'A subscription names neither topics nor a topic pattern (422).',
    retriable: false,
  },
  TRB_REST_TOO_LARGE: { meaning: 'A record is larger than the maximum message size (413).', retriable: false },
  TRB_REST_MEDIA_TYPE: { meaning: 'The request content type is not one the endpoint accepts (415).', retriable: false },
  TRB_REST_SCHEMA_MISSING: {
    meaning: 'A produce request has keys or values but no key or value schema (422, 42201/42202).',
    retriable: false,
  },
  TRB_REST_JSON_CONVERSION: {
    meaning: 'A JSON value does not convert to the embedded format (422, 42203).',
    retriable: false,
  },
  TRB_REST_CONSUMER_CONFIG: { meaning: 'A consumer instance configuration is invalid (422, 42204).', retriable: false },
  TRB_REST_INVALID_SCHEMA: {
    meaning: 'The schema is invalid or the schema registry refused it (422, 42205).',
    retriable: false,
  },
  TRB_REST_INVALID_PAYLOAD: { meaning: 'A record of a produce request is invalid (422, 42206).', retriable: false },
  TRB_REST_SERIALIZATION: { meaning: 'A record cannot be serialized with its schema (422, 42207).', retriable: false },
  TRB_REST_BATCH_INVALID: { meaning: 'A v3 produce batch entry is invalid (422, 42208).', retriable: false },
  TRB_REST_KAFKA_BAD_REQUEST: { meaning: 'Kafka rejected the request as invalid (400, 40002).', retriable: false },
  TRB_REST_KAFKA: { meaning: 'Kafka answered an error that retrying does not fix (500, 50002).', retriable: false },
  TRB_REST_KAFKA_RETRIABLE: { meaning: 'Kafka answered a retriable error (500, 50003).', retriable: true },
  TRB_REST_REGISTRY: { meaning: 'The schema registry answered an error (500, 50001).', retriable: false },
  TRB_REST_REGISTRY_UNAVAILABLE: { meaning: 'The schema registry cannot be reached (500, 50001).', retriable: true },
  TRB_REST_BROKER_UNAVAILABLE: { meaning: 'No Kafka broker is available (503, 50302).', retriable: true },
  TRB_REST_CLOSING: { meaning: 'The REST proxy is shutting down (503, 50301).', retriable: true },
  TRB_REST_TOO_MANY_PRINCIPALS: {
    meaning: 'Too many principals have Kafka clients open at once; try again later (429).',
    retriable: true,
  },
} as const satisfies Record<`TRB_${string}`, ErrorDescription>

/** Every declared error code. */
export type TributaryErrorCode = keyof typeof errorCodes

/** True when `code` is a declared error code. */
export function isTributaryErrorCode(code: string): code is TributaryErrorCode {
  return Object.hasOwn(errorCodes, code)
}

export class TributaryError extends Error {
  readonly code: TributaryErrorCode
  constructor(code: TributaryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'TributaryError'
  }

  /** Whether retrying the same operation unchanged may succeed (from the declared list). */
  get retriable(): boolean {
    return errorCodes[this.code].retriable
  }
}
