/**
 * Foreign-key table-table joins (Kafka Streams' foreignkeyjoin package, 4.x semantics), as four processors around
 * two internal topics:
 *
 *   left table ─► SubscriptionSend ─► <app>-…-SUBSCRIPTION-REGISTRATION-…-topic (keyed by foreign key)
 *     ─► SubscriptionReceive (subscription store: foreign key + left key) ─► SubscriptionJoin (looks the right table up)
 *   right table ─► ForeignTableJoin (prefix scan of the subscription store: every left key subscribed to it)
 *     both ─► <app>-…-SUBSCRIPTION-RESPONSE-…-topic (back to the left key's partition)
 *     ─► ResponseJoin (drops a response computed for an older left value: hash mismatch) ─► result table
 *
 * A subscription carries a 128-bit hash of the left value it was computed for; the response carries it back, so a
 * response overtaken by a newer left update (or a deletion) is dropped instead of emitting a stale result.
 */
import { createHash } from 'node:crypto'
import type { RecordLocation, SyncSerde } from '../../serde/serde.ts'
import { SerdeError } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import type { TimestampedKeyValueStore } from '../state/key-value-store.ts'
import type { InternalProcessorContext, Processor, ProcessorContext } from './api.ts'
import type { DefaultsAware } from './change-serde.ts'
import type { ValueGetterSupplier } from './dsl-processors.ts'
import { DropReason, type ValueJoiner } from './join-processors.ts'
import { type Change, change, type ValueAndTimestamp } from './record.ts'

type Ctx = InternalProcessorContext<unknown, unknown>

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined

/** What the receiving side does with a subscription (Kafka's SubscriptionWrapper.Instruction, same byte values). */
export const Instruction = {
  /** Remove the subscription; emit nothing. */
  DELETE_KEY_NO_PROPAGATE: 0,
  /** Remove the subscription; emit a response without a foreign value (the result is deleted). */
  DELETE_KEY_AND_PROPAGATE: 1,
  /** Subscribe; respond with the foreign value, or without one when there is none (the result is reset). */
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE: 2,
  /** Subscribe; respond only when the foreign value exists. */
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE: 3,
} as const
export type Instruction = (typeof Instruction)[keyof typeof Instruction]

export interface SubscriptionWrapper<K> {
  /** Hash of the left value the subscription was made for (null when the left row was deleted). */
  readonly hash: Buffer | null
  readonly instruction: Instruction
  readonly primaryKey: K
  /** The left key's partition, so the response goes back there (null in version 0). */
  readonly primaryPartition: number | null
}

export interface SubscriptionResponse<VO> {
  readonly hash: Buffer | null
  readonly foreignValue: VO | null
  /** Only used to route the response: not carried over the topic. */
  readonly primaryPartition: number | null
}

const HASH_BYTES = 16
const SUBSCRIPTION_VERSION = 1
const RESPONSE_VERSION = 0

/** A 128-bit digest of a serialized left value (only compared with itself: any strong hash will do). */
export function valueHash(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, HASH_BYTES)
}

function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}

function missingSerde(what: string): SerdeError {
  return new SerdeError(
    'TRB_SERDE_CONFIG',
    `no ${what} serde for a foreign-key join: give the tables' serdes (Consumed / Materialized) or set ` +
      'default.key.serde / default.value.serde',
  )
}

/**
 * The subscription topic's (and subscription store's) value format, as Kafka Streams writes version 1:
 * `{1 bit hash-is-null}{7 bits version}{instruction}{16-byte hash, when present}{left key}{int32 partition}`.
 */
