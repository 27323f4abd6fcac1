/**
 * Where the state lives (Kafka Streams' StreamsMetadata, KeyQueryMetadata, HostInfo): every instance advertises
 * `application.server` in its subscription, and the group leader sends everyone which endpoint holds which input
 * partitions, actively and as standby. From that and the topology, any instance can say which instance holds the
 * partition of a store a key belongs to.
 */
import { partitionForKey as kafkaPartition } from '../../client/partitioner.ts'
import { streamsError } from '../errors.ts'
import type { StreamPartitioner } from '../processor/api.ts'

/** An instance's `application.server` endpoint. */
export interface HostInfo {
  readonly host: string
  readonly port: number
}

/** What one instance of the application holds (Kafka Streams' StreamsMetadata). */
export interface StreamsMetadata {
  readonly hostInfo: HostInfo
  readonly host: string
  readonly port: number
  /** Stores of its active tasks (and every global store). */
  readonly stateStoreNames: readonly string[]
  /** `topic:partition` of the input partitions its active tasks read. */
  readonly topicPartitions: readonly string[]
  readonly standbyStateStoreNames: readonly string[]
  readonly standbyTopicPartitions: readonly string[]
}

/** Where the partition of a store holding a key is (Kafka Streams' KeyQueryMetadata). */
export interface KeyQueryMetadata {
  /** The instance running the active task: query it for the current value. */
  readonly activeHost: HostInfo
  /** Instances keeping a standby copy (possibly behind): query them with stale stores enabled. */
  readonly standbyHosts: readonly HostInfo[]
  /** The store partition (= the task's input partition number) of the key. */
  readonly partition: number
}

export const UNAVAILABLE_HOST: HostInfo = Object.freeze({ host: 'unavailable', port: -1 })

/** What `queryMetadataForKey` answers while no assignment is known yet (Kafka's KeyQueryMetadata.NOT_AVAILABLE). */
export const KEY_QUERY_METADATA_NOT_AVAILABLE: KeyQueryMetadata = Object.freeze({
  activeHost: UNAVAILABLE_HOST,
  standbyHosts: [],
  partition: -1,
})

export function hostInfoOf(endpoint: string): HostInfo {
  const at = endpoint.lastIndexOf(':')
  return { host: endpoint.slice(0, at), port: Number(endpoint.slice(at + 1)) }
}

export function endpointOf(host: HostInfo): string {
  return `${host.host}:${host.port}`
}

/** Parses and checks `application.server` (host:port). */
export function parseApplicationServer(value: string): HostInfo {
  const at = value.lastIndexOf(':')
  const host = value.slice(0, at)
  const port = Number(value.slice(at + 1))
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535 || /[\s/]/.test(host)) {
    throw streamsError(
      'TRB_STREAMS_INVALID_CONFIG',
      `application.server must be host:port (the endpoint other instances reach this one on), got '${value}'`,
    )
  }
  return { host, port }
}

/** The input topics and partition count of the sub-topology owning each store. */
export interface StoreSources {
  /** Real topic names the store's sub-topology reads. */
  readonly topics: readonly string[]
  /** Partitions of the store (tasks of the sub-topology). */
  readonly partitions: number
  /** The source topic with the most partitions (what Kafka Streams hashes keys against). */
  readonly topicWithMostPartitions: string
}

/**
 * Instance metadata from the assignment's host maps: hosts sorted by host then port, as Kafka Streams sorts them,
 * each with the stores whose source topics it reads partitions of.
 */
export function buildStreamsMetadata(
  partitionsByHost: Readonly<Record<string, readonly string[]>>,
  standbyPartitionsByHost: Readonly<Record<string, readonly string[]>>,
  storeSources: ReadonlyMap<string, StoreSources>,
  globalStores: readonly string[],
): StreamsMetadata[] {
  const storesOn = (partitions: readonly string[]) => {
    const topics = new Set(partitions.map((tp) => tp.slice(0, tp.lastIndexOf(':'))))
    const out: string[] = []
    for (const [store, sources] of storeSources) if (sources.topics.some((t) => topics.has(t))) out.push(store)
    return out.sort()
  }
  const endpoints = [...new Set([...Object.keys(partitionsByHost), ...Object.keys(standbyPartitionsByHost)])]
  return endpoints
    .map((endpoint) => {
      const hostInfo = hostInfoOf(endpoint)
      const active = [...(partitionsByHost[endpoint] ?? [])]
      const standby = [...(standbyPartitionsByHost[endpoint] ?? [])]
      return {
        hostInfo,
        host: hostInfo.host,
        port: hostInfo.port,
        stateStoreNames: [...new Set([...storesOn(active), ...globalStores])].sort(),
        topicPartitions: active,
        standbyStateStoreNames: storesOn(standby),
        standbyTopicPartitions: standby,
      }
    })
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port))
}

/** Kafka's default partitioner for a key's bytes: murmur2, made positive, modulo the partition count. */
export function defaultPartition(keyBytes: Buffer, numPartitions: number): number {
  return kafkaPartition(keyBytes, numPartitions)
}

/** The partition a key of a store belongs to, from its serialized bytes or a custom partitioner. */
export function partitionForKey<K>(
  storeName: string,
  key: K,
  sources: StoreSources,
  keyBytesOrPartitioner: ((key: K) => Buffer) | StreamPartitioner<K, unknown>,
  isPartitioner: boolean,
): number {
  if (sources.partitions <= 0) {
    throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `store ${storeName}: the partition count of its inputs is unknown`)
  }
  if (!isPartitioner) return defaultPartition((keyBytesOrPartitioner as (key: K) => Buffer)(key), sources.partitions)
  const chosen = (keyBytesOrPartitioner as StreamPartitioner<K, unknown>)(
    sources.topicWithMostPartitions,
    key,
    null,
    sources.partitions,
  )
  const list = typeof chosen === 'number' ? [chosen] : chosen
  if (list?.length !== 1 || !Number.isInteger(list[0]) || list[0]! < 0 || list[0]! >= sources.partitions) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `store ${storeName}: the partitioner must return exactly one partition in 0..${sources.partitions - 1} for a ` +
        `key query, got ${JSON.stringify(chosen)}`,
    )
  }
  return list[0]!
}

/** The active and standby hosts of a store partition (Kafka Streams' getKeyQueryMetadataForKey). */
export function keyQueryMetadataFor(
  all: readonly StreamsMetadata[],
  storeName: string,
  sources: StoreSources,
  partition: number,
): KeyQueryMetadata {
  const matching = new Set(sources.topics.map((t) => `${t}:${partition}`))
  let activeHost = UNAVAILABLE_HOST
  const standbyHosts: HostInfo[] = []
  for (const m of all) {
    if (m.stateStoreNames.includes(storeName) && m.topicPartitions.some((tp) => matching.has(tp))) {
      activeHost = m.hostInfo
    }
    if (m.standbyStateStoreNames.includes(storeName) && m.standbyTopicPartitions.some((tp) => matching.has(tp))) {
      standbyHosts.push(m.hostInfo)
    }
  }
  return { activeHost, standbyHosts, partition }
}
