/**
 * The DSL side of stream-table, stream-global-table and table-table joins (Kafka Streams' KStreamImpl
 * doStreamTableJoin / doGlobalTableJoin and KTableImpl doJoin): node names, repartitioning, co-partitioning, store
 * connections and materialization follow Kafka Streams, so `describe()` matches and results are identical.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { KeyValueMapper } from '../processor/dsl-processors.ts'
import { storeValueGetter } from '../processor/dsl-processors.ts'
import {
  KStreamKTableJoin,
  KTableKTableJoin,
  KTableKTableJoinMerger,
  type ValueJoiner,
  type ValueJoinerWithKey,
} from '../processor/join-processors.ts'
import { isVersionedSupplier } from '../state/versioned-store.ts'
import type { Topology } from '../topology/topology.ts'
import type { Joined } from './join-options.ts'
import { KStream } from './kstream.ts'
import { type GlobalKTable, KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import { isVersionedTable, streamTableGraceJoin } from './versioned.ts'

/**
 * The source nodes upstream of `nodes` within their sub-topology (Kafka Streams' subTopologySourceNodes): parent
 * links never cross a repartition topic, so the walk stops at the sources feeding the join.
 */
export function upstreamSources(t: Topology, nodes: readonly string[]): string[] {
  const links = extraUpstream.get(t)
  const seen = new Set<string>()
  const sources = new Set<string>()
  const stack = [...nodes]
  while (stack.length > 0) {
    const name = stack.pop()!
    if (seen.has(name)) continue
    seen.add(name)
    const node = t.node(name)
    if (!node) continue
    if (node.kind === 'source') {
      if (!t.isGlobalNode(name)) sources.add(name)
    } else {
      stack.push(...node.parents)
    }
    stack.push(...(links?.get(name) ?? []))
  }
  return [...sources]
}

const extraUpstream = new WeakMap<Topology, Map<string, string[]>>()

/**
 * Makes `node` count `upstream` among its inputs for co-partitioning, where no parent link says so: a foreign-key
 * join's result is keyed (and partitioned) as its left table, although it hangs below the response topic.
 */
export function linkUpstream(t: Topology, node: string, upstream: readonly string[]): void {
  let links = extraUpstream.get(t)
  if (!links) {
    links = new Map()
    extraUpstream.set(t, links)
  }
  links.set(node, [...(links.get(node) ?? []), ...upstream])
}

/** Joined inputs must be co-partitioned: the runtime checks (and sizes internal topics) from these groups. */
export function copartition(t: Topology, nodes: readonly string[]): void {
  const sources = upstreamSources(t, nodes)
  if (sources.length > 0) t.copartitionSources(sources)
}

function checkSameBuilder(a: { builder: unknown }, b: { builder: unknown }, what: string): void {
  if (a.builder !== b.builder) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `${what}: both sides must come from the same StreamsBuilder`)
  }
}

/** KStream-KTable join / leftJoin: repartitions the stream first when its key changed (as Kafka Streams does). */
export function streamTableJoin<K, V, VT, VR>(
  stream: KStream<K, V>,
  table: KTable<K, VT>,
  joiner: ValueJoinerWithKey<K, V, VT | null, VR>,
  joined: Joined<K, V, VT> | undefined,
  leftJoin: boolean,
): KStream<K, VR> {
  const b = stream.builder
  b.check()
  if (!(table instanceof KTable)) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `${leftJoin ? 'leftJoin' : 'join'}(): expected a KTable`)
  }
  checkSameBuilder(stream, table, leftJoin ? 'leftJoin()' : 'join()')
  checkJoiner(joiner)
  let parent = stream.nodeName
  let keySerde = stream.keySerde
  if (stream.repartitionRequired) {
    keySerde = joined?.keySerde ?? stream.keySerde
    const valueSerde = joined?.valueSerde ?? stream.valueSerde
    parent = b.repartition(parent, joined?.name ?? stream.nodeName, keySerde, valueSerde)
  }
  const name = b.nameOr(joined?.name, leftJoin ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-')
  if (joined?.gracePeriodMs !== undefined) {
    return streamTableGraceJoin(b, stream, parent, keySerde, table, joiner, joined, leftJoin, name)
  }
  const getter = table.valueGetterSupplier() as import('../processor/dsl-processors.ts').ValueGetterSupplier<K, VT>
  const stores = getter.storeNames()
  const supplier = new KStreamKTableJoin<K, V, K, VT, VR>(getter, (key) => key, joiner, leftJoin)
  const tableNode = table.nodeName
  b.add((t) => {
    t.addProcessor(name, supplier, parent)
    t.connectProcessorAndStateStores(name, ...stores)
    copartition(t, [parent, tableNode])
  })
  return new KStream<K, VR>(b, name, joined?.keySerde ?? keySerde, undefined, false)
}

/**
 * KStream-GlobalKTable join / leftJoin: `keySelector` maps each stream record to the global table's key. No
 * repartitioning and no co-partitioning (every instance holds the whole table); the processor is named
 * KSTREAM-LEFTJOIN-... for both kinds, as Kafka Streams names it.
 */
