export type { ForeignKeyExtractor } from './foreign-key-join.ts'
export { Joined, TableJoined } from './join-options.ts'
export { BranchedKStream, CogroupedKStream, KGroupedStream, KStream } from './kstream.ts'
export { GlobalKTable, KGroupedTable, KTable } from './ktable.ts'
export { Branched, Consumed, Grouped, Materialized, Named, Produced, Repartitioned, type StoreType } from './options.ts'
export { StreamJoined } from './stream-stream-join.ts'
export { StreamsBuilder } from './streams-builder.ts'
export { BufferConfig, Suppressed } from './suppressed.ts'
export { SessionWindowedKStream, TimeWindowedKStream } from './windowed-kstream.ts'
export { SessionWindowedSerde, TimeWindowedSerde, WindowedSerdes } from './windowed-serdes.ts'
export {
  JoinWindows,
  SessionWindow,
  SessionWindows,
  SlidingWindow,
  SlidingWindows,
  TimeWindow,
  TimeWindows,
  Window,
  Windowed,
} from './windows.ts'
