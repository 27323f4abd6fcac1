/**
 * Interactive queries over HTTP (book ch. 13, serving state): every instance of an application answers queries
 * on its stores, and a query for data another instance holds is forwarded there (found with the assignment's
 * `application.server` metadata), so a caller may ask any instance. Range scans and counts are gathered from
 * every instance holding a partition of the store. Answers are JSON with the stores' serdes applied, and carry
 * the position (input offsets applied) of the partitions that answered; `?position=` makes the answering
 * instances wait until their partitions have reached it (read-your-writes). docs/streams/interactive-queries.md
 * describes the API.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from '../../common/logger.ts'
import { BigInt64Serde, DoubleSerde, Int32Serde, Int64Serde, StringSerde } from '../../serde/plain.ts'
import { SerdeError, type SyncSerde } from '../../serde/serde.ts'
import { InvalidStateStoreError, type StreamsError, streamsError } from '../errors.ts'
import type { ValueAndTimestamp } from '../processor/record.ts'
import type { KafkaStreams } from '../runtime/kafka-streams.ts'
import type { KeyValueIterator } from '../state/key-value-store.ts'
import type { StateStore } from '../state/state-store.ts'
import { type KeyValueView, keyValueView, mergeIterators } from './composite-key-value-store.ts'
import { registerWindowRoutes } from './http-window-routes.ts'
import { endpointOf, type HostInfo, type KeyQueryMetadata } from './metadata.ts'
import { Position, PositionBound } from './position.ts'
import { type LocalStoreInstance, type QueryableStoreType, StoreQueryParameters } from './store-types.ts'

export interface InteractiveQueriesOptions {
  /** Path prefix of the routes (default none), also used when forwarding to other instances. */
  readonly prefix?: string
  /**
   * Turns a key given as text (in the URL) into the store's key type. Default: from the store's key serde —
   * string keys as they are, Long / Integer / Double keys as numbers, BigLong as bigint, other serdes (JSON,
   * registry serdes) as JSON text, or the text itself when it is not JSON.
   */
  readonly keyParser?: (storeName: string, text: string) => unknown
  /** How long a query waits for `?position=` when it gives no `timeout` (ms, default 10000). */
  readonly defaultTimeoutMs?: number
  /** Entries a range scan answers when it gives no `limit` (default 1000). */
  readonly defaultLimit?: number
  /** How long a forwarded query may take beyond its own wait (ms, default 10000). */
  readonly forwardTimeoutMs?: number
  readonly logger?: Logger
}

const MAX_TIMEOUT_MS = 300_000
const MAX_LIMIT = 1_000_000

/** What a key-value store's local instance gives an HTTP query: the view and whether values carry timestamps. */
interface RawKeyValue {
  readonly view: KeyValueView<unknown, unknown>
  readonly timestamped: boolean
}

/** One instance's part of a query over the whole store (its partitions, their position, the answer's fields). */
export interface LocalPart {
  readonly partitions: number[]
  readonly position: Position
  readonly [field: string]: unknown
}

function isKeyValueStore(store: StateStore): boolean {
  const s = store as unknown as Record<string, unknown>
  return typeof s.get === 'function' && typeof s.range === 'function' && typeof s.prefixScan === 'function'
}

/** Key-value stores as they are (a timestamped store's values with their timestamps). */
const RAW_KEY_VALUE: QueryableStoreType<null, RawKeyValue> = {
  kind: 'keyValueStore',
  accepts: isKeyValueStore,
  view: (store) => ({
    view: keyValueView(store, 'plain'),
    timestamped: (store as { timestamped?: unknown }).timestamped === true,
  }),
  create: () => null,
}

/** An HTTP answer: status and JSON body. */
export interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
}

export interface CommonParams {
  readonly position: Position | undefined
  readonly timeoutMs: number
  readonly stale: boolean
  readonly local: boolean
  readonly partitions: number[] | undefined
  /** The query string as received, to forward (with local=true added). */
  readonly forward: URLSearchParams
}

export function invalid(message: string): StreamsError {
  return streamsError('TRB_STREAMS_INVALID_QUERY', message)
}

