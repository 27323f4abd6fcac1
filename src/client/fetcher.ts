/**
 * Fetches assigned partitions straight with the Fetch API, one request per partition leader, keeping one request
 * ahead per leader so that the network and the caller's processing overlap. The caller owns positions (it assigns
 * partitions with the offset to start from, and seeks). Under read_committed, records of aborted transactions are
 * dropped here (the broker returns them with the list of aborted transactions, as Kafka does) and control batches
 * never reach the caller.
 *
 * Used by the streams runtime for input partitions (throughput: the Consumer's message stream costs a stream
 * push, a deserializer call and a commit closure per record) and for changelog restores. Responses are parsed by
 * fetch-response.ts with the records kept as bytes, and decoded here by src/protocol's batch decoder.
 */
import type { Logger } from '../common/logger.ts'
import { TributaryError } from '../errors.ts'
import { decompressSync, initCompression } from '../protocol/compression.ts'
import {
  type BatchHeader,
  BatchOffsets,
  batchSizeAt,
  decodeRecordsWith,
  RECORD_BATCH_OVERHEAD,
  type RecordHeader,
  readBatchHeader,
} from '../protocol/record-batch.ts'
import { type RawFetchPartition, type RawFetchResponse, rawFetchApi } from './fetch-response.ts'
import { describeKafkaError, hasKafkaError, isNetworkError, type KafkaCluster, responseOf } from './kafka-cluster.ts'

export type IsolationLevel = 'read_uncommitted' | 'read_committed'
export type OffsetResetPolicy = 'earliest' | 'latest' | 'none'

export interface FetchedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: ReadonlyArray<{ key: string; value: Buffer | null }>
}

export interface FetchedPartition {
  readonly topic: string
  readonly partition: number
  readonly records: FetchedRecord[]
  /** The next offset to fetch after these records (control records and aborted ones included). */
  readonly nextOffset: number
  /** The high watermark (read_uncommitted) or last stable offset (read_committed) the broker reported. */
  readonly endOffset: number
}

export interface FetcherOptions {
  readonly cluster: KafkaCluster
  readonly isolationLevel?: IsolationLevel
  readonly maxWaitMs?: number
  readonly minBytes?: number
  readonly maxBytes?: number
  readonly partitionMaxBytes?: number
  /** What to do when a position is out of range (deleted by retention, or a reset application). */
  readonly offsetReset?: OffsetResetPolicy
  readonly log?: Logger
}

interface PartitionState {
  readonly topic: string
  readonly partition: number
  position: number
  paused: boolean
  /** Bumped by every seek: a response for an older epoch is dropped. */
  epoch: number
  endOffset: number
}

interface LeaderRequest {
  readonly promise: Promise<void>
  done: boolean
  result: FetchedPartition[]
  error: unknown
}

const key = (topic: string, partition: number) => `${topic}:${partition}`

const EMPTY_HEADERS: ReadonlyArray<{ key: string; value: Buffer | null }> = Object.freeze([])

/** Whether the control batch at [start, end) is an abort marker (control record key: version, type 0). */
function isAbortMarker(header: BatchHeader, buf: Buffer, start: number, end: number): boolean {
  const records = decodeRecordsWith(header, buf, start + BatchOffsets.records, end, (_o, _t, k) => k)
  const marker = records[0]
  return marker !== null && marker !== undefined && marker.length >= 4 && marker.readInt16BE(2) === 0
}

export class Fetcher {
  readonly #cluster: KafkaCluster
  readonly #isolation: number
  readonly #maxWaitMs: number
  readonly #minBytes: number
  readonly #maxBytes: number
  readonly #partitionMaxBytes: number
  readonly #offsetReset: OffsetResetPolicy
  readonly #log: Logger | undefined
  readonly #partitions = new Map<string, PartitionState>()
  readonly #inflight = new Map<number, LeaderRequest>()
  #wake: (() => void) | undefined
  #closed = false
  /** Partitions whose leader must be looked up again before the next fetch. */
  #staleMetadata = false

  constructor(options: FetcherOptions) {
    this.#cluster = options.cluster
    this.#isolation = options.isolationLevel === 'read_committed' ? 1 : 0
    this.#maxWaitMs = options.maxWaitMs ?? 500
    this.#minBytes = options.minBytes ?? 1
    this.#maxBytes = options.maxBytes ?? 52428800
    this.#partitionMaxBytes = options.partitionMaxBytes ?? 1048576
    this.#offsetReset = options.offsetReset ?? 'earliest'
    this.#log = options.log
  }

  get isolationLevel(): IsolationLevel {
    return this.#isolation === 1 ? 'read_committed' : 'read_uncommitted'
  }

