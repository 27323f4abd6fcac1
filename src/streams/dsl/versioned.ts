/**
 * The DSL side of versioned tables (KIP-914) and of stream-table joins with a grace period (KIP-923):
 * `builder.table(topic, consumed, Materialized.as(Stores.persistentVersionedKeyValueStore(name, retention)))`
 * materializes a source table in a versioned store, and `stream.join(table, joiner, Joined.with(...)
 * .withGracePeriod(ms))` buffers the stream side before joining it with the table version valid at each record's
 * timestamp. Node and store names follow Kafka Streams (the buffer is `<join name>-Buffer`).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { ValueGetterSupplier } from '../processor/dsl-processors.ts'
import type { ValueJoinerWithKey } from '../processor/join-processors.ts'
import { GRACE_NEEDS_VERSIONED_TABLE, KStreamKTableGraceJoin } from '../processor/versioned-join.ts'
import { TimeOrderedKeyValueBufferBuilder } from '../state/time-ordered-buffer.ts'
import type { InternalBuilder } from './internal-builder.ts'
import type { Joined } from './join-options.ts'
import { KStream } from './kstream.ts'
import type { KTable } from './ktable.ts'
import { copartition } from './table-joins.ts'

/**
 * Whether a table's updates follow versioned semantics (Kafka Streams' isVersionedOrVersionedUpstream): its output is
 * versioned when the operator that made it said so (a source table, toTable, an aggregation or a join materialized
 * in a versioned store; a filter or mapValues given a Materialized), else when the table it derives from is. Out-of-
 * order updates (isLatest false) only come out of such tables, and the operators below them drop or ignore them.
 */
export function isVersionedTable(table: KTable<unknown, unknown>): boolean {
  if (table.outputVersioned !== undefined) return table.outputVersioned
  return table.parentTable !== undefined && isVersionedTable(table.parentTable)
}

/** Kafka Streams' message when suppress() is put below a versioned table. */
export const SUPPRESS_VERSIONED = 'suppress() is only supported for non-versioned KTables'
export const SUPPRESS_VERSIONED_UPSTREAM = `${SUPPRESS_VERSIONED} (note that version semantics might be inherited from upstream)`

/** The processor and buffer of a stream-table join with a grace period, below `parent` (the stream). */
export function streamTableGraceJoin<K, V, VT, VR>(
  b: InternalBuilder,
  stream: KStream<K, V>,
  parent: string,
  keySerde: SyncSerde<K> | undefined,
  table: KTable<K, VT>,
  joiner: ValueJoinerWithKey<K, V, VT | null, VR>,
  joined: Joined<K, V, VT>,
  leftJoin: boolean,
  name: string,
): KStream<K, VR> {
  // As Kafka Streams, only a table known not to be versioned is refused here; an inheriting one is checked at init.
  if (table.outputVersioned === false) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${name}: ${GRACE_NEEDS_VERSIONED_TABLE} Materialize it with Materialized.as(Stores.` +
        'persistentVersionedKeyValueStore(name, historyRetentionMs)), or drop Joined.withGracePeriod (docs/streams/joins.md)',
    )
  }
  const getter = table.valueGetterSupplier() as ValueGetterSupplier<K, VT>
  const stores = getter.storeNames()
  const bufferName = `${name}-Buffer`
  const buffer = new TimeOrderedKeyValueBufferBuilder<K, V>(
    bufferName,
    joined.gracePeriodMs ?? 0,
    joined.keySerde ?? keySerde,
    joined.valueSerde ?? stream.valueSerde,
  )
  const supplier = new KStreamKTableGraceJoin<K, V, VT, VR>(getter, joiner, leftJoin, bufferName)
  const tableNode = table.nodeName
  b.add((t) => {
    t.addProcessor(name, supplier, parent)
    t.connectProcessorAndStateStores(name, ...stores)
    t.addStateStore(buffer, name)
    copartition(t, [parent, tableNode])
  })
  return new KStream<K, VR>(b, name, joined.keySerde ?? keySerde, undefined, false)
}