const STATUS: Partial<Record<string, number>> = {
  TRB_STREAMS_NOT_STARTED: 503,
  TRB_STREAMS_STORE_NOT_YET_AVAILABLE: 503,
  TRB_STREAMS_STORE_MIGRATED: 503,
  TRB_STREAMS_STORE_NOT_AVAILABLE: 503,
  TRB_STREAMS_UNKNOWN_STORE: 404,
  TRB_STREAMS_STORE_TYPE_MISMATCH: 400,
  TRB_STREAMS_INVALID_STORE_PARTITION: 400,
  TRB_STREAMS_INVALID_QUERY: 400,
  TRB_STREAMS_INVALID_ARGUMENT: 400,
  TRB_STREAMS_MISSING_SERDE: 400,
  TRB_STREAMS_POSITION_NOT_REACHED: 504,
  TRB_STREAMS_QUERY_ROUTING_FAILED: 502,
}

/** The HTTP form of an error: `{ code, message, retriable }` with a status by code. */
export function errorAnswer(error: unknown): Answer {
  const e = error as Error & { code?: string }
  let code = typeof e.code === 'string' && e.code.startsWith('TRB_') ? e.code : 'TRB_STREAMS_QUERY_FAILED'
  let status = STATUS[code] ?? 500
  if (error instanceof SerdeError) {
    status = 400
    code = e.code ?? 'TRB_STREAMS_INVALID_QUERY'
  }
  const retriable =
    error instanceof InvalidStateStoreError ? error.retriable : code === 'TRB_STREAMS_POSITION_NOT_REACHED'
  return { status, body: { code, message: e.message ?? String(error), retriable } }
}

/** JSON with Buffers as base64 and bigints as decimal strings. */
export function toJson(body: unknown): string {
  return JSON.stringify(body, function (this: Record<string, unknown>, key, value) {
    const raw = this[key]
    if (Buffer.isBuffer(raw)) return raw.toString('base64')
    if (typeof value === 'bigint') return value.toString()
    return value
  })
}

export function bool(value: unknown, name: string): boolean {
  if (value === undefined || value === '') return false
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw invalid(`${name} must be true or false, got '${value}'`)
}

export function int(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(`${name} must be an integer in ${min}..${max}`)
  return n
}

export function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name]
  if (Array.isArray(v)) throw invalid(`${name} is given more than once`)
  return v === undefined ? undefined : String(v)
}

/** The default key parser for a store's key serde. */
export function keyParserFor(serde: SyncSerde<unknown> | undefined): (text: string) => unknown {
  if (serde instanceof StringSerde) return (text) => text
  if (serde instanceof Int32Serde || serde instanceof Int64Serde || serde instanceof DoubleSerde) {
    const integer = !(serde instanceof DoubleSerde)
    return (text) => {
      const n = Number(text)
      if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
        throw invalid(`the store's keys are ${integer ? 'integers' : 'numbers'}: '${text}' is not one`)
      }
      return n
    }
  }
  if (serde instanceof BigInt64Serde) {
    return (text) => {
      if (!/^-?\d+$/.test(text)) throw invalid(`the store's keys are 64-bit integers: '${text}' is not one`)
      return BigInt(text)
    }
  }
  return (text) => {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
}

