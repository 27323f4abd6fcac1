/**
 * The DSL side of foreign-key table-table joins (Kafka Streams' KTableImpl.doJoinOnForeignKey): two internal topics
 * named `KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-<n>-topic` and `KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-<n>-topic`
 * (or `<name>-subscription-registration-topic` / `<name>-subscription-response-topic` with TableJoined.as), a
 * subscription store, and node names generated in Kafka Streams' order, so describe() matches Kafka's.
 */

import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'
import { KTableSource, type ValueGetterSupplier } from '../processor/dsl-processors.ts'
import {
  type ForeignKeyJoinSpec,
  foreignTableJoin,
  responseJoin,
  type SubscriptionResponse,
  SubscriptionResponseSerde,
  type SubscriptionWrapper,
  SubscriptionWrapperSerde,
  subscriptionJoin,
  subscriptionReceive,
  subscriptionSend,
} from '../processor/foreign-key-join.ts'
import type { ValueJoiner } from '../processor/join-processors.ts'
import { Serdes } from '../serdes.ts'
import { Stores } from '../state/stores.ts'
import { isVersionedSupplier } from '../state/versioned-store.ts'
import type { TableJoined } from './join-options.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import { copartition, linkUpstream } from './table-joins.ts'
import { isVersionedTable } from './versioned.ts'

export type ForeignKeyExtractor<K, V, KO> = (value: V, key: K) => KO

