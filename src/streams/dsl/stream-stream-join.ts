/**
 * KStream-KStream windowed joins (Kafka Streams' KStreamImplJoin): topology, store names and options
 * (StreamJoined). Processors in processor/stream-join-processors.ts.
 */
import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import { passThrough } from '../processor/dsl-processors.ts'
import {
  kstreamJoinWindow,
  kstreamKStreamJoin,
  SharedTimeTrackers,
  type StreamValueJoiner,
} from '../processor/stream-join-processors.ts'
import { Serdes } from '../serdes.ts'
import { Stores } from '../state/stores.ts'
import { type WindowBytesStoreSupplier, WindowStores } from '../state/window-store.ts'
import { KStream } from './kstream.ts'
import type { JoinWindows } from './windows.ts'

/** Serdes, names and stores of a stream-stream join (Kafka Streams' StreamJoined). */
export class StreamJoined<K, V1, V2> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V1>
  otherValueSerde?: SyncSerde<V2>
  name?: string
  storeName?: string
  thisStoreSupplier?: WindowBytesStoreSupplier
  otherStoreSupplier?: WindowBytesStoreSupplier
  loggingEnabled = true
  logConfig: Record<string, string> = {}

  #copy(change: (s: StreamJoined<K, V1, V2>) => void): StreamJoined<K, V1, V2> {
    const s = Object.assign(new StreamJoined<K, V1, V2>(), this)
    s.logConfig = { ...this.logConfig }
    change(s)
    return s
  }
  static with<K, V1, V2>(
    keySerde?: SyncSerde<K>,
    valueSerde?: SyncSerde<V1>,
    otherValueSerde?: SyncSerde<V2>,
  ): StreamJoined<K, V1, V2> {
    return new StreamJoined<K, V1, V2>().#copy((s) => {
      s.keySerde = keySerde
      s.valueSerde = valueSerde
      s.otherValueSerde = otherValueSerde
    })
  }
  /** The base name of the join's stores (`<name>-this-join-store`, `<name>-other-join-store`...). */
  static as<K, V1, V2>(storeName: string): StreamJoined<K, V1, V2> {
    return new StreamJoined<K, V1, V2>().withStoreName(storeName)
  }
  static withStoreSuppliers<K, V1, V2>(
    thisStore: WindowBytesStoreSupplier,
    otherStore: WindowBytesStoreSupplier,
  ): StreamJoined<K, V1, V2> {
    return new StreamJoined<K, V1, V2>().withThisStoreSupplier(thisStore).withOtherStoreSupplier(otherStore)
  }
  withName(name: string): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.name = name
    })
  }
  withStoreName(storeName: string): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.storeName = storeName
    })
  }
  withKeySerde(serde: SyncSerde<K>): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.keySerde = serde
    })
  }
  withValueSerde(serde: SyncSerde<V1>): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.valueSerde = serde
    })
  }
  withOtherValueSerde(serde: SyncSerde<V2>): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.otherValueSerde = serde
    })
  }
  withThisStoreSupplier(supplier: WindowBytesStoreSupplier): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.thisStoreSupplier = supplier
    })
  }
  withOtherStoreSupplier(supplier: WindowBytesStoreSupplier): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.otherStoreSupplier = supplier
    })
  }
  withLoggingEnabled(config: Record<string, string> = {}): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.loggingEnabled = true
      s.logConfig = { ...config }
    })
  }
  withLoggingDisabled(): StreamJoined<K, V1, V2> {
    return this.#copy((s) => {
      s.loggingEnabled = false
    })
  }
}

export type StreamJoinKind = 'inner' | 'left' | 'outer'

function checkSupplier(s: WindowBytesStoreSupplier, windows: JoinWindows): void {
  if (!s.retainDuplicates) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `join store ${s.name}: the store supplier must retain duplicates (retainDuplicates = true)`,
    )
  }
  if (s.retentionPeriod !== windows.size() + windows.graceMs || s.windowSize !== windows.size()) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `join store ${s.name}: window size ${s.windowSize} and retention ${s.retentionPeriod} must match the join ` +
        `windows (size ${windows.size()}, retention ${windows.size() + windows.graceMs})`,
    )
  }
}