export class SubscriptionWrapperSerde<K> implements SyncSerde<SubscriptionWrapper<K>>, DefaultsAware {
  readonly #primaryKeySerde: SyncSerde<K> | undefined
  constructor(primaryKeySerde: SyncSerde<K> | undefined) {
    this.#primaryKeySerde = primaryKeySerde
  }
  withDefaults(defaults: { key?: SyncSerde<unknown> }): SyncSerde<unknown> {
    return this.#primaryKeySerde
      ? (this as SyncSerde<unknown>)
      : (new SubscriptionWrapperSerde(defaults.key) as SyncSerde<unknown>)
  }
  #serde(): SyncSerde<K> {
    if (!this.#primaryKeySerde) throw missingSerde('left key')
    return this.#primaryKeySerde
  }
  serializeSync(topic: string, w: SubscriptionWrapper<K>): Buffer {
    const pk = this.#serde().serializeSync(topic, w.primaryKey, { isKey: true })
    const hashLength = w.hash ? HASH_BYTES : 0
    const out = Buffer.allocUnsafe(2 + hashLength + pk.length + 4)
    out[0] = w.hash ? SUBSCRIPTION_VERSION : SUBSCRIPTION_VERSION | 0x80
    out[1] = w.instruction
    if (w.hash) w.hash.copy(out, 2)
    pk.copy(out, 2 + hashLength)
    out.writeInt32BE(w.primaryPartition ?? -1, 2 + hashLength + pk.length)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): SubscriptionWrapper<K> {
    if (data.length < 2) throw new SerdeError('TRB_SERDE_UNDECODABLE', 'subscription record too short', where)
    const version = data[0] & 0x7f
    const hashNull = (data[0] & 0x80) !== 0
    const instruction = data[1]
    if (version > SUBSCRIPTION_VERSION || instruction > 3) {
      throw new SerdeError(
        'TRB_SERDE_UNDECODABLE',
        `unsupported subscription record (version ${version}, instruction ${instruction})`,
        where,
      )
    }
    let pos = 2
    const hash = hashNull ? null : Buffer.from(data.subarray(pos, pos + HASH_BYTES))
    if (!hashNull) pos += HASH_BYTES
    const end = version > 0 ? data.length - 4 : data.length
    if (end < pos) throw new SerdeError('TRB_SERDE_UNDECODABLE', 'subscription record too short', where)
    const primaryKey = this.#serde().deserializeSync(data.subarray(pos, end), { ...where, isKey: true })
    const primaryPartition = version > 0 ? data.readInt32BE(end) : null
    return { hash, instruction: instruction as Instruction, primaryKey, primaryPartition }
  }
  async serialize(topic: string, w: SubscriptionWrapper<K>): Promise<Buffer> {
    return this.serializeSync(topic, w)
  }
  async deserialize(data: Buffer, where?: RecordLocation): Promise<SubscriptionWrapper<K>> {
    return this.deserializeSync(data, where)
  }
  async prepareSerialize(topic: string): Promise<void> {
    await this.#primaryKeySerde?.prepareSerialize(topic, { isKey: true })
  }
  async prepareDeserialize(): Promise<void> {}
}

/**
 * The response topic's value format, as Kafka Streams writes it:
 * `{1 bit hash-is-null}{7 bits version}{16-byte hash, when present}{foreign value, when present}`. As in Kafka
 * Streams, a foreign value that serializes to zero bytes reads back as no value.
 */
export class SubscriptionResponseSerde<VO> implements SyncSerde<SubscriptionResponse<VO>>, DefaultsAware {
  readonly #valueSerde: SyncSerde<VO> | undefined
  constructor(valueSerde: SyncSerde<VO> | undefined) {
    this.#valueSerde = valueSerde
  }
  withDefaults(defaults: { value?: SyncSerde<unknown> }): SyncSerde<unknown> {
    return this.#valueSerde
      ? (this as SyncSerde<unknown>)
      : (new SubscriptionResponseSerde(defaults.value) as SyncSerde<unknown>)
  }
  #serde(): SyncSerde<VO> {
    if (!this.#valueSerde) throw missingSerde('right table value')
    return this.#valueSerde
  }
  serializeSync(topic: string, r: SubscriptionResponse<VO>): Buffer {
    const value = isNull(r.foreignValue) ? null : this.#serde().serializeSync(topic, r.foreignValue)
    const hashLength = r.hash ? HASH_BYTES : 0
    const out = Buffer.allocUnsafe(1 + hashLength + (value?.length ?? 0))
    out[0] = r.hash ? RESPONSE_VERSION : RESPONSE_VERSION | 0x80
    if (r.hash) r.hash.copy(out, 1)
    value?.copy(out, 1 + hashLength)
    return out
  }
  deserializeSync(data: Buffer, where?: RecordLocation): SubscriptionResponse<VO> {
    if (data.length < 1) throw new SerdeError('TRB_SERDE_UNDECODABLE', 'subscription response is empty', where)
    const version = data[0] & 0x7f
    if (version !== RESPONSE_VERSION) {
      throw new SerdeError('TRB_SERDE_UNDECODABLE', `unsupported subscription response version ${version}`, where)
    }
    const hashNull = (data[0] & 0x80) !== 0
    const start = hashNull ? 1 : 1 + HASH_BYTES
    const hash = hashNull ? null : Buffer.from(data.subarray(1, start))
    const foreignValue = data.length > start ? this.#serde().deserializeSync(data.subarray(start), where) : null
    return { hash, foreignValue, primaryPartition: null }
  }
  async serialize(topic: string, r: SubscriptionResponse<VO>): Promise<Buffer> {
    return this.serializeSync(topic, r)
  }
  async deserialize(data: Buffer, where?: RecordLocation): Promise<SubscriptionResponse<VO>> {
    return this.deserializeSync(data, where)
  }
  async prepareSerialize(topic: string): Promise<void> {
    await this.#valueSerde?.prepareSerialize(topic, { isKey: false })
  }
  async prepareDeserialize(): Promise<void> {}
}