export function foreignKeyJoin<K, V, KO, VO, VR>(
  left: KTable<K, V>,
  right: KTable<KO, VO>,
  foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>,
  joiner: ValueJoiner<V | null, VO | null, VR>,
  tableJoined: TableJoined<K, KO> | undefined,
  materialized: Materialized<K, VR> | undefined,
  leftJoin: boolean,
): KTable<K, VR> {
  const b = left.builder
  b.check()
  const method = leftJoin ? 'leftJoin' : 'join'
  if (!(right instanceof KTable) || right.builder !== b) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${method}(other, foreignKeyExtractor, joiner): the other side must be a KTable of the same StreamsBuilder`,
    )
  }
  if (typeof foreignKeyExtractor !== 'function' || typeof joiner !== 'function') {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `${method}(other, foreignKeyExtractor, joiner): the foreign key extractor and the joiner must be functions`,
    )
  }
  // Old values of the right table spare needless work; the left table's tell where a row's foreign key was.
  right.enableSendingOldValues(true)
  left.enableSendingOldValues(true)

  const named = tableJoined?.name
  // Kafka Streams' NamedInternal.suffixWithOrElseGet: a given name gets a suffix, the counter is burnt either way.
  const nameFor = (suffix: string, prefix: string) => {
    const generated = b.newProcessorName(prefix)
    return named !== undefined ? named + suffix : generated
  }
  const subscriptionTopic = `${nameFor('-subscription-registration', 'KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-')}-topic`
  const sendName = nameFor('-subscription-registration-processor', 'KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-')
  const subscriptionSinkName = nameFor('-subscription-registration-sink', 'KTABLE-SINK-')
  const subscriptionSourceName = nameFor('-subscription-registration-source', 'KTABLE-SOURCE-')
  const subscriptionStore = nameFor('-subscription-store', 'KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-')
  const receiveName = nameFor('-subscription-receive', 'KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-')
  const joinForeignName = nameFor('-subscription-join-foreign', 'KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-')
  const foreignJoinName = nameFor('-foreign-join-subscription', 'KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-')
  const responseTopic = `${nameFor('-subscription-response', 'KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-')}-topic`
  const responseSinkName = nameFor('-subscription-response-sink', 'KTABLE-SINK-')
  const responseSourceName = nameFor('-subscription-response-source', 'KTABLE-SOURCE-')
  const resolverName = nameFor(
    '-subscription-response-resolver',
    'KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-',
  )
  const resultName = nameFor('-result', 'KTABLE-FK-JOIN-OUTPUT-')
  const resultStore = materialized?.storeName ?? b.newStoreName('KTABLE-FK-JOIN-OUTPUT-')

  const foreignKeySerde = right.keySerde
  const subscriptionSerde = new SubscriptionWrapperSerde<K>(left.keySerde)
  const responseSerde = new SubscriptionResponseSerde<VO>(right.valueSerde)
  const spec: ForeignKeyJoinSpec<K, V, KO, VO, VR> = {
    subscriptionTopic,
    subscriptionStore,
    foreignKeyExtractor,
    joiner,
    leftJoin,
    leftKeySerde: left.keySerde,
    leftValueSerde: left.valueSerde,
    foreignKeySerde,
    leftGetter: left.valueGetterSupplier() as ValueGetterSupplier<K, V>,
    // Versioned semantics (KIP-914): out-of-order updates of a versioned side are dropped on that side.
    leftVersioned: isVersionedTable(left as KTable<unknown, unknown>),
    foreignVersioned: isVersionedTable(right as KTable<unknown, unknown>),
    foreignGetter: right.valueGetterSupplier() as ValueGetterSupplier<KO, VO>,
  }
  const other = tableJoined?.otherPartitioner
  const subscriptionPartitioner: StreamPartitioner<KO, SubscriptionWrapper<K>> | undefined = other
    ? (topic, key, _value, n) => other(topic, key, undefined, n)
    : undefined
  const own = tableJoined?.partitioner
  const responsePartitioner: StreamPartitioner<K, SubscriptionResponse<VO>> = own
    ? (topic, key, _value, n) => own(topic, key, undefined, n)
    : (_topic, _key, value) => value.primaryPartition ?? undefined

  const keySerde = materialized?.keySerde ?? left.keySerde
  const valueSerde = materialized?.valueSerde
  const result = new KTableSource<K, VR>(resultStore, materialized?.storeName)
  const leftNode = left.nodeName
  const rightNode = right.nodeName
  const leftStores = spec.leftGetter.storeNames()
  const foreignStores = spec.foreignGetter.storeNames()
  b.add((t) => {
    t.addInternalTopic(subscriptionTopic)
    t.addProcessor(sendName, subscriptionSend(spec), leftNode)
    t.addSink(
      {
        name: subscriptionSinkName,
        keySerde: foreignKeySerde as SyncSerde<never>,
        valueSerde: subscriptionSerde as unknown as SyncSerde<never>,
        partitioner: subscriptionPartitioner as StreamPartitioner<never, never> | undefined,
      },
      subscriptionTopic,
      sendName,
    )
    t.addSource(
      {
        name: subscriptionSourceName,
        keySerde: foreignKeySerde as SyncSerde<unknown>,
        valueSerde: subscriptionSerde as unknown as SyncSerde<unknown>,
      },
      subscriptionTopic,
    )
    // The subscription topic is read next to the right table, so it must have its partitioning.
    copartition(t, [rightNode, subscriptionSourceName])
    t.addStateStore(
      Stores.timestampedKeyValueStoreBuilder(
        Stores.dslKeyValueStore(subscriptionStore),
        Serdes.Bytes(),
        subscriptionSerde as SyncSerde<SubscriptionWrapper<K>>,
      ).withCachingDisabled(),
    )
    t.addProcessor(receiveName, subscriptionReceive(spec), subscriptionSourceName)
    t.connectProcessorAndStateStores(receiveName, subscriptionStore)
    t.addProcessor(joinForeignName, subscriptionJoin(spec), receiveName)
    t.connectProcessorAndStateStores(joinForeignName, ...foreignStores)
    t.addProcessor(foreignJoinName, foreignTableJoin(spec), rightNode)
    t.connectProcessorAndStateStores(foreignJoinName, subscriptionStore)
    t.addInternalTopic(responseTopic)
    t.addSink(
      {
        name: responseSinkName,
        keySerde: left.keySerde as SyncSerde<never>,
        valueSerde: responseSerde as unknown as SyncSerde<never>,
        partitioner: responsePartitioner as StreamPartitioner<never, never>,
      },
      responseTopic,
      joinForeignName,
      foreignJoinName,
    )
    t.addSource(
      {
        name: responseSourceName,
        keySerde: left.keySerde as SyncSerde<unknown>,
        valueSerde: responseSerde as unknown as SyncSerde<unknown>,
      },
      responseTopic,
    )
    // Responses come back to the left key's partition: the response topic is partitioned as the left table.
    copartition(t, [leftNode, responseSourceName])
    t.addProcessor(resolverName, responseJoin(spec), responseSourceName)
    t.connectProcessorAndStateStores(resolverName, ...leftStores)
    t.addProcessor(resultName, result, resolverName)
    linkUpstream(t, resultName, [leftNode])
    if (result.materialized)
      t.addStateStore(b.storeBuilder(resultStore, materialized, keySerde, valueSerde), resultName)
  })
  const table = new KTable<K, VR>(b, resultName, keySerde, valueSerde, result, materialized?.storeName)
  table.outputVersioned = isVersionedSupplier(materialized?.storeSupplier)
  return table
}
