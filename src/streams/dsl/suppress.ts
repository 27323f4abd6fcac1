/** KTable.suppress() (Kafka Streams' KTableImpl.suppress): adds the suppress processor after a (windowed) table. */
import { streamsError } from '../errors.ts'
import { KTableSuppress } from '../processor/window-processors.ts'
import { SuppressionBufferBuilder } from '../state/suppression-buffer.ts'
import { KTable } from './ktable.ts'
import type { Suppressed } from './suppressed.ts'
import { isVersionedTable, SUPPRESS_VERSIONED, SUPPRESS_VERSIONED_UPSTREAM } from './versioned.ts'

export type { Suppressed }

export function suppress<K, V>(table: KTable<K, V>, suppressed: Suppressed): KTable<K, V> {
  const b = table.builder
  b.check()
  // As Kafka Streams (KIP-914): a versioned table cannot be suppressed. Known now when the table itself says it is
  // versioned; when it inherits versioned semantics (a filter or mapValues of one), build() refuses it.
  if (table.outputVersioned === true) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', SUPPRESS_VERSIONED)
  const name = suppressed.name !== undefined ? `${suppressed.name}-suppress` : b.newProcessorName('KTABLE-SUPPRESS-')
  const storeName = suppressed.name !== undefined ? `${suppressed.name}-store` : b.newStoreName('KTABLE-SUPPRESS-')
  let waitMs = suppressed.timeToWaitMs
  const windowEnd = waitMs === null
  if (waitMs === null) {
    const delay = (table.supplier as { closeDelayMs?: number }).closeDelayMs
    if (delay === undefined) {
      throw streamsError(
        'TRB_STREAMS_INVALID_TOPOLOGY',
        'suppress(Suppressed.untilWindowCloses(...)) needs a windowed table: put it right after a windowed ' +
          'count/reduce/aggregate (groupByKey().windowedBy(...)); use untilTimeLimit for other tables',
      )
    }
    waitMs = delay
  }
  // The buffer keeps the prior value of a key, as Kafka's does.
  table.enableSendingOldValues(true)
  const supplier = new KTableSuppress<K, V>(table.supplier, storeName, {
    waitMs,
    windowEnd,
    limits: suppressed.bufferConfig,
    keySerde: table.keySerde,
    valueSerde: table.valueSerde,
  })
  const buffer = new SuppressionBufferBuilder<K, V>(storeName, table.keySerde, table.valueSerde)
  const limits = suppressed.bufferConfig
  if (limits.loggingEnabled) buffer.withLoggingEnabled({ ...limits.logConfig })
  else buffer.withLoggingDisabled()
  const parent = table.nodeName
  b.add((t) => {
    if (isVersionedTable(table as KTable<unknown, unknown>)) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', SUPPRESS_VERSIONED_UPSTREAM)
    }
    t.addProcessor(name, supplier, parent).addStateStore(buffer, name)
  })
  const result = new KTable<K, V>(b, name, table.keySerde, table.valueSerde, supplier, undefined)
  result.outputVersioned = false
  return result
}
