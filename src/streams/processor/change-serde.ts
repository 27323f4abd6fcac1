import type { RecordLocation, SyncSerde } from '../../serde/serde.ts'
import { SerdeError } from '../../serde/serde.ts'
import { type Change, change } from './record.ts'

/** Serdes a task may complete with its configured defaults (a wrapper built without its inner serde). */
export interface DefaultsAware {
  withDefaults(defaults: { key?: SyncSerde<unknown>; value?: SyncSerde<unknown> }): SyncSerde<unknown>
}

export function isDefaultsAware(serde: unknown): serde is DefaultsAware {
  return typeof (serde as Partial<DefaultsAware>)?.withDefaults === 'function'
}

function varintSize(n: number): number {
  let size = 1
  let v = (n << 1) ^ (n >> 31)
  while ((v & ~0x7f) !== 0) {
    size++
    v >>>= 7
  }
  return size
}

/**
 * Carries a KTable change (new and old value) through a repartition topic, in Kafka Streams' ChangedSerializer
 * format: `{old}{0}`, `{new}{1}`, or `{varint newLength}{new}{old}{2}`.
 */
export class ChangeSerde<V> implements SyncSerde<Change<V>>, DefaultsAware {
  readonly inner: SyncSerde<V> | undefined
  constructor(inner: SyncSerde<V> | undefined) {
    this.inner = inner
  }
  withDefaults(defaults: { value?: SyncSerde<unknown> }): SyncSerde<unknown> {
    return this.inner ? this : new ChangeSerde(defaults.value as SyncSerde<V> | undefined)
  }
  #serde(): SyncSerde<V> {
    if (!this.inner) {
      throw new SerdeError(
        'TRB_SERDE_CONFIG',
        'no value serde for a KTable repartition topic: give one with Grouped.with(...) or set default.value.serde',
      )
    }
    return this.inner
  }
  serializeSync(topic: string, data: Change<V>): Buffer {
    const serde = this.#serde()
    const n = data.newValue === null || data.newValue === undefined ? null : serde.serializeSync(topic, data.newValue)
    const o = data.oldValue === null || data.oldValue === undefined ? null : serde.serializeSync(topic, data.oldValue)
    if (n && o) {
      const size = varintSize(n.length)
      const out = Buffer.allocUnsafe(size + n.length + o.length + 1)
      let v = (n.length << 1) ^ (n.length >> 31)
      let pos = 0
      while ((v & ~0x7f) !== 0) {
        out[pos++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
      out[pos++] = v
      n.copy(out, pos)
      o.copy(out, pos + n.length)
      out[out.length - 1] = 2
      return out
    }
    if (n) return Buffer.concat([n, Buffer.from([1])])
    if (o) return Buffer.concat([o, Buffer.from([0])])
    throw new SerdeError('TRB_SERDE_INVALID_VALUE', 'both old and new values of a change are null', { topic })
  }
  deserializeSync(data: Buffer, where?: RecordLocation): Change<V> {
    const serde = this.#serde()
    let flag = data[data.length - 1]
    let body = data.subarray(0, data.length - 1)
    let isLatest = true
    // Flags 3, 4 and 5 are 0, 1 and 2 with an isLatest byte before the flag (Kafka Streams 3.5+ reads them; KIP-914).
    if (flag === 3 || flag === 4 || flag === 5) {
      const latest = body[body.length - 1]
      if (latest !== 0 && latest !== 1) {
        throw new SerdeError('TRB_SERDE_UNDECODABLE', `unexpected isLatest byte ${latest} in a change`, where)
      }
      isLatest = latest === 1
      body = body.subarray(0, body.length - 1)
      flag -= 3
    }
    if (flag === 1) return change(serde.deserializeSync(body, where), null, isLatest)
    if (flag === 0) return change<V>(null, serde.deserializeSync(body, where), isLatest)
    if (flag === 2) {
      let raw = 0
      let shift = 0
      let pos = 0
      for (;;) {
        const b = body[pos++]
        raw |= (b & 0x7f) << shift
        if ((b & 0x80) === 0) break
        shift += 7
      }
      const len = (raw >>> 1) ^ -(raw & 1)
      return change(
        serde.deserializeSync(body.subarray(pos, pos + len), where),
        serde.deserializeSync(body.subarray(pos + len), where),
        isLatest,
      )
    }
    throw new SerdeError('TRB_SERDE_UNDECODABLE', `unknown change encoding flag ${flag}`, where)
  }
  async serialize(topic: string, data: Change<V>): Promise<Buffer> {
    return this.serializeSync(topic, data)
  }
  async deserialize(data: Buffer, where?: RecordLocation): Promise<Change<V>> {
    return this.deserializeSync(data, where)
  }
  async prepareSerialize(topic: string): Promise<void> {
    await this.inner?.prepareSerialize(topic, { isKey: false })
  }
  async prepareDeserialize(data: Buffer, where?: RecordLocation): Promise<void> {
    // The payload's inner value carries the schema header: hand the new (or old) value to the inner serde.
    const d = this.deserializeSafe(data, where)
    if (d) await this.inner?.prepareDeserialize(d, where)
  }
  private deserializeSafe(data: Buffer, _where?: RecordLocation): Buffer | undefined {
    const flag = data[data.length - 1]
    if (flag === 0 || flag === 1) return data.subarray(0, data.length - 1)
    if (flag === 3 || flag === 4) return data.subarray(0, data.length - 2)
    return undefined
  }
}