export function streamStreamJoin<K, V1, V2, VR>(
  lhs: KStream<K, V1>,
  rhs: KStream<K, V2>,
  joiner: StreamValueJoiner<K, V1 | null, V2 | null, VR>,
  windows: JoinWindows,
  joined: StreamJoined<K, V1, V2> | undefined,
  kind: StreamJoinKind,
): KStream<K, VR> {
  const b = lhs.builder
  b.check()
  if (rhs.builder !== b) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'join(): both streams must come from the same StreamsBuilder')
  }
  const j = joined ?? new StreamJoined<K, V1, V2>()
  const keySerde = j.keySerde ?? lhs.keySerde ?? rhs.keySerde
  const leftSerde = j.valueSerde ?? lhs.valueSerde
  const rightSerde = j.otherValueSerde ?? rhs.valueSerde
  // Streams whose key changed are repartitioned first, so both sides are co-partitioned.
  const side = <V>(s: KStream<K, V>, suffix: string, serde: SyncSerde<V> | undefined): string =>
    s.repartitionRequired
      ? b.repartition(
          s.nodeName,
          j.name !== undefined ? `${j.name}-${suffix}` : b.newProcessorName('KSTREAM-REPARTITION-'),
          keySerde,
          serde,
        )
      : s.nodeName
  const left = side(lhs, 'left', leftSerde)
  const right = rhs === (lhs as unknown) ? left : side(rhs, 'right', rightSerde)
  const leftOuter = kind !== 'inner'
  const rightOuter = kind === 'outer'
  const named = (suffix: string, prefix: string) =>
    j.name !== undefined ? `${j.name}${suffix}` : b.newProcessorName(prefix)
  const thisWindowed = named('-this-windowed', 'KSTREAM-WINDOWED-')
  const otherWindowed = named('-other-windowed', 'KSTREAM-WINDOWED-')
  const joinThisGenerated = b.newProcessorName(rightOuter ? 'KSTREAM-OUTERTHIS-' : 'KSTREAM-JOINTHIS-')
  const joinOtherGenerated = b.newProcessorName(leftOuter ? 'KSTREAM-OUTEROTHER-' : 'KSTREAM-JOINOTHER-')
  const thisSuffix = rightOuter ? '-outer-this-join' : '-this-join'
  const otherSuffix = leftOuter ? '-outer-other-join' : '-other-join'
  const joinThis = j.name !== undefined ? `${j.name}${thisSuffix}` : joinThisGenerated
  const joinOther = j.name !== undefined ? `${j.name}${otherSuffix}` : joinOtherGenerated
  const merge = named('-merge', 'KSTREAM-MERGE-')

  const retention = windows.size() + windows.graceMs
  const joinStore = (given: WindowBytesStoreSupplier | undefined, base: string) => {
    if (given) checkSupplier(given, windows)
    return given ?? WindowStores.dslWindowStore(`${base}-store`, retention, windows.size(), true)
  }
  if (j.thisStoreSupplier && j.otherStoreSupplier && j.thisStoreSupplier.name === j.otherStoreSupplier.name) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', 'join(): both store suppliers have the same name')
  }
  const thisSupplier = joinStore(j.thisStoreSupplier, j.storeName ? j.storeName + thisSuffix : joinThisGenerated)
  const otherSupplier = joinStore(j.otherStoreSupplier, j.storeName ? j.storeName + otherSuffix : joinOtherGenerated)
  const logging = (builder: {
    withLoggingEnabled(c: Record<string, string>): unknown
    withLoggingDisabled(): unknown
  }) =>
    j.loggingEnabled
      ? builder.withLoggingEnabled({ ...j.logConfig, 'cleanup.policy': 'delete' })
      : builder.withLoggingDisabled()
  const thisStore = WindowStores.windowStoreBuilder(thisSupplier, keySerde, leftSerde)
  const otherStore = WindowStores.windowStoreBuilder(otherSupplier, keySerde, rightSerde)
  logging(thisStore)
  logging(otherStore)

  let outerStoreName: string | undefined
  let outerStore: ReturnType<typeof Stores.keyValueStoreBuilder<Buffer, Buffer>> | undefined
  if (leftOuter) {
    const suffix = rightOuter ? '-outer-shared-join' : '-left-shared-join'
    const base = j.thisStoreSupplier
      ? j.thisStoreSupplier.name + suffix
      : j.storeName !== undefined
        ? j.storeName + suffix
        : `KSTREAM-OUTERSHARED-${joinThisGenerated.slice((rightOuter ? 'KSTREAM-OUTERTHIS-' : 'KSTREAM-JOINTHIS-').length)}`
    outerStoreName = `${base}-store`
    outerStore = Stores.keyValueStoreBuilder(
      Stores.dslKeyValueStore(outerStoreName),
      Serdes.Bytes() as SyncSerde<Buffer>,
      Serdes.Bytes() as SyncSerde<Buffer>,
    )
    if (j.loggingEnabled) outerStore.withLoggingEnabled(j.logConfig)
    else outerStore.withLoggingDisabled()
  }

  const trackers = new SharedTimeTrackers()
  const common = {
    outerStoreName,
    beforeMs: windows.beforeMs,
    afterMs: windows.afterMs,
    graceMs: windows.graceMs,
    joiner,
    trackers,
    keySerde,
    leftValueSerde: leftSerde,
    rightValueSerde: rightSerde,
  }
  const thisJoin = kstreamKStreamJoin<K, V1, V2, VR>({
    ...common,
    leftSide: true,
    otherStoreName: otherSupplier.name,
    outer: leftOuter,
  })
  const otherJoin = kstreamKStreamJoin<K, V1, V2, VR>({
    ...common,
    leftSide: false,
    otherStoreName: thisSupplier.name,
    outer: rightOuter,
  })
  b.add((t) => {
    t.addProcessor(thisWindowed, kstreamJoinWindow(thisSupplier.name), left)
    t.addProcessor(otherWindowed, kstreamJoinWindow(otherSupplier.name), right)
    t.addProcessor(joinThis, thisJoin, thisWindowed)
    t.addProcessor(joinOther, otherJoin, otherWindowed)
    t.addProcessor(merge, passThrough(), joinThis, joinOther)
    t.addStateStore(thisStore, thisWindowed, joinOther)
    t.addStateStore(otherStore, otherWindowed, joinThis)
    if (outerStore && outerStoreName) t.addStateStore(outerStore, joinThis, joinOther)
  })
  return new KStream<K, VR>(b, merge, keySerde, undefined, false)
}
