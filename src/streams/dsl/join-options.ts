import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'

const NAME = /^[a-zA-Z0-9._-]+$/

function checkName(name: string): string {
  if (!name || name.length > 249 || !NAME.test(name)) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `join name '${name}' must be 1..249 characters of [a-zA-Z0-9._-]`,
    )
  }
  return name
}

/**
 * Serdes and name of a stream-table join (Kafka Streams' Joined): the key and stream value serdes are used when the
 * stream must be repartitioned before the join; the name names the join processor (and the repartition topic).
 */
export class Joined<K, V, VO> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  otherValueSerde?: SyncSerde<VO>
  name?: string
  /** Only valid with a versioned table, as in Kafka Streams (see docs/streams/joins.md). */
  gracePeriodMs?: number

  static with<K, V, VO>(
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V>,
    otherValueSerde?: SyncSerde<VO>,
    name?: string,
  ): Joined<K, V, VO> {
    const j = new Joined<K, V, VO>()
    j.keySerde = keySerde
    j.valueSerde = valueSerde
    j.otherValueSerde = otherValueSerde
    if (name !== undefined) j.name = checkName(name)
    return j
  }
  static as<K = unknown, V = unknown, VO = unknown>(name: string): Joined<K, V, VO> {
    return new Joined<K, V, VO>().withName(name)
  }
  static keySerde<K, V = unknown, VO = unknown>(serde: SyncSerde<K>): Joined<K, V, VO> {
    return new Joined<K, V, VO>().withKeySerde(serde)
  }
  static valueSerde<K = unknown, V = unknown, VO = unknown>(serde: SyncSerde<V>): Joined<K, V, VO> {
    return new Joined<K, V, VO>().withValueSerde(serde)
  }
  withKeySerde(serde: SyncSerde<K>): this {
    this.keySerde = serde
    return this
  }
  withValueSerde(serde: SyncSerde<V>): this {
    this.valueSerde = serde
    return this
  }
  withOtherValueSerde(serde: SyncSerde<VO>): this {
    this.otherValueSerde = serde
    return this
  }
  withName(name: string): this {
    this.name = checkName(name)
    return this
  }
  /**
   * Buffers stream records this long (stream time) before joining, so that a table update with an earlier timestamp
   * arriving late is still seen. Only with a versioned table (Materialized.as(Stores.persistentVersionedKeyValueStore
   * (...))), as in Kafka Streams: otherwise the join fails with a clear error (docs/streams/joins.md).
   */
  withGracePeriod(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `grace period must be a duration >= 0 ms, got ${ms}`)
    }
    this.gracePeriodMs = ms
    return this
  }
}

/**
 * Name and partitioners of a foreign-key table-table join (Kafka Streams' TableJoined): `partitioner` is how the
 * left table is partitioned (so responses go back to the partition of the left key), `otherPartitioner` how the
 * right (foreign) table is (so subscriptions reach the partition of the foreign key). Both default to the default
 * partitioner; give them when a table was written with a custom one.
 */
export class TableJoined<K, KO> {
  partitioner?: StreamPartitioner<K, void>
  otherPartitioner?: StreamPartitioner<KO, void>
  name?: string

  static with<K, KO>(
    partitioner?: StreamPartitioner<K, void>,
    otherPartitioner?: StreamPartitioner<KO, void>,
  ): TableJoined<K, KO> {
    const t = new TableJoined<K, KO>()
    t.partitioner = partitioner
    t.otherPartitioner = otherPartitioner
    return t
  }
  static as<K = unknown, KO = unknown>(name: string): TableJoined<K, KO> {
    return new TableJoined<K, KO>().withName(name)
  }
  withPartitioner(partitioner: StreamPartitioner<K, void>): this {
    this.partitioner = partitioner
    return this
  }
  withOtherPartitioner(partitioner: StreamPartitioner<KO, void>): this {
    this.otherPartitioner = partitioner
    return this
  }
  withName(name: string): this {
    this.name = checkName(name)
    return this
  }
}