/** The subscription store's key: `{int32 length}{foreign key}{left key}`, so a prefix scan finds every subscriber. */
class CombinedKeySchema<KO, K> {
  readonly #fkSerde: SyncSerde<KO>
  readonly #pkSerde: SyncSerde<K>
  readonly #fkTopic: string
  readonly #pkTopic: string
  constructor(fkSerde: SyncSerde<KO>, pkSerde: SyncSerde<K>, fkTopic: string, pkTopic: string) {
    this.#fkSerde = fkSerde
    this.#pkSerde = pkSerde
    this.#fkTopic = fkTopic
    this.#pkTopic = pkTopic
  }
  prefix(foreignKey: KO): Buffer {
    const fk = this.#fkSerde.serializeSync(this.#fkTopic, foreignKey, { isKey: true })
    const out = Buffer.allocUnsafe(4 + fk.length)
    out.writeInt32BE(fk.length, 0)
    fk.copy(out, 4)
    return out
  }
  toBytes(foreignKey: KO, primaryKey: K): Buffer {
    return Buffer.concat([
      this.prefix(foreignKey),
      this.#pkSerde.serializeSync(this.#pkTopic, primaryKey, { isKey: true }),
    ])
  }
  primaryKeyOf(bytes: Buffer): K {
    const fkLength = bytes.readInt32BE(0)
    return this.#pkSerde.deserializeSync(bytes.subarray(4 + fkLength), { topic: this.#pkTopic, isKey: true })
  }
}

const BYTES_PREFIX = { serializeSync: (_topic: string, value: Buffer) => value }

/** What the DSL hands the processors: names and serdes known when the topology is built. */
export interface ForeignKeyJoinSpec<K, V, KO, VO, VR> {
  /** The subscription topic's name without the application id (the pseudo topics of the serdes derive from it). */
  readonly subscriptionTopic: string
  readonly subscriptionStore: string
  readonly foreignKeyExtractor: (value: V, key: K) => KO
  readonly joiner: ValueJoiner<V | null, VO | null, VR>
  readonly leftJoin: boolean
  readonly leftKeySerde: SyncSerde<K> | undefined
  readonly leftValueSerde: SyncSerde<V> | undefined
  readonly foreignKeySerde: SyncSerde<KO> | undefined
  readonly leftGetter: ValueGetterSupplier<K, V>
  readonly foreignGetter: ValueGetterSupplier<KO, VO>
  /** The left table is versioned (KIP-914): its out-of-order updates send no subscription. */
  readonly leftVersioned?: boolean
  /** The right (foreign) table is versioned: its out-of-order updates answer no subscriber. */
  readonly foreignVersioned?: boolean
}

/** Serdes resolved against the task's defaults, and the pseudo topics Kafka Streams serializes them for. */
function resolve<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>, ctx: ProcessorContext) {
  const base = `${ctx.applicationId}-${spec.subscriptionTopic}`
  const keySerde = (spec.leftKeySerde ?? ctx.keySerde) as SyncSerde<K> | undefined
  const valueSerde = (spec.leftValueSerde ?? ctx.valueSerde) as SyncSerde<V> | undefined
  const fkSerde = (spec.foreignKeySerde ?? ctx.keySerde) as SyncSerde<KO> | undefined
  if (!keySerde)
    throw streamsError('TRB_STREAMS_MISSING_SERDE', `${spec.subscriptionTopic}: ${missingSerde('left key').message}`)
  if (!valueSerde) {
    throw streamsError('TRB_STREAMS_MISSING_SERDE', `${spec.subscriptionTopic}: ${missingSerde('left value').message}`)
  }
  if (!fkSerde)
    throw streamsError('TRB_STREAMS_MISSING_SERDE', `${spec.subscriptionTopic}: ${missingSerde('foreign key').message}`)
  const fkTopic = `${base}-fk`
  const vhTopic = `${base}-vh`
  return {
    keySerde,
    valueSerde,
    fkSerde,
    fkTopic,
    schema: new CombinedKeySchema<KO, K>(fkSerde, keySerde, fkTopic, `${base}-pk`),
    hash: (value: V) => valueHash(valueSerde.serializeSync(vhTopic, value)),
  }
}

