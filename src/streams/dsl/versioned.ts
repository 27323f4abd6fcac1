/**
 * The DSL side of versioned tables (KIP-914) and of stream-table joins with a grace period (KIP-923):
 * `builder.table(topic, consumed, Materialized.as(Stores.persistentVersionedKeyValueStore(name, retention)))`
 * materializes a source table in a versioned store, and `stream.join(table, joiner, Joined.with(...)
 * .withGracePeriod(ms))` buffers the stream side before joining it with the table version valid at each record's
 * timestamp. Node and store names follow Kafka Streams (the buffer is `<join name>-Buffer`).
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { KTableSource, type ValueGetterSupplier } from '../processor/dsl-processors.ts'
import type { ValueJoinerWithKey } from '../processor/join-processors.ts'
import { GRACE_NEEDS_VERSIONED_TABLE, KStreamKTableGraceJoin } from '../processor/versioned-join.ts'
import { TimeOrderedKeyValueBufferBuilder } from '../state/time-ordered-buffer.ts'
import {
  isVersionedSupplier,
  type VersionedBytesStoreSupplier,
  VersionedKeyValueStoreBuilder,
} from '../state/versioned-store.ts'
import type { InternalBuilder } from './internal-builder.ts'
import type { Joined } from './join-options.ts'
import { KStream } from './kstream.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import { copartition } from './table-joins.ts'

/** Whether a Materialized asks for a versioned store. */
export function isVersionedMaterialized(m: Materialized<unknown, unknown> | undefined): boolean {
  return isVersionedSupplier(m?.storeSupplier)
}

/** The store builder of a versioned source table: logged as the Materialized says, never cached (as Kafka). */
export function versionedTableStoreBuilder<K, V>(
  m: Materialized<K, V>,
  keySerde: SyncSerde<K> | undefined,
  valueSerde: SyncSerde<V> | undefined,
): VersionedKeyValueStoreBuilder<K, V> {
  const builder = new VersionedKeyValueStoreBuilder<K, V>(
    m.storeSupplier as unknown as VersionedBytesStoreSupplier,
    keySerde,
    valueSerde,
  )
  if (!m.loggingEnabled) builder.withLoggingDisabled()
  else builder.withLoggingEnabled(m.logConfig)
  return builder
}

/** Whether a table's output is versioned: true/false when known at build time, undefined to decide at init. */
function outputVersioned(table: KTable<unknown, unknown>): boolean | undefined {
  const supplier = table.supplier
  if (supplier instanceof KTableSource) return supplier.versioned
  return undefined
}

/**
 * Whether a table's updates come from a versioned table (Kafka Streams' isVersionedOrVersionedUpstream): a versioned
 * source table, or a filter/mapValues of one that is not materialized in a store of its own.
 */
export function isVersionedUpstream(table: KTable<unknown, unknown>): boolean {
  const supplier = table.supplier
  if (supplier instanceof KTableSource) return supplier.versioned
  const derived = supplier as { parent?: unknown; queryableName?: string }
  if (derived.parent instanceof KTable && derived.queryableName === undefined) {
    return isVersionedUpstream(derived.parent as KTable<unknown, unknown>)
  }
  return false
}

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
  if (outputVersioned(table as KTable<unknown, unknown>) === false) {
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
