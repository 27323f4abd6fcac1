/**
 * The durable partition log: segments, indexes, recovery, retention, compaction, group commit. No network code.
 */
export { LogError } from '../protocol/record-batch.ts'
export {
  DEFAULT_LOG_CONFIG,
  type LogConfig,
  logConfigToStrings,
  parseLogConfig,
  TOPIC_CONFIG_DEFINITIONS,
  type TopicConfigDefinition,
  type TopicConfigType,
} from './config.ts'
export { type Flushable, type FlushPolicy, FlushScheduler } from './flush-scheduler.ts'
export {
  DEFAULT_CLEANER_INTERVAL_MS,
  LogManager,
  type LogManagerOptions,
  type RecoverySummary,
} from './log-manager.ts'
export {
  type AppendResult,
  type LogLineLevel,
  type LogSlice,
  PartitionLog,
  type PartitionLogOptions,
  type ReadResult,
  type RecoveryReport,
  type SegmentDamage,
  type SliceResult,
  TailCacheBudget,
} from './partition-log.ts'
export type { AbortedTxn, ProducerEntry } from './producer-state.ts'
