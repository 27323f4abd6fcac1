/**
 * The registry's durable state is a keyed log (the `_schemas` topic) replayed into the SchemaStore: the common
 * KeyedLog interface, so the same state machine runs over Kafka and over memory in unit tests. Keys and values are
 * UTF-8 JSON. These names are the registry's for the common ones.
 */
import { InMemoryKeyedLog, type KeyedLog, type LoggedRecord } from '../common/keyed-log.ts'

export type SchemaLog = KeyedLog
export type SchemaLogRecord = LoggedRecord

/**
 * A schema log in memory: two stores sharing one instance behave like two registry instances sharing one topic;
 * `compact()` does what log compaction does.
 */
export class InMemorySchemaLog extends InMemoryKeyedLog {}