export function streamGlobalTableJoin<K, V, GK, GV, VR>(
  stream: KStream<K, V>,
  globalTable: GlobalKTable<GK, GV>,
  keySelector: KeyValueMapper<K, V, GK>,
  joiner: ValueJoinerWithKey<K, V, GV | null, VR>,
  named: string | undefined,
  leftJoin: boolean,
): KStream<K, VR> {
  const b = stream.builder
  b.check()
  if (typeof keySelector !== 'function') {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${leftJoin ? 'leftJoin' : 'join'}(globalTable, keySelector, joiner): the key selector must be a function`,
    )
  }
  checkJoiner(joiner)
  const name = b.nameOr(named, 'KSTREAM-LEFTJOIN-')
  const getter = storeValueGetter<GK, GV>(globalTable.queryableStoreName)
  const supplier = new KStreamKTableJoin<K, V, GK, GV, VR>(getter, keySelector, joiner, leftJoin)
  const parent = stream.nodeName
  b.add((t) => t.addProcessor(name, supplier, parent))
  return new KStream<K, VR>(b, name, stream.keySerde, undefined, stream.repartitionRequired)
}

function checkJoiner(joiner: unknown): void {
  if (typeof joiner !== 'function') {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'the value joiner must be a function (value1, value2) => result')
  }
}

export type TableJoinType = 'inner' | 'left' | 'outer'

/**
 * KTable-KTable join / leftJoin / outerJoin (Kafka Streams' KTableImpl.doJoin): a processor under each table looks
 * the other table up, a merger below both emits the result. Both tables are materialized (their value getters read
 * stores); the result is materialized only when a Materialized is given (named or not).
 */
export function tableTableJoin<K, V, VO, VR>(
  left: KTable<K, V>,
  right: KTable<K, VO>,
  joiner: ValueJoiner<V | null, VO | null, VR>,
  named: string | undefined,
  materialized: Materialized<K, VR> | undefined,
  type: TableJoinType,
): KTable<K, VR> {
  const b = left.builder
  b.check()
  if (!(right instanceof KTable)) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `${joinMethod(type)}(): the other side must be a KTable`)
  }
  checkSameBuilder(left, right, `${joinMethod(type)}()`)
  checkJoiner(joiner)
  // Kafka Streams names the result store before the merge processor (KTABLE-MERGE-STATE-STORE-...).
  const storeName = materialized ? (materialized.storeName ?? b.newStoreName('KTABLE-MERGE-')) : undefined
  const mergeName = b.nameOr(named, 'KTABLE-MERGE-')
  if (type !== 'inner') left.enableSendingOldValues(true)
  if (type === 'outer') right.enableSendingOldValues(true)
  const reverse = (v2: VO | null, v1: V | null) => joiner(v1, v2)
  const thisKind = type === 'inner' ? 'inner' : type === 'left' ? 'left' : 'outer'
  const otherKind = type === 'inner' ? 'inner' : type === 'left' ? 'right' : 'outer'
  const joinThis = new KTableKTableJoin<K, V, VO, VR>(thisKind, left, right, joiner)
  const joinOther = new KTableKTableJoin<K, VO, V, VR>(otherKind, right, left, reverse)
  joinThis.useVersionedSemantics = isVersionedTable(left as KTable<unknown, unknown>)
  joinOther.useVersionedSemantics = isVersionedTable(right as KTable<unknown, unknown>)
  const thisName = named !== undefined ? `${named}-join-this` : b.newProcessorName('KTABLE-JOINTHIS-')
  const otherName = named !== undefined ? `${named}-join-other` : b.newProcessorName('KTABLE-JOINOTHER-')
  if (named !== undefined) {
    // A given name still burns the counter values, as Kafka Streams does.
    b.newProcessorName('KTABLE-JOINTHIS-')
    b.newProcessorName('KTABLE-JOINOTHER-')
  }
  const merger = new KTableKTableJoinMerger<K, VR>(
    joinThis as unknown as KTableKTableJoin<K, unknown, unknown, VR>,
    joinOther as unknown as KTableKTableJoin<K, unknown, unknown, VR>,
    storeName,
  )
  const keySerde = materialized?.keySerde ?? left.keySerde
  const valueSerde = materialized?.valueSerde
  const leftNode = left.nodeName
  const rightNode = right.nodeName
  const thisStores = joinOther.otherStoreNames()
  const otherStores = joinThis.otherStoreNames()
  b.add((t) => {
    t.addProcessor(thisName, joinThis, leftNode)
    t.addProcessor(otherName, joinOther, rightNode)
    t.addProcessor(mergeName, merger, thisName, otherName)
    t.connectProcessorAndStateStores(thisName, ...otherStores)
    t.connectProcessorAndStateStores(otherName, ...thisStores)
    if (storeName !== undefined)
      t.addStateStore(b.storeBuilder(storeName, materialized, keySerde, valueSerde), mergeName)
    copartition(t, [leftNode, rightNode])
  })
  const result = new KTable<K, VR>(b, mergeName, keySerde, valueSerde, merger, materialized?.storeName)
  // As Kafka Streams: the result is versioned only when materialized in a versioned store, never by inheritance.
  result.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
  return result
}

function joinMethod(type: TableJoinType): string {
  return type === 'inner' ? 'join' : type === 'left' ? 'leftJoin' : 'outerJoin'
}

export type { SyncSerde }