/** Under the left table: turns each change into subscriptions keyed by the old and new foreign keys. */
export function subscriptionSend<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>) {
  return (): Processor<K, Change<V>, KO | null, SubscriptionWrapper<K>> => {
    let ctx: Ctx
    let r!: ReturnType<typeof resolve<K, V, KO, VO, VR>>
    const fkBytes = (fk: KO | null) => (isNull(fk) ? null : r.fkSerde.serializeSync(r.fkTopic, fk, { isKey: true }))
    const sameForeignKey = (a: KO | null, b: KO | null) => {
      const x = fkBytes(a)
      const y = fkBytes(b)
      return x === null || y === null ? x === y : x.equals(y)
    }
    return {
      init(c) {
        ctx = c as unknown as Ctx
        r = resolve(spec, c as ProcessorContext)
      },
      process(record) {
        // As Kafka Streams (KIP-914): an out-of-order update of a versioned left table is dropped (and counted).
        if (spec.leftVersioned && !record.value.isLatest) {
          ctx.recordDropped(DropReason.OUT_OF_ORDER_VERSIONED)
          return
        }
        const { newValue, oldValue } = record.value
        let hash: Buffer | null | undefined
        const send = (foreignKey: KO | null, instruction: Instruction) => {
          if (hash === undefined) hash = isNull(newValue) ? null : r.hash(newValue)
          const wrapper: SubscriptionWrapper<K> = {
            hash,
            instruction,
            primaryKey: record.key,
            primaryPartition: ctx.recordMetadata()?.partition ?? 0,
          }
          ctx.forward(record.withKey(foreignKey).withValue(wrapper))
        }
        const extract = (value: V | null): KO | null => {
          if (isNull(value)) return null
          const fk = spec.foreignKeyExtractor(value, record.key)
          return isNull(fk) ? null : fk
        }
        if (spec.leftJoin) {
          if (!isNull(oldValue)) {
            const oldFk = extract(oldValue)
            const newFk = extract(newValue)
            if (oldFk !== null && !sameForeignKey(newFk, oldFk)) send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE)
            send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE)
          } else if (!isNull(newValue)) {
            send(extract(newValue), Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE)
          }
          return
        }
        if (!isNull(oldValue)) {
          const oldFk = extract(oldValue)
          const newFk = extract(newValue)
          if (oldFk === null && newFk === null) ctx.recordDropped(DropReason.NULL_FOREIGN_KEY)
          else if (oldFk === null) send(newFk, Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE)
          else if (newFk === null) send(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE)
          else if (!sameForeignKey(newFk, oldFk)) {
            send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE)
            send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE)
          } else send(newFk, Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE)
        } else if (!isNull(newValue)) {
          const newFk = extract(newValue)
          if (newFk === null) ctx.recordDropped(DropReason.NULL_FOREIGN_KEY)
          else send(newFk, Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE)
        }
      },
    }
  }
}

/** The (foreign key, left key) pair the receiving side works with. */
export interface CombinedKey<KO, K> {
  readonly foreignKey: KO | null
  readonly primaryKey: K
}

/** After the subscription topic: keeps subscriptions in the store (prefix-scannable by foreign key). */
export function subscriptionReceive<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>) {
  return (): Processor<
    KO | null,
    SubscriptionWrapper<K>,
    CombinedKey<KO, K>,
    Change<ValueAndTimestamp<SubscriptionWrapper<K>>>
  > => {
    let ctx: Ctx
    let store: TimestampedKeyValueStore<Buffer, SubscriptionWrapper<K>>
    let r!: ReturnType<typeof resolve<K, V, KO, VO, VR>>
    return {
      init(c) {
        ctx = c as unknown as Ctx
        r = resolve(spec, c as ProcessorContext)
        store = c.getStateStore(spec.subscriptionStore)
      },
      process(record) {
        const w = record.value
        if (isNull(record.key) && w.instruction !== Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE) {
          ctx.recordDropped(DropReason.NULL_FOREIGN_KEY)
          return
        }
        const newValue = { value: w, timestamp: record.timestamp }
        let oldValue: ValueAndTimestamp<SubscriptionWrapper<K>> | null = null
        if (!isNull(record.key)) {
          const key = r.schema.toBytes(record.key, w.primaryKey)
          oldValue = store.get(key) ?? null
          if (
            w.instruction === Instruction.DELETE_KEY_AND_PROPAGATE ||
            w.instruction === Instruction.DELETE_KEY_NO_PROPAGATE
          ) {
            store.delete(key)
          } else {
            store.put(key, newValue)
          }
        }
        ctx.forward(
          record
            .withKey({ foreignKey: isNull(record.key) ? null : record.key, primaryKey: w.primaryKey })
            .withValue(change(newValue, oldValue)),
        )
      },
    }
  }
}