/** The routes of interactive queries, on an existing Fastify instance (call before it listens). */
export function registerInteractiveQueries(
  app: FastifyInstance,
  streams: KafkaStreams,
  options: InteractiveQueriesOptions = {},
): void {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '')
  const defaultTimeout = options.defaultTimeoutMs ?? 10000
  const defaultLimit = options.defaultLimit ?? 1000
  const forwardTimeout = options.forwardTimeoutMs ?? 10000
  const parsers = new Map<string, (text: string) => unknown>()

  const parseKey = (store: string, text: string, what = 'key'): unknown => {
    if (options.keyParser) {
      try {
        return options.keyParser(store, text)
      } catch (error) {
        throw invalid(`${what} '${text}' of store ${store}: ${(error as Error).message}`)
      }
    }
    let parser = parsers.get(store)
    if (!parser) {
      parser = keyParserFor(streams.storeKeySerde(store))
      parsers.set(store, parser)
    }
    return parser(text)
  }

  const common = (req: FastifyRequest): CommonParams => {
    const query = req.query as Record<string, unknown>
    const positionText = single(query, 'position')
    let position: Position | undefined
    if (positionText !== undefined && positionText !== '') {
      try {
        position = Position.parse(positionText)
      } catch (error) {
        throw invalid((error as Error).message)
      }
    }
    const partitionsText = single(query, 'partitions')
    let partitions: number[] | undefined
    if (partitionsText !== undefined && partitionsText !== '') {
      partitions = partitionsText.split(',').map((p) => int(p.trim(), 'partitions', 0, 1 << 20)!)
    }
    const forward = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) {
      if (k !== 'local' && k !== 'partitions') forward.set(k, String(v))
    }
    return {
      position,
      timeoutMs: int(single(query, 'timeout'), 'timeout', 0, MAX_TIMEOUT_MS) ?? defaultTimeout,
      stale: bool(single(query, 'stale'), 'stale'),
      local: bool(single(query, 'local'), 'local'),
      partitions,
      forward,
    }
  }

  const self = (): HostInfo | undefined => streams.applicationServer
  const isSelf = (host: HostInfo) => {
    const me = self()
    return me !== undefined && endpointOf(me) === endpointOf(host)
  }

  /** Asks another instance (`local=true`: it answers from its own stores only). */
  const forwardTo = async (host: HostInfo, path: string, params: URLSearchParams, q: CommonParams) => {
    const query = new URLSearchParams(params)
    query.set('local', 'true')
    const url = `http://${host.host.includes(':') ? `[${host.host}]` : host.host}:${host.port}${prefix}${path}?${query}`
    let response: Response
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(q.timeoutMs + forwardTimeout) })
    } catch (error) {
      throw streamsError(
        'TRB_STREAMS_QUERY_ROUTING_FAILED',
        `instance ${endpointOf(host)} did not answer: ${(error as Error).cause ?? (error as Error).message}`,
      )
    }
    const text = await response.text()
    let body: Record<string, unknown>
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      throw streamsError(
        'TRB_STREAMS_QUERY_ROUTING_FAILED',
        `instance ${endpointOf(host)} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      )
    }
    return { status: response.status, body }
  }

  const params = <S>(store: string, type: QueryableStoreType<unknown, S>, q: CommonParams, partition?: number) => {
    let p = StoreQueryParameters.fromNameAndType(store, type)
    if (partition !== undefined) p = p.withPartition(partition)
    if (q.stale) p = p.enableStaleStores()
    return p
  }

  /** Waits for the bound on each partition (or all local ones), then returns the instances to read. */
  const localInstances = async <S>(
    store: string,
    type: QueryableStoreType<unknown, S>,
    q: CommonParams,
    partitions: readonly number[] | undefined,
  ): Promise<Array<LocalStoreInstance<S>>> => {
    const selections = partitions ? partitions.map((p) => params(store, type, q, p)) : [params(store, type, q)]
    if (q.position) {
      const bound = PositionBound.at(q.position)
      await Promise.all(selections.map((s) => streams.waitForPosition(s, bound, { timeout: q.timeoutMs })))
    }
    return selections.flatMap((s) => streams.queryableStores(s))
  }

  const positionOf = (instances: ReadonlyArray<{ position: Position }>) => {
    const p = Position.empty()
    for (const i of instances) p.merge(i.position)
    return p
  }

  const positionFields = (position: Position) => ({ position: position.toJSON(), positionToken: position.toString() })

  /**
   * A query about one key: answered here when this instance holds the key's partition (or with `local=true`),
   * else forwarded to the active host (and, with `stale=true`, to a standby when the active one does not answer).
   */
  const byKey = async (
    req: FastifyRequest,
    path: string,
    local: (key: unknown, partition: number | undefined, q: CommonParams) => Promise<Record<string, unknown>>,
  ): Promise<Answer> => {
    const { store, key: keyText } = req.params as { store: string; key: string }
    const q = common(req)
    const key = parseKey(store, keyText)
    const meta: KeyQueryMetadata = streams.queryMetadataForKey(store, key)
    const partition = meta.partition >= 0 ? meta.partition : undefined
    if (q.local) return { status: 200, body: await local(key, partition, q) }
    if (meta.partition < 0 && meta.activeHost.port < 0) {
      // A global store (every instance has it) or no assignment yet.
      const entry = streams.storePartitionCount(store)
      if (entry === undefined && streams.state === 'RUNNING')
        return { status: 200, body: await local(key, undefined, q) }
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
        `no instance is known to hold store ${store} yet: the application is starting or rebalancing; retry`,
      )
    }
    const candidates: HostInfo[] = []
    if (meta.activeHost.port >= 0) candidates.push(meta.activeHost)
    if (q.stale) {
      for (const s of meta.standbyHosts) candidates.push(s)
      const mine = candidates.findIndex(isSelf)
      if (mine > 0) candidates.unshift(...candidates.splice(mine, 1))
    }
    if (candidates.length === 0) {
      throw new InvalidStateStoreError(
        'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
        `partition ${meta.partition} of store ${store} is on no instance now (the application is rebalancing); retry` +
          (q.stale ? '' : ', or ask with stale=true to read a standby'),
      )
    }
    if (!self()) {
      throw streamsError(
        'TRB_STREAMS_QUERY_ROUTING_FAILED',
        'this instance has no application.server: it cannot tell whether it holds the key; set application.server ' +
          '(or interactive.queries.port) on every instance',
      )
    }
    const failures: string[] = []
    for (const host of candidates) {
      if (isSelf(host)) return { status: 200, body: await local(key, partition, q) }
      try {
        return await forwardTo(host, path, q.forward, q)
      } catch (error) {
        failures.push((error as Error).message)
      }
    }
    throw streamsError('TRB_STREAMS_QUERY_ROUTING_FAILED', failures.join('; '))
  }

  /**
   * A query over the whole store: each partition is asked of the instance holding it (its active one; with
   * `stale=true` this instance first when it has a copy, else a standby when no active one is known), all
   * instances at once; the answers are merged.
   */
  const gathered = async (
    req: FastifyRequest,
    path: string,
    local: (partitions: number[] | undefined, q: CommonParams) => Promise<LocalPart>,
    merge: (parts: LocalPart[], q: CommonParams) => Record<string, unknown>,
  ): Promise<Answer> => {
    const { store } = req.params as { store: string }
    const q = common(req)
    const partsToBody = (parts: LocalPart[]) => {
      const position = Position.empty()
      for (const p of parts) position.merge(p.position)
      const partitions = parts.flatMap((p) => p.partitions).sort((a, b) => a - b)
      return { store, ...merge(parts, q), partitions, ...positionFields(position) }
    }
    if (q.local) {
      const part = await local(q.partitions, q)
      return { status: 200, body: { ...part, position: part.position.toJSON() } }
    }
    const count = streams.storePartitionCount(store)
    if (count === undefined) {
      streams.queryableStores(params(store, RAW_KEY_VALUE, q)) // unknown store, not started...: its error
      return { status: 200, body: partsToBody([await local(undefined, q)]) }
    }
    const plan = new Map<string, { host: HostInfo; partitions: number[] }>()
    for (let p = 0; p < count; p++) {
      const meta = streams.queryMetadataForPartition(store, p)
      let host: HostInfo | undefined
      if (q.stale && (isSelf(meta.activeHost) || meta.standbyHosts.some(isSelf))) host = self()
      else if (meta.activeHost.port >= 0) host = meta.activeHost
      else if (q.stale) host = meta.standbyHosts[0]
      if (!host) {
        throw new InvalidStateStoreError(
          'TRB_STREAMS_STORE_NOT_YET_AVAILABLE',
          `partition ${p} of store ${store} is on no instance now (the application is starting or rebalancing); retry`,
        )
      }
      const k = endpointOf(host)
      const entry = plan.get(k) ?? { host, partitions: [] }
      entry.partitions.push(p)
      plan.set(k, entry)
    }
    if (plan.size > 0 && !self()) {
      throw streamsError(
        'TRB_STREAMS_QUERY_ROUTING_FAILED',
        'this instance has no application.server: set application.server (or interactive.queries.port) on every instance',
      )
    }
    type Outcome = { readonly part: LocalPart } | { readonly failure: Answer }
    const outcomes = await Promise.all(
      [...plan.values()].map(async ({ host, partitions }): Promise<Outcome> => {
        try {
          if (isSelf(host)) return { part: await local(partitions, q) }
          const forward = new URLSearchParams(q.forward)
          forward.set('partitions', partitions.join(','))
          const answer = await forwardTo(host, path, forward, q)
          if (answer.status !== 200) return { failure: answer }
          const position = Position.fromMap(answer.body.position as Record<string, Record<string, number>>)
          return { part: { ...answer.body, partitions: answer.body.partitions as number[], position } }
        } catch (error) {
          return { failure: errorAnswer(error) }
        }
      }),
    )
    const parts: LocalPart[] = []
    for (const o of outcomes) {
      if ('failure' in o) return o.failure
      parts.push(o.part)
    }
    return { status: 200, body: partsToBody(parts) }
  }

  const formatValue = (raw: unknown, timestamped: boolean) =>
    timestamped
      ? { value: (raw as ValueAndTimestamp<unknown>).value, timestamp: (raw as ValueAndTimestamp<unknown>).timestamp }
      : { value: raw }

  const send = async (reply: FastifyReply, answer: () => Promise<Answer>) => {
    let result: Answer
    try {
      result = await answer()
    } catch (error) {
      result = errorAnswer(error)
      if (result.status >= 500 && result.status !== 503 && result.status !== 504 && result.status !== 502) {
        options.logger?.warn('interactive query failed', { error: (error as Error).message })
      }
    }
    if (result.status === 503 && result.body.retriable) reply.header('retry-after', '1')
    return reply.status(result.status).type('application/json; charset=utf-8').send(toJson(result.body))
  }

  // ---- metadata -----------------------------------------------------------------------------------------------

  app.get(`${prefix}/`, (_req, reply) =>
    send(reply, async () => ({
      status: 200,
      body: {
        state: streams.state,
        applicationServer: self() ? endpointOf(self()!) : null,
        stores: streams.queryableStoreNames(),
      },
    })),
  )

  app.get(`${prefix}/metadata`, (_req, reply) =>
    send(reply, async () => ({ status: 200, body: { instances: streams.metadataForAllStreamsClients() } })),
  )

  app.get(`${prefix}/stores/:store/metadata`, (req, reply) =>
    send(reply, async () => {
      const { store } = req.params as { store: string }
      const keyText = single(req.query as Record<string, unknown>, 'key')
      const instances = streams.streamsMetadataForStore(store)
      const body: Record<string, unknown> = { store, partitions: streams.storePartitionCount(store) ?? null, instances }
      if (keyText !== undefined) body.key = streams.queryMetadataForKey(store, parseKey(store, keyText))
      return { status: 200, body }
    }),
  )

  // ---- key-value stores ---------------------------------------------------------------------------------------

  app.get(`${prefix}/stores/:store/keys/:key`, (req, reply) =>
    send(reply, () =>
      byKey(
        req,
        `/stores/${encodeURIComponent((req.params as { store: string }).store)}/keys/${encodeURIComponent((req.params as { key: string }).key)}`,
        async (key, partition, q) => {
          const { store } = req.params as { store: string }
          const instances = await localInstances(
            store,
            RAW_KEY_VALUE,
            q,
            partition === undefined ? undefined : [partition],
          )
          let found: { raw: unknown; timestamped: boolean } | undefined
          for (const i of instances) {
            const raw = i.store.view.get(key)
            if (raw !== undefined) {
              found = { raw, timestamped: i.store.timestamped }
              break
            }
          }
          return {
            store,
            key,
            found: found !== undefined,
            ...(found ? formatValue(found.raw, found.timestamped) : { value: null }),
            partition: partition ?? null,
            host: self() ? endpointOf(self()!) : null,
            standby: instances.some((i) => i.standby),
            ...positionFields(positionOf(instances)),
          }
        },
      ),
    ),
  )

  app.get(`${prefix}/stores/:store/entries`, (req, reply) =>
    send(reply, () => {
      const { store } = req.params as { store: string }
      const query = req.query as Record<string, unknown>
      const fromText = single(query, 'from')
      const toText = single(query, 'to')
      const prefixText = single(query, 'prefix')
      const reverse = bool(single(query, 'reverse'), 'reverse')
      const limit = int(single(query, 'limit'), 'limit', 1, MAX_LIMIT) ?? defaultLimit
      if (prefixText !== undefined && (fromText !== undefined || toText !== undefined || reverse)) {
        throw invalid('prefix cannot be combined with from, to or reverse')
      }
      return gathered(
        req,
        `/stores/${encodeURIComponent(store)}/entries`,
        async (partitions, q) => {
          const instances = await localInstances(store, RAW_KEY_VALUE, q, partitions)
          const from = fromText === undefined ? undefined : parseKey(store, fromText, 'from')
          const to = toText === undefined ? undefined : parseKey(store, toText, 'to')
          const keySerde = streams.storeKeySerde(store)
          const iterators: Array<KeyValueIterator<unknown, unknown>> = []
          try {
            for (const i of instances) {
              const v = i.store.view
              if (prefixText !== undefined) {
                if (!keySerde) throw invalid(`store ${store} has no key serde to serialize the prefix with`)
                iterators.push(v.prefixScan(parseKey(store, prefixText, 'prefix'), keySerde))
              } else iterators.push(reverse ? v.reverseRange(from, to) : v.range(from, to))
            }
          } catch (error) {
            for (const it of iterators) it.close()
            throw error
          }
          const keyBytes = instances.every((i) => i.store.view.keyBytes) ? instances[0]?.store.view.keyBytes : undefined
          const timestamped = instances.some((i) => i.store.timestamped)
          const merged = mergeIterators(iterators, keyBytes, reverse)
          const entries: Array<Record<string, unknown>> = []
          let truncated = false
          try {
            for (const e of merged) {
              if (entries.length === limit) {
                truncated = true
                break
              }
              entries.push({
                key: e.key,
                ...formatValue(e.value, timestamped),
                ...(keyBytes ? { keyBytes: keyBytes(e.key) } : {}),
              })
            }
          } finally {
            merged.close()
          }
          return {
            entries,
            truncated,
            partitions: instances.map((i) => i.partition),
            position: positionOf(instances),
          }
        },
        (parts) => {
          const lists = parts.map((p) => p.entries as Array<Record<string, unknown>>)
          // Key bytes are a Buffer in this instance's own part and base64 in a part forwarded from another one.
          const withBytes = lists.every((l) =>
            l.every((e) => typeof e.keyBytes === 'string' || Buffer.isBuffer(e.keyBytes)),
          )
          let entries = lists.flat()
          if (withBytes) {
            const bytes = (e: Record<string, unknown>) =>
              Buffer.isBuffer(e.keyBytes) ? e.keyBytes : Buffer.from(e.keyBytes as string, 'base64')
            entries = entries.sort((a, b) => (reverse ? -1 : 1) * Buffer.compare(bytes(a), bytes(b)))
          }
          const truncated = entries.length > limit || parts.some((p) => p.truncated === true)
          return {
            entries: entries.slice(0, limit).map(({ keyBytes: _, ...e }) => e),
            truncated,
          }
        },
      )
    }),
  )

  app.get(`${prefix}/stores/:store/count`, (req, reply) =>
    send(reply, () => {
      const { store } = req.params as { store: string }
      return gathered(
        req,
        `/stores/${encodeURIComponent(store)}/count`,
        async (partitions, q) => {
          const instances = await localInstances(store, RAW_KEY_VALUE, q, partitions)
          let count = 0
          for (const i of instances) count += i.store.view.approximateNumEntries()
          return { count, partitions: instances.map((i) => i.partition), position: positionOf(instances) }
        },
        (parts) => ({ count: parts.reduce((n, p) => n + (p.count as number), 0) }),
      )
    }),
  )

  // ---- window and session stores (query/http-window-routes.ts) ----------------------------------------------

  registerWindowRoutes(app, {
    prefix,
    defaultLimit,
    maxLimit: MAX_LIMIT,
    send,
    byKey,
    gathered,
    localInstances,
    parseKey,
    positionOf,
    positionFields,
    host: () => (self() ? endpointOf(self()!) : null),
  })

  app.setNotFoundHandler((req, reply) =>
    send(reply, async () => {
      throw invalid(`no such endpoint: ${req.method} ${req.url.split('?')[0]}`)
    }),
  )
}

/** Starts an HTTP server answering interactive queries of `streams` (what `interactive.queries.port` does). */
export async function serveInteractiveQueries(
  streams: KafkaStreams,
  options: InteractiveQueriesOptions & { host?: string; port?: number } = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const app = Fastify({ logger: false, forceCloseConnections: true })
  registerInteractiveQueries(app, streams, options)
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0)
  return { port, close: () => app.close() }
}