  /** Starts fetching a partition from `offset` (or moves it there). */
  assign(topic: string, partition: number, offset: number): void {
    const k = key(topic, partition)
    const existing = this.#partitions.get(k)
    if (existing) {
      existing.position = offset
      existing.epoch++
      existing.paused = false
      return
    }
    this.#partitions.set(k, { topic, partition, position: offset, paused: false, epoch: 0, endOffset: -1 })
  }

  /** Stops fetching a partition; records of it still in flight are dropped. */
  unassign(topic: string, partition: number): void {
    this.#partitions.delete(key(topic, partition))
  }

  unassignAll(): void {
    this.#partitions.clear()
  }

  assigned(): Array<{ topic: string; partition: number }> {
    return [...this.#partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition }))
  }

  has(topic: string, partition: number): boolean {
    return this.#partitions.has(key(topic, partition))
  }

  position(topic: string, partition: number): number | undefined {
    return this.#partitions.get(key(topic, partition))?.position
  }

  /** The last end offset the broker reported (high watermark, or LSO under read_committed); -1 before any. */
  endOffset(topic: string, partition: number): number {
    return this.#partitions.get(key(topic, partition))?.endOffset ?? -1
  }

  pause(topic: string, partition: number): void {
    const p = this.#partitions.get(key(topic, partition))
    if (p) p.paused = true
  }

  resume(topic: string, partition: number): void {
    const p = this.#partitions.get(key(topic, partition))
    if (p?.paused) {
      p.paused = false
      this.#wake?.()
    }
  }

  isPaused(topic: string, partition: number): boolean {
    return this.#partitions.get(key(topic, partition))?.paused ?? false
  }

  /**
   * Records fetched since the last poll. Starts a request for every idle leader, waits up to `maxWaitMs` for one to
   * answer, and starts the next requests before returning (so they run while the caller works).
   */
  async poll(maxWaitMs = this.#maxWaitMs): Promise<FetchedPartition[]> {
    if (this.#closed) return []
    await this.#startRequests()
    let out = this.#collect()
    if (out.length === 0 && maxWaitMs > 0 && this.#inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, maxWaitMs)
        const pending = [...this.#inflight.values()].map((r) => r.promise)
        let finished = false
        function done() {
          if (finished) return
          finished = true
          clearTimeout(timer)
          resolve()
        }
        this.#wake = done
        for (const p of pending) p.then(done, done)
      })
      this.#wake = undefined
      out = this.#collect()
    } else if (out.length === 0 && maxWaitMs > 0) {
      // Nothing to fetch (all paused, or nothing assigned): wait, but wake on resume.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => resolve(), maxWaitMs)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
    if (!this.#closed) await this.#startRequests()
    return out
  }

  /** Wakes a poll that is waiting (on close, or when the caller has new work). */
  wakeup(): void {
    this.#wake?.()
  }

  #collect(): FetchedPartition[] {
    const out: FetchedPartition[] = []
    for (const [leader, request] of this.#inflight) {
      if (!request.done) continue
      this.#inflight.delete(leader)
      if (request.error) throw request.error
      for (const r of request.result) out.push(r)
    }
    return out
  }

  async #startRequests(): Promise<void> {
    const fetchable = [...this.#partitions.values()].filter((p) => !p.paused)
    if (fetchable.length === 0) return
    const topics = [...new Set(fetchable.map((p) => p.topic))]
    let metadata: Awaited<ReturnType<KafkaCluster['metadata']>>
    try {
      metadata = await this.#cluster.metadata(topics, this.#staleMetadata)
      this.#staleMetadata = false
    } catch (error) {
      if (isNetworkError(error) || hasKafkaError(error, 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION')) {
        this.#staleMetadata = true
        this.#log?.debug('metadata for fetching not available yet', { error: describeKafkaError(error) })
        return
      }
      throw error
    }
    const byLeader = new Map<number, PartitionState[]>()
    for (const p of fetchable) {
      const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader
      if (leader === undefined || leader < 0) {
        this.#staleMetadata = true
        continue
      }
      if (this.#inflight.has(leader)) continue
      const list = byLeader.get(leader) ?? []
      list.push(p)
      byLeader.set(leader, list)
    }
    if (byLeader.size === 0) return
    // Records are decoded by src/protocol, which reads zstd once its WebAssembly module is loaded.
    await initCompression()
    const api = rawFetchApi((await this.#cluster.api<unknown[], unknown>('Fetch')).version)
    for (const [leader, parts] of byLeader) {
      const useIds = api.version >= 13
      const names = new Map<string, string>()
      const grouped = new Map<string, Array<{ state: PartitionState; epoch: number; offset: number }>>()
      for (const p of parts) {
        const id = useIds ? metadata.topics.get(p.topic)!.id : p.topic
        names.set(id, p.topic)
        const list = grouped.get(id) ?? []
        list.push({ state: p, epoch: p.epoch, offset: p.position })
        grouped.set(id, list)
      }
      const request: LeaderRequest = { promise: Promise.resolve(), done: false, result: [], error: undefined }
      const run = async () => {
        try {
          const connection = await this.#cluster.connection(leader)
          let response: RawFetchResponse
          try {
            response = await api.async(
              connection,
              this.#maxWaitMs,
              this.#minBytes,
              this.#maxBytes,
              this.#isolation,
              0,
              -1,
              [...grouped].map(([topicId, list]) => ({
                topicId,
                partitions: list.map((e) => ({
                  partition: e.state.partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: BigInt(e.offset),
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: this.#partitionMaxBytes,
                })),
              })),
              [],
              '',
            )
          } catch (error) {
            const partial = responseOf<RawFetchResponse>(error)
            if (!partial?.responses) throw error
            response = partial
          }
          request.result = await this.#handleResponse(response, names, grouped)
        } catch (error) {
          if (isNetworkError(error)) {
            this.#staleMetadata = true
            this.#log?.debug('fetch failed, retrying', { leader, error: describeKafkaError(error) })
          } else if (!this.#closed) {
            request.error = new TributaryError(
              'TRB_CLIENT_FETCH_FAILED',
              `fetch failed: ${describeKafkaError(error)}`,
              {
                cause: error,
              },
            )
          }
        } finally {
          request.done = true
        }
      }
      this.#inflight.set(leader, request)
      ;(request as { promise: Promise<void> }).promise = run()
    }
  }

  async #handleResponse(
    response: RawFetchResponse,
    names: Map<string, string>,
    requested: Map<string, Array<{ state: PartitionState; epoch: number; offset: number }>>,
  ): Promise<FetchedPartition[]> {
    const out: FetchedPartition[] = []
    const resets: PartitionState[] = []
    for (const t of response.responses) {
      const topic = names.get(t.topicId)
      if (topic === undefined) continue
      const sent = requested.get(t.topicId) ?? []
      for (const p of t.partitions) {
        const entry = sent.find((e) => e.state.partition === p.partitionIndex)
        const state = this.#partitions.get(key(topic, p.partitionIndex))
        // Dropped: unassigned, or sought elsewhere since the request left.
        if (!entry || !state || state !== entry.state || state.epoch !== entry.epoch) continue
        if (p.errorCode !== 0) {
          const id = errorName(p.errorCode)
          if (id === 'OFFSET_OUT_OF_RANGE') resets.push(state)
          else this.#staleMetadata = true
          this.#log?.debug('fetch partition error', { topic, partition: p.partitionIndex, error: id })
          continue
        }
        const endOffset = Number(this.#isolation === 1 ? p.lastStableOffset : p.highWatermark)
        state.endOffset = endOffset
        const fetched = this.#records(topic, p, entry.offset)
        if (fetched.nextOffset > state.position || fetched.records.length > 0) state.position = fetched.nextOffset
        out.push({
          topic,
          partition: p.partitionIndex,
          records: fetched.records,
          nextOffset: state.position,
          endOffset,
        })
      }
    }
    for (const state of resets) await this.#reset(state)
    return out
  }

  #records(topic: string, p: RawFetchPartition, fetchOffset: number): { records: FetchedRecord[]; nextOffset: number } {
    const records: FetchedRecord[] = []
    let nextOffset = fetchOffset
    const buf = p.records
    if (buf === null) return { records, nextOffset }
    const readCommitted = this.#isolation === 1
    const aborted = readCommitted ? [...p.abortedTransactions] : []
    aborted.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
    const abortedProducers = new Set<number>()
    let nextAborted = 0
    const partition = p.partitionIndex
    const make = (offset: number, timestamp: number, k: Buffer | null, v: Buffer | null, h: RecordHeader[]) =>
      ({
        topic,
        partition,
        offset,
        timestamp,
        key: k,
        value: v,
        headers: h.length === 0 ? EMPTY_HEADERS : h,
      }) as FetchedRecord
    // Complete batches only: a response may end with a partial one (the next fetch starts at its offset).
    for (let pos = 0; pos + RECORD_BATCH_OVERHEAD <= buf.length; ) {
      const size = batchSizeAt(buf, pos)
      if (size < RECORD_BATCH_OVERHEAD || pos + size > buf.length) break
      const header = readBatchHeader(buf, pos)
      const start = pos
      pos += size
      const last = header.baseOffset + header.lastOffsetDelta
      if (last < fetchOffset) continue
      nextOffset = Math.max(nextOffset, last + 1)
      while (nextAborted < aborted.length && Number(aborted[nextAborted]!.firstOffset) <= last) {
        abortedProducers.add(Number(aborted[nextAborted]!.producerId))
        nextAborted++
      }
      if (header.isControl) {
        // An abort marker ends the producer's aborted transaction: its later batches are visible again.
        if (isAbortMarker(header, buf, start, start + size)) abortedProducers.delete(header.producerId)
        continue
      }
      if (readCommitted && header.isTransactional && abortedProducers.has(header.producerId)) continue
      const body =
        header.compression === 0
          ? buf
          : decompressSync(header.compression, buf.subarray(start + BatchOffsets.records, start + size))
      const from = header.compression === 0 ? start + BatchOffsets.records : 0
      const to = header.compression === 0 ? start + size : body.length
      for (const r of decodeRecordsWith(header, body, from, to, make)) if (r.offset >= fetchOffset) records.push(r)
    }
    return { records, nextOffset }
  }

  async #reset(state: PartitionState): Promise<void> {
    if (this.#offsetReset === 'none') {
      throw new TributaryError(
        'TRB_CLIENT_OFFSET_OUT_OF_RANGE',
        `offset ${state.position} of ${state.topic}-${state.partition} is out of range and auto.offset.reset is none`,
      )
    }
    const target = await listOffsets(
      this.#cluster,
      [{ topic: state.topic, partition: state.partition }],
      this.#offsetReset,
      this.isolationLevel,
    )
    const offset = target.get(key(state.topic, state.partition))
    if (offset === undefined) return
    this.#log?.warn('fetch position out of range, reset', {
      topic: state.topic,
      partition: state.partition,
      from: state.position,
      to: offset,
      policy: this.#offsetReset,
    })
    state.position = offset
    state.epoch++
  }

  /** Stops fetching; requests in flight finish in the background and their answers are dropped. */
  close(): void {
    this.#closed = true
    this.#partitions.clear()
    this.#wake?.()
  }
}

/**
 * The earliest or latest offsets of partitions (ListOffsets to each leader). Under read_committed "latest" is the
 * last stable offset, the end of what a read_committed reader can see.
 */
export async function listOffsets(
  cluster: KafkaCluster,
  partitions: ReadonlyArray<{ topic: string; partition: number }>,
  which: 'earliest' | 'latest',
  isolation: IsolationLevel = 'read_uncommitted',
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (partitions.length === 0) return out
  for (let attempt = 1; ; attempt++) {
    try {
      const metadata = await cluster.metadata([...new Set(partitions.map((p) => p.topic))], attempt > 1)
      const byLeader = new Map<number, Map<string, number[]>>()
      for (const p of partitions) {
        const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader
        if (leader === undefined || leader < 0) {
          throw new TributaryError('TRB_CLIENT_UNKNOWN_PARTITION', `partition ${p.topic}-${p.partition} has no leader`)
        }
        const topics = byLeader.get(leader) ?? new Map<string, number[]>()
        const list = topics.get(p.topic) ?? []
        list.push(p.partition)
        topics.set(p.topic, list)
        byLeader.set(leader, topics)
      }
      const timestamp = which === 'earliest' ? -2n : -1n
      await Promise.all(
        [...byLeader].map(async ([leader, topics]) => {
          const connection = await cluster.connection(leader)
          const response = await cluster.call<{
            topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: bigint }> }>
          }>(
            connection,
            'ListOffsets',
            -1,
            isolation === 'read_committed' ? 1 : 0,
            [...topics].map(([name, ps]) => ({
              name,
              partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })),
            })),
          )
          for (const t of response.topics) {
            for (const p of t.partitions) out.set(key(t.name, p.partitionIndex), Number(p.offset))
          }
        }),
      )
      return out
    } catch (error) {
      const retriable =
        isNetworkError(error) ||
        hasKafkaError(error, 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION') ||
        (error instanceof TributaryError && error.code === 'TRB_CLIENT_UNKNOWN_PARTITION')
      if (retriable && attempt < 20) {
        await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 500)))
        continue
      }
      throw new TributaryError('TRB_CLIENT_LIST_OFFSETS_FAILED', `cannot list offsets: ${describeKafkaError(error)}`, {
        cause: error,
      })
    }
  }
}

const ERROR_NAMES: Record<number, string> = {
  1: 'OFFSET_OUT_OF_RANGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  74: 'FENCED_LEADER_EPOCH',
  75: 'UNKNOWN_LEADER_EPOCH',
  100: 'UNKNOWN_TOPIC_ID',
}

function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error ${code}`
}