/** Looks the right table up for a subscription and answers it as its instruction says. */
export function subscriptionJoin<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>) {
  return (): Processor<
    CombinedKey<KO, K>,
    Change<ValueAndTimestamp<SubscriptionWrapper<K>>>,
    K,
    SubscriptionResponse<VO>
  > => {
    let ctx: Ctx
    const foreign = spec.foreignGetter.get()
    return {
      init(c) {
        ctx = c as unknown as Ctx
        foreign.init(c as ProcessorContext)
      },
      process(record) {
        const vt = record.value.newValue!
        const w = vt.value
        const fv = record.key.foreignKey === null ? null : foreign.get(record.key.foreignKey)
        const timestamp = fv ? Math.max(vt.timestamp, fv.timestamp) : vt.timestamp
        const respond = (foreignValue: VO | null) =>
          ctx.forward(
            record
              .withKey(record.key.primaryKey)
              .withValue({ hash: w.hash, foreignValue, primaryPartition: w.primaryPartition })
              .withTimestamp(timestamp),
          )
        switch (w.instruction) {
          case Instruction.DELETE_KEY_AND_PROPAGATE:
            respond(null)
            break
          case Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE:
            respond(fv ? fv.value : null)
            break
          case Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE:
            if (fv) respond(fv.value)
            break
          case Instruction.DELETE_KEY_NO_PROPAGATE:
            break
        }
      },
    }
  }
}

/** Under the right table: a change of a foreign row answers every left key subscribed to it. */
export function foreignTableJoin<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>) {
  return (): Processor<KO, Change<VO>, K, SubscriptionResponse<VO>> => {
    let ctx: Ctx
    let store: TimestampedKeyValueStore<Buffer, SubscriptionWrapper<K>>
    let r!: ReturnType<typeof resolve<K, V, KO, VO, VR>>
    return {
      init(c) {
        ctx = c as unknown as Ctx
        r = resolve(spec, c as ProcessorContext)
        store = c.getStateStore(spec.subscriptionStore)
      },
      process(record) {
        if (isNull(record.key)) {
          ctx.recordDropped(DropReason.NULL_KEY)
          return
        }
        if (spec.foreignVersioned && !record.value.isLatest) {
          ctx.recordDropped(DropReason.OUT_OF_ORDER_VERSIONED)
          return
        }
        const it = store.prefixScan(r.schema.prefix(record.key), BYTES_PREFIX)
        try {
          for (const { key, value } of it) {
            ctx.forward(
              record.withKey(r.schema.primaryKeyOf(key)).withValue({
                hash: value.value.hash,
                foreignValue: record.value.newValue,
                primaryPartition: value.value.primaryPartition,
              }),
            )
          }
        } finally {
          it.close()
        }
      },
    }
  }
}

/** After the response topic: joins with the current left value, unless the response was for an older one. */
export function responseJoin<K, V, KO, VO, VR>(spec: ForeignKeyJoinSpec<K, V, KO, VO, VR>) {
  return (): Processor<K, SubscriptionResponse<VO>, K, VR | null> => {
    let ctx: Ctx
    let r!: ReturnType<typeof resolve<K, V, KO, VO, VR>>
    const left = spec.leftGetter.get()
    return {
      init(c) {
        ctx = c as unknown as Ctx
        r = resolve(spec, c as ProcessorContext)
        left.init(c as ProcessorContext)
      },
      process(record) {
        const current = left.get(record.key)
        const currentHash = current ? r.hash(current.value) : null
        if (!sameHash(record.value.hash, currentHash)) {
          ctx.recordDropped(DropReason.STALE_FK_RESPONSE)
          return
        }
        const foreignValue = record.value.foreignValue
        const result =
          isNull(foreignValue) && (!spec.leftJoin || !current)
            ? null
            : spec.joiner(current ? current.value : null, isNull(foreignValue) ? null : foreignValue)
        ctx.forward(record.withValue(result))
      },
    }
  }
}
