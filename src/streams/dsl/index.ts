export { BranchedKStream, CogroupedKStream, KGroupedStream, KStream } from './kstream.ts'
export { GlobalKTable, KGroupedTable, KTable } from './ktable.ts'
export { Branched, Consumed, Grouped, Materialized, Named, Produced, Repartitioned, type StoreType } from './options.ts'
export { StreamsBuilder } from './streams-builder.ts'
